// `demo`: runs the simulated pair and prints every checkpoint as it happens, then a summary. `start` runs the
// same until interrupted (what `npm start` does until the UI lands).

import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { SIM_FAULTS, type SimFault, SimPair } from '../backends/sim/pair.js';
import { type LinkPresetName, linkPresetNames } from '../backends/sim/link.js';
import { PRESETS, type PresetName, presetNames } from '../backends/sim/presets.js';
import { quantile } from '../colo/stats.js';
import type { CheckpointTrigger, CycleRecord, FailoverEvent, ProtectionState } from '../colo/types.js';
import { UsageError, parse, parseChoice, parseDuration } from './args.js';

export const DEMO_HELP = `Usage: colo-console demo [options]

Runs a simulated COLO pair: two guests with real memory, the checkpoint engine on each side, talking the Xen
migration stream over a loopback socket. Prints each checkpoint as it happens, then a summary.

Options:
  --preset NAME          workload: ${presetNames.join(', ')} (default web-server)
  --mode colo|remus      COLO (checkpoint on output mismatch, at most every 5 s) or Remus (fixed interval)
  --interval DURATION    Remus checkpoint interval (default 200ms, as xl remus)
  --link NAME            replication link: ${linkPresetNames.join(', ')} (default 10gbe)
  --duration DURATION    how long to run, e.g. 500ms, 30s, 2m (default 30s)
  --fault NAME@TIME      inject a fault at TIME after start: ${SIM_FAULTS.join(', ')}; repeatable
  --record-stream FILE   also write the forward stream, byte for byte, to FILE in xl's save-file format
  --json                 one JSON object per line (cycles, states, failovers, then the summary)
  -h, --help             show this help`;

export const START_HELP = `Usage: colo-console start [options]

Runs the simulated pair headless until Ctrl-C, printing each checkpoint, then a summary.
Takes the same options as 'demo' except --duration.`;

interface FaultPlan {
  fault: SimFault;
  atMs: number;
}

function parseFault(text: string): FaultPlan {
  const [name, at] = text.split('@');
  const fault = parseChoice('fault', name ?? '', SIM_FAULTS);
  return { fault, atMs: at === undefined ? 0 : parseDuration('fault', at) };
}

export async function demoCommand(argv: string[], out: (line: string) => void, opts: { untilInterrupted?: boolean } = {}): Promise<number> {
  const command = opts.untilInterrupted ? 'start' : 'demo';
  const { values } = parse(command, argv, {
    preset: { type: 'string' },
    mode: { type: 'string' },
    interval: { type: 'string' },
    link: { type: 'string' },
    ...(opts.untilInterrupted ? {} : { duration: { type: 'string' as const } }),
    fault: { type: 'string', multiple: true },
    'record-stream': { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    out(opts.untilInterrupted ? START_HELP : DEMO_HELP);
    return 0;
  }
  const preset = parseChoice<PresetName>('preset', values.preset ?? 'web-server', presetNames);
  const mode = parseChoice('mode', values.mode ?? 'colo', ['colo', 'remus'] as const);
  const link = parseChoice<LinkPresetName>('link', values.link ?? '10gbe', linkPresetNames);
  const intervalMs = values.interval ? parseDuration('interval', values.interval) : undefined;
  if (intervalMs !== undefined && mode !== 'remus') throw new UsageError(`${command}: --interval applies to --mode remus only (COLO checkpoints when output differs)`);
  const durationText = (values as { duration?: string }).duration;
  const durationMs = opts.untilInterrupted ? Infinity : parseDuration('duration', durationText ?? '30s');
  const faults = ((values.fault as string[] | undefined) ?? []).map(parseFault);
  const json = values.json === true;

  const recordPath = values['record-stream'];
  if (recordPath !== undefined && existsSync(recordPath) && statSync(recordPath).isDirectory()) {
    throw new UsageError(`--record-stream: ${recordPath} is a directory; give a file name`);
  }
  // Written under a temporary name and renamed at the end, so FILE is never a half-written stream.
  const partialPath = recordPath ? `${recordPath}.partial-${process.pid}` : undefined;
  const recordFd = partialPath ? openSync(partialPath, 'wx') : undefined;

  const pair = new SimPair({ name: 'demo-vm', preset, mode, link, remusIntervalMs: intervalMs, recordFd });
  const cycles: CycleRecord[] = [];
  const outputLatency: number[] = [];
  const print = (text: string, obj: object): void => out(json ? JSON.stringify(obj) : text);
  pair.subscribe({
    cycle: (r) => {
      cycles.push(r);
      print(formatCycle(r), { type: 'cycle', ...r });
    },
    state: (s) => print(formatState(s), { type: 'state', ...s }),
    failover: (e) => print(formatFailover(e), { type: 'failover', ...e }),
    output: (ms) => {
      if (outputLatency.length < 1_000_000) outputLatency.push(ms);
    },
  });
  if (!json) {
    const p = PRESETS[preset];
    out(`Simulated ${mode.toUpperCase()} pair: ${p.label}, ${p.guestPages * 4 / 1024} MiB guest, ${p.vcpus} vCPUs, ${link} link${mode === 'remus' ? `, every ${intervalMs ?? 200} ms` : ''}`);
  }

  const timers: NodeJS.Timeout[] = [];
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    wake();
  };
  let wake: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    wake = resolve;
  });
  process.once('SIGINT', onSigint);
  let completed = false;
  try {
    await pair.start();
    for (const f of faults) timers.push(setTimeout(() => pair.inject(f.fault), f.atMs));
    if (Number.isFinite(durationMs)) timers.push(setTimeout(wake, durationMs));
    void pair.outcome().then(() => {
      // With a fault plan, the run ends once the pair settles; otherwise it runs its duration.
      if (faults.length > 0) setTimeout(wake, 200);
    });
    await ended;
    completed = true;
  } finally {
    for (const t of timers) clearTimeout(t);
    process.removeListener('SIGINT', onSigint);
    try {
      await withTimeout(pair.dispose(), 10_000, 'stopping the simulated pair');
    } finally {
      if (recordFd !== undefined && partialPath && recordPath) {
        closeSync(recordFd);
        // A run that failed leaves no file behind; one that ran its course leaves the stream as far as it went.
        try {
          if (completed) renameSync(partialPath, recordPath);
        } finally {
          rmSync(partialPath, { force: true });
        }
      }
    }
  }
  const summary = summarise(cycles, outputLatency, pair.state);
  if (json) out(JSON.stringify({ type: 'summary', ...summary }));
  else out(formatSummary(summary, interrupted));
  return 0;
}

