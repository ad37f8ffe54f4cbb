// One VM's monitor kept reachable: a QmpClient over a transport that is opened again when the connection ends
// (QEMU restarted, the SSH link dropped), with exponential backoff and full jitter. Commands fail at once while
// the monitor is unreachable, with why, rather than wait: the console decides what a missing answer means.
//
// Transports: a unix socket on this machine, or the same socket on a host reached over SSH (OpenSSH streamlocal
// forwarding through the host's shared link: no socat or other helper on the host).

import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { SshHostLink } from '../../ssh/host-link.js';
import { type ExecuteOptions, QmpClient, type QmpClientOptions, QmpError, type QmpEvent } from './qmp-client.js';

/** Opens a fresh byte stream to the monitor. */
export type QmpTransport = () => Promise<Duplex>;

/** The monitor's unix socket on this machine. */
export function localSocket(socketPath: string): QmpTransport {
  return () => new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** The monitor's unix socket on an SSH host, through the host's shared link. */
export function sshSocket(link: SshHostLink, socketPath: string): QmpTransport {
  return async () => (await link.connection()).openUnixSocket(socketPath);
}

export type QmpSessionState =
  | { kind: 'connecting' }
  | { kind: 'connected'; since: number }
  | { kind: 'waiting'; retryAt: number; error: string }
  | { kind: 'closed' };

export interface QmpSessionOptions extends Omit<QmpClientOptions, 'onEvent'> {
  transport: QmpTransport;
  /** First and longest wait between attempts; default 500 ms and 10 s. */
  backoff?: { initialMs: number; maxMs: number };
  onEvent?(event: QmpEvent): void;
  onState?(state: QmpSessionState): void;
  /** For tests. */
  random?(): number;
}

export class QmpSession {
  private client: QmpClient | null = null;
  private current: QmpSessionState = { kind: 'connecting' };
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly o: QmpSessionOptions) {
    void this.dial();
  }

  get state(): QmpSessionState {
    return this.current;
  }

  /** The greeting of the QEMU now connected (its version), or null while there is none. */
  get greeting(): QmpClient['greeting'] {
    return this.client?.greeting ?? null;
  }

  /** Runs `command` on the connected monitor; rejects at once ('closed') while the monitor is unreachable. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: ExecuteOptions): Promise<T> {
    const c = this.client;
    if (c === null || !c.isOpen) {
      const why = this.current.kind === 'waiting' ? ` (${this.current.error})` : '';
      return Promise.reject(new QmpError('closed', `${this.o.name}: the monitor is not connected${why}.`));
    }
    return c.execute<T>(command, args, options);
  }

  /** Resolves once connected (at once if it is), or rejects after `timeoutMs`. */
  connected(timeoutMs: number): Promise<void> {
    if (this.current.kind === 'connected') return Promise.resolve();
    if (this.current.kind === 'closed') return Promise.reject(new QmpError('closed', `${this.o.name}: the monitor session is closed.`));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        if (this.current.kind === 'connected') resolve();
        else reject(new QmpError('closed', `${this.o.name}: the monitor session is closed.`));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        const why = this.current.kind === 'waiting' ? `: ${this.current.error}` : '';
        reject(new QmpError('timeout', `${this.o.name}: the monitor could not be reached within ${timeoutMs / 1000} s${why}`));
      }, timeoutMs);
      this.waiters.add(done);
    });
  }

  close(): void {
    if (this.current.kind === 'closed') return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.set({ kind: 'closed' });
    this.client?.close();
    this.client = null;
  }

  /** Read afresh after every await: close() may have run meanwhile. */
  private get isClosed(): boolean {
    return this.current.kind === 'closed';
  }

  private async dial(): Promise<void> {
    if (this.isClosed) return;
    this.set({ kind: 'connecting' });
    let client: QmpClient;
    try {
      const stream = await this.o.transport();
      if (this.isClosed) {
        stream.destroy();
        return;
      }
      client = await QmpClient.open(stream, { ...this.o, onEvent: (e) => this.o.onEvent?.(e) });
    } catch (err) {
      this.retryLater(err instanceof Error ? err.message : String(err));
      return;
    }
    if (this.isClosed) {
      client.close();
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.set({ kind: 'connected', since: (this.o.clock ?? Date.now)() });
    client.onClose((err) => {
      if (this.client !== client) return;
      this.client = null;
      this.retryLater(err.message);
    });
  }

  private retryLater(error: string): void {
    if (this.current.kind === 'closed') return;
    const b = this.o.backoff ?? { initialMs: 500, maxMs: 10_000 };
    const ceiling = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.attempt++, 30));
    // Full jitter, never under the first step: many VMs losing one host do not all knock again in step.
    const delay = Math.max(b.initialMs, Math.floor((this.o.random ?? Math.random)() * ceiling));
    this.set({ kind: 'waiting', retryAt: (this.o.clock ?? Date.now)() + delay, error });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.dial();
    }, delay);
    this.timer.unref();
  }

  private set(state: QmpSessionState): void {
    this.current = state;
    this.o.onState?.(state);
    if (state.kind === 'connected' || state.kind === 'closed') for (const w of [...this.waiters]) w();
  }
}
