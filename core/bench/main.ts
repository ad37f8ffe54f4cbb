// colo-console benchmarks: the codec and the COLO checkpoint engine, each measured against a raw baseline taken in
// the same run (machines here are noisy), with PASS/FAIL against a target. The exit status is 0 whenever every
// benchmark ran, whether or not it met its target: this is a report. It is 1 only when a benchmark crashed, 2 on
// bad arguments.
//
//   npm run bench                              all benchmarks (a few minutes on 2 cores), table on stdout
//   npm run bench -- --quick                   shorter runs for CI smoke use (about 10 s; the xen-* ones add about
//                                              a minute as root, where they start the Xen lab)
//   npm run -s bench -- --json > bench.json    one JSON object on stdout (-s keeps npm's banner out of it);
//                                              progress always goes to stderr
//   npm run bench -- --only engine-dirty       one benchmark: codec, engine-idle, engine-dirty, memory
//   npm run bench -- --only codec,memory       several (or repeat --only)
//
// Each benchmark runs in its own child process (node with --expose-gc, so memory samples follow a full GC, and so
// one benchmark's garbage does not land on the next). For profiling, run one in this process instead:
//
//   node --expose-gc --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx core/bench/main.ts --in-process --only engine-dirty
//
// Benchmarks (core/bench/*.ts, one module each):
//   codec         PAGE_DATA encode + StreamDecoder (64 KiB chunks) + applyPageData vs raw Buffer.copy  target ≥ 0.5×
//   engine-idle   COLO checkpoints/s, no dirty pages, loopback TCP vs raw 2-round-trip ping-pong         target ≥ 0.5×
//   engine-dirty  mean cycle time with 1,000 dirty pages vs raw transfer of the same bytes, same RTTs    target ≤ 1.5×
//   memory        RSS over 100,000 checkpoints (20,000 with --quick) after a 2,000-checkpoint warm-up     growth < 10 %
//   audit         console start with a 1,000,000-entry audit log (100,000 with --quick); verify's loop waits  start < 2 s
//   xl-log        xl -vvv remus log (32 KiB chunks) to events + offsets vs decode + plain line splitting     target ≥ 0.5×
//   xen-latency   lab at 100 cycles/s: cycle's last line written on host a → CycleRecord at the API client
//                 (p95) vs a line appended on a → plain tail -F over ssh                                  p95 ≤ 50 ms
//   xen-cpu       console following 10 Xen pairs (5 checkpoints/s each): this process's CPU vs plain tail -F
//                 of the same 10 logs over one SSH link                                                  ≤ 25 % of a core
//   qemu-latency  emulated QEMU pair at x-checkpoint-delay 10 ms behind the QEMU lab's sshds: the primary's RESUME
//                 (QEMU's timestamp) → CycleRecord at the API client (p95) vs a bare QmpClient on a second
//                 monitor through the same sshd                                                         p95 ≤ 50 ms
//
// The xen-* benchmarks need the Xen lab (root, OpenSSH sshd, mount and network namespaces); where it cannot run
// they are reported as SKIP with the reason. Each stops its lab on every path; a child killed by the watchdog
// leaves its lab to the next startXenLab(), which removes labs whose process has died. qemu-latency needs OpenSSH
// sshd and unshare --mount (the QEMU lab), else SKIP.

import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { auditLog } from './audit-log.js';
import { codec } from './codec.js';
import { engineDirty } from './engine-dirty.js';
import { engineIdle } from './engine-idle.js';
import { type BenchResult, type Benchmark, gcExposed, now, round } from './harness.js';
import { memory } from './memory.js';
import { qemuLatency } from './qemu-latency.js';
import { xenCpu } from './xen-cpu.js';
import { xenLatency } from './xen-latency.js';
import { xlLog } from './xl-log.js';

const BENCHMARKS: readonly Benchmark[] = [codec, engineIdle, engineDirty, memory, auditLog, xlLog, xenLatency, xenCpu, qemuLatency];

const HELP = `Usage: npm run bench -- [--quick] [--json] [--only NAME[,NAME…]] [--in-process]

  --quick        shorter runs (CI smoke test)
  --json         print one JSON object on stdout instead of the table
  --only NAME    run only these benchmarks (${BENCHMARKS.map((b) => b.name).join(', ')}); repeatable
  --in-process   run in this process instead of one child process per benchmark (for --cpu-prof)`;

interface Args {
  quick: boolean;
  json: boolean;
  inProcess: boolean;
  only: string[];
  child?: string;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, json: false, inProcess: false, only: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick': args.quick = true; break;
      case '--json': args.json = true; break;
      case '--in-process': args.inProcess = true; break;
      case '--only': args.only.push(...value().split(',').map((s) => s.trim()).filter(Boolean)); break;
      case '--child': args.child = value(); break;
      case '-h':
      case '--help': args.help = true; break;
      default: throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  for (const name of [...args.only, ...(args.child === undefined ? [] : [args.child])]) {
    if (!BENCHMARKS.some((b) => b.name === name)) {
      throw new UsageError(`unknown benchmark '${name}' (benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')})`);
    }
  }
  return args;
}

