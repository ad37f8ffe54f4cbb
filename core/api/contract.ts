// A contract names every method (request → response) and every topic (a stream of events) with zod schemas, so
// one declaration gives both ends their static types and their run-time checks. The same object is handed to the
// server and to the client; nothing else describes the API.
//
// Schemas run at both ends on JSON-shaped data, so keep them free of transforms: a transform would apply once on
// the sending side and again on the receiving side.

import type { z } from 'zod';

/**
 * 'reliable': state and cycle events. Never lost silently: the per-subscription queue is bounded, and when it
 *   overflows the oldest events go and the subscriber is told exactly how many.
 * 'latest': gauges. Only the newest value matters, so values that arrive between flushes replace each other and
 *   the subscriber is told how many were coalesced.
 */
export type DeliveryPolicy = 'reliable' | 'latest';

export interface MethodSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly request: Req;
  readonly response: Res;
}

export interface TopicSpec<Ev extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType> {
  readonly event: Ev;
  /** What a subscriber passes when it subscribes (which pair, say); absent means no parameters. */
  readonly params?: P;
  readonly policy: DeliveryPolicy;
  /** 'reliable' only: events a subscription may hold between flushes. */
  readonly queueLimit?: number;
}

export interface Contract<
  M extends Record<string, MethodSpec> = Record<string, MethodSpec>,
  T extends Record<string, TopicSpec> = Record<string, TopicSpec>,
> {
  readonly methods: M;
  readonly topics: T;
}

export type AnyContract = Contract;

export const DEFAULT_QUEUE_LIMIT = 1000;
/** Upper bound on any queue, and so on the events one batch message may carry. */
export const MAX_QUEUE_LIMIT = 10_000;
/** Names travel in every message; keep them short and plain. */
const NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

export type MethodName<C extends AnyContract> = keyof C['methods'] & string;
export type TopicName<C extends AnyContract> = keyof C['topics'] & string;

// Senders pass a schema's input type and receivers get its output type; for JSON-shaped schemas they coincide.

/** What a client passes to call(). */
export type CallRequest<C extends AnyContract, K extends MethodName<C>> = z.input<C['methods'][K]['request']>;
/** What call() resolves with. */
export type CallResponse<C extends AnyContract, K extends MethodName<C>> = z.output<C['methods'][K]['response']>;
/** What a method handler receives. */
export type HandlerRequest<C extends AnyContract, K extends MethodName<C>> = z.output<C['methods'][K]['request']>;
/** What a method handler returns. */
export type HandlerResponse<C extends AnyContract, K extends MethodName<C>> = z.input<C['methods'][K]['response']>;

/** What a subscriber receives. */
export type TopicEvent<C extends AnyContract, K extends TopicName<C>> = z.output<C['topics'][K]['event']>;
/** What a topic source emits. */
export type SourceEvent<C extends AnyContract, K extends TopicName<C>> = z.input<C['topics'][K]['event']>;
/** What a subscriber passes; undefined for a topic without parameters. */
export type TopicParams<C extends AnyContract, K extends TopicName<C>> =
  C['topics'][K] extends { readonly params?: infer P extends z.ZodType } ? z.input<P> : undefined;
/** What a topic source receives. */
export type SourceParams<C extends AnyContract, K extends TopicName<C>> =
  C['topics'][K] extends { readonly params?: infer P extends z.ZodType } ? z.output<P> : undefined;

/**
 * Checks the declaration once, at start-up, so a typo in a policy or a name fails loudly there rather than as a
 * confusing error on the first call; the result is frozen so neither end can change the contract under the other.
 */
export function defineContract<
  const M extends Record<string, MethodSpec>,
  const T extends Record<string, TopicSpec>,
>(spec: { methods: M; topics: T }): Contract<M, T> {
  for (const [name, m] of Object.entries(spec.methods)) {
    checkName('method', name);
    if (!isSchema(m.request) || !isSchema(m.response)) throw new TypeError(`method ${name}: request and response must be zod schemas`);
  }
  for (const [name, t] of Object.entries(spec.topics)) {
    checkName('topic', name);
    if (!isSchema(t.event)) throw new TypeError(`topic ${name}: event must be a zod schema`);
    if (t.params !== undefined && !isSchema(t.params)) throw new TypeError(`topic ${name}: params must be a zod schema`);
    if (t.policy !== 'reliable' && t.policy !== 'latest') throw new TypeError(`topic ${name}: unknown policy`);
    if (t.queueLimit !== undefined) {
      if (t.policy !== 'reliable') throw new TypeError(`topic ${name}: queueLimit applies to 'reliable' topics only`);
      if (!Number.isInteger(t.queueLimit) || t.queueLimit < 1 || t.queueLimit > MAX_QUEUE_LIMIT) {
        throw new RangeError(`topic ${name}: queueLimit must be an integer in 1..${MAX_QUEUE_LIMIT}`);
      }
    }
  }
  return Object.freeze({ methods: Object.freeze({ ...spec.methods }), topics: Object.freeze({ ...spec.topics }) });
}

/** Looks a name up without ever reaching Object.prototype ('constructor', '__proto__' from a peer). */
export function own<V>(record: Readonly<Record<string, V>>, name: string): V | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

export function queueLimitOf(topic: TopicSpec): number {
  return topic.policy === 'latest' ? 1 : (topic.queueLimit ?? DEFAULT_QUEUE_LIMIT);
}

function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) throw new TypeError(`${kind} name ${JSON.stringify(name)} is not a plain identifier`);
}

function isSchema(value: unknown): value is z.ZodType {
  return typeof value === 'object' && value !== null && typeof (value as { safeParse?: unknown }).safeParse === 'function';
}
