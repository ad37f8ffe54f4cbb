// One running `xl remus` as the service sees it: the log tail feeding the cycle assembler, the state and events it
// reports, and the admin's actions in the order xen-colo.md §2.8 gives them. xl has no failover or stop command:
// stop destroys the secondary's `<name>--incoming` first (the primary then resumes alone), failover destroys the
// primary's domain (the secondary then takes over). How a run ended is settled with the hosts' own word: after the
// log ends, `xl list -l` on both hosts says where the guest runs (both: split brain).

import type { FailoverEvent, ProtectionState, Side } from '../../colo/types.js';
import type { BackendContext, FailoverResult, PairEvents, PairHandle, PairSpec } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import type { SshHostLink } from '../../ssh/host-link.js';
import { CycleAssembler, type AssemblerSink } from './cycle-assembler.js';
import { runOnHost } from '../host-command.js';
import { LogTail, type TailEnd } from './xen-log-tail.js';
import type { XenRun, XenRunStore } from './xen-run-store.js';
import { INCOMING_SUFFIX, destroyArgv } from './xl-commands.js';
import type { XlEvent } from './xl-log-line.js';
import { parseXlList } from './xl-list.js';

export interface HandleTiming {
  commandTimeoutMs: number;
  /** No line for this long while protected: 'checkpoint-overdue' (xl's longest wait between checkpoints is 5 s). */
  overdueMs: number;
  /** How often the run store is written at most while cycles arrive. */
  persistEveryMs: number;
  /** After the log ends, how long to wait for the secondary's takeover to show in `xl list -l`. */
  settleTimeoutMs: number;
  settlePollMs: number;
  retryDelayMs: number;
  maxBytesPerTail: number;
}

interface Copies {
  onPrimary: boolean;
  onSecondary: boolean;
  incoming: boolean;
  notes: string[];
}

const KEEP_RAW_LINES = 12;

export class XenPairHandle implements PairHandle {
  readonly ended: Promise<ProtectionState>;
  private current: ProtectionState;
  private readonly assembler: CycleAssembler;
  private tail: LogTail | null = null;
  private resolveEnded!: (s: ProtectionState) => void;
  private finished = false;
  private adminAction: 'stop' | 'failover' | null = null;
  private failoverStartedAt: number | undefined;
  private failoverEvent: FailoverEvent | null = null;
  private lastPersist = 0;
  private persistTimer: NodeJS.Timeout | null = null;
  private readonly tickTimer: NodeJS.Timeout;
  private streaming = false;
  private detached = false;
  private readonly recent: string[] = [];
  private startWaiter: { resolve(): void; reject(e: Error): void } | null = null;

  constructor(
    private readonly spec: PairSpec,
    private readonly run: XenRun,
    private readonly events: PairEvents,
    private readonly links: { primary: SshHostLink; secondary: SshHostLink },
    private readonly store: XenRunStore,
    private readonly ctx: BackendContext,
    private readonly clock: () => number,
    private readonly timing: HandleTiming,
    initialState: ProtectionState,
    /** Called once the handle is done with: detached, or its run ended. */
    private readonly released: () => void = () => {},
  ) {
    this.current = initialState;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    // A detached handle reports nothing more: the service has let go of it (a start that failed, say).
    const sink: AssemblerSink = {
      state: (s) => this.setState(s),
      checkpointStarted: (o) => {
        if (!this.detached) this.events.checkpointStarted?.(o);
      },
      cycle: (r) => {
        if (this.detached) return;
        this.events.cycle(r);
        this.persist(false);
      },
    };
    this.assembler = new CycleAssembler(run.assembler, sink);
    this.tickTimer = setInterval(() => {
      if (this.streaming && !this.finished) this.assembler.tick(this.clock(), this.timing.overdueMs);
    }, Math.min(1000, this.timing.overdueMs));
    this.tickTimer.unref();
  }

  get state(): ProtectionState {
    return this.current;
  }