const log = (line: string): void => {
  process.stderr.write(line + '\n');
};

type Outcome = { name: string; ok: true; result: BenchResult } | { name: string; ok: false; error: string };

type ChildMessage = { ok: true; result: BenchResult } | { ok: false; error: string };

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

async function runHere(bench: Benchmark, quick: boolean): Promise<Outcome> {
  try {
    return { name: bench.name, ok: true, result: await bench.run({ quick, log }) };
  } catch (err) {
    return { name: bench.name, ok: false, error: errorText(err) };
  }
}

/** Runs one benchmark in a fresh node process with --expose-gc; its progress goes to our stderr. */
function runInChild(bench: Benchmark, quick: boolean): Promise<Outcome> {
  const execArgv = process.execArgv.includes('--expose-gc') ? [...process.execArgv] : [...process.execArgv, '--expose-gc'];
  const child = fork(fileURLToPath(import.meta.url), ['--child', bench.name, ...(quick ? ['--quick'] : [])], {
    execArgv,
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  return new Promise<Outcome>((resolve) => {
    let message: ChildMessage | undefined;
    // A wedged engine must not hang CI: past this, the child is killed and the benchmark reported as an error.
    const limitMs = quick ? (bench.timeLimitMs?.quick ?? 90_000) : (bench.timeLimitMs?.full ?? 300_000);
    let timedOut = false;
    const watchdog = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('message', (m: ChildMessage) => {
      message = m;
    });
    child.on('error', (err) => resolve({ name: bench.name, ok: false, error: errorText(err) }));
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      if (timedOut) resolve({ name: bench.name, ok: false, error: `no result after ${limitMs / 1000} s: killed` });
      else if (message?.ok) resolve({ name: bench.name, ok: true, result: message.result });
      else if (message) resolve({ name: bench.name, ok: false, error: message.error });
      else resolve({ name: bench.name, ok: false, error: `child process ended (${signal ?? `exit ${code}`}) without a result` });
    });
  });
}

async function childMain(name: string, quick: boolean): Promise<void> {
  const bench = BENCHMARKS.find((b) => b.name === name)!;
  const outcome = await runHere(bench, quick);
  const message: ChildMessage = outcome.ok ? { ok: true, result: outcome.result } : { ok: false, error: outcome.error };
  await new Promise<void>((resolve) => {
    if (!process.send) {
      resolve();
      return;
    }
    process.send(message, () => resolve());
  });
  // Exit now rather than wait for the event loop to drain: a handle left open must not hang the whole bench.
  process.exit(0);
}

// ---- the report ----

function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'ms') return value < 10 ? value.toFixed(3) : value.toFixed(1);
  if (unit === 'MiB') return value.toFixed(1);
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}

/** Subject / baseline of each round: a second view of the spread, next to the ratio of the medians. */
function roundRatios(r: BenchResult): number[] {
  return r.subject.samples.map((v, i) => v / r.baseline.samples[i]!).filter((x) => Number.isFinite(x));
}

function targetText(r: BenchResult): string {
  if (r.target.kind === 'max-value') return `≤ ${fmt(r.target.value, r.unit)} ${r.unit}`;
  return `${r.target.kind === 'min' ? '≥' : '≤'} ${r.target.value.toFixed(2)}×`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows.map((r) => r.map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length)).join('  ').trimEnd());
}

