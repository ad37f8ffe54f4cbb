// The typed end the UI holds. It trusts the server no more than the server trusts it: every reply and event is
// checked against the contract before it reaches application code, every call has a deadline, and nothing the
// server sends can throw out of the channel's message handler.

import {
  type AnyContract,
  type CallRequest,
  type CallResponse,
  type MethodName,
  type MethodSpec,
  type TopicEvent,
  type TopicName,
  type TopicParams,
  type TopicSpec,
  own,
} from './contract.js';
import { RpcError, fromWireError } from './errors.js';
import { type ClientMessage, type RpcChannel, type ServerMessage, ServerMessage as ServerMessageSchema, describeIssues } from './protocol.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** setTimeout's own ceiling; beyond it the timer would fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export interface ClientOptions {
  /** Deadline for every call and subscription request unless a call names its own. */
  timeoutMs?: number;
  /** Protocol problems no caller is waiting on: malformed server messages, invalid events, unreported drops. */
  onError?: (err: Error) => void;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface DropNotice {
  /** Events lost ('reliable' topics) or coalesced away ('latest' topics) since the previous batch. */
  readonly dropped: number;
}

/** Call it to unsubscribe; `ready` settles when the server has accepted or refused the subscription. */
export type Subscription = (() => void) & { readonly ready: Promise<void> };

export interface RpcClient<C extends AnyContract> {
  call<K extends MethodName<C>>(method: K, req: CallRequest<C, K>, options?: CallOptions): Promise<CallResponse<C, K>>;
  subscribe<K extends TopicName<C>>(
    topic: K,
    params: TopicParams<C, K>,
    onEvents: (events: TopicEvent<C, K>[]) => void,
    onDropped?: (notice: DropNotice) => void,
  ): Subscription;
  /** Rejects pending calls with 'closed' and ends every subscription; the channel stays the caller's. */
  close(): void;
  readonly closed: boolean;
}

export function createClient<C extends AnyContract>(contract: C, channel: RpcChannel, options: ClientOptions = {}): RpcClient<C> {
  return new Client(contract, channel, checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS), options.onError) as RpcClient<C>;
}

function checkTimeout(ms: number): number {
  if (!(ms > 0 && ms <= MAX_TIMEOUT_MS)) throw new RangeError(`timeoutMs must be within 1..${MAX_TIMEOUT_MS}`);
  return ms;
}

interface Pending {
  readonly kind: 'call' | 'sub';
  readonly name: string;
  readonly timer: ReturnType<typeof setTimeout>;
  resolve(value: unknown): void;
  reject(err: RpcError): void;
}

interface LiveSubscription {
  readonly topic: string;
  readonly spec: TopicSpec;
  readonly onEvents: (events: unknown[]) => void;
  readonly onDropped: ((notice: DropNotice) => void) | undefined;
}

class Client {
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Map<number, LiveSubscription>();
  private readonly detach: (() => void)[] = [];
  private nextId = 1;
  private isClosed = false;

