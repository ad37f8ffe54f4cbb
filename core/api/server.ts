// Serves a contract over one channel (one connection). Everything the peer sends is checked before a handler sees
// it, and everything a handler produces is checked before the peer sees it: a handler bug becomes an 'internal'
// error here, not malformed data in the UI. Events are queued per subscription and flushed together on a timer,
// so a burst of events costs one message per subscription per tick, not one per event.

import {
  type AnyContract,
  type HandlerRequest,
  type HandlerResponse,
  type MethodName,
  type MethodSpec,
  type SourceEvent,
  type SourceParams,
  type TopicName,
  type TopicSpec,
  own,
  queueLimitOf,
} from './contract.js';
import { type DeliveryQueue, createDeliveryQueue } from './delivery-queue.js';
import { INTERNAL_ERROR, RpcError, type RpcErrorData, toWireError } from './errors.js';
import { ClientMessage, type RpcChannel, type ServerMessage, describeIssues, salvageId } from './protocol.js';

export type Disposer = () => void;

export interface CallContext {
  /** Aborted when the caller gave up (its timeout) or the connection closed. */
  readonly signal: AbortSignal;
}

export interface TopicSink<E> {
  /** Queues one event for the next flush; a no-op once the subscriber has gone. */
  emit(event: E): void;
}

export type MethodHandler<C extends AnyContract, K extends MethodName<C>> = (
  req: HandlerRequest<C, K>,
  ctx: CallContext,
) => HandlerResponse<C, K> | Promise<HandlerResponse<C, K>>;

/** Starts feeding one subscription and returns how to stop. Throw an RpcError to refuse (say, 'not-found'). */
export type TopicSource<C extends AnyContract, K extends TopicName<C>> = (
  sink: TopicSink<SourceEvent<C, K>>,
  params: SourceParams<C, K>,
) => Disposer;

export interface Handlers<C extends AnyContract> {
  readonly methods: { readonly [K in MethodName<C>]: MethodHandler<C, K> };
  readonly topics: { readonly [K in TopicName<C>]: TopicSource<C, K> };
  /**
   * Told of every call refused because its request failed the contract's schema, before any handler ran: a service
   * that must keep a record of refused calls (the audit log's destructive actions) keeps it here.
   */
  readonly onInvalidRequest?: (method: MethodName<C>, rawRequest: unknown, message: string) => void;
}

export const MIN_FLUSH_MS = 16;
export const MAX_FLUSH_MS = 50;
export const DEFAULT_FLUSH_MS = 33;

export interface ServeOptions {
  /** How often queued events go out, 16–50 ms: fast enough to look live, slow enough to batch. */
  flushIntervalMs?: number;
  /** Caps what one peer can make the server hold. */
  maxSubscriptions?: number;
  maxPendingCalls?: number;
  /** Server-side faults (handler exceptions, invalid responses or events, send failures), for the log. */
  onError?: (err: unknown, where: string) => void;
}

export interface RpcServer {
  /** Stops every subscription's source and aborts pending calls; the channel itself stays the caller's. */
  close(): void;
}

export function serve<C extends AnyContract>(
  contract: C,
  handlers: Handlers<C>,
  channel: RpcChannel,
  options: ServeOptions = {},
): RpcServer {
  const flushMs = options.flushIntervalMs ?? DEFAULT_FLUSH_MS;
  if (!(flushMs >= MIN_FLUSH_MS && flushMs <= MAX_FLUSH_MS)) {
    throw new RangeError(`flushIntervalMs must be within ${MIN_FLUSH_MS}..${MAX_FLUSH_MS}`);
  }
  const methods = handlers.methods as unknown as Readonly<Record<string, AnyHandler>>;
  const topics = handlers.topics as unknown as Readonly<Record<string, AnySource>>;
  // Types guarantee this for TypeScript callers; the check catches a JS caller before the first request does.
  for (const name of Object.keys(contract.methods)) {
    if (typeof own(methods, name) !== 'function') throw new TypeError(`no handler for method ${name}`);
  }
  for (const name of Object.keys(contract.topics)) {
    if (typeof own(topics, name) !== 'function') throw new TypeError(`no source for topic ${name}`);
  }
  return new Connection(contract, methods, topics, channel, {
    flushMs,
    maxSubscriptions: options.maxSubscriptions ?? 256,
    maxPendingCalls: options.maxPendingCalls ?? 256,
    onError: options.onError,
    onInvalidRequest: handlers.onInvalidRequest,
  });
}

