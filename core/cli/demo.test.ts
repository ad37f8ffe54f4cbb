// `colo-console demo` and `start`, run as real child processes for a second or two each: the live cycle lines, the
// JSON stream, Remus mode, presets, the recorded stream (checked with `stream inspect`), faults, and Ctrl-C.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { RUN_TIMEOUT_MS, type Run, XL_MAGIC, runCli, showWith } from './test-support/run-cli.js';

const TRIGGERS = ['initial', 'miscompare', 'timer', 'timeout', 'manual'];
const PHASES = ['wait', 'suspend', 'transfer', 'device', 'svm-load', 'resume'];

const show = showWith({ stdout: { over: 4000, head: 1500, tail: 2500 } });

/** Finished by itself with `code` (0 unless said), nothing on stderr. */
function assertOk(r: Run, code = 0): void {
  assert.equal(r.timedOut, false, `hung (killed after ${RUN_TIMEOUT_MS} ms): ${show(r)}`);
  assert.equal(r.code, code, `expected exit status ${code}: ${show(r)}`);
  assert.equal(r.stderr, '', `expected nothing on stderr: ${show(r)}`);
}

/** Finished by itself, exit 0; stderr holds only the recording's size lines, which it returns. */
function assertRecorded(r: Run): string[] {
  assert.equal(r.timedOut, false, `hung (killed after ${RUN_TIMEOUT_MS} ms): ${show(r)}`);
  assert.equal(r.code, 0, `expected exit status 0: ${show(r)}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  for (const l of lines) assert.match(l, /^recording: /, `only recording lines on stderr: ${show(r)}`);
  return lines;
}

type Json = Record<string, unknown>;

interface CycleJson {
  type: 'cycle';
  seq: number;
  mode: string;
  trigger: string;
  outcome: 'committed' | 'failed' | 'aborted';
  phases: Array<{ name: string; startMs: number; durationMs: number }>;
  primaryPauseMs: number;
  pagesSent: number;
  bytesSent: number;
}

interface SummaryJson {
  type: 'summary';
  cycles: number;
  outcomes: Record<'committed' | 'failed' | 'aborted', number>;
  triggers: Record<string, number>;
  primaryPauseMs: { p50: number | null; p99: number | null; max: number | null };
  openAtEnd: { seq: number; trigger: string; pausedMs: number } | null;
  pagesSent: number;
  bytesSent: number;
  finalState: { state: string; reasonCode?: string; reason?: string };
  ending: 'ok' | 'split-brain' | 'guest-frozen' | 'pair-error';
  exitCode: number;
}

/** Every stdout line must be a JSON object; returns them. */
function jsonLines(r: Run): Json[] {
  const lines = r.stdout.split('\n').filter((l) => l.length > 0);
  assert.ok(lines.length > 0, `no output: ${show(r)}`);
  return lines.map((line, i) => {
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(line)), `stdout line ${i + 1} is not JSON: ${line}\n${show(r)}`);
    assert.ok(parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed), `line ${i + 1} is not an object: ${line}`);
    assert.equal(typeof (parsed as Json).type, 'string', `line ${i + 1} has no type: ${line}`);
    return parsed as Json;
  });
}

/** The demo's JSON output: the cycles in order, and the one summary, which must come last. */
function demoJson(r: Run): { lines: Json[]; cycles: CycleJson[]; summary: SummaryJson } {
  const lines = jsonLines(r);
  for (const l of lines) assert.ok(['cycle', 'state', 'failover', 'alarm', 'summary'].includes(l.type as string), `unexpected type ${String(l.type)}`);
  const summaries = lines.filter((l) => l.type === 'summary');
  assert.equal(summaries.length, 1, `expected exactly one summary line, got ${summaries.length} (exit ${r.code}): ${show(r)}`);
  assert.equal(lines.at(-1)!.type, 'summary', `the summary must be the last line: ${show(r)}`);
  const cycles = lines.filter((l) => l.type === 'cycle') as unknown as CycleJson[];
  cycles.forEach((c, i) => {
    const what = `cycle line ${JSON.stringify(c)}`;
    assert.equal(c.seq, i, `cycles are numbered 0, 1, 2… in order: ${what}`);
    assert.ok(TRIGGERS.includes(c.trigger), what);
    assert.ok(['committed', 'failed', 'aborted'].includes(c.outcome), what);
    assert.equal(c.trigger === 'initial', i === 0, `only cycle 0 is the initial copy: ${what}`);
    assert.ok(Array.isArray(c.phases) && c.phases.length > 0, what);
    for (const p of c.phases) {
      assert.ok(PHASES.includes(p.name), what);
      assert.ok(Number.isFinite(p.durationMs) && p.durationMs >= 0, what);
    }
    assert.ok(Number.isFinite(c.primaryPauseMs) && c.primaryPauseMs >= 0, what);
    assert.ok(Number.isInteger(c.pagesSent) && c.pagesSent >= 0, what);
    // A cycle ended before it sent anything (stopped right after the pause began) really sent 0 bytes.
    assert.ok(Number.isInteger(c.bytesSent) && (c.outcome === 'committed' ? c.bytesSent > 0 : c.bytesSent >= 0), what);
  });
  const summary = summaries[0] as unknown as SummaryJson;
  assert.equal(summary.cycles, cycles.length, 'summary.cycles counts the cycle lines');
  const byTrigger: Record<string, number> = {};
  for (const c of cycles) byTrigger[c.trigger] = (byTrigger[c.trigger] ?? 0) + 1;
  assert.deepEqual(summary.triggers, byTrigger, 'summary.triggers counts the cycle lines by trigger');
  const byOutcome = { committed: 0, failed: 0, aborted: 0 };
  for (const c of cycles) byOutcome[c.outcome]++;
  assert.deepEqual(summary.outcomes, byOutcome, 'summary.outcomes counts the cycle lines by outcome');
  assert.equal(summary.exitCode, r.code, 'the summary states the exit status the run ended with');
  assert.equal(summary.pagesSent, cycles.reduce((n, c) => n + c.pagesSent, 0), 'summary.pagesSent adds up the cycles');
  assert.equal(summary.bytesSent, cycles.reduce((n, c) => n + c.bytesSent, 0), 'summary.bytesSent adds up the cycles');
  // every cycle after the initial copy, whatever its outcome, and a checkpoint still open at the end
  const steady = cycles.filter((c) => c.trigger !== 'initial').map((c) => c.primaryPauseMs);
  if (summary.openAtEnd && summary.openAtEnd.trigger !== 'initial') steady.push(summary.openAtEnd.pausedMs);
  const p = summary.primaryPauseMs;
  if (steady.length > 0) {
    assert.equal(p.max, Math.max(...steady), 'max pause is the largest steady-state pause, open or not');
    assert.ok(p.p50! <= p.p99! && p.p99! <= p.max, `p50 ≤ p99 ≤ max: ${JSON.stringify(p)}`);
    assert.ok(steady.includes(p.p50!) && steady.includes(p.p99!), 'quantiles are pauses that happened (nearest rank)');
  }
  assert.equal(typeof summary.finalState?.state, 'string');
  return { lines, cycles, summary };
}

let tmp = '';
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'colo-demo-test-'));
});
after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function partials(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes('.partial-'));
}

function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const CYCLE_LINE = /^#(\d+)\s+([a-z]+)\s+pause\s+([\d.]+) ms(?: \(secondary [\d.]+\))? {2}((?:[a-z-]+ [\d.]+)(?: \| [a-z-]+ [\d.]+)*) {2}dirty \d+(?:\+\d+)? → (\d+) pages, [\d.]+ MiB(?: {2}(FAILED|ABORTED))?$/;

void describe('colo-console demo', () => {
  // 3 s rather than the 2 s of the issue: the initial copy takes about half a second on an idle 2-core machine but
  // several times that when the machine is busy, and these tests need protection to be reached.
  void test('demo --duration 3s prints each cycle with its trigger and phase timings, then a summary', async () => {
    const r = await runCli(['demo', '--duration', '3s']);
    assertOk(r);
    assert.ok(r.ms >= 3000, `a 3 s demo ended after ${r.ms.toFixed(0)} ms`);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^Simulated COLO pair: Web server .*10gbe link$/, show(r));
    const cycleLines = lines.filter((l) => l.startsWith('#'));
    assert.ok(cycleLines.length >= 1, `no cycle lines (the initial copy normally takes well under 1 s; is the machine overloaded?): ${show(r)}`);
    const counts: Record<string, number> = {};
    let pages = 0;
    cycleLines.forEach((line, i) => {
      const m = CYCLE_LINE.exec(line);
      assert.ok(m, `cycle line does not match ${CYCLE_LINE}: ${JSON.stringify(line)}`);
      assert.equal(Number(m[1]), i, `cycles are numbered in order: ${line}`);
      assert.equal(m[2] === 'initial', i === 0, `only #0 is the initial copy: ${line}`);
      assert.ok(TRIGGERS.includes(m[2]!), line);
      for (const phase of m[4]!.split(' | ')) assert.ok(PHASES.includes(phase.split(' ')[0]!), `unknown phase in ${line}`);
      counts[m[2]!] = (counts[m[2]!] ?? 0) + 1;
      pages += Number(m[5]);
    });
    assert.ok(lines.includes('-- protected'), `protection was never reached: ${show(r)}`);

    const summaryAt = lines.findIndex((l) => l.startsWith('Summary: '));
    assert.ok(summaryAt > 0, `no summary: ${show(r)}`);
    const title = /^Summary: (\d+) cycles \((.*)\); committed (\d+), failed (\d+), aborted (\d+)$/.exec(lines[summaryAt]!);
    assert.ok(title, lines[summaryAt]);
    assert.equal(Number(title[1]), cycleLines.length, 'the summary counts the cycle lines');
    const triggers = Object.fromEntries(title[2]!.split(', ').map((t) => [t.split(' ')[0]!, Number(t.split(' ')[1])]));
    assert.deepEqual(triggers, counts, 'triggers by cause match the cycle lines');
    const rest = lines.slice(summaryAt + 1).join('\n');
    assert.equal(Number(title[3]) + Number(title[4]) + Number(title[5]), cycleLines.length, 'every cycle has one outcome');
    assert.match(rest, /^ {2}primary pause \(steady state, every cycle that started\): p50 \S+ ms, p99 \S+ ms, max \S+ ms/m, show(r));
    const sent = /^ {2}sent: (\d+) pages, [\d.]+ MiB$/m.exec(rest);
    assert.ok(sent, show(r));
    assert.equal(Number(sent[1]), pages, 'pages sent is the sum over the cycle lines');
    assert.match(rest, /^ {2}final state: stopped/m, show(r));
    assert.match(rest, /^ {2}ended: the guest runs on one copy \(exit status 0\)$/m, show(r));
  });

  void test('demo --json --duration 3s: every line is JSON, cycles carry seq/trigger/phases/pause, the summary comes last', async () => {
    const r = await runCli(['demo', '--json', '--duration', '3s']);
    assertOk(r);
    const { lines, cycles, summary } = demoJson(r);
    assert.ok(cycles.length >= 1, `no cycles (the initial copy normally takes well under 1 s; is the machine overloaded?): ${show(r)}`);
    assert.ok(cycles.every((c) => c.mode === 'colo'));
    assert.ok(lines.some((l) => l.type === 'state' && l.state === 'protected'), show(r));
    assert.equal(summary.finalState.state, 'stopped');
    assert.equal(summary.ending, 'ok');
    assert.equal(summary.exitCode, 0);
  });

  void test('demo --mode remus --interval 50ms checkpoints on the timer', async () => {
    const r = await runCli(['demo', '--json', '--mode', 'remus', '--interval', '50ms', '--duration', '3s']);
    assertOk(r);
    const { cycles, summary } = demoJson(r);
    assert.ok(cycles.every((c) => c.mode === 'remus'), 'every cycle is a Remus cycle');
    assert.ok(cycles.slice(1).every((c) => c.trigger === 'timer'), `Remus checkpoints only on its timer: ${JSON.stringify(summary.triggers)}`);
    // normally two seconds of steady state at one checkpoint per 50 ms plus the pause: some thirty of them
    assert.ok((summary.triggers.timer ?? 0) >= 2, `expected timer checkpoints: ${JSON.stringify(summary.triggers)}\n${show(r)}`);
    assert.equal(summary.triggers.miscompare, undefined);
  });

  for (const [preset, label, mib] of [['idle', 'Idle', 64], ['database', 'Database (OLTP)', 128]] as const) {
    void test(`demo --preset ${preset} runs`, async () => {
      const r = await runCli(['demo', '--preset', preset, '--duration', '1500ms']);
      assertOk(r);
      assert.ok(r.stdout.startsWith(`Simulated COLO pair: ${label}, ${mib} MiB guest`), show(r));
      assert.match(r.stdout, /^-- syncing \d+%: Initial copy/m, show(r));
      assert.match(r.stdout, /^Summary: \d+ cycles /m, show(r));
      assert.match(r.stdout, /^ {2}final state: stopped/m, show(r));
    });
  }
});

