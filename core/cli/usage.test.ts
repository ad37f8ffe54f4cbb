// The CLI's front door, run as a real child process: --help for every command, and every mistake a user can make
// on the command line ending in exit status 2 and ONE line on stderr that names the option (with a hint where a
// misspelling is likely), before anything is started.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { DEMO_OPTIONS, START_OPTIONS } from './demo.js';
import { INSPECT_OPTIONS } from './inspect.js';
import { SERVE_OPTIONS } from './serve.js';
import { RUN_TIMEOUT_MS, type Run, checkEach, runAll as runAllAtOnce, runCli, showWith, stderrLines } from './test-support/run-cli.js';

const show = showWith({ stdout: { max: 2000 }, stderrMax: 2000, timing: false });
/** This file runs its cases four at a time. */
const runAll = (argLists: string[][]): Promise<Run[]> => runAllAtOnce(argLists, 4);

/** Exit 2, nothing on stdout, exactly one line on stderr that contains every `needle`, no stack trace. */
function assertUsageError(r: Run, needles: Array<string | RegExp>): void {
  assert.equal(r.timedOut, false, `did not finish in ${RUN_TIMEOUT_MS} ms: ${show(r)}`);
  assert.equal(r.code, 2, `expected exit status 2: ${show(r)}`);
  const lines = stderrLines(r);
  assert.equal(lines.length, 1, `expected exactly one line on stderr, got ${lines.length}: ${show(r)}`);
  assert.ok(r.stderr.endsWith('\n'), `the stderr line should end with a newline: ${show(r)}`);
  const line = lines[0]!;
  assert.match(line, /^colo-console: /, `the message should say who is talking: ${show(r)}`);
  assert.doesNotMatch(line, /internal error|\bError:|\n\s+at /, `no internals in a usage error: ${show(r)}`);
  for (const needle of needles) {
    if (typeof needle === 'string') assert.ok(line.includes(needle), `stderr should contain ${JSON.stringify(needle)}: ${show(r)}`);
    else assert.match(line, needle, show(r));
  }
  assert.equal(r.stdout, '', `a usage error must not start the command or print to stdout: ${show(r)}`);
}

void describe('colo-console --help', () => {
  void test('every command prints its usage text on stdout and exits 0', async () => {
    const cases: Array<{ args: string[]; usage: string; mentions: string[] }> = [
      { args: ['--help'], usage: 'Usage: colo-console <command>', mentions: ['demo', 'start', 'stream inspect'] },
      { args: ['-h'], usage: 'Usage: colo-console <command>', mentions: ['demo', 'start', 'stream inspect'] },
      { args: ['help'], usage: 'Usage: colo-console <command>', mentions: ['demo'] },
      {
        args: ['demo', '--help'],
        usage: 'Usage: colo-console demo',
        mentions: [
          '--preset', '--mode', '--interval', '--link', '--duration', '--fault', '--record-stream', '--json', '--help',
          // every value the user may pass is listed, so the help is the reference for the error messages below
          'idle', 'file-server', 'web-server', 'database', 'batch',
          'kill-primary', 'kill-secondary', 'cut-link', 'slow-link', 'stall-secondary',
          '1gbe', '10gbe', 'unlimited',
        ],
      },
      { args: ['demo', '-h'], usage: 'Usage: colo-console demo', mentions: ['--duration'] },
      // --help wins over everything else on the line: nothing is started
      { args: ['demo', '--duration', '1h', '--help'], usage: 'Usage: colo-console demo', mentions: ['--duration'] },
      { args: ['start', '--help'], usage: 'Usage: colo-console start', mentions: ['Ctrl-C'] },
      { args: ['start', '-h'], usage: 'Usage: colo-console start', mentions: ['demo'] },
      {
        args: ['stream', 'inspect', '--help'],
        usage: 'Usage: colo-console stream inspect',
        mentions: ['FILE', '--records', '--json', '--xen-418-dirty-list', 'byte offset'],
      },
      { args: ['stream', 'inspect', '-h'], usage: 'Usage: colo-console stream inspect', mentions: ['FILE'] },
      { args: ['stream', '--help'], usage: 'Usage: colo-console stream inspect', mentions: ['FILE'] },
    ];
    const runs = await runAll(cases.map((c) => c.args));
    checkEach(cases, runs, (c, r) => {
      assert.equal(r.timedOut, false, show(r));
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stderr, '', show(r));
      assert.ok(r.stdout.startsWith(c.usage), `stdout should start with ${JSON.stringify(c.usage)}: ${show(r)}`);
      for (const m of c.mentions) assert.ok(r.stdout.includes(m), `help should mention ${m}: ${show(r)}`);
      // --help returns at once, it never runs the command (a demo would take its default 30 s)
      assert.ok(r.ms < 15_000, `--help took ${r.ms.toFixed(0)} ms: ${show(r)}`);
    });
  });

  void test('every subcommand\'s --help lists every option it accepts', async () => {
    // The option tables are the ones the commands parse with, so an option added without help text fails here.
    const cases: Array<{ args: string[]; options: Record<string, { type: string; short?: string }> }> = [
      { args: ['demo', '--help'], options: DEMO_OPTIONS },
      { args: ['start', '--help'], options: START_OPTIONS },
      { args: ['serve', '--help'], options: SERVE_OPTIONS },
      { args: ['stream', 'inspect', '--help'], options: INSPECT_OPTIONS },
    ];
    const runs = await runAll(cases.map((c) => c.args));
    checkEach(cases, runs, (c, r) => {
      assert.equal(r.code, 0, show(r));
      const names = Object.keys(c.options);
      assert.ok(names.length >= 2, `${c.args.join(' ')}: the table has options`);
      for (const name of names) {
        assert.match(r.stdout, new RegExp(`^ {2}(?:-${c.options[name]!.short ?? '_'}, )?--${name}\\b`, 'm'), `${c.args.join(' ')} --help should list --${name} as an option line: ${show(r)}`);
      }
    });
    // start takes every demo option but --duration, and its help says so
    assert.doesNotMatch(runs[1]!.stdout, /^ {2}--duration/m, show(runs[1]!));
  });

  void test('no command at all prints the usage and exits 2', async () => {
    const r = await runCli([]);
    assert.equal(r.timedOut, false, show(r));
    assert.equal(r.code, 2, show(r));
    assert.ok((r.stdout + r.stderr).includes('Usage: colo-console <command>'), show(r));
  });
});