  constructor(
    private readonly contract: AnyContract,
    private readonly channel: RpcChannel,
    private readonly timeoutMs: number,
    private readonly onError: ((err: Error) => void) | undefined,
  ) {
    this.detach.push(channel.onMessage((msg) => this.receive(msg)));
    if (channel.onClose) this.detach.push(channel.onClose(() => this.shutDown('connection closed')));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  call(method: string, req: unknown, options?: CallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new RpcError('closed', 'client is closed'));
      const spec = own(this.contract.methods, method);
      if (spec === undefined) return reject(new RpcError('not-found', `no method ${method}`));
      // Checked here too, so a bad request fails fast with the same code the server would use.
      const checked = spec.request.safeParse(req);
      if (!checked.success) return reject(new RpcError('bad-request', `invalid request: ${describeIssues(checked.error)}`));
      const id = this.nextId++;
      const timeoutMs = checkTimeout(options?.timeoutMs ?? this.timeoutMs);
      this.track(id, 'call', method, timeoutMs, (res) => this.checkResponse(spec, method, res), resolve, reject);
      this.post({ t: 'call', id, method, req: checked.data }, id);
    });
  }

  subscribe(topic: string, params: unknown, onEvents: (events: unknown[]) => void, onDropped?: (notice: DropNotice) => void): Subscription {
    let accept: () => void = () => undefined;
    let refuse: (err: RpcError) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      accept = resolve;
      refuse = reject;
    });
    // Many callers never look at `ready`; a refused subscription must not surface as an unhandled rejection.
    ready.catch(() => undefined);
    const refused = (err: RpcError): Subscription => {
      refuse(err);
      return Object.assign(() => undefined, { ready });
    };

    if (this.closed) return refused(new RpcError('closed', 'client is closed'));
    const spec = own(this.contract.topics, topic);
    if (spec === undefined) return refused(new RpcError('not-found', `no topic ${topic}`));
    let wireParams: unknown = undefined;
    if (spec.params !== undefined) {
      const checked = spec.params.safeParse(params);
      if (!checked.success) return refused(new RpcError('bad-request', `invalid params: ${describeIssues(checked.error)}`));
      wireParams = checked.data;
    }

    const id = this.nextId++;
    this.subs.set(id, { topic, spec, onEvents, onDropped });
    this.track(id, 'sub', topic, this.timeoutMs, () => ({ ok: true, value: undefined }), () => accept(), (err) => {
      this.subs.delete(id);
      refuse(err);
    });
    this.post({ t: 'sub', id, topic, params: wireParams }, id);

    const unsubscribe = (): void => {
      // Dropping the local entry first is what guarantees no callback after this returns, even for batches
      // already on the wire.
      if (this.subs.delete(id) && !this.closed) this.post({ t: 'unsub', id }, null);
    };
    return Object.assign(unsubscribe, { ready });
  }

  close(): void {
    if (this.closed) return;
    for (const id of this.subs.keys()) this.post({ t: 'unsub', id }, null);
    this.shutDown('client is closed');
  }

  private shutDown(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const off of this.detach) off();
    this.subs.clear();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new RpcError('closed', reason));
    }
  }

  private track(
    id: number,
    kind: Pending['kind'],
    name: string,
    timeoutMs: number,
    check: (value: unknown) => { ok: true; value: unknown } | { ok: false; error: RpcError },
    resolve: (value: unknown) => void,
    reject: (err: RpcError) => void,
  ): void {
    const timer = setTimeout(() => {
      if (!this.pending.delete(id)) return;
      reject(new RpcError('timeout', `${name} timed out after ${timeoutMs} ms`));
      // Tell the server to stop working on it (a call) or to stop feeding it (a subscription).
      this.post(kind === 'call' ? { t: 'cancel', id } : { t: 'unsub', id }, null);
    }, timeoutMs);
    this.pending.set(id, {
      kind,
      name,
      timer,
      resolve: (value) => {
        const checked = check(value);
        if (checked.ok) resolve(checked.value);
        else reject(checked.error);
      },
      reject,
    });
  }

  private checkResponse(spec: MethodSpec, method: string, res: unknown): { ok: true; value: unknown } | { ok: false; error: RpcError } {
    const checked = spec.response.safeParse(res);
    if (checked.success) return { ok: true, value: checked.data };
    this.report(new RpcError('internal', `invalid response to ${method}: ${describeIssues(checked.error)}`));
    return { ok: false, error: new RpcError('internal', `invalid response to ${method}`) };
  }

  /** Sends; if the transport refuses, the request `failId` (if any) fails now instead of waiting for its timeout. */
  private post(msg: ClientMessage, failId: number | null): void {
    try {
      this.channel.send(msg);
    } catch {
      if (failId === null) return;
      const p = this.settle(failId);
      p?.reject(new RpcError('closed', 'could not send: connection unavailable'));
    }
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    clearTimeout(p.timer);
    this.pending.delete(id);
    return p;
  }

  private receive(raw: unknown): void {
    if (this.closed) return;
    const parsed = ServerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.report(new RpcError('bad-request', `malformed message from server: ${describeIssues(parsed.error)}`));
      return;
    }
    const msg: ServerMessage = parsed.data;
    switch (msg.t) {
      case 'result':
      case 'subscribed': {
        const expected = msg.t === 'result' ? 'call' : 'sub';
        // A late reply to a call that already timed out is expected and harmless.
        if (this.pending.get(msg.id)?.kind !== expected) return;
        this.settle(msg.id)?.resolve(msg.t === 'result' ? msg.res : undefined);
        return;
      }
      case 'error': {
        const err = fromWireError(msg.error);
        const p = msg.id === null ? undefined : this.settle(msg.id);
        if (p === undefined) this.report(err);
        else p.reject(err);
        return;
      }
      case 'events':
        this.deliver(msg.id, msg.events, msg.dropped ?? 0);
        return;
    }
  }

  private deliver(id: number, raw: unknown[], dropped: number): void {
    const sub = this.subs.get(id);
    if (sub === undefined) return;
    const events: unknown[] = [];
    let invalid = 0;
    for (const event of raw) {
      const checked = sub.spec.event.safeParse(event);
      if (checked.success) events.push(checked.data);
      else invalid++;
    }
    if (invalid > 0) this.report(new RpcError('internal', `topic ${sub.topic}: ${invalid} invalid event(s) discarded`));
    const lost = dropped + invalid;
    if (lost > 0) {
      if (sub.onDropped !== undefined) this.guard(() => sub.onDropped?.({ dropped: lost }));
      else if (sub.spec.policy === 'reliable') {
        // Nobody asked to hear about gaps, but reliable events are never lost silently.
        this.report(new RpcError('internal', `topic ${sub.topic}: ${lost} event(s) dropped`));
      }
    }
    // The drop callback may have unsubscribed; honour that at once.
    if (events.length > 0 && this.subs.get(id) === sub) this.guard(() => sub.onEvents(events));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.report(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private report(err: Error): void {
    try {
      this.onError?.(err);
    } catch {
      // The error hook is the last stop; there is nowhere further to send its own failure.
    }
  }
}
