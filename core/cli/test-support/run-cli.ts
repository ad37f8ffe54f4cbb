// Helpers shared by the CLI tests (core/cli/*.test.ts): run `colo-console` as a real child process, a few at a
// time, and describe, split and check what it did.

import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const RUN_TIMEOUT_MS = 30_000;
/** xl's save-file magic: 32 bytes with an embedded NUL. */
export const XL_MAGIC = Buffer.from('Xen saved domain, xl format\n \0 \r', 'latin1');

export interface Run {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** When the first stdout bytes arrived, ms after spawning (Infinity if never): start-up cost excluded. */
  firstOutputMs: number;
  timedOut: boolean;
}

export type Child = ChildProcessByStdio<null, Readable, Readable>;

export interface RunOptions {
  /** Close our end of the child's stdout at once, as `| head` does when it has seen enough. */
  closeStdout?: boolean;
  /** Extra environment variables for the child, on top of childEnv(). */
  env?: NodeJS.ProcessEnv;
  /** Called with all of stdout so far each time more arrives (not called when closeStdout is set). */
  onStdout?: (stdoutSoFar: string, child: Child) => void;
}

/** Our environment minus NODE_TEST_CONTEXT, so a child is not taken for a node:test subprocess. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** Runs `colo-console ...args` the way `npm run colo-console` does; kills it (and reports timedOut) after RUN_TIMEOUT_MS. */
export function runCli(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'core/cli/main.ts', ...args], {
      cwd: repoRoot,
      env: { ...childEnv(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let firstOutputMs = Infinity;
    if (options.closeStdout) child.stdout.destroy();
    else {
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        if (stdout === '') firstOutputMs = performance.now() - started;
        stdout += s;
        options.onStdout?.(stdout, child);
      });
    }
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr, ms: performance.now() - started, firstOutputMs, timedOut });
    });
  });
}

/** Runs every argument list, a few at a time (each run is a fresh Node process). */
export async function runAll(argLists: string[][], parallel = 3): Promise<Run[]> {
  const results: Run[] = new Array<Run>(argLists.length);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < argLists.length) {
      const i = nextIndex++;
      results[i] = await runCli(argLists[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, argLists.length) }, worker));
  return results;
}

export interface ShowStyle {
  /** stdout longer than `over` is shown as its first `head` and last `tail` characters; or cut to its first `max`. */
  stdout?: { over: number; head: number; tail: number } | { max: number };
  /** How much of stderr to show. */
  stderrMax?: number;
  /** Whether to say how long the run took. */
  timing?: boolean;
}

/** A `show` that describes a run (for assertion messages) in the given style. */
export function showWith(style: ShowStyle = {}): (r: Run) => string {
  const cut = style.stdout ?? { over: 1500, head: 700, tail: 700 };
  const stderrMax = style.stderrMax ?? 3000;
  const timing = style.timing ?? true;
  return (r) => {
    const out =
      'max' in cut
        ? r.stdout.slice(0, cut.max)
        : r.stdout.length > cut.over
          ? `${r.stdout.slice(0, cut.head)}\n[…]\n${r.stdout.slice(-cut.tail)}`
          : r.stdout;
    return `colo-console ${r.args.join(' ')} → exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' TIMED OUT' : ''}${timing ? ` in ${r.ms.toFixed(0)} ms` : ''}\n--- stdout:\n${out}\n--- stderr:\n${r.stderr.slice(0, stderrMax)}`;
  };
}

/** Describes a run for an assertion message: how it ended, its stdout (head and tail if long) and its stderr. */
export const show = showWith();

export function stderrLines(r: Run): string[] {
  return r.stderr.split('\n').filter((line) => line.length > 0);
}

/** Checks every case and reports all that fail together, so one bug does not hide the next. */
export function checkEach<C>(cases: C[], runs: Run[], check: (c: C, r: Run) => void): void {
  const failures: string[] = [];
  cases.forEach((c, i) => {
    try {
      check(c, runs[i]!);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  });
  assert.equal(failures.length, 0, `${failures.length} of ${cases.length} cases failed:\n\n${failures.join('\n\n')}`);
}