  /** Log lines nobody recognised so far (kept in the run, so counted across attaches). */
  get unknownLines(): number {
    return this.run.assembler.unknownLines;
  }

  /**
   * Starts following the log; `started` resolves once libxc is sending the guest (protect waits on it). Not at xl's
   * "Saving to migration stream" line: libxl's COLO checks ("COLO only supports hvm now") come after it.
   */
  follow(): { started: Promise<void> } {
    const started = new Promise<void>((resolve, reject) => {
      if (this.run.assembler.sending === true) resolve();
      else this.startWaiter = { resolve, reject };
    });
    // Only protect waits on it; an attach that never looks must not leave an unhandled rejection behind.
    started.catch(() => {});
    this.tail = new LogTail({
      link: this.links.primary,
      host: this.spec.primary,
      log: this.run.log,
      pid: this.run.pid!,
      offset: this.run.offset,
      ctx: this.ctx,
      maxBytesPerTail: this.timing.maxBytesPerTail,
      retryDelayMs: this.timing.retryDelayMs,
      onLine: (event, text) => this.line(event, text),
      onConnected: (up) => {
        this.streaming = up;
        // Lines that arrive after a gap are not a silent xl.
        if (up && this.run.assembler.lastLineAt !== undefined) this.run.assembler.lastLineAt = Math.max(this.run.assembler.lastLineAt, this.clock());
      },
      onUnreachable: () => this.secondaryTookOver(),
    });
    void this.tail.done.then((end) => this.tailEnded(end));
    return { started };
  }

