// Test support for the checkpoint engine (core/colo) run for real: two SimDomains, a ColoPrimary and a
// ColoSecondary over one loopback TCP connection, with a tap on each sending side that decodes what goes over the
// wire (and can cut the link at an exact byte). Excluded from the build (tsconfig.build.json).
//
// It lives under backends/sim because it needs SimDomain, and core/colo may import only core/stream.

import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { ColoPrimary, type PrimaryExit, type PrimaryOptions } from '../../../colo/primary.js';
import { ColoSecondary, type SecondaryCycle, type SecondaryExit, type SecondaryStatus } from '../../../colo/secondary.js';
import type { CheckpointTriggers } from '../../../colo/triggers.js';
import type { CheckpointTrigger, CycleRecord, FailoverEvent, ProtectionState, ReplicationMode } from '../../../colo/types.js';
import { StreamDecoder, type StreamItem, checkpointStateName } from '../../../stream/index.js';
import { SimDomain } from '../sim-domain.js';
import { Workload, type WorkloadConfig } from '../workload.js';

// ---------------------------------------------------------------------------------------------------------------
// Bounded waiting: no await on an engine without a limit.

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 5 ms; rejects with `what` (evaluated at the time) after `ms`. */
export async function waitFor(condition: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await delay(5);
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------------------------
// Triggers

/**
 * Hands out a fixed list of triggers, `gapMs` apart; once the list is used up, `next()` waits until more are
 * pushed or the engine aborts. Lets a test run exactly N checkpoints with known trigger values.
 */
export class ScriptedTriggers implements CheckpointTriggers {
  private readonly script: CheckpointTrigger[];
  private used = 0;
  private wake: (() => void) | undefined;

  constructor(script: readonly CheckpointTrigger[], private readonly gapMs = 5) {
    this.script = [...script];
  }

  /** Triggers handed out so far. */
  get issued(): number {
    return this.used;
  }

  push(...triggers: CheckpointTrigger[]): void {
    this.script.push(...triggers);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  async next(signal: AbortSignal): Promise<CheckpointTrigger> {
    signal.throwIfAborted();
    while (this.used >= this.script.length) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason as Error);
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
    }
    await delay(this.gapMs, undefined, { signal });
    return this.script[this.used++]!;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Wire taps

export type Channel = 'forward' | 'back';

/** One decoded item as it was written, in the global order of both channels. */
export interface WireItem {
  channel: Channel;
  /** Position in the log of both channels (write order, which is causal order here: one event loop). */
  order: number;
  /** Record name, or the header kind ('xl-header', 'banner', …). */
  name: string;
  offset: number;
  /** Offset just past the item (header, body and padding). */
  end: number;
  /** CHECKPOINT_STATE id. */
  stateId?: number;
  /** PAGE_DATA or CHECKPOINT_DIRTY_PFN_LIST pfns. */
  pfns?: number[];
}

/** `CHECKPOINT_STATE(NEW)` etc. for states, the record or header name otherwise. */
export function label(item: WireItem): string {
  return item.stateId === undefined ? item.name : `${item.name}(${checkpointStateName(item.stateId)})`;
}

export interface TapOptions {
  /** Called for every decoded item; returning an offset arms a cut there (only the first armed cut counts). */
  cutPlan?: (item: WireItem) => number | undefined;
  /** Called once the bytes before the cut have been handed to the socket. */
  onCut?: (cutAt: number) => void;
  /** Keep a copy of every byte written (for looking at the bytes around a cut). */
  keepRaw?: boolean;
}

/**
 * The Writable an engine writes one channel into. It passes every chunk on to the socket (write callbacks are the
 * socket's, so "flushed" still means "handed to the OS"), decodes a copy with the real StreamDecoder, and can
 * stop passing bytes at an exact offset, like a cable pulled mid-record.
 */
export class WireTap extends Writable {
  readonly decoder: StreamDecoder;
  /** Bytes the engine wrote into the tap. */
  written = 0;
  /** Bytes passed on to the socket. */
  passed = 0;
  decodeError: Error | undefined;
  cutAt: number | undefined;
  cutDone = false;
  private readonly raw: Buffer[] = [];

  constructor(
    private readonly target: net.Socket,
    readonly channel: Channel,
    private readonly log: WireItem[],
    private readonly options: TapOptions = {},
  ) {
    super();
    this.decoder = new StreamDecoder(channel === 'forward' ? 'xl' : 'back');
  }

  get items(): WireItem[] {
    return this.log.filter((i) => i.channel === this.channel);
  }

  rawBytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const start = this.written;
    this.written += chunk.length;
    const copy = Buffer.from(chunk);
    if (this.options.keepRaw) this.raw.push(copy);
    this.decode(copy);
    if (this.cutDone) {
      // The cable is out: bytes vanish. The engine notices when the sockets close (cutLink), as on a real link.
      if (this.target.destroyed) callback(new Error('link cut: socket destroyed'));
      else callback();
      return;
    }
    if (this.cutAt !== undefined && start + chunk.length > this.cutAt) {
      const keep = Math.max(0, this.cutAt - start);
      this.cutDone = true;
      this.passed += keep;
      const at = this.cutAt;
      this.target.write(chunk.subarray(0, keep), () => {
        this.options.onCut?.(at);
      });
      callback();
      return;
    }
    this.passed += chunk.length;
    this.target.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.target.end(callback);
  }

  private decode(bytes: Buffer): void {
    if (this.decodeError) return;
    try {
      this.decoder.push(bytes);
      for (let item = this.decoder.next(); item; item = this.decoder.next()) this.record(item);
    } catch (err) {
      this.decodeError = err as Error;
    }
  }

  private record(item: StreamItem): void {
    const w: WireItem = {
      channel: this.channel,
      order: this.log.length,
      name: item.kind === 'record' ? item.name : item.kind,
      offset: item.offset,
      end: item.offset + item.wireLength,
    };
    if (item.kind === 'record') {
      if (item.parsed?.kind === 'checkpoint-state') w.stateId = item.parsed.id;
      if (item.parsed?.kind === 'page-data') w.pfns = Array.from(item.parsed.value.pfns);
      if (item.parsed?.kind === 'dirty-pfns') w.pfns = Array.from(item.parsed.pfns);
    }
    this.log.push(w);
    if (this.cutAt === undefined) {
      const at = this.options.cutPlan?.(w);
      if (at !== undefined) this.cutAt = at;
    }
  }
}

/** Splits a channel's items into cycles: each forward cycle ends with CHECKPOINT_END. */
export function forwardCycles(items: readonly WireItem[]): WireItem[][] {
  const cycles: WireItem[][] = [];
  let current: WireItem[] = [];
  for (const item of items) {
    current.push(item);
    if (item.name === 'CHECKPOINT_END') {
      cycles.push(current);
      current = [];
    }
  }
  if (current.length > 0) cycles.push(current);
  return cycles;
}

/** Collapses runs of PAGE_DATA into one `PAGE_DATA*` and names checkpoint states: the shape of a cycle. */
export function shape(items: readonly WireItem[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    const l = item.name === 'PAGE_DATA' ? 'PAGE_DATA*' : label(item);
    if (l === 'PAGE_DATA*' && out[out.length - 1] === 'PAGE_DATA*') continue;
    out.push(l);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The rig

export const SMALL_WORKLOAD: WorkloadConfig = {
  dirtyPagesPerSec: 5000,
  workingSetPages: 160,
  packetsPerSec: 0,
  packetBytes: 64,
  divergenceProbability: 0,
};

export interface RigOptions {
  mode: ReplicationMode;
  triggers: CheckpointTriggers;
  pageCount?: number;
  /** The guest program on the primary; `null` for a guest that never writes. */
  workload?: Partial<WorkloadConfig> | null;
  /** Run the same guest program on the SVM too (COLO; the SVM runs between checkpoints). */
  svmWorkload?: boolean;
  /** Host-local random page writes on the SVM: what makes a real SVM diverge from its PVM. Writes per 2 ms. */
  svmNoise?: number;
  primary?: Pick<PrimaryOptions, 'onSuspend' | 'onCommit' | 'stallAfterMs' | 'slowPauseMs'>;
  beforeResume?(seq: number): void;
  onSecondaryStatus?(status: SecondaryStatus, rig: Rig): void;
  onSecondaryCycle?(cycle: SecondaryCycle, rig: Rig): void;
  forward?: TapOptions;
  /** Wire the primary's secondaryPause callback to the secondary's cycle events, as SimPair does. */
  secondaryPause?: boolean;
}

export interface Rig {
  pd: SimDomain;
  sd: SimDomain;
  primary: ColoPrimary;
  secondary: ColoSecondary;
  primarySocket: net.Socket;
  secondarySocket: net.Socket;
  forwardTap: WireTap;
  backTap: WireTap;
  wire: WireItem[];
  cycles: CycleRecord[];
  secondaryCycles: SecondaryCycle[];
  states: ProtectionState[];
  failovers: FailoverEvent[];
  takeovers: FailoverEvent[];
  primaryRun: Promise<PrimaryExit>;
  secondaryRun: Promise<SecondaryExit>;
  /** Waits (bounded) until the primary has reported `n` cycles, the initial copy included. */
  waitCycles(n: number, ms?: number): Promise<void>;
  /** Stops both engines the clean way (destroy the secondary first, then stop the primary) and awaits them. */
  stop(ms?: number): Promise<[PrimaryExit, SecondaryExit]>;
  /** Awaits both engines' exits, bounded. */
  exits(ms?: number): Promise<[PrimaryExit, SecondaryExit]>;
  /** Destroys both sockets: the cable is pulled. */
  cutLink(): void;
  /** Stops workloads and timers and closes everything; safe to call more than once. */
  dispose(): void;
}

export async function startRig(o: RigOptions): Promise<Rig> {
  const pageCount = o.pageCount ?? 512;
  const pd = new SimDomain({ name: 'rig-p', pageCount, running: true, fill: 'random' });
  const sd = new SimDomain({ name: 'rig-s', pageCount });
  const config: WorkloadConfig = { ...SMALL_WORKLOAD, ...o.workload };
  const workloads: Workload[] = [];
  if (o.workload !== null) workloads.push(new Workload(pd, config, { seed: 7, tickMs: 2 }));
  if (o.svmWorkload) workloads.push(new Workload(sd, config, { seed: 7, tickMs: 2 }));
  const timers: NodeJS.Timeout[] = [];
  if (o.svmNoise) {
    const perTick = o.svmNoise;
    const t = setInterval(() => {
      for (let i = 0; i < perTick && sd.running; i++) sd.guestWrite(randomInt(pageCount), randomInt(128) * 32, randomBytes(32));
    }, 2);
    timers.push(t);
  }

  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const primarySocket = net.connect(port, '127.0.0.1');
  await once(primarySocket, 'connect');
  const [secondarySocket] = await accepted;
  server.close();
  for (const s of [primarySocket, secondarySocket]) {
    s.setNoDelay(true);
    s.on('error', () => {});
  }

  const wire: WireItem[] = [];
  const forwardTap = new WireTap(primarySocket, 'forward', wire, o.forward);
  const backTap = new WireTap(secondarySocket, 'back', wire);
  for (const t of [forwardTap, backTap]) t.on('error', () => {});
  const cycles: CycleRecord[] = [];
  const secondaryCycles: SecondaryCycle[] = [];
  const states: ProtectionState[] = [];
  const failovers: FailoverEvent[] = [];
  const takeovers: FailoverEvent[] = [];
  const pauses = new Map<number, number | undefined>();

  const primary = new ColoPrimary({
    mode: o.mode,
    domain: pd,
    forward: forwardTap,
    back: primarySocket,
    triggers: o.triggers,
    ...o.primary,
    secondaryPause: o.secondaryPause ? (seq) => pauses.get(seq) : undefined,
    events: {
      cycle: (r) => cycles.push(r),
      state: (s) => states.push(s),
      failover: (e) => failovers.push(e),
    },
  });
  // Filled in below; the secondary's hooks need it.
  const ref: { rig?: Rig } = {};
  const secondary = new ColoSecondary({
    mode: o.mode,
    domain: sd,
    forward: secondarySocket,
    back: backTap,
    beforeResume: (seq) => o.beforeResume?.(seq),
    events: {
      cycle: (c) => {
        secondaryCycles.push(c);
        pauses.set(c.seq, c.pauseMs);
        if (ref.rig) o.onSecondaryCycle?.(c, ref.rig);
      },
      status: (s) => {
        if (ref.rig) o.onSecondaryStatus?.(s, ref.rig);
      },
      takeover: (e) => takeovers.push(e),
    },
  });
  for (const w of workloads) w.start();
  const primaryRun = primary.run();
  const secondaryRun = secondary.run();

  let disposed = false;
  const exits = (ms = 5000): Promise<[PrimaryExit, SecondaryExit]> =>
    withTimeout(Promise.all([primaryRun, secondaryRun]), ms, 'both engines to exit');
  const rig: Rig = {
    pd, sd, primary, secondary, primarySocket, secondarySocket, forwardTap, backTap, wire,
    cycles, secondaryCycles, states, failovers, takeovers, primaryRun, secondaryRun,
    waitCycles: (n, ms = 10_000) => waitFor(() => cycles.length >= n, ms, () => {
      const why = [forwardTap.decodeError?.message, backTap.decodeError?.message].filter(Boolean).join('; ');
      return `${n} cycles (have ${cycles.length}; states ${states.map((s) => s.state).join(',')}${why ? `; ${why}` : ''})`;
    }),
    stop: (ms = 5000) => {
      secondary.destroy();
      primary.stop();
      return exits(ms);
    },
    exits,
    cutLink: () => {
      primarySocket.destroy();
      secondarySocket.destroy();
      forwardTap.destroy();
      backTap.destroy();
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      for (const w of workloads) w.stop();
      for (const t of timers) clearInterval(t);
      secondary.destroy();
      primary.stop();
      primarySocket.destroy();
      secondarySocket.destroy();
    },
  };
  ref.rig = rig;
  return rig;
}

/** sha1 of every page, for telling which pages differ. */
export function pageHashes(d: SimDomain): string[] {
  const out: string[] = [];
  for (let p = 0; p < d.pageCount; p++) out.push(d.pageHash(p));
  return out;
}

export function differingPages(a: readonly string[], b: readonly string[]): number[] {
  const out: number[] = [];
  for (let p = 0; p < a.length; p++) if (a[p] !== b[p]) out.push(p);
  return out;
}