function report(outcomes: readonly Outcome[], quick: boolean, totalMs: number): string[] {
  const lines: string[] = [];
  lines.push(`colo-console bench (${quick ? 'quick' : 'full'}): node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs, ${(totalMs / 1000).toFixed(1)} s`);
  lines.push('');
  const rows: string[][] = [['benchmark', 'metric', 'baseline', 'subject', 'ratio', 'target', 'result']];
  for (const o of outcomes) {
    if (!o.ok) {
      rows.push([o.name, '', '', '', '', '', 'ERROR']);
      continue;
    }
    const r = o.result;
    if (r.skipped !== undefined) {
      rows.push([r.name, `${r.metric} (${r.unit})`, '', '', '', targetText(r), 'SKIP']);
      continue;
    }
    rows.push([
      r.name,
      `${r.metric} (${r.unit})`,
      fmt(r.baseline.median, r.unit),
      fmt(r.subject.median, r.unit),
      `${r.ratio.toFixed(2)}×`,
      targetText(r),
      r.pass ? 'PASS' : 'FAIL',
    ]);
  }
  lines.push(...table(rows));
  for (const o of outcomes) {
    lines.push('');
    if (!o.ok) {
      lines.push(`${o.name}: ERROR`);
      lines.push(...o.error.split('\n').map((l) => `  ${l}`));
      continue;
    }
    const r = o.result;
    lines.push(`${r.name}: ${r.title}`);
    if (r.skipped !== undefined) {
      lines.push(`  SKIPPED: ${r.skipped}`);
      continue;
    }
    const each = (values: number[]): string => values.map((v) => fmt(v, r.unit)).join(', ');
    const median = r.rounds > 1 ? `median of ${r.rounds}` : 'single run';
    lines.push(`  baseline  ${r.baseline.label}: ${fmt(r.baseline.median, r.unit)} ${r.unit} (${median}${r.rounds > 1 ? `: ${each(r.baseline.samples)}` : ''})`);
    lines.push(`  subject   ${r.subject.label}: ${fmt(r.subject.median, r.unit)} ${r.unit} (${median}${r.rounds > 1 ? `: ${each(r.subject.samples)}` : ''})`);
    const better = r.higherIsBetter ? 'higher is better' : 'lower is better';
    const on = r.target.kind === 'max-value' ? `subject ${fmt(r.subject.median, r.unit)} ${r.unit}, target ${targetText(r)}` : `target ${targetText(r)}`;
    lines.push(`  ratio     ${r.ratio.toFixed(3)}× (subject / baseline, ${better}); ${on}: ${r.pass ? 'PASS' : 'FAIL'}`);
    if (r.rounds > 1) lines.push(`            per round: ${roundRatios(r).map((x) => x.toFixed(2)).join(', ')}`);
    for (const note of r.notes) lines.push(`  · ${note}`);
  }
  const skipped = outcomes.filter((o) => o.ok && o.result.skipped !== undefined).map((o) => o.name);
  const failed = outcomes.filter((o) => o.ok && !o.result.pass && o.result.skipped === undefined).map((o) => o.name);
  const errors = outcomes.filter((o) => !o.ok).map((o) => o.name);
  const passed = outcomes.length - failed.length - errors.length - skipped.length;
  lines.push('');
  let summary = `${passed} of ${outcomes.length - skipped.length} targets met`;
  if (failed.length > 0) summary += `; MISSED: ${failed.join(', ')}`;
  if (skipped.length > 0) summary += `; SKIPPED: ${skipped.join(', ')}`;
  if (errors.length > 0) summary += `; ERRORS: ${errors.join(', ')}`;
  lines.push(summary);
  return lines;
}

function jsonReport(outcomes: readonly Outcome[], quick: boolean, startedAt: Date, totalMs: number): unknown {
  return {
    tool: 'colo-console bench',
    startedAt: startedAt.toISOString(),
    quick,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    totalMs: round(totalMs, 0),
    results: outcomes.map((o) => (o.ok
      ? { ...o.result, ratio: round(o.result.ratio, 4), roundRatios: roundRatios(o.result).map((x) => round(x, 4)), ok: true }
      : { name: o.name, ok: false, error: o.error })),
    summary: {
      passed: outcomes.filter((o) => o.ok && o.result.pass).map((o) => o.name),
      failed: outcomes.filter((o) => o.ok && !o.result.pass && o.result.skipped === undefined).map((o) => o.name),
      skipped: outcomes.filter((o) => o.ok && o.result.skipped !== undefined).map((o) => o.name),
      errors: outcomes.filter((o) => !o.ok).map((o) => o.name),
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${HELP}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (args.child !== undefined) {
    await childMain(args.child, args.quick);
    return 0;
  }
  const selected = args.only.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => args.only.includes(b.name));
  const startedAt = new Date();
  const t0 = now();
  if (args.inProcess && !gcExposed()) log('bench: node runs without --expose-gc; memory samples will include uncollected garbage');
  const outcomes: Outcome[] = [];
  for (const bench of selected) {
    log(`== ${bench.name}: ${bench.title}`);
    const outcome = args.inProcess ? await runHere(bench, args.quick) : await runInChild(bench, args.quick);
    if (!outcome.ok) log(`== ${bench.name}: ERROR\n${outcome.error}`);
    else if (outcome.result.skipped !== undefined) log(`== ${bench.name}: SKIPPED (${outcome.result.skipped})`);
    else log(`== ${bench.name}: ratio ${outcome.result.ratio.toFixed(3)}× ${outcome.result.pass ? 'PASS' : 'FAIL'} (${(outcome.result.elapsedMs / 1000).toFixed(1)} s)`);
    outcomes.push(outcome);
  }
  const totalMs = now() - t0;
  if (args.json) process.stdout.write(JSON.stringify(jsonReport(outcomes, args.quick, startedAt, totalMs), null, 2) + '\n');
  else process.stdout.write(report(outcomes, args.quick, totalMs).join('\n') + '\n');
  return outcomes.some((o) => !o.ok) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${errorText(err)}\n`);
    process.exitCode = 1;
  },
);