void describe('colo-console demo --record-stream', () => {
  void test('writes the forward stream as an xl save file that stream inspect reads back, checkpoint for cycle', async () => {
    const dir = mkdtempSync(path.join(tmp, 'record-'));
    const file = path.join(dir, 'demo.xl');
    // the idle preset's 64 MiB guest: the initial copy (written to disk as well) is done quickly even on a busy machine
    const demo = await runCli(['demo', '--json', '--preset', 'idle', '--duration', '3s', '--record-stream', file]);
    const said = assertRecorded(demo);
    const { cycles, summary } = demoJson(demo);
    assert.ok(existsSync(file), `no ${file}: ${show(demo)}`);
    assert.deepEqual(partials(dir), [], 'the temporary .partial file is renamed, not left behind');
    assert.ok(head(file, 32).equals(XL_MAGIC), 'the file starts with xl\'s 32-byte save-file magic');
    const size = statSync(file).size;
    // The size is shown as it grows (a line per 64 MiB off a terminal: the idle guest's initial copy passes one),
    // each line larger than the last, and the last line says what the file holds.
    const growing = said.slice(0, -1).map((l) => {
      const m = /^recording: ([\d.]+) MiB written to (.*)$/.exec(l);
      assert.ok(m, `a size line: ${l}\n${show(demo)}`);
      assert.equal(m[2], file);
      return Number(m[1]);
    });
    assert.ok(growing.length >= 1, `the size was never shown while the ${size}-byte file grew: ${show(demo)}`);
    assert.deepEqual([...growing].sort((a, b) => a - b), growing, 'sizes only grow');
    assert.equal(new Set(growing).size, growing.length, 'changes only, no repeats');
    assert.equal(said.at(-1), `recording: ${(size / 1024 ** 2).toFixed(size >= 100 * 1024 ** 2 ? 0 : 1)} MiB in ${file}`, show(demo));

    const text = await runCli(['stream', 'inspect', file]);
    assertOk(text);
    assert.match(text.stdout, /^xl save-file header: flags 0x3\/0x0, config \d+ bytes \(domain demo-vm\)$/m, show(text));
    assert.match(text.stdout, /^libxl stream v2, options 0x0$/m, show(text));
    assert.match(text.stdout, /^libxc stream v3: x86 HVM domain, page shift 12, from Xen \d+\.\d+$/m, show(text));

    const inspect = await runCli(['stream', 'inspect', '--json', file]);
    assertOk(inspect);
    const items = jsonLinesOfInspect(inspect);
    const s = items.at(-1)!;
    assert.equal(s.kind, 'summary', show(inspect));
    assert.equal(s.stream, 'xl');
    assert.equal(s.bytes, size, 'inspect decoded every byte of the file');
    const checkpoints = s.checkpoints as number;
    assert.ok(checkpoints >= 1, `no complete checkpoint in the file: ${show(inspect)}\n${show(demo)}`);
    assert.match(text.stdout, new RegExp(`^xl stream, ${size} bytes, \\d+ records, ${checkpoints} complete checkpoints, `, 'm'), show(text));
    // Every cycle the demo reported was written in full before it was reported, so it is a complete checkpoint in
    // the file. The demo may stop after a checkpoint's last record was written but before the secondary's answer
    // arrived: that checkpoint is complete in the file but never became a cycle. Nothing else may differ.
    assert.ok(checkpoints === summary.cycles || checkpoints === summary.cycles + 1,
      `${checkpoints} complete checkpoints in the file, ${summary.cycles} cycles reported by the demo`);
    assert.equal(items.filter((i) => i.kind === 'checkpoint').length, checkpoints);
    // The recorded bytes are exactly what the cycles said they sent, plus at most one unreported cycle's worth.
    assert.ok(size >= summary.bytesSent, `file ${size} bytes, cycles sent ${summary.bytesSent}`);
    assert.ok((s.pages as number) >= summary.pagesSent);
    if (checkpoints === summary.cycles && !items.some((i) => i.kind === 'partial')) {
      assert.equal(size, summary.bytesSent, 'with no unreported cycle, the file is exactly the bytes the cycles sent');
      assert.equal(s.pages, summary.pagesSent, 'and holds exactly the pages they sent');
    }
    assert.equal(cycles[0]!.trigger, 'initial');
  });

  void test('a FILE in a missing directory is one line on stderr and exit 1, with nothing left behind', async () => {
    const file = path.join(tmp, 'no-such-dir', 'demo.xl');
    const r = await runCli(['demo', '--duration', '1s', '--record-stream', file]);
    assert.equal(r.timedOut, false, show(r));
    assert.equal(r.code, 1, show(r));
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, show(r));
    assert.match(lines[0]!, /^colo-console: .*no such file or directory/, show(r));
    assert.doesNotMatch(r.stderr, /^\s+at /m, show(r));
    assert.equal(existsSync(path.dirname(file)), false);
  });

  void test('a FILE that is a directory is one line on stderr and exit 1, with no .partial file left behind', async () => {
    const dir = mkdtempSync(path.join(tmp, 'into-dir-'));
    const target = path.join(dir, 'target');
    mkdirSync(target);
    const r = await runCli(['demo', '--preset', 'idle', '--duration', '1s', '--record-stream', target]);
    assert.equal(r.timedOut, false, show(r));
    assert.ok(r.code === 1 || r.code === 2, `expected a failure: ${show(r)}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, show(r));
    assert.ok(lines[0]!.includes(target), `the message names the path: ${show(r)}`);
    assert.doesNotMatch(r.stderr, /^\s+at /m, show(r));
    assert.deepEqual(partials(dir), [], 'the recording written under a temporary name must not be left behind');
  });

  void test('stopping while the initial copy is still running still prints the summary and keeps the recording', async () => {
    // A duration shorter than the initial copy: the pair is stopped in the middle of a live iteration.
    const dir = mkdtempSync(path.join(tmp, 'early-'));
    const file = path.join(dir, 'early.xl');
    const r = await runCli(['demo', '--duration', '200ms', '--record-stream', file]);
    assertRecorded(r);
    assert.match(r.stdout, /^Summary: \d+ cycles/m, `the demo ended without its summary: ${show(r)}`);
    assert.match(r.stdout, /^ {2}final state: /m, show(r));
    assert.deepEqual(partials(dir), [], 'the .partial file must not be left behind');
    assert.ok(existsSync(file), `the recording must be renamed to ${file}`);
  });
});

void describe('colo-console demo --record-limit', () => {
  void test('stops the run at the limit, says so, and leaves a file within the limit that stream inspect reads', async () => {
    const dir = mkdtempSync(path.join(tmp, 'limit-'));
    const file = path.join(dir, 'limited.xl');
    const limit = 8 * 1024 ** 2;
    // the idle guest's initial copy alone is some 68 MiB: the limit is reached inside it, long before 20 s
    const r = await runCli(['demo', '--preset', 'idle', '--duration', '20s', '--record-stream', file, '--record-limit', '8MiB']);
    const said = assertRecorded(r);
    assert.ok(r.ms - r.firstOutputMs < 15_000, `the run should stop at the limit, not run its 20 s: ${show(r)}`);
    assert.ok(said.includes(`recording: ${file} reached the 8.0 MiB limit (--record-limit); stopping the run`), show(r));
    assert.match(r.stdout, /^Stopped: the recording reached its limit\.$/m, show(r));
    assert.match(r.stdout, /^ {2}ended: the guest runs on one copy \(exit status 0\)$/m, show(r));
    const size = statSync(file).size;
    assert.ok(size > 0 && size <= limit, `${size} bytes against a limit of ${limit}`);
    assert.deepEqual(partials(dir), []);
    const last = said.at(-1)!;
    assert.match(last, new RegExp(`^recording: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cut back from [\\d.]+ MiB to ${(size / 1024 ** 2).toFixed(1)} MiB to stay within the limit; it holds `), show(r));
    const inspect = await runCli(['stream', 'inspect', file]);
    assertOk(inspect);
    assert.match(inspect.stdout, new RegExp(`^xl stream, ${size} bytes, `, 'm'), show(inspect));
    if (/holds the start of the initial copy/.test(last)) {
      assert.match(inspect.stdout, /^checkpoint 0 incomplete: .*a secondary would discard it/m, show(inspect));
      assert.match(inspect.stdout, /, 0 complete checkpoints, /, show(inspect));
    } else {
      const m = /holds checkpoints 0 to (\d+), complete$/.exec(last);
      assert.ok(m, last);
      assert.match(inspect.stdout, new RegExp(`, ${Number(m[1]) + 1} complete checkpoints, .*ends between checkpoints`), show(inspect));
    }
  });

  void test('--record-limit needs --record-stream, and a size', async () => {
    for (const [args, needle] of [
      [['demo', '--record-limit', '10MiB'], '--record-limit applies to --record-stream'],
      [['demo', '--record-stream', path.join(tmp, 'x.xl'), '--record-limit', 'lots'], "'lots' is not a size"],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, show(r));
      assert.ok(r.stderr.includes(needle), show(r));
      assert.equal(r.stdout, '', show(r));
    }
  });
});

function jsonLinesOfInspect(r: Run): Json[] {
  return r.stdout.split('\n').filter(Boolean).map((line) => {
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(line)), `not JSON: ${line}`);
    return parsed as Json;
  });
}

void describe('colo-console demo --fault', () => {
  // The fault fires 1 s after start. Normally the initial copy (cycle 0) is done by then; on a loaded machine it may
  // not be, and then there is no checkpoint the secondary could run from. Both outcomes are checked exactly; which
  // one applies is read from the output (cycle 0 can only be reported before the fault, never after it).
  void test('kill-primary@1s: the secondary takes over, the summary says failed-over, and the run ends early', async (t) => {
    const r = await runCli(['demo', '--json', '--fault', 'kill-primary@1s', '--duration', '5s']);
    assertOk(r, r.code === 5 ? 5 : 0);
    const { lines, cycles, summary } = demoJson(r);
    const failovers = lines.filter((l) => l.type === 'failover');
    if (cycles.length > 0) {
      assert.equal(r.code, 0, `the guest runs on the secondary: a run that ended as it should: ${show(r)}`);
      assert.equal(summary.finalState.state, 'failed-over', `final state: ${JSON.stringify(summary.finalState)}\n${show(r)}`);
      assert.equal(summary.finalState.reasonCode, 'primary-lost');
      assert.ok(failovers.some((f) => f.detectedBy === 'secondary' && f.survivor === 'secondary'), show(r));
      const last = failovers.find((f) => f.survivor === 'secondary')!;
      // the secondary runs from the last checkpoint it holds: the last one reported committed, or one it committed
      // while the primary died before reporting it (a checkpoint the kill broke is reported too, as failed)
      const committed = cycles.filter((c) => c.outcome === 'committed');
      assert.ok(committed.length > 0, show(r));
      const seq = committed.at(-1)!.seq;
      assert.ok(last.lastCheckpointSeq === seq || last.lastCheckpointSeq === seq + 1,
        `secondary took over from checkpoint ${String(last.lastCheckpointSeq)}; the demo reported up to ${seq}`);
    } else {
      t.diagnostic('the initial copy outlasted 1 s (loaded machine): checked the fault-during-initial-copy outcome instead');
      assert.equal(summary.finalState.state, 'error', `final state: ${JSON.stringify(summary.finalState)}\n${show(r)}`);
      assert.equal(summary.finalState.reasonCode, 'primary-lost');
      assert.equal(r.code, 5, 'the guest is lost: the pair ended in error');
    }
    // with a fault plan the run ends once the pair settles, not at --duration (timed from the first output line,
    // so a slow start-up does not count)
    const ran = r.ms - r.firstOutputMs;
    assert.ok(ran < 5000, `ran ${ran.toFixed(0)} ms although the pair settled after the fault at 1 s`);
  });

  void test('cut-link@1s: both copies run on, the summary says error (split brain), exit status 3', async (t) => {
    const r = await runCli(['demo', '--json', '--fault', 'cut-link@1s', '--duration', '5s']);
    assertOk(r, r.code === 3 ? 3 : 0);
    const { lines, cycles, summary } = demoJson(r);
    // Split brain needs a secondary that holds a checkpoint: a committed initial copy.
    if (cycles.some((c) => c.outcome === 'committed')) {
      assert.equal(r.code, 3, `split brain is exit status 3: ${show(r)}`);
      assert.equal(summary.ending, 'split-brain');
      assert.equal(summary.finalState.state, 'error', `final state: ${JSON.stringify(summary.finalState)}\n${show(r)}`);
      assert.equal(summary.finalState.reasonCode, 'split-brain');
      assert.match(summary.finalState.reason ?? '', /split brain/i);
      assert.ok(lines.some((l) => l.type === 'failover' && l.survivor === 'both'), `a failover with both copies running: ${show(r)}`);
    } else {
      t.diagnostic('the initial copy outlasted 1 s (loaded machine): checked the fault-during-initial-copy outcome instead');
      // the secondary never held a checkpoint, so only the primary runs on, unprotected
      assert.equal(summary.finalState.state, 'unprotected', `final state: ${JSON.stringify(summary.finalState)}\n${show(r)}`);
      assert.equal(r.code, 0, 'the primary runs on alone');
      assert.ok(!lines.some((l) => l.type === 'failover' && l.survivor === 'both'), show(r));
    }
  });

  void test('a fault during the initial copy still ends the run with a summary, and exit status 5 (guest lost)', async () => {
    // The primary dies 100 ms in, long before the initial copy is complete: the secondary has nothing to run.
    const r = await runCli(['demo', '--json', '--fault', 'kill-primary@100ms', '--duration', '3s']);
    assertOk(r, 5);
    const lines = jsonLines(r);
    assert.equal(lines.at(-1)!.type, 'summary', `the demo ended without its summary: ${show(r)}`);
    const { summary } = demoJson(r);
    assert.equal(summary.finalState.state, 'error', JSON.stringify(summary.finalState));
    assert.equal(summary.finalState.reasonCode, 'primary-lost');
    assert.equal(summary.ending, 'pair-error');
  });

  void test('cut-link@1s in text: the summary says split brain and exit status 3', async (t) => {
    const r = await runCli(['demo', '--fault', 'cut-link@1s', '--duration', '5s']);
    assertOk(r, r.code === 3 ? 3 : 0);
    // Split brain needs a secondary that holds a checkpoint: a committed initial copy (a failed one is marked).
    if (!/^#0 .*(?<!FAILED|ABORTED)$/m.test(r.stdout)) {
      t.diagnostic('the initial copy outlasted 1 s (loaded machine): no split brain possible, checked exit 0 instead');
      return;
    }
    assert.equal(r.code, 3, show(r));
    assert.match(r.stdout, /^ {2}ended: SPLIT BRAIN: both copies of the guest ran on \(exit status 3\)$/m, show(r));
  });
});

void describe('colo-console demo --fault stall-secondary', () => {
  // The case, shortened: a secondary that stops answering holds the primary paused until the run ends.
  void test('stall-secondary@2s: one degraded line, the frozen alarm, the open pause in the summary, exit status 4', async () => {
    const r = await runCli(['demo', '--fault', 'stall-secondary@2s', '--duration', '9s']);
    assertOk(r, r.code ?? -1);
    const lines = r.stdout.split('\n');
    // The engine re-reports the stall every ~250 ms with a growing figure; the CLI prints the change once.
    const degraded = lines.filter((l) => l.startsWith('-- degraded'));
    assert.equal(degraded.length, 1, `one degraded line, not a repeat per report: ${show(r)}`);
    assert.match(degraded[0]!, /Checkpoint stalled/, show(r));
    assert.equal(new Set(lines.filter((l) => l.startsWith('-- '))).size, lines.filter((l) => l.startsWith('-- ')).length, `no state line twice: ${show(r)}`);

    const frozen = lines.filter((l) => l.startsWith('!! guest frozen'));
    assert.equal(frozen.length, 1, `the frozen alarm, once: ${show(r)}`);
    const alarm = /^!! guest frozen: checkpoint #(\d+) has held the primary paused for ([\d.]+) s \(threshold ([\d.]+) s\)$/.exec(frozen[0]!);
    assert.ok(alarm, frozen[0]);
    assert.ok(Number(alarm[2]) >= Number(alarm[3]) && Number(alarm[3]) >= 5, frozen[0]);
    assert.equal(r.code, 4, `a run that ends with the guest frozen exits 4: ${show(r)}`);
    const ended = /^ {2}ended: GUEST FROZEN: checkpoint #(\d+) had held the primary paused ([\d.]+) s \(threshold [\d.]+ s\) \(exit status 4\)$/m.exec(r.stdout);
    assert.ok(ended, show(r));
    assert.equal(ended[1], alarm[1], 'the same checkpoint');
    const pausedS = Number(ended[2]);
    assert.ok(pausedS >= 5, `paused ${pausedS} s`);

    // The stalled checkpoint is in the summary with its real pause: aborted when the run stopped protection, or
    // still open, said so. The max must not read a few hundred ms ("max 104 ms" in the issue).
    const pause = /^ {2}primary pause \(steady state, every cycle that started\): p50 \S+ ms, p99 \S+ ms, max (\d+) ms(.*)$/m.exec(r.stdout);
    assert.ok(pause, show(r));
    // (the engine times the pause from the suspend itself, the alarm from the checkpoint's start: a few ms apart)
    assert.ok(Number(pause[1]) >= 5000 && Number(pause[1]) >= pausedS * 1000 - 250, `max ${pause[1]} ms, but the guest was paused ${pausedS} s: ${show(r)}`);
    assert.match(pause[2]!, new RegExp(`^ \\(#${alarm[1]}, (aborted|failed|still open at the end: its pause so far)\\)`), show(r));
    const title = /^Summary: (\d+) cycles .*; committed (\d+), failed (\d+), aborted (\d+)$/m.exec(r.stdout);
    assert.ok(title, show(r));
    if (pause[2]!.includes('aborted')) {
      assert.ok(Number(title[4]) >= 1, 'the aborted cycle is counted');
      assert.match(r.stdout, new RegExp(`^#${alarm[1]} .* ABORTED$`, 'm'), `the aborted cycle is printed: ${show(r)}`);
    }
  });
});

void describe('colo-console start', () => {
  void test('runs until Ctrl-C, then prints "Interrupted." and the summary and exits 0', async () => {
    let signalled = false;
    const r = await runCli(['start', '--preset', 'idle'], {
      onStdout: (out, child) => {
        // interrupt once protection runs, so the stop does not land in the middle of the initial copy
        if (!signalled && /^#0 /m.test(out)) {
          signalled = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(signalled, `start never completed its initial copy: ${show(r)}`);
    assertOk(r);
    assert.match(r.stdout, /^Interrupted\.$/m, show(r));
    assert.match(r.stdout, /^Summary: \d+ cycles/m, show(r));
    assert.match(r.stdout, /^ {2}final state: stopped/m, show(r));
  });
});
