// One small contract exercising every feature the RPC tests need, with handlers whose topic sinks the tests drive
// by hand, so each test decides exactly which events exist and when.

import { z } from 'zod';
import { RpcError, defineContract, type Handlers, type TopicSink } from '../rpc.js';

export const contract = defineContract({
  methods: {
    add: { request: z.object({ a: z.number(), b: z.number() }), response: z.object({ sum: z.number() }) },
    // Its handler returns a value that breaks its own response schema.
    broken: { request: z.object({}), response: z.object({ ok: z.boolean() }) },
    fail: { request: z.object({ how: z.enum(['rpc-error', 'crash', 'throw-string']) }), response: z.null() },
    slow: { request: z.object({ ms: z.number().int().min(0).max(5000) }), response: z.literal('done') },
    // A reply of the size asked for: what a client that never reads its replies makes the server hold.
    blob: { request: z.object({ bytes: z.number().int().min(0).max(4 * 1024 * 1024) }), response: z.string() },
  },
  topics: {
    state: {
      event: z.object({ seq: z.number().int() }),
      params: z.object({ pair: z.string().min(1) }),
      policy: 'reliable',
      queueLimit: 10,
    },
    cycles: { event: z.object({ seq: z.number().int() }), policy: 'reliable' },
    gauge: { event: z.object({ value: z.number() }), policy: 'latest' },
  },
});

export type Fixture = typeof contract;

export interface Probe {
  readonly sinks: { state: TopicSink<{ seq: number }>[]; cycles: TopicSink<{ seq: number }>[]; gauge: TopicSink<{ value: number }>[] };
  readonly disposed: string[];
  readonly aborted: string[];
  readonly stateParams: { pair: string }[];
  /** How many blob calls reached their handler. */
  blobCalls: number;
}

export function fixtureHandlers(): { handlers: Handlers<Fixture>; probe: Probe } {
  const probe: Probe = { sinks: { state: [], cycles: [], gauge: [] }, disposed: [], aborted: [], stateParams: [], blobCalls: 0 };
  const handlers: Handlers<Fixture> = {
    methods: {
      add: ({ a, b }) => ({ sum: a + b }),
      // A deliberate contract violation: the server must catch it, not forward it.
      broken: () => ({ ok: 'yes' }) as unknown as { ok: boolean },
      fail: ({ how }) => {
        if (how === 'rpc-error') throw new RpcError('not-found', 'no such pair: p9');
        if (how === 'crash') throw new Error('secret detail: /etc/colo/key at line 3');
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a non-Error throw is the point of the case
        throw 'a bare string';
      },
      blob: ({ bytes }) => {
        probe.blobCalls++;
        return 'x'.repeat(bytes);
      },
      slow: ({ ms }, { signal }) =>
        new Promise<'done'>((resolve) => {
          const timer = setTimeout(() => resolve('done'), ms);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            probe.aborted.push('slow');
            resolve('done');
          });
        }),
    },
    topics: {
      state: (sink, params) => {
        if (params.pair === 'missing') throw new RpcError('not-found', 'no such pair');
        probe.stateParams.push(params);
        probe.sinks.state.push(sink);
        return () => probe.disposed.push('state');
      },
      cycles: (sink) => {
        probe.sinks.cycles.push(sink);
        return () => probe.disposed.push('cycles');
      },
      gauge: (sink) => {
        probe.sinks.gauge.push(sink);
        return () => probe.disposed.push('gauge');
      },
    },
  };
  return { handlers, probe };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `check` holds, polling; fails the test with `what` after `ms`. */
export async function waitFor(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
