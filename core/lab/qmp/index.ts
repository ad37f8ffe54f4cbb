// A QEMU 7.2 COLO pair in emulation: two QMP monitors on unix sockets sharing one pair state, for the tests, e2e
// and bench that need what Debian's 7.2 cannot do here (checkpoints that go on), and for fault cases a real QEMU
// gives only by accident (a silent monitor, malformed replies, a checkpoint that never ends).

import path from 'node:path';
import { QmpMonitor, type Malformation } from './monitor.js';
import { ColoPair, type PairTimings, type Side } from './pair.js';

export type { Malformation } from './monitor.js';
export type { PairTimings, Side } from './pair.js';

export interface QmpPairOptions {
  /** Directory for the two sockets (primary.qmp, secondary.qmp); the caller owns and removes it. */
  dir: string;
  /** Initial x-checkpoint-delay on the primary (QEMU's default is 20 000 ms). */
  checkpointDelayMs?: number;
  timings?: Partial<PairTimings>;
  /** The secondary's -incoming URI; `migrate` must name it. */
  incomingUri?: string;
  /** Hang the first periodic checkpoint as QEMU 7.2 does on this machine type (qemu-colo.md §3). */
  qemu72Deadlock?: boolean;
  /** Guest RAM in MiB, for query-migrate's counters during the initial copy; default 64. */
  ramMiB?: number;
}

export interface QmpPairFaults {
  /** The side's monitor stops answering in-band commands and holds its events (a hung main loop); false ends it. */
  silence(side: Side, on?: boolean): void;
  /** Breaks the side's next reply (see Malformation). */
  malformNextReply(side: Side, kind: Malformation): void;
  /** The next periodic checkpoint never ends on the primary, whose monitor goes silent (7.2's deadlock). */
  hangNextCheckpoint(): void;
  /** As SIGKILL: the side's monitor connections drop and its socket goes away; the peer loses the COLO link. */
  kill(side: Side): Promise<void>;
}

export interface QmpPair {
  primarySocket: string;
  secondarySocket: string;
  incomingUri: string;
  /** The shared state, for assertions (checkpoints completed, run states). */
  state: ColoPair;
  faults: QmpPairFaults;
  /**
   * Another QMP monitor on `side` at `socketPath`, as a second `-qmp` option gives a real QEMU: its own client,
   * and every event of that side (a benchmark's bare client beside the console's). The faults silence and
   * malformNextReply act on the first monitor only; kill and stop close this one too.
   */
  addMonitor(side: Side, socketPath: string): Promise<void>;
  /** Closes every monitor and stops every timer. */
  stop(): Promise<void>;
}

export async function startQmpPair(o: QmpPairOptions): Promise<QmpPair> {
  const incomingUri = o.incomingUri ?? 'tcp:127.0.0.1:4449';
  const pair = new ColoPair({ incomingUri, ...(o.timings === undefined ? {} : { timings: o.timings }), qemu72Deadlock: o.qemu72Deadlock ?? false, ...(o.ramMiB === undefined ? {} : { ramMiB: o.ramMiB }) });
  if (o.checkpointDelayMs !== undefined) pair.sides.primary.parameters['x-checkpoint-delay'] = o.checkpointDelayMs;
  const monitors: Record<Side, QmpMonitor> = {
    primary: new QmpMonitor(pair, 'primary', path.join(o.dir, 'primary.qmp')),
    secondary: new QmpMonitor(pair, 'secondary', path.join(o.dir, 'secondary.qmp')),
  };
  try {
    await monitors.primary.listen();
    await monitors.secondary.listen();
  } catch (err) {
    await Promise.all([monitors.primary.close(), monitors.secondary.close()]);
    throw err;
  }
  const extra: Record<Side, QmpMonitor[]> = { primary: [], secondary: [] };
  const closeSide = (side: Side): Promise<void> => Promise.all([monitors[side], ...extra[side].splice(0)].map((m) => m.close())).then(() => {});
  pair.onQuit = (side) => {
    pair.kill(side);
    void closeSide(side);
  };
  return {
    primarySocket: monitors.primary.socketPath,
    secondarySocket: monitors.secondary.socketPath,
    incomingUri,
    state: pair,
    faults: {
      silence: (side, on = true) => monitors[side].setSilent(on),
      malformNextReply: (side, kind) => monitors[side].malformNext(kind),
      hangNextCheckpoint: () => pair.hangNextCheckpoint(),
      kill: async (side) => {
        pair.kill(side);
        await closeSide(side);
      },
    },
    addMonitor: async (side, socketPath) => {
      if (!pair.sides[side].alive) throw new Error(`addMonitor: the ${side} is not running`);
      const m = new QmpMonitor(pair, side, socketPath);
      try {
        await m.listen();
      } catch (err) {
        await m.close();
        throw err;
      }
      extra[side].push(m);
    },
    stop: async () => {
      pair.stop();
      await Promise.all([closeSide('primary'), closeSide('secondary')]);
    },
  };
}
