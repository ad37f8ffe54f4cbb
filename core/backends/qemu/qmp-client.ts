// A QMP (QEMU Machine Protocol) client over any byte stream: a local unix socket, or one forwarded over SSH
// (core/ssh openUnixSocket). It reads the greeting, negotiates capabilities (out-of-band execution when QEMU
// offers it), matches replies to commands by id, and hands events on with QEMU's own timestamps next to the time
// they arrived.
//
// The monitor is untrusted input from a process that may be stopped mid-checkpoint: every call has a timeout
// (a paused side's monitor can go silent), a line longer than the limit ends the connection instead of growing
// without bound, malformed JSON and replies nobody asked for are reported, and an event storm is cut down to a
// budget with the dropped count reported. Every failure is one QmpError that names the VM and what went wrong.

import type { Duplex } from 'node:stream';

export type QmpErrorKind =
  /** QEMU answered the command with an error (its class and words are kept). */
  | 'command'
  | 'timeout'
  /** The connection ended (QEMU exited, the socket or the SSH channel closed). */
  | 'closed'
  /** QEMU sent something that is not QMP: bad JSON, a reply with an unknown id, no greeting. */
  | 'protocol'
  | 'too-large'
  | 'cancelled';

export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(
    readonly kind: QmpErrorKind,
    message: string,
    /** QEMU's error class for 'command' errors (CommandNotFound, GenericError, …). */
    readonly errorClass?: string,
  ) {
    super(message);
  }
}

export interface QemuVersion {
  major: number;
  minor: number;
  micro: number;
  /** Distribution build, e.g. "Debian 1:7.2+dfsg-7+deb12u18". */
  package: string;
}

export interface QmpGreeting {
  version: QemuVersion;
  capabilities: string[];
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  /** QEMU's own timestamp, ms since the epoch (µs resolution): when it happened, not when we heard of it. */
  at: number;
  /** Wall-clock ms when the event arrived here. */
  receivedAt: number;
}

export interface QmpProblem {
  kind: 'unknown-reply' | 'bad-message' | 'event-storm';
  message: string;
}

export interface QmpClientOptions {
  /** The VM as the admin knows it, for messages ("VM web01 (primary)"). */
  name: string;
  /** Default limit for each command; default 10 s. */
  timeoutMs?: number;
  /** Longest wait for the greeting and capabilities negotiation; default 10 s. */
  greetingTimeoutMs?: number;
  /** Negotiate out-of-band execution when offered; default true. */
  oob?: boolean;
  /** A single message longer than this ends the connection; default 16 MiB. */
  maxMessageBytes?: number;
  /** Events beyond this many per second are dropped (and counted); default 2000. */
  maxEventsPerSecond?: number;
  onEvent?(event: QmpEvent): void;
  /** Things QEMU sent that were wrong but did not end the connection. */
  onProblem?(problem: QmpProblem): void;
  clock?: () => number;
}

export interface ExecuteOptions {
  timeoutMs?: number;
  /** Send as exec-oob: answered even while the monitor is busy (yank). Needs OOB negotiated. */
  oob?: boolean;
  signal?: AbortSignal;
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(err: QmpError): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024;
const DEFAULT_EVENT_BUDGET = 2000;
/** Ids of commands we gave up on are remembered this long, so their late replies are not "unknown". */
const ABANDONED_KEEP = 1000;

export class QmpClient {
  private readonly pending = new Map<string, Pending>();
  private readonly abandoned = new Set<string>();
  private nextId = 1;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private closedWith: QmpError | null = null;
  private readonly closeListeners = new Set<(err: QmpError) => void>();
  private eventWindowStart = 0;
  private eventsInWindow = 0;
  private droppedEvents = 0;
  private greetingWaiter: ((msg: Record<string, unknown>) => void) | null = null;
  greeting: QmpGreeting | null = null;
  /** Whether out-of-band execution was negotiated. */
  oob = false;

  private constructor(private readonly stream: Duplex, private readonly o: QmpClientOptions) {
    stream.on('data', (chunk: Buffer) => this.take(chunk));
    stream.on('error', (err: Error) => this.close(new QmpError('closed', `The monitor connection of ${o.name} failed: ${err.message}`)));
    stream.on('close', () => this.close(new QmpError('closed', `The monitor connection of ${o.name} closed.`)));
  }

  /** Reads the greeting from `stream` and negotiates capabilities; the client is ready for commands after. */
  static async open(stream: Duplex, options: QmpClientOptions): Promise<QmpClient> {
    const client = new QmpClient(stream, options);
    try {
      await client.handshake();
      return client;
    } catch (err) {
      client.close(err instanceof QmpError ? err : new QmpError('protocol', String(err)));
      throw err;
    }
  }

