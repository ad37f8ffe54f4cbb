#!/usr/bin/env node
// colo-console: the headless entry points. Every failure the user can cause ends in one line on stderr and a
// non-zero exit status, never a stack trace.

import { UsageError } from './args.js';
import { InspectError, inspectCommand } from './inspect.js';
import { StreamError } from '../stream/index.js';
import { demoCommand } from './demo.js';
import { serveCommand } from './serve.js';
import { escapeControls } from './terminal-text.js';

const HELP = `Usage: colo-console <command> [options]

Commands:
  demo              run a simulated COLO (or Remus) pair and print each checkpoint as it happens
  serve             browser mode: the console UI and its API on 127.0.0.1, with a per-launch token
  start             the simulated pair, headless, until Ctrl-C
  stream inspect    decode a recorded Xen migration stream and summarise it

Run 'colo-console <command> --help' for a command's options.`;

type Command = (argv: string[], out: (line: string) => void) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  demo: (argv, out) => demoCommand(argv, out),
  serve: (argv, out) => serveCommand(argv, out),
  start: (argv, out) => demoCommand(argv, out, { untilInterrupted: true }),
  stream: async (argv, out) => {
    const [sub, ...rest] = argv;
    if (sub === 'inspect') return inspectCommand(rest, out);
    const usage = "Usage: colo-console stream inspect [options] FILE\nRun 'colo-console stream inspect --help' for details.";
    if (sub === undefined) {
      process.stderr.write(usage + '\n');
      return 2;
    }
    if (sub === '--help' || sub === '-h') {
      out(usage);
      return 0;
    }
    throw new UsageError(`stream: unknown subcommand '${sub}'; the only one is 'inspect'`);
  },
};

let stdoutGone = false;
// A reader that stops early (`| head`) closes our stdout: stop printing, and let a running demo wind down as
// if interrupted, instead of dying on EPIPE with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  if (!stdoutGone) {
    stdoutGone = true;
    process.emit('SIGINT');
  }
});

export async function main(argv: string[]): Promise<number> {
  const out = (line: string): void => {
    if (!stdoutGone) process.stdout.write(line + '\n');
  };
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(HELP + '\n');
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    out(HELP);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; see 'colo-console --help')`);
    return await command(rest, out);
  } catch (err) {
    process.stderr.write(`colo-console: ${escapeControls(oneLine(err))}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

function oneLine(err: unknown): string {
  if (err instanceof StreamError || err instanceof UsageError || err instanceof InspectError) return err.message;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') {
    // Node's own messages already name the path: "ENOENT: no such file or directory, open 'x'".
    return e.message;
  }
  return `internal error: ${err instanceof Error ? err.message : String(err)}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`colo-console: internal error: ${escapeControls(oneLine(err))}\n`);
    process.exitCode = 1;
  },
);