/** Rejects if `work` takes longer than `ms`; the timer also keeps the process alive while it waits. */
async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const ms = (v: number): string => (Number.isNaN(v) ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const mb = (bytes: number): string => (bytes / 1e6).toFixed(bytes >= 1e7 ? 0 : 2);

export function formatCycle(r: CycleRecord): string {
  const phases = r.phases.map((p) => `${p.name} ${ms(p.durationMs)}`).join(' | ');
  const svm = r.secondaryPauseMs === undefined ? '' : ` (secondary ${ms(r.secondaryPauseMs)})`;
  const dirty = r.secondaryDirtyPages === undefined ? `${r.dirtyPages}` : `${r.dirtyPages}+${r.secondaryDirtyPages}`;
  return `#${String(r.seq).padEnd(5)} ${r.trigger.padEnd(10)} pause ${ms(r.primaryPauseMs).padStart(6)} ms${svm}  ${phases}  dirty ${dirty} → ${r.pagesSent} pages, ${mb(r.bytesSent)} MB`;
}

export function formatState(s: ProtectionState): string {
  const progress = s.progress ? ` ${Math.round((100 * s.progress.pagesDone) / Math.max(1, s.progress.pagesTotal))}%` : '';
  return `-- ${s.state}${progress}${s.reason ? `: ${s.reason}` : ''}`;
}

export function formatFailover(e: FailoverEvent): string {
  return `!! failover detected by ${e.detectedBy}: ${e.cause}; survivor ${e.survivor}, last checkpoint ${e.lastCheckpointSeq}, guest down ${ms(e.guestDowntimeMs)} ms`;
}

export interface DemoSummary {
  cycles: number;
  triggers: Partial<Record<CheckpointTrigger, number>>;
  primaryPauseMs: { p50: number; p99: number; max: number };
  pagesSent: number;
  bytesSent: number;
  outputLatencyMs: { p50: number; p99: number; packets: number };
  finalState: ProtectionState;
}

export function summarise(cycles: CycleRecord[], outputLatency: number[], state: ProtectionState): DemoSummary {
  const steady = cycles.filter((c) => c.trigger !== 'initial');
  const pauses = steady.map((c) => c.primaryPauseMs);
  const triggers: Partial<Record<CheckpointTrigger, number>> = {};
  for (const c of cycles) triggers[c.trigger] = (triggers[c.trigger] ?? 0) + 1;
  return {
    cycles: cycles.length,
    triggers,
    primaryPauseMs: { p50: quantile(pauses, 0.5), p99: quantile(pauses, 0.99), max: pauses.length ? Math.max(...pauses) : NaN },
    pagesSent: cycles.reduce((n, c) => n + c.pagesSent, 0),
    bytesSent: cycles.reduce((n, c) => n + c.bytesSent, 0),
    outputLatencyMs: { p50: quantile(outputLatency, 0.5), p99: quantile(outputLatency, 0.99), packets: outputLatency.length },
    finalState: state,
  };
}

function formatSummary(s: DemoSummary, interrupted: boolean): string {
  const triggers = Object.entries(s.triggers).map(([k, v]) => `${k} ${v}`).join(', ');
  const p = s.primaryPauseMs;
  return [
    interrupted ? '\nInterrupted.' : '',
    `Summary: ${s.cycles} cycles (${triggers || 'none'})`,
    `  primary pause (steady state): p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms, max ${ms(p.max)} ms`,
    `  sent: ${s.pagesSent} pages, ${mb(s.bytesSent)} MB`,
    `  guest output held: p50 ${ms(s.outputLatencyMs.p50)} ms, p99 ${ms(s.outputLatencyMs.p99)} ms over ${s.outputLatencyMs.packets} packets`,
    `  final state: ${s.finalState.state}${s.finalState.reason ? ` (${s.finalState.reason})` : ''}`,
  ].filter(Boolean).join('\n');
}
