// `demo`: runs the simulated pair and prints every checkpoint as it happens, then a summary. `start` runs the
// same until interrupted (what `npm start` does until the UI lands).

import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { SIM_FAULTS, type SimFault, SimPair, type SimPairListener } from '../backends/sim/pair.js';
import { type LinkPresetName, linkPresetNames } from '../backends/sim/link.js';
import { PRESETS, type PresetName, presetNames } from '../backends/sim/presets.js';
import type { CycleRecord, FailoverEvent, OpenCheckpoint, ProtectionState } from '../colo/types.js';
import { UsageError, formatMiB, parse, parseChoice, parseDuration, parseSize } from './args.js';
import { CycleLog, type DemoSummary, EXIT, type Ending } from './cycle-summary.js';
import { type CutResult, RecordingMeter, cutToLimit } from './recording.js';
import { escapeControls, jsonLine } from './terminal-text.js';

const DEMO_OPTIONS_HELP = `Options:
  --preset NAME          workload: ${presetNames.join(', ')} (default web-server)
  --mode colo|remus      COLO (checkpoint on output mismatch, at most every 5 s) or Remus (fixed interval)
  --interval DURATION    Remus checkpoint interval (default 200ms, as xl remus)
  --link NAME            replication link: ${linkPresetNames.join(', ')} (default 10gbe)
@DURATION@  --fault NAME@TIME      inject a fault at TIME after start; repeatable. NAME is one of
                         ${SIM_FAULTS.join(', ')}
  --record-stream FILE   also write the forward stream, byte for byte, to FILE in xl's save-file format; its size
                         is shown on stderr as it grows
  --record-limit SIZE    stop the run when the recording reaches SIZE (e.g. 100MiB, 2GiB); FILE is cut back to
                         the last complete checkpoint that fits (or the last whole record of the initial copy)
  --json                 one JSON object per line (cycles, states, alarms, failovers, then the summary)
  -h, --help             show this help

Exit status:
  0  the run ended with the guest running on one copy (stopped, protected, failed over, or unprotected)
  1  the run could not be carried out (for example FILE could not be written)
  2  usage error
  ${EXIT.splitBrain}  split brain: both copies of the guest ran on
  ${EXIT.guestFrozen}  guest frozen: a checkpoint had held the primary paused past the threshold when the run ended
  ${EXIT.pairError}  the pair ended in error (for example the guest was lost)`;

export const DEMO_HELP = `Usage: colo-console demo [options]

Runs a simulated COLO pair: two guests with real memory, the checkpoint engine on each side, talking the Xen
migration stream over a loopback socket. Prints each checkpoint as it happens, then a summary.

${DEMO_OPTIONS_HELP.replace('@DURATION@', '  --duration DURATION    how long to run, e.g. 500ms, 30s, 2m (default 30s)\n')}`;

export const START_HELP = `Usage: colo-console start [options]

Runs the simulated pair headless until Ctrl-C, printing each checkpoint, then a summary. The same as 'demo'
without a --duration.

${DEMO_OPTIONS_HELP.replace('@DURATION@', '')}`;