type AnyHandler = (req: unknown, ctx: CallContext) => unknown;
type AnySource = (sink: TopicSink<unknown>, params: unknown) => unknown;

interface Subscription {
  readonly topic: string;
  readonly spec: TopicSpec;
  readonly queue: DeliveryQueue<unknown>;
  active: boolean;
  dispose: Disposer | null;
}

interface Settings {
  readonly flushMs: number;
  readonly maxSubscriptions: number;
  readonly maxPendingCalls: number;
  readonly onError: ServeOptions['onError'];
  readonly onInvalidRequest: ((method: string, rawRequest: unknown, message: string) => void) | undefined;
}

class Connection implements RpcServer {
  private readonly calls = new Map<number, AbortController>();
  private readonly subs = new Map<number, Subscription>();
  private readonly detach: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly contract: AnyContract,
    private readonly methods: Readonly<Record<string, AnyHandler>>,
    private readonly topics: Readonly<Record<string, AnySource>>,
    private readonly channel: RpcChannel,
    private readonly settings: Settings,
  ) {
    this.detach.push(channel.onMessage((msg) => this.receive(msg)));
    if (channel.onClose) this.detach.push(channel.onClose(() => this.close()));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const off of this.detach) off();
    for (const sub of this.subs.values()) this.stop(sub);
    this.subs.clear();
    for (const ac of this.calls.values()) ac.abort();
    this.calls.clear();
  }

  private receive(raw: unknown): void {
    if (this.closed) return;
    const parsed = ClientMessage.safeParse(raw);
    if (!parsed.success) {
      this.fail(salvageId(raw), new RpcError('bad-request', `malformed message: ${describeIssues(parsed.error)}`));
      return;
    }
    const msg = parsed.data;
    switch (msg.t) {
      case 'call':
        this.call(msg.id, msg.method, msg.req);
        break;
      case 'cancel':
        this.calls.get(msg.id)?.abort();
        this.calls.delete(msg.id);
        break;
      case 'sub':
        this.subscribe(msg.id, msg.topic, msg.params);
        break;
      case 'unsub':
        this.unsubscribe(msg.id);
        break;
    }
  }

  private call(id: number, method: string, rawReq: unknown): void {
    if (this.inUse(id)) return this.fail(id, new RpcError('bad-request', 'request id already in use'));
    if (this.calls.size >= this.settings.maxPendingCalls) {
      return this.fail(id, new RpcError('invalid-state', 'too many calls in flight'));
    }
    const spec = own(this.contract.methods, method);
    const handler = own(this.methods, method);
    if (spec === undefined || handler === undefined) return this.fail(id, new RpcError('not-found', `no method ${method}`));
    const req = spec.request.safeParse(rawReq);
    if (!req.success) {
      const error = new RpcError('bad-request', `invalid request: ${describeIssues(req.error)}`);
      try {
        this.settings.onInvalidRequest?.(method, rawReq, error.message);
      } catch (err) {
        this.report(err, `method ${method} (refused request hook)`);
      }
      return this.fail(id, error);
    }
    const ac = new AbortController();
    this.calls.set(id, ac);
    void this.run(id, method, spec, handler, req.data, ac);
  }

  private async run(id: number, method: string, spec: MethodSpec, handler: AnyHandler, req: unknown, ac: AbortController): Promise<void> {
    let reply: ServerMessage;
    try {
      const res = spec.response.safeParse(await handler(req, { signal: ac.signal }));
      if (res.success) {
        reply = { t: 'result', id, res: res.data };
      } else {
        this.report(new Error(`invalid response: ${describeIssues(res.error)}`), `method ${method}`);
        reply = { t: 'error', id, error: INTERNAL_ERROR };
      }
    } catch (err) {
      if (!(err instanceof RpcError)) this.report(err, `method ${method}`);
      reply = { t: 'error', id, error: toWireError(err) };
    }
    // Cancelled or closed meanwhile: nobody is waiting for this reply.
    if (this.calls.get(id) !== ac) return;
    this.calls.delete(id);
    this.send(reply);
  }

  private subscribe(id: number, topic: string, rawParams: unknown): void {
    if (this.inUse(id)) return this.fail(id, new RpcError('bad-request', 'request id already in use'));
    if (this.subs.size >= this.settings.maxSubscriptions) {
      return this.fail(id, new RpcError('invalid-state', 'too many subscriptions'));
    }
    const spec = own(this.contract.topics, topic);
    const source = own(this.topics, topic);
    if (spec === undefined || source === undefined) return this.fail(id, new RpcError('not-found', `no topic ${topic}`));
    let params: unknown = undefined;
    if (spec.params !== undefined) {
      const checked = spec.params.safeParse(rawParams);
      if (!checked.success) return this.fail(id, new RpcError('bad-request', `invalid params: ${describeIssues(checked.error)}`));
      params = checked.data;
    } else if (rawParams !== undefined) {
      return this.fail(id, new RpcError('bad-request', `topic ${topic} takes no parameters`));
    }

    const sub: Subscription = {
      topic,
      spec,
      queue: createDeliveryQueue(spec.policy, queueLimitOf(spec)),
      active: true,
      dispose: null,
    };
    this.subs.set(id, sub);
    try {
      const dispose = source({ emit: (event) => this.emit(sub, event) }, params);
      if (typeof dispose !== 'function') throw new TypeError('topic source did not return a disposer');
      sub.dispose = dispose as Disposer;
    } catch (err) {
      sub.active = false;
      this.subs.delete(id);
      if (!(err instanceof RpcError)) this.report(err, `topic ${topic}`);
      return this.fail(id, toWireError(err));
    }
    this.send({ t: 'subscribed', id });
  }

  private unsubscribe(id: number): void {
    const sub = this.subs.get(id);
    if (sub === undefined) return;
    this.subs.delete(id);
    this.stop(sub);
  }

  private stop(sub: Subscription): void {
    sub.active = false;
    try {
      sub.dispose?.();
    } catch (err) {
      this.report(err, `topic ${sub.topic} disposer`);
    }
  }

  private emit(sub: Subscription, event: unknown): void {
    if (!sub.active) return;
    const checked = sub.spec.event.safeParse(event);
    if (checked.success) {
      sub.queue.push(checked.data);
    } else {
      // Counted as dropped so the subscriber learns of the gap; the bug itself goes to the server's log.
      sub.queue.noteDropped(1);
      this.report(new Error(`invalid event: ${describeIssues(checked.error)}`), `topic ${sub.topic}`);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.timer === null && !this.closed) this.timer = setTimeout(() => this.flush(), this.settings.flushMs);
  }

  private flush(): void {
    this.timer = null;
    if (this.closed) return;
    if (this.channel.canSend?.() === false) {
      // Hold the batches: queues keep coalescing ('latest') or dropping with a count ('reliable') meanwhile.
      if ([...this.subs.values()].some((s) => s.queue.pending)) this.scheduleFlush();
      return;
    }
    for (const [id, sub] of this.subs) {
      if (!sub.queue.pending) continue;
      const { events, dropped } = sub.queue.take();
      this.send(dropped > 0 ? { t: 'events', id, events, dropped } : { t: 'events', id, events });
    }
  }

  private inUse(id: number): boolean {
    return this.calls.has(id) || this.subs.has(id);
  }

  private fail(id: number | null, error: RpcError | RpcErrorData): void {
    this.send({ t: 'error', id, error: error instanceof RpcError ? error.toData() : error });
  }

  private send(msg: ServerMessage): void {
    try {
      this.channel.send(msg);
    } catch (err) {
      this.report(err, 'send');
    }
  }

  private report(err: unknown, where: string): void {
    try {
      this.settings.onError?.(err, where);
    } catch {
      // A failing logger must not take the connection down with it.
    }
  }
}
