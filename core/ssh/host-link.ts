// One shared connection per host, kept up: every user of a host (probe, inventory, a pair's log tail) asks the
// link, which connects once and hands out the same SshConnection. When the connection drops it reconnects with
// exponential backoff and full jitter (so that a console watching many hosts does not hammer them in step).
// Host-key and login refusals are never retried: the link stops in 'failed' until the admin acts (trusts the
// key, fixes the key file) and calls retry().

import { SshConnection, type ConnectOptions, type SshAuth, SshError, type SshTarget, type ExecOptions, type ExecResult } from './connection.js';

export type LinkState =
  | { kind: 'idle' }
  | { kind: 'connecting'; attempt: number }
  | { kind: 'connected'; since: number }
  | { kind: 'waiting'; attempt: number; retryAt: number; error: SshError }
  | { kind: 'failed'; error: SshError }
  | { kind: 'closed' };

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface HostLinkOptions {
  target: SshTarget;
  /** Asked at each attempt, so that a passphrase entered after a failure is used by the next one. */
  auth(): SshAuth;
  connect: Omit<ConnectOptions, 'via'>;
  /** The jump host's connection, for ProxyJump. */
  via?(): Promise<SshConnection>;
  backoff?: Backoff;
  onState?(state: LinkState): void;
  /** For tests: randomness and clock. */
  random?(): number;
  now?(): number;
}

const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 60_000 };

export class SshHostLink {
  private current: LinkState = { kind: 'idle' };
  private pending: Promise<SshConnection> | null = null;
  private conn: SshConnection | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(private readonly o: HostLinkOptions) {}

  get state(): LinkState {
    return this.current;
  }

  /** The host's connection, connecting first if needed. Rejects at once while the link is failed or waiting. */
  connection(): Promise<SshConnection> {
    const s = this.current;
    if (s.kind === 'closed') return Promise.reject(new SshError('closed', `The link to ${this.o.target.host} is closed.`));
    if (s.kind === 'failed') return Promise.reject(s.error);
    if (s.kind === 'waiting') return Promise.reject(s.error);
    if (this.conn !== null && this.conn.isOpen) return Promise.resolve(this.conn);
    if (this.pending === null) {
      // Cleared once settled, here rather than in dial(): a dial that fails before its first await (auth() threw)
      // has already finished when it returns, and must not stay behind as the pending attempt of the next call.
      const attempt = this.dial();
      this.pending = attempt;
      const clear = (): void => {
        if (this.pending === attempt) this.pending = null;
      };
      attempt.then(clear, clear);
    }
    return this.pending;
  }

  async exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return (await this.connection()).exec(argv, options);
  }

  /** After the admin fixed what made the link fail (or to skip a wait): try now. */
  retry(): void {
    if (this.current.kind === 'closed') return;
    this.clearTimer();
    this.attempt = 0;
    if (this.current.kind === 'failed' || this.current.kind === 'waiting') this.set({ kind: 'idle' });
    void this.connection().catch(() => {});
  }

  close(): void {
    this.clearTimer();
    this.set({ kind: 'closed' });
    this.conn?.close();
    this.conn = null;
  }

  private async dial(): Promise<SshConnection> {
    this.attempt++;
    this.set({ kind: 'connecting', attempt: this.attempt });
    try {
      const via = this.o.via === undefined ? undefined : await this.o.via();
      const conn = await SshConnection.connect(this.o.target, this.o.auth(), { ...this.o.connect, ...(via === undefined ? {} : { via }) });
      if (this.current.kind === 'closed') {
        conn.close();
        throw new SshError('closed', `The link to ${this.o.target.host} is closed.`);
      }
      this.conn = conn;
      this.attempt = 0;
      this.set({ kind: 'connected', since: this.now() });
      conn.onClose((err) => {
        if (this.conn !== conn) return;
        this.conn = null;
        if (this.current.kind !== 'closed') this.scheduleRetry(err);
      });
      return conn;
    } catch (err) {
      const e = err instanceof SshError ? err : new SshError('network', err instanceof Error ? err.message : String(err));
      if (this.current.kind !== 'closed') {
        if (e.retryable) this.scheduleRetry(e);
        else this.set({ kind: 'failed', error: e });
      }
      throw e;
    }
  }

  private scheduleRetry(error: SshError): void {
    const b = this.o.backoff ?? DEFAULT_BACKOFF;
    const ceiling = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.attempt, 30));
    // Full jitter: anywhere up to the ceiling, never less than the first step.
    const delay = Math.max(b.initialMs, Math.floor((this.o.random ?? Math.random)() * ceiling));
    this.set({ kind: 'waiting', attempt: this.attempt, retryAt: this.now() + delay, error });
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.current.kind !== 'waiting') return;
      this.set({ kind: 'idle' });
      void this.connection().catch(() => {});
    }, delay);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private set(state: LinkState): void {
    this.current = state;
    this.o.onState?.(state);
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
