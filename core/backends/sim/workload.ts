// The simulated guest program: it dirties pages in a working set and emits network packets, driven only by state
// it saves as the domain's device state. PVM and SVM therefore behave identically after a checkpoint, except for
// the packets a per-host random source perturbs (the model of real nondeterminism that makes COLO miscompare).
import type { GuestPacket } from './packet.js';
import { Prng, randomSeed } from './prng.js';
import type { DeviceModel, SimDomain } from './sim-domain.js';
import { PAGE_SIZE } from './sim-domain.js';

export interface WorkloadConfig {
  /** Guest page writes per second (each write dirties one page). */
  dirtyPagesPerSec: number;
  /** Distinct pages the writes land in; a small set means the same pages are dirtied again and again. */
  workingSetPages: number;
  packetsPerSec: number;
  packetBytes: number;
  /** Chance that one packet's content depends on host-local randomness (0 … 1). */
  divergenceProbability: number;
}

export interface WorkloadOptions {
  /** Seeds the guest's own randomness; irrelevant on a secondary, whose state arrives by checkpoint. */
  seed?: number;
  /** Seeds the host-local randomness that is never checkpointed; random by default. */
  localSeed?: number;
  onPacket?: (packet: GuestPacket) => void;
  /** Timer period for start(); default 5 ms. */
  tickMs?: number;
}

export interface StepResult {
  pagesWritten: number;
  packets: number;
}

export const MIN_PACKET_BYTES = 16;
export const MAX_PACKET_BYTES = 65536;

const STATE_MAGIC = 0x314c5753; // "SWL1"
const STATE_VERSION = 1;
const STATE_BYTES = 96;
const WRITE_BYTES = 32;
// A late timer (event loop busy with a checkpoint) must not turn into a burst of seconds of guest work.
const MAX_STEP_MS = 1000;

/** Problems with a config, in words; empty when it is usable. */
export function validateWorkloadConfig(c: WorkloadConfig): string[] {
  const problems: string[] = [];
  const nonNegative = (name: keyof WorkloadConfig): void => {
    if (!Number.isFinite(c[name]) || c[name] < 0) problems.push(`${name} must be a finite number ≥ 0`);
  };
  nonNegative('dirtyPagesPerSec');
  nonNegative('packetsPerSec');
  if (!Number.isInteger(c.workingSetPages) || c.workingSetPages < 1) problems.push('workingSetPages must be an integer ≥ 1');
  if (!Number.isInteger(c.packetBytes) || c.packetBytes < MIN_PACKET_BYTES || c.packetBytes > MAX_PACKET_BYTES) {
    problems.push(`packetBytes must be an integer in ${MIN_PACKET_BYTES}…${MAX_PACKET_BYTES}`);
  }
  if (!(c.divergenceProbability >= 0 && c.divergenceProbability <= 1)) problems.push('divergenceProbability must be in 0…1');
  return problems;
}

export class Workload implements DeviceModel {
  onPacket: ((packet: GuestPacket) => void) | null;
  private config: WorkloadConfig;
  private memRng: Prng;
  private pktRng: Prng;
  private readonly localRng: Prng;
  private pagesDue = 0;
  private packetsDue = 0;
  private packetSeq = 0;
  private readonly scratchWords = new Uint32Array(WRITE_BYTES / 4);
  private readonly scratch = new Uint8Array(this.scratchWords.buffer);
  private readonly tickMs: number;
  private timer: NodeJS.Timeout | null = null;
  private lastTickAt = 0;
  private counters = { pageWrites: 0, packets: 0, divergedPackets: 0 };

  constructor(
    private readonly domain: SimDomain,
    config: WorkloadConfig,
    options: WorkloadOptions = {},
  ) {
    this.config = checked({ ...config });
    const seed = options.seed ?? 1;
    // Separate streams for memory and packets: packet n must not depend on how the host's timer happened to
    // slice time into ticks, or a PVM and an SVM ticking at different moments would never agree.
    this.memRng = new Prng(seed);
    this.pktRng = new Prng(seed ^ 0x5bd1e995);
    this.localRng = new Prng(options.localSeed ?? randomSeed());
    this.onPacket = options.onPacket ?? null;
    this.tickMs = options.tickMs ?? 5;
    domain.attachDeviceModel(this);
  }

  get stats(): Readonly<{ pageWrites: number; packets: number; divergedPackets: number }> {
    return { ...this.counters };
  }

  getConfig(): WorkloadConfig {
    return { ...this.config };
  }

  /** Runtime change (rate sliders). Rates travel to the secondary with the next checkpoint; divergence does not. */
  setConfig(change: Partial<WorkloadConfig>): void {
    this.config = checked({ ...this.config, ...change });
  }