/** The options of `demo`; `start` takes the same but --duration. Exported so a test can hold the help to them. */
export const DEMO_OPTIONS = {
  preset: { type: 'string' },
  mode: { type: 'string' },
  interval: { type: 'string' },
  link: { type: 'string' },
  duration: { type: 'string' },
  fault: { type: 'string', multiple: true },
  'record-stream': { type: 'string' },
  'record-limit': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const START_OPTIONS = (({ duration: _duration, ...rest }) => rest)(DEMO_OPTIONS);

interface FaultPlan {
  fault: SimFault;
  atMs: number;
}

function parseFault(text: string): FaultPlan {
  const [name, at] = text.split('@');
  const fault = parseChoice('fault', name ?? '', SIM_FAULTS);
  return { fault, atMs: at === undefined ? 0 : parseDuration('fault', at) };
}

/** How often the run looks at an open checkpoint, to raise the frozen alarm when it passes the threshold. */
const FROZEN_CHECK_MS = 100;

export async function demoCommand(argv: string[], out: (line: string) => void, opts: { untilInterrupted?: boolean } = {}): Promise<number> {
  const command = opts.untilInterrupted ? 'start' : 'demo';
  const { values } = parse(command, argv, opts.untilInterrupted ? START_OPTIONS : DEMO_OPTIONS);
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
  const recordLimit = values['record-limit'] === undefined ? undefined : parseSize('record-limit', values['record-limit']);
  if (recordLimit !== undefined && recordPath === undefined) throw new UsageError(`${command}: --record-limit applies to --record-stream only`);
  if (recordPath !== undefined && existsSync(recordPath) && statSync(recordPath).isDirectory()) {
    throw new UsageError(`--record-stream: ${recordPath} is a directory; give a file name`);
  }
  // Written under a temporary name and renamed at the end, so FILE is never a half-written stream.
  const partialPath = recordPath ? `${recordPath}.partial-${process.pid}` : undefined;
  const recordFd = partialPath ? openSync(partialPath, 'wx') : undefined;
  const say = (line: string): void => {
    process.stderr.write(`${escapeControls(line)}\n`);
  };

  const pair = new SimPair({ name: 'demo-vm', preset, mode, link, remusIntervalMs: intervalMs, recordFd });
  const log = new CycleLog();
  const outputLatency: number[] = [];
  const print = (text: string, obj: object): void => out(json ? jsonLine(obj) : text);
  let lastStateKey = '';
  // checkpointStarted arrives from engines that report a checkpoint as it begins (DESIGN.md: the backend's
  // "checkpoint started, not finished" signal); with one that does not, the summary counts what cycle() reports.
  const listener: SimPairListener & { checkpointStarted?(open: OpenCheckpoint): void } = {
    checkpointStarted: (open) => log.started(open),
    cycle: (r) => {
      log.cycle(r);
      print(formatCycle(r), { type: 'cycle', ...r });
    },
    state: (s) => {
      // The engine re-reports a state as its figures move (a stalled checkpoint, every 250 ms); a person needs
      // each change of state or cause once, a program gets every report.
      const key = stateKey(s);
      if (!json && key === lastStateKey) return;
      lastStateKey = key;
      print(formatState(s), { type: 'state', ...s });
    },
    failover: (e) => print(formatFailover(e), { type: 'failover', ...e }),
    output: (latencyMs) => {
      if (outputLatency.length < 1_000_000) outputLatency.push(latencyMs);
    },
  };
  pair.subscribe(listener);
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
  const meter = recordFd !== undefined && recordPath !== undefined
    ? new RecordingMeter({ fd: recordFd, path: recordPath, limitBytes: recordLimit, tty: process.stderr.isTTY === true, say, onLimit: () => wake() })
    : undefined;
  let frozenSeq: number | undefined;
  const watchFrozen = (): void => {
    const f = log.frozen();
    if (!f || f.seq === frozenSeq) return;
    frozenSeq = f.seq;
    print(`!! guest frozen: checkpoint #${f.seq} has held the primary paused for ${seconds(f.pausedMs)} (threshold ${seconds(f.thresholdMs)})`,
      { type: 'alarm', kind: 'guest-frozen', seq: f.seq, pausedMs: f.pausedMs, thresholdMs: f.thresholdMs });
  };
  process.once('SIGINT', onSigint);
  let completed = false;
  let recorded: { bytes: number; cut?: CutResult } | undefined;
  try {
    await pair.start();
    meter?.start();
    for (const f of faults) timers.push(setTimeout(() => pair.inject(f.fault), f.atMs));
    if (Number.isFinite(durationMs)) timers.push(setTimeout(wake, durationMs));
    timers.push(setInterval(watchFrozen, FROZEN_CHECK_MS));
    void pair.outcome().then(() => {
      // With a fault plan, the run ends once the pair settles; otherwise it runs its duration.
      if (faults.length > 0) setTimeout(wake, 200);
    });
    await ended;
    watchFrozen();
    log.markEnd();
    completed = true;
  } finally {
    for (const t of timers) clearTimeout(t);
    meter?.stop();
    process.removeListener('SIGINT', onSigint);
    try {
      await withTimeout(pair.dispose(), 10_000, 'stopping the simulated pair');
    } finally {
      if (recordFd !== undefined && partialPath && recordPath) {
        const bytes = fstatSync(recordFd).size;
        closeSync(recordFd);
        // A run that failed leaves no file behind; one that ran its course leaves the stream as far as it went.
        try {
          if (completed) {
            const cut = recordLimit !== undefined && bytes > recordLimit ? await cutToLimit(partialPath, recordLimit) : undefined;
            renameSync(partialPath, recordPath);
            recorded = { bytes, cut };
          }
        } finally {
          rmSync(partialPath, { force: true });
        }
      }
    }
  }
  if (recorded && recordPath) say(describeRecording(recordPath, recorded.bytes, recorded.cut));
  const summary = log.summarise(outputLatency, pair.state);
  if (json) out(jsonLine({ type: 'summary', ...summary }));
  else out(formatSummary(summary, interrupted ? 'Interrupted.' : meter?.limitReached ? 'Stopped: the recording reached its limit.' : ''));
  return summary.exitCode;
}

function describeRecording(file: string, bytes: number, cut: CutResult | undefined): string {
  if (!cut) return `recording: ${formatMiB(bytes)} in ${file}`;
  const holds = cut.atCheckpoint
    ? `checkpoints 0 to ${cut.checkpoints - 1}, complete`
    : 'the start of the initial copy, cut at a record boundary (no complete checkpoint: a secondary would discard it)';
  return `recording: ${file} cut back from ${formatMiB(bytes)} to ${formatMiB(cut.bytes)} to stay within the limit; it holds ${holds}`;
}

/** What makes a state line worth printing again: a new state, a new cause, or a new pass of the initial copy. */
function stateKey(s: ProtectionState): string {
  return `${s.state}|${s.reasonCode ?? ''}|${s.progress?.iteration ?? ''}`;
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

export function formatCycle(r: CycleRecord): string {
  const phases = r.phases.map((p) => `${p.name} ${ms(p.durationMs)}`).join(' | ');
  const svm = r.secondaryPauseMs === undefined ? '' : ` (secondary ${ms(r.secondaryPauseMs)})`;
  const dirty = r.secondaryDirtyPages === undefined ? `${r.dirtyPages}` : `${r.dirtyPages}+${r.secondaryDirtyPages}`;
  const outcome = r.outcome === 'committed' ? '' : `  ${r.outcome.toUpperCase()}`;
  return `#${String(r.seq).padEnd(5)} ${r.trigger.padEnd(10)} pause ${ms(r.primaryPauseMs).padStart(6)} ms${svm}  ${phases}  dirty ${dirty} → ${r.pagesSent} pages, ${formatMiB(r.bytesSent)}${outcome}`;
}

export function formatState(s: ProtectionState): string {
  const progress = s.progress ? ` ${Math.round((100 * s.progress.pagesDone) / Math.max(1, s.progress.pagesTotal))}%` : '';
  return `-- ${s.state}${progress}${s.reason ? `: ${escapeControls(s.reason)}` : ''}`;
}

export function formatFailover(e: FailoverEvent): string {
  return `!! failover detected by ${e.detectedBy}: ${escapeControls(e.cause)}; survivor ${e.survivor}, last checkpoint ${e.lastCheckpointSeq}, guest down ${ms(e.guestDowntimeMs)} ms`;
}

const seconds = (v: number): string => `${(v / 1000).toFixed(1)} s`;

const ENDING_TEXT: Record<Ending, string> = {
  ok: 'the guest runs on one copy',
  'split-brain': 'SPLIT BRAIN: both copies of the guest ran on',
  'guest-frozen': 'GUEST FROZEN',
  'pair-error': 'the pair ended in error',
};

function formatSummary(s: DemoSummary, why: string): string {
  const triggers = Object.entries(s.triggers).map(([k, v]) => `${k} ${v}`).join(', ');
  const o = s.outcomes;
  const p = s.primaryPauseMs;
  const longest = s.longestPause;
  const which = !longest
    ? ''
    : longest.outcome === 'open'
      ? ` (#${longest.seq}, still open at the end: its pause so far)`
      : longest.outcome === 'committed' ? '' : ` (#${longest.seq}, ${longest.outcome})`;
  const open = s.openAtEnd && s.openAtEnd.seq !== longest?.seq ? `; #${s.openAtEnd.seq} still open at the end, counted with its ${ms(s.openAtEnd.pausedMs)} ms so far` : '';
  const frozen = s.frozen ? `: checkpoint #${s.frozen.seq} had held the primary paused ${seconds(s.frozen.pausedMs)} (threshold ${seconds(s.frozen.thresholdMs)})` : '';
  return [
    why ? `\n${why}` : '',
    `Summary: ${s.cycles} cycles (${triggers || 'none'}); committed ${o.committed}, failed ${o.failed}, aborted ${o.aborted}`,
    `  primary pause (steady state, every cycle that started): p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms, max ${ms(p.max)} ms${which}${open}`,
    `  sent: ${s.pagesSent} pages, ${formatMiB(s.bytesSent)}`,
    `  guest output held: p50 ${ms(s.outputLatencyMs.p50)} ms, p99 ${ms(s.outputLatencyMs.p99)} ms over ${s.outputLatencyMs.packets} packets`,
    `  final state: ${s.finalState.state}${s.finalState.reason ? ` (${escapeControls(s.finalState.reason)})` : ''}`,
    `  ended: ${ENDING_TEXT[s.ending]}${frozen} (exit status ${s.exitCode})`,
  ].filter(Boolean).join('\n');
}