void describe('colo-console usage errors', () => {
  void test('a misspelt option is an error with a did-you-mean hint', async () => {
    const cases: Array<{ args: string[]; needles: Array<string | RegExp> }> = [
      { args: ['demo', '--duraton', '1s'], needles: ['unknown option', '--duraton', 'did you mean --duration'] },
      { args: ['demo', '--present', 'idle'], needles: ['unknown option', 'did you mean --preset'] },
      { args: ['demo', '--jsno'], needles: ['unknown option', 'did you mean --json'] },
      { args: ['start', '--jsn'], needles: ['unknown option', 'did you mean --json'] },
      { args: ['stream', 'inspect', '--recrods', 'x.xl'], needles: ['unknown option', 'did you mean --records'] },
      // nothing close: still one line, naming the option, pointing at --help
      { args: ['demo', '--frobnicate'], needles: ['unknown option', '--frobnicate', '--help'] },
      // start has no --duration: the message must say the option is unknown (to start), not crash
      { args: ['start', '--duration', '1s'], needles: ['unknown option', '--duration'] },
    ];
    const runs = await runAll(cases.map((c) => c.args));
    checkEach(cases, runs, (c, r) => assertUsageError(r, c.needles));
  });

  void test('a bad option value is an error naming the option', async () => {
    const cases: Array<{ args: string[]; needles: Array<string | RegExp> }> = [
      { args: ['demo', '--duration', 'abc'], needles: ['--duration', 'abc'] },
      { args: ['demo', '--duration', '0s'], needles: ['--duration'] },
      { args: ['demo', '--duration', '2w'], needles: ['--duration'] },
      { args: ['demo', '--duration'], needles: ['--duration'] },
      { args: ['demo', '--mode', 'xen'], needles: ['--mode', 'xen'] },
      { args: ['demo', '--preset', 'nope'], needles: ['--preset', 'nope'] },
      { args: ['demo', '--link', '100gbe'], needles: ['--link', '100gbe'] },
      { args: ['demo', '--fault', 'bogus@1s'], needles: ['--fault', 'bogus'] },
      { args: ['demo', '--fault', 'kill-primary@soon'], needles: ['--fault', 'soon'] },
      { args: ['demo', '--mode', 'remus', '--interval', 'fast'], needles: ['--interval', 'fast'] },
      { args: ['demo', '--interval', '50ms'], needles: ['--interval', 'remus'] },
      { args: ['demo', '--json=yes'], needles: ['--json'] },
      { args: ['start', '--preset', 'nope'], needles: ['--preset', 'nope'] },
    ];
    const runs = await runAll(cases.map((c) => c.args));
    checkEach(cases, runs, (c, r) => assertUsageError(r, c.needles));
  });

  void test('a value that looks like an option (--duration -1s) is still one line naming the option', async () => {
    // node's parseArgs explains this case in three lines; the CLI must boil it down to one like every other error
    assertUsageError(await runCli(['demo', '--duration', '-1s']), ['--duration']);
  });

  void test('an unknown command, subcommand or stray argument is an error with a hint', async () => {
    const cases: Array<{ args: string[]; needles: Array<string | RegExp> }> = [
      { args: ['bogus'], needles: ['unknown command', 'bogus', '--help'] },
      { args: ['demos'], needles: ['unknown command', 'demo'] },
      { args: ['inspect', 'x.xl'], needles: ['unknown command', 'stream'] },
      { args: ['stream', 'bogus'], needles: ['bogus', 'inspect'] },
      { args: ['demo', 'extra'], needles: ['extra', '--help'] },
      { args: ['stream', 'inspect'], needles: ['missing FILE', '--help'] },
      { args: ['stream', 'inspect', 'a.xl', 'b.xl'], needles: ['b.xl'] },
    ];
    const runs = await runAll(cases.map((c) => c.args));
    checkEach(cases, runs, (c, r) => assertUsageError(r, c.needles));
  });
});