  get isOpen(): boolean {
    return this.closedWith === null;
  }

  /** Events dropped because they came faster than the budget. */
  get eventsDropped(): number {
    return this.droppedEvents;
  }

  /** Called once when the connection ends, with why. */
  onClose(fn: (err: QmpError) => void): () => void {
    if (this.closedWith !== null) {
      fn(this.closedWith);
      return () => {};
    }
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  /** Runs `command` and resolves with its `return` value; rejects with a QmpError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: ExecuteOptions = {}): Promise<T> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    if (options.oob && !this.oob) return Promise.reject(new QmpError('protocol', `${this.o.name}: ${command} needs out-of-band execution, which this QEMU did not offer.`));
    const id = `cc${this.nextId++}`;
    const timeoutMs = options.timeoutMs ?? this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const giveUp = (err: QmpError): void => {
        if (!this.pending.has(id)) return;
        settle();
        this.remember(id);
        reject(err);
      };
      const timer = setTimeout(() => giveUp(new QmpError('timeout', `${this.o.name}: ${command} got no answer within ${timeoutMs / 1000} s; the monitor may be blocked (a stopped or hung QEMU).`)), timeoutMs);
      const onAbort = (): void => giveUp(new QmpError('cancelled', `${this.o.name}: ${command} was cancelled.`));
      this.pending.set(id, {
        command,
        resolve: (v) => {
          settle();
          resolve(v as T);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
        timer,
      });
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const message = { [options.oob ? 'exec-oob' : 'execute']: command, ...(args === undefined ? {} : { arguments: args }), id };
      this.stream.write(JSON.stringify(message) + '\r\n');
    });
  }

  close(err = new QmpError('closed', `The monitor connection of ${this.o.name} was closed by the console.`)): void {
    if (this.closedWith !== null) return;
    this.closedWith = err;
    for (const p of [...this.pending.values()]) p.reject(err);
    this.pending.clear();
    this.stream.destroy();
    for (const fn of [...this.closeListeners]) fn(err);
    this.closeListeners.clear();
  }

  private async handshake(): Promise<void> {
    const limit = this.o.greetingTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new QmpError('timeout', `${this.o.name}: no QMP greeting within ${limit / 1000} s; is this a QMP socket?`)), limit);
      const off = this.onClose((e) => {
        clearTimeout(timer);
        reject(e);
      });
      this.greetingWaiter = (msg) => {
        clearTimeout(timer);
        off();
        resolve(msg);
      };
    });
    this.greeting = parseGreeting(first, this.o.name);
    const enable = this.o.oob !== false && this.greeting.capabilities.includes('oob') ? ['oob'] : [];
    await this.execute('qmp_capabilities', enable.length > 0 ? { enable } : undefined, { timeoutMs: limit });
    this.oob = enable.length > 0;
  }

  private take(chunk: Buffer): void {
    let at = 0;
    while (this.closedWith === null) {
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        this.hold(chunk.subarray(at));
        return;
      }
      const piece = chunk.subarray(at, nl);
      let line: Buffer;
      if (this.bufferedBytes > 0) {
        if (!this.hold(piece)) return;
        line = Buffer.concat(this.buffered, this.bufferedBytes);
        this.buffered = [];
        this.bufferedBytes = 0;
      } else {
        line = piece;
      }
      at = nl + 1;
      if (line.length > this.maxMessage) {
        this.tooLarge();
        return;
      }
      this.message(line.toString('utf8').trim());
    }
  }

  private get maxMessage(): number {
    return this.o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE;
  }

  /** Keeps an unfinished message; false (and the connection ended) when it grew past the limit. */
  private hold(bytes: Buffer): boolean {
    if (bytes.length === 0) return true;
    this.bufferedBytes += bytes.length;
    if (this.bufferedBytes > this.maxMessage) {
      this.tooLarge();
      return false;
    }
    this.buffered.push(Buffer.from(bytes));
    return true;
  }

  private tooLarge(): void {
    this.buffered = [];
    this.bufferedBytes = 0;
    this.close(new QmpError('too-large', `${this.o.name}: QEMU sent a message longer than ${Math.round(this.maxMessage / 1024 / 1024)} MiB; the monitor connection was closed.`));
  }

  private message(text: string): void {
    if (text === '') return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.problem('bad-message', `${this.o.name}: the monitor sent a line that is not JSON: ${clip(text)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.problem('bad-message', `${this.o.name}: the monitor sent JSON that is not a QMP message: ${clip(text)}`);
      return;
    }
    const m = msg as Record<string, unknown>;
    if (this.greetingWaiter !== null) {
      // QEMU keeps a monitor's output per chardev, not per connection: what it still owed the last client comes
      // first, then the greeting.
      if ('return' in m || 'error' in m || typeof m.event === 'string') {
        this.problem('unknown-reply', `${this.o.name}: output meant for the monitor's previous client came before the greeting; skipped: ${clip(text)}`);
        return;
      }
      const waiter = this.greetingWaiter;
      this.greetingWaiter = null;
      waiter(m);
      return;
    }
    if (typeof m.event === 'string') return this.event(m);
    if ('return' in m || 'error' in m) return this.reply(m, text);
    this.problem('bad-message', `${this.o.name}: the monitor sent a message that is neither a reply nor an event: ${clip(text)}`);
  }