  async stop(ctx: BackendContext): Promise<ProtectionState> {
    if (this.finished) return this.current;
    this.adminAction = 'stop';
    // The secondary first: ending xl remus first would make the secondary take over (xen-colo.md §2.8).
    const incoming = `${this.spec.domain}${INCOMING_SUFFIX}`;
    let r;
    try {
      r = await runOnHost(this.links.secondary, this.spec.secondary, destroyArgv(incoming), ctx, { timeoutMs: this.timing.commandTimeoutMs });
    } catch (err) {
      this.adminAction = null;
      throw err;
    }
    if (r.code === 0) return this.ended;
    // No such domain, say: xl remus may be ending anyway (the secondary took over, or was lost). Wait a while.
    const failed = `${this.spec.secondary.name}: xl destroy ${incoming} failed (exit ${r.code}: ${r.stderr.trim().slice(0, 300)})`;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.ended,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${failed}, and xl remus on ${this.spec.primary.name} still runs.`)), this.timing.settleTimeoutMs);
        }),
      ]);
    } catch (err) {
      if (!this.finished) this.adminAction = null;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async failover(ctx: BackendContext): Promise<FailoverResult> {
    if (this.finished) return { state: this.current, event: this.failoverEvent };
    const before = this.current;
    this.adminAction = 'failover';
    this.failoverStartedAt = this.clock();
    this.setState({ state: 'failing-over', since: this.failoverStartedAt, reasonCode: 'failover-by-admin', reason: `Destroying ${this.spec.domain} on ${this.spec.primary.name}; ${this.spec.secondary.name} takes over from its last checkpoint.` });
    const undo = (): void => {
      if (this.finished) return;
      this.adminAction = null;
      this.setState(before);
    };
    let r;
    try {
      r = await runOnHost(this.links.primary, this.spec.primary, destroyArgv(this.spec.domain), ctx, { timeoutMs: this.timing.commandTimeoutMs });
    } catch (err) {
      undo();
      throw err;
    }
    if (r.code !== 0) {
      undo();
      throw new Error(`${this.spec.primary.name}: xl destroy ${this.spec.domain} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
    }
    const state = await this.ended;
    return { state, event: this.failoverEvent };
  }

  /** Split brain: destroy the copy on the other side; the kept one runs on alone. */
  async keep(side: Side, ctx: BackendContext): Promise<ProtectionState> {
    const lost = side === 'primary' ? this.spec.secondary : this.spec.primary;
    const kept = side === 'primary' ? this.spec.primary : this.spec.secondary;
    const link = side === 'primary' ? this.links.secondary : this.links.primary;
    // After the takeover the secondary's copy carries the guest's own name.
    const r = await runOnHost(link, lost, destroyArgv(this.spec.domain), ctx, { timeoutMs: this.timing.commandTimeoutMs });
    if (r.code !== 0) throw new Error(`${lost.name}: xl destroy ${this.spec.domain} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`);
    const s: ProtectionState = {
      state: 'unprotected',
      since: this.clock(),
      reasonCode: 'stopped-by-admin',
      reason: `Split brain ended: the copy on ${kept.name} was kept and the copy on ${lost.name} destroyed. The guest runs on ${kept.name}, unprotected.`,
    };
    this.current = s;
    this.events.state(s);
    return s;
  }

  /** Stops following the log; xl remus goes on. The run stays in the store for a later attach. */
  async detach(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    this.released();
    clearInterval(this.tickTimer);
    if (this.tail !== null) await this.tail.stop();
    this.startWaiter?.reject(new Error('detached before the replication stream started'));
    this.startWaiter = null;
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    if (this.finished) this.store.remove(this.spec.id);
    else this.persist(true);
  }

  private line(event: XlEvent, text: () => string): void {
    const at = this.clock();
    // Kept for the error when xl remus ends before streaming: its last lines say why (usage, "COLO only supports hvm now").
    if (event.kind !== 'record' && event.kind !== 'suspended' && event.kind !== 'checkpointed' && event.kind !== 'secondary-buffered' && event.kind !== 'secondary-processed') {
      this.recent.push(text().slice(0, 300));
      if (this.recent.length > KEEP_RAW_LINES) this.recent.shift();
    }
    try {
      this.assembler.line(event, at);
    } catch (err) {
      // A listener that threw (the service's store, say) must not take the SSH stream down with it; the line
      // counts as read, and the failure is kept where the run's errors are.
      this.run.assembler.errors.push(`console: handling a log line failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500));
      if (this.run.assembler.errors.length > 8) this.run.assembler.errors.shift();
    }
    this.run.offset = this.tail?.offset ?? this.run.offset;
    if (this.startWaiter !== null && this.run.assembler.sending === true) {
      this.startWaiter.resolve();
      this.startWaiter = null;
    }
  }

  private setState(s: ProtectionState): void {
    if (this.finished || this.detached) return;
    if (this.adminAction === 'failover' && s.state !== 'failing-over' && s.state !== 'failed-over' && s.state !== 'error') return;
    // Destroying the incoming copy fails the checkpoint in flight: expected, not news while the stop completes.
    if (this.adminAction === 'stop' && s.state === 'degraded') return;
    this.current = s;
    this.run.state = s;
    this.events.state(s);
  }

  private persist(force: boolean): void {
    if (this.finished || this.detached && !force) return;
    const now = this.clock();
    if (!force && now - this.lastPersist < this.timing.persistEveryMs) {
      this.persistTimer ??= setTimeout(() => {
        this.persistTimer = null;
        this.persist(true);
      }, this.timing.persistEveryMs - (now - this.lastPersist));
      this.persistTimer.unref();
      return;
    }
    this.lastPersist = now;
    this.run.offset = this.tail?.offset ?? this.run.offset;
    this.store.put(this.run);
  }

  /** While the primary is unreachable: has the secondary taken over (the primary host is gone)? */
  private async secondaryTookOver(): Promise<boolean> {
    if (this.detached || this.finished) return false;
    const c = await this.secondaryCopies();
    return c !== null && c.onSecondary;
  }

  private async tailEnded(end: TailEnd): Promise<void> {
    if (end.kind === 'stopped' || this.finished) return;
    const at = this.clock();
    this.streaming = false;
    const a = this.run.assembler;
    this.assembler.end(at, this.adminAction === 'stop' ? 'aborted' : 'failed');
    if (this.startWaiter !== null) {
      const why = a.errors.length > 0 ? a.errors.join('; ') : this.recent.filter((l) => l.trim() !== '').slice(-5).join(' | ') || 'no output';
      this.startWaiter.reject(new Error(`xl remus on ${this.spec.primary.name} ended before the replication stream started: ${why}`));
      this.startWaiter = null;
    }
    let final: ProtectionState;
    try {
      final = end.kind === 'given-up' ? { state: 'error', since: at, reasonCode: 'internal-error', reason: end.why } : await this.settle(at);
    } catch (err) {
      final = { state: 'error', since: this.clock(), reasonCode: 'internal-error', reason: `Could not tell how protection ended: ${err instanceof Error ? err.message : String(err)}` };
    }
    this.current = final;
    this.run.state = final;
    if (!this.detached) this.events.state(final);
    this.finished = true;
    clearInterval(this.tickTimer);
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    this.store.remove(this.spec.id);
    this.resolveEnded(final);
  }

  /** The log is over: where does the guest run now? */
  private async settle(endAt: number): Promise<ProtectionState> {
    const a = this.run.assembler;
    const p = this.spec.primary.name;
    const s = this.spec.secondary.name;
    const words = [a.exitReason === undefined ? 'the log ended with no exit reason (xl remus was killed?)' : `xl remus: ${exitWords(a.exitReason)}`, ...a.errors.slice(-3)].join('; ');
    const lastSeq = Math.max(0, a.lastCommittedSeq);
    const expectTakeover = this.adminAction !== 'stop' && a.lastCommittedSeq >= 0;
    const copies = await this.copies(expectTakeover);
    const note = copies.notes.length > 0 ? ` (${copies.notes.join('; ')})` : '';
    const now = this.clock();

    if (this.adminAction === 'stop' && !copies.onSecondary) {
      return { state: 'stopped', since: now, reasonCode: 'stopped-by-admin', reason: `Protection stopped: ${this.spec.domain}--incoming was destroyed on ${s}; the guest runs on ${p} only.${note}` };
    }
    if (copies.onPrimary && copies.onSecondary) {
      this.emitFailover({ detectedBy: 'primary', cause: `Split brain: ${words}; the guest resumed on ${p} and ${s} took over as well.`, at: now, survivor: 'both', lastCheckpointSeq: lastSeq, guestDowntimeMs: 0, detail: words });
      return { state: 'error', since: now, reasonCode: 'split-brain', reason: `Split brain: ${this.spec.domain} runs on ${p} and on ${s} (which took over from checkpoint ${lastSeq}). Two copies of the guest are running: keep one.${note}` };
    }
    if (copies.onSecondary) {
      const admin = this.adminAction === 'failover';
      const from = admin ? this.failoverStartedAt! : endAt;
      const seenAt = copies.seenOnSecondaryAt ?? now;
      this.emitFailover({
        detectedBy: admin ? 'admin' : 'secondary',
        cause: admin
          ? `Failover by admin: ${this.spec.domain} destroyed on ${p}; ${s} took over. Downtime measured from the destroy command to ${s}'s xl list showing ${this.spec.domain}.`
          : `${p} lost the guest (${words}); ${s} took over. Downtime measured from the end of the primary's log to ${s}'s xl list showing ${this.spec.domain}.`,
        // The detection is where the downtime is measured from (the destroy command, the log's end): the UI puts
        // the survivor running at `at + guestDowntimeMs`.
        at: from,
        survivor: 'secondary',
        lastCheckpointSeq: lastSeq,
        guestDowntimeMs: Math.max(0, seenAt - from),
        detail: words,
      });
      return { state: 'failed-over', since: now, reasonCode: admin ? 'failover-by-admin' : 'primary-lost', reason: `${s} took over from checkpoint ${lastSeq}; the guest runs on ${s}, unprotected.${note}` };
    }
    if (copies.onPrimary) {
      if (this.adminAction === 'stop') {
        return { state: 'stopped', since: now, reasonCode: 'stopped-by-admin', reason: `Protection stopped: the secondary copy was destroyed; the guest runs on ${p} only.${note}` };
      }
      // Before the first checkpoint the secondary never held the guest: nothing failed over.
      if (a.lastCommittedSeq >= 0) this.emitFailover({ detectedBy: 'primary', cause: `${s} was lost: ${words}. The guest resumed on ${p}, unprotected.`, at: now, survivor: 'primary', lastCheckpointSeq: lastSeq, guestDowntimeMs: 0, detail: words });
      return { state: 'unprotected', since: now, reasonCode: a.lastCommittedSeq < 0 ? 'stream-error' : 'secondary-lost', reason: `${a.lastCommittedSeq < 0 ? 'Protection never completed its initial copy' : `${s} is gone`}: ${words}. The guest runs on ${p}, unprotected.${copies.incoming ? ` ${this.spec.domain}--incoming is still on ${s}.` : ''}${note}` };
    }
    this.emitFailover({ detectedBy: 'primary', cause: `No copy of the guest runs: ${words}.`, at: now, survivor: 'none', lastCheckpointSeq: lastSeq, guestDowntimeMs: 0, detail: words });
    return { state: 'error', since: now, reasonCode: 'primary-lost', reason: `${this.spec.domain} runs on neither ${p} nor ${s}: ${words}.${note}` };
  }

  private emitFailover(e: FailoverEvent): void {
    this.failoverEvent = e;
    if (!this.detached) this.events.failover(e);
  }

  /** Where the guest runs, by name and UUID; waits a while for the secondary's takeover when one is expected. */
  private async copies(waitForTakeover: boolean): Promise<Copies & { seenOnSecondaryAt?: number }> {
    const notes: string[] = [];
    const primary = await this.listGuest(this.links.primary, this.spec.primary, notes);
    const deadline = this.clock() + this.timing.settleTimeoutMs;
    for (;;) {
      const secondary = await this.listGuest(this.links.secondary, this.spec.secondary, notes);
      const found = { onPrimary: primary?.guest ?? false, onSecondary: secondary?.guest ?? false, incoming: secondary?.incoming ?? false, notes };
      if (found.onSecondary) return { ...found, seenOnSecondaryAt: this.clock() };
      // Only a receiver still holding <name>--incoming may yet take over; without it, nothing will change.
      if (!waitForTakeover || !found.incoming || this.clock() >= deadline) return found;
      notes.length = 0;
      await new Promise((r) => setTimeout(r, this.timing.settlePollMs));
    }
  }

  private async secondaryCopies(): Promise<Copies | null> {
    const notes: string[] = [];
    const s = await this.listGuest(this.links.secondary, this.spec.secondary, notes);
    return s === null ? null : { onPrimary: false, onSecondary: s.guest, incoming: s.incoming, notes };
  }

  private async listGuest(link: SshHostLink, host: HostRecord, notes: string[]): Promise<{ guest: boolean; incoming: boolean } | null> {
    try {
      const r = await runOnHost(link, host, ['xl', 'list', '-l'], this.ctx, { timeoutMs: this.timing.commandTimeoutMs, maxOutputBytes: 32 * 1024 * 1024 });
      if (r.code !== 0) {
        notes.push(`${host.name}: xl list -l exited ${r.code}`);
        return null;
      }
      const doms = parseXlList(r.stdout);
      const same = (d: { uuid?: string }): boolean => this.run.uuid === undefined || d.uuid === undefined || d.uuid === this.run.uuid;
      return {
        guest: doms.some((d) => d.name === this.spec.domain && same(d)),
        incoming: doms.some((d) => d.name === `${this.spec.domain}${INCOMING_SUFFIX}`),
      };
    } catch (err) {
      notes.push(`${host.name} could not be asked: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }
}

function exitWords(r: string): string {
  switch (r) {
    case 'backup-failed': return '"COLO: Backup failed? resuming domain at primary."';
    case 'primary-destroyed': return '"COLO: Primary domain has been destroyed."';
    default: return '"Failed to suspend domain at primary."';
  }
}