  start(): void {
    if (this.timer) return;
    this.lastTickAt = performance.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Runs `dtMs` of guest time at once; does nothing while the domain is suspended. */
  step(dtMs: number): StepResult {
    if (!this.domain.running || !(dtMs > 0)) return { pagesWritten: 0, packets: 0 };
    const dt = Math.min(dtMs, MAX_STEP_MS);
    this.pagesDue += (this.config.dirtyPagesPerSec * dt) / 1000;
    this.packetsDue += (this.config.packetsPerSec * dt) / 1000;
    let pages = 0;
    let packets = 0;
    // `running` is rechecked per unit: a packet listener may suspend the domain, and a suspended guest is still.
    for (; this.pagesDue >= 1 && this.domain.running; pages++, this.pagesDue--) this.writeOnePage();
    for (; this.packetsDue >= 1 && this.domain.running; packets++, this.packetsDue--) this.emitOnePacket();
    return { pagesWritten: pages, packets };
  }

  saveState(): Uint8Array {
    const out = new Uint8Array(STATE_BYTES);
    const v = new DataView(out.buffer);
    v.setUint32(0, STATE_MAGIC, true);
    v.setUint16(4, STATE_VERSION, true);
    this.memRng.state.forEach((w, i) => v.setUint32(8 + 4 * i, w, true));
    this.pktRng.state.forEach((w, i) => v.setUint32(24 + 4 * i, w, true));
    v.setFloat64(40, this.pagesDue, true);
    v.setFloat64(48, this.packetsDue, true);
    v.setFloat64(56, this.packetSeq, true);
    v.setFloat64(64, this.config.dirtyPagesPerSec, true);
    v.setFloat64(72, this.config.packetsPerSec, true);
    v.setUint32(80, this.config.workingSetPages, true);
    v.setUint32(84, this.config.packetBytes, true);
    return out;
  }

  loadState(state: Uint8Array): void {
    if (state.byteLength !== STATE_BYTES) throw new Error(`workload state: expected ${STATE_BYTES} bytes, got ${state.byteLength}`);
    const v = new DataView(state.buffer, state.byteOffset, state.byteLength);
    if (v.getUint32(0, true) !== STATE_MAGIC || v.getUint16(4, true) !== STATE_VERSION) {
      throw new Error('workload state: unknown magic or version');
    }
    const words = (at: number): [number, number, number, number] => [0, 1, 2, 3].map((i) => v.getUint32(at + 4 * i, true)) as [number, number, number, number];
    const pagesDue = v.getFloat64(40, true);
    const packetsDue = v.getFloat64(48, true);
    const packetSeq = v.getFloat64(56, true);
    const config: WorkloadConfig = {
      ...this.config,
      dirtyPagesPerSec: v.getFloat64(64, true),
      packetsPerSec: v.getFloat64(72, true),
      workingSetPages: v.getUint32(80, true),
      packetBytes: v.getUint32(84, true),
    };
    // Work owed can exceed one unit when a suspend interrupted a step; the bound only rejects garbage.
    const owed = (x: number): boolean => x >= 0 && x < 1e9;
    if (!owed(pagesDue) || !owed(packetsDue) || !Number.isSafeInteger(packetSeq) || packetSeq < 0) {
      throw new Error('workload state: counters out of range');
    }
    const problems = validateWorkloadConfig(config);
    if (problems.length > 0) throw new Error(`workload state: ${problems.join('; ')}`);
    // Everything checked: only now change the live state, so a bad blob leaves the guest as it was.
    this.memRng = new Prng(words(8));
    this.pktRng = new Prng(words(24));
    this.pagesDue = pagesDue;
    this.packetsDue = packetsDue;
    this.packetSeq = packetSeq;
    this.config = config;
  }

  private tick(): void {
    const now = performance.now();
    // Time spent suspended is not guest time: count only from the later of the last tick and the last resume.
    const dt = now - Math.max(this.lastTickAt, this.domain.resumedAt);
    this.lastTickAt = now;
    this.step(dt);
  }

  private writeOnePage(): void {
    const rng = this.memRng;
    const pageCount = this.domain.pageCount;
    const pfn = workingSetPfn(rng.nextBelow(Math.min(this.config.workingSetPages, pageCount)), pageCount);
    const offset = rng.nextBelow(PAGE_SIZE / WRITE_BYTES) * WRITE_BYTES;
    for (let i = 0; i < this.scratchWords.length; i++) this.scratchWords[i] = rng.nextU32();
    this.domain.guestWrite(pfn, offset, this.scratch);
    this.counters.pageWrites++;
  }

  private emitOnePacket(): void {
    const seq = ++this.packetSeq;
    const content = this.pktRng.nextU32();
    const bytes = this.config.packetBytes;
    const words = new Uint32Array(Math.ceil(bytes / 4));
    words[0] = seq >>> 0;
    words[1] = content;
    // A field such as a timestamp or a TCP option: zero when deterministic, host-local when this packet diverges.
    const diverged = this.localRng.nextFloat() < this.config.divergenceProbability;
    words[2] = diverged ? this.localRng.nextU32() | 1 : 0;
    words[3] = bytes;
    let x = content | 1;
    for (let i = 4; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    const data = Buffer.from(words.buffer, 0, bytes);
    this.counters.packets++;
    if (diverged) this.counters.divergedPackets++;
    this.onPacket?.({ seq, data, producedAt: performance.now() });
  }
}

/**
 * Spreads working-set index i over the whole guest with a fixed stride coprime to the page count, so the set is
 * scattered like real guest memory but the same index always lands on the same page.
 */
export function workingSetPfn(index: number, pageCount: number): number {
  return (index * strideFor(pageCount)) % pageCount;
}

const strides = new Map<number, number>();
function strideFor(pageCount: number): number {
  let s = strides.get(pageCount);
  if (s === undefined) {
    s = Math.max(1, Math.floor(pageCount * 0.6180339887));
    while (gcd(s, pageCount) !== 1) s++;
    strides.set(pageCount, s);
  }
  return s;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function checked(config: WorkloadConfig): WorkloadConfig {
  const problems = validateWorkloadConfig(config);
  if (problems.length > 0) throw new RangeError(`workload config: ${problems.join('; ')}`);
  return config;
}