  private reply(m: Record<string, unknown>, text: string): void {
    const id = typeof m.id === 'string' ? m.id : typeof m.id === 'number' ? String(m.id) : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (pending === undefined) {
      if (id !== undefined && this.abandoned.has(id)) return;
      this.problem('unknown-reply', `${this.o.name}: the monitor answered a command the console did not send (id ${id === undefined ? 'missing' : JSON.stringify(id).slice(0, 40)}): ${clip(text)}`);
      return;
    }
    if ('error' in m) {
      const e = (typeof m.error === 'object' && m.error !== null ? m.error : {}) as Record<string, unknown>;
      const cls = typeof e.class === 'string' ? e.class : 'GenericError';
      const desc = typeof e.desc === 'string' ? e.desc : 'no description';
      pending.reject(new QmpError('command', `${this.o.name}: ${pending.command} failed: ${desc} (${cls})`, cls));
    } else {
      pending.resolve(m.return);
    }
  }

  private event(m: Record<string, unknown>): void {
    const now = (this.o.clock ?? Date.now)();
    if (now - this.eventWindowStart >= 1000) {
      this.eventWindowStart = now;
      this.eventsInWindow = 0;
    }
    this.eventsInWindow++;
    if (this.eventsInWindow > this.budget) {
      this.droppedEvents++;
      if (this.eventsInWindow === this.budget + 1) {
        this.problem('event-storm', `${this.o.name}: QEMU sent more than ${this.budget} events within a second; the rest of that second's are dropped (${this.droppedEvents} dropped so far).`);
      }
      return;
    }
    const ts = (typeof m.timestamp === 'object' && m.timestamp !== null ? m.timestamp : {}) as Record<string, unknown>;
    const seconds = typeof ts.seconds === 'number' ? ts.seconds : NaN;
    const micro = typeof ts.microseconds === 'number' ? ts.microseconds : 0;
    const event: QmpEvent = {
      event: m.event as string,
      at: Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 + micro / 1000 : now,
      receivedAt: now,
    };
    if (typeof m.data === 'object' && m.data !== null && !Array.isArray(m.data)) event.data = m.data as Record<string, unknown>;
    this.o.onEvent?.(event);
  }

  private get budget(): number {
    return this.o.maxEventsPerSecond ?? DEFAULT_EVENT_BUDGET;
  }

  private remember(id: string): void {
    this.abandoned.add(id);
    if (this.abandoned.size > ABANDONED_KEEP) this.abandoned.delete(this.abandoned.values().next().value!);
  }

  private problem(kind: QmpProblem['kind'], message: string): void {
    this.o.onProblem?.({ kind, message });
  }
}

function parseGreeting(m: Record<string, unknown>, name: string): QmpGreeting {
  const qmp = m.QMP as Record<string, unknown> | undefined;
  const version = (qmp?.version as Record<string, unknown> | undefined)?.qemu as Record<string, unknown> | undefined;
  const nums = [version?.major, version?.minor, version?.micro];
  if (typeof qmp !== 'object' || qmp === null || !nums.every((n) => Number.isInteger(n))) {
    throw new QmpError('protocol', `${name}: the socket did not greet like QEMU's monitor (no QMP version): ${clip(JSON.stringify(m))}`);
  }
  const pkg = (qmp.version as Record<string, unknown>).package;
  const caps = Array.isArray(qmp.capabilities) ? qmp.capabilities.filter((c): c is string => typeof c === 'string') : [];
  return {
    version: { major: nums[0] as number, minor: nums[1] as number, micro: nums[2] as number, package: typeof pkg === 'string' ? pkg.slice(0, 200) : '' },
    capabilities: caps,
  };
}

function clip(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters from a host are not shown raw
  const clean = text.replace(/[\x00-\x1f\x7f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
