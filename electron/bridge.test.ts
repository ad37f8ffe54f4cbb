import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { createClient } from '../core/api/client.js';
import { defineContract } from '../core/api/contract.js';
import { consoleContract } from '../core/api/console-contract.js';
import { RpcError } from '../core/api/errors.js';
import { createMemoryChannelPair } from '../core/api/memory-channel.js';
import { serve } from '../core/api/server.js';
import { BRIDGE_KEY, type ContractBridge, clientFromBridge, createBridge, electronClient, getBridge } from './bridge.js';

/**
 * What contextBridge does to values crossing between the preload's world and the page's: data is copied, functions
 * become proxies (their arguments and results cross too), promises cross only as a return value, and an Error
 * keeps its message and nothing else.
 */
function crossWorld(value: unknown): unknown {
  if (typeof value === 'function') {
    const fn = value as (...args: unknown[]) => unknown;
    return (...args: unknown[]) => {
      let result: unknown;
      try {
        result = fn(...args.map(crossWorld));
      } catch (err) {
        // eslint-disable-next-line preserve-caught-error -- contextBridge keeps only the message; so does this stand-in
        throw new Error(err instanceof Error ? err.message : String(err));
      }
      if (result instanceof Promise) {
        return result.then(crossData, (err: unknown) => {
          throw new Error(err instanceof Error ? err.message : String(err));
        });
      }
      return crossWorld(result);
    };
  }
  if (value instanceof Promise) return undefined;
  if (Array.isArray(value)) return value.map(crossWorld);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, crossWorld(v)]));
  }
  return value;
}

function crossData(value: unknown): unknown {
  return value === undefined ? undefined : structuredClone(value);
}

const contract = defineContract({
  methods: {
    echo: { request: z.object({ text: z.string().max(10) }), response: z.object({ text: z.string() }) },
    missing: { request: z.object({ id: z.string() }), response: z.object({}) },
    slow: { request: z.object({}), response: z.object({}) },
  },
  topics: {
    ticks: { event: z.object({ n: z.number() }), params: z.object({ from: z.number() }), policy: 'reliable', queueLimit: 2 },
    refused: { event: z.number(), policy: 'reliable' },
  },
});

function setUp() {
  const emitters = new Set<(n: number) => void>();
  const [serverEnd, preloadEnd] = createMemoryChannelPair();
  const server = serve(contract, {
    methods: {
      echo: (req) => ({ text: req.text.toUpperCase() }),
      missing: (req) => {
        throw new RpcError('not-found', `no pair ${req.id}`);
      },
      slow: () => new Promise(() => undefined),
    },
    topics: {
      ticks: (sink, params) => {
        const emit = (n: number): void => sink.emit({ n: n + params.from });
        emitters.add(emit);
        return () => emitters.delete(emit);
      },
      refused: () => {
        throw new RpcError('invalid-state', 'not now');
      },
    },
  }, serverEnd, { flushIntervalMs: 16 });
  const errors: unknown[] = [];
  const preloadClient = createClient(contract, preloadEnd, { timeoutMs: 1000, onError: (err) => errors.push(err) });
  // What the page sees: the bridge after crossing the world boundary.
  const exposed = crossWorld(createBridge(contract, preloadClient, (err) => errors.push(err))) as ContractBridge<typeof contract>;
  const client = clientFromBridge(exposed);
  return {
    emitters,
    errors,
    exposed,
    client,
    close: () => {
      client.close();
      preloadClient.close();
      server.close();
      serverEnd.close();
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 40));

describe('bridge', () => {
  test('exposes exactly one function per contract method, subscribe, and the transport name: nothing else', () => {
    const [, end] = createMemoryChannelPair();
    const bridge = createBridge(consoleContract, createClient(consoleContract, end));
    assert.deepEqual(Object.keys(bridge).sort(), ['methods', 'subscribe', 'transport']);
    assert.deepEqual(Object.keys(bridge.methods).sort(), Object.keys(consoleContract.methods).sort());
    for (const fn of Object.values(bridge.methods)) assert.equal(typeof fn, 'function');
    assert.equal(bridge.transport, 'electron');
  });

  test('calls come back as values, with errors keeping their RPC codes across the world boundary', async () => {
    const env = setUp();
    try {
      assert.deepEqual(await env.client.call('echo', { text: 'hi' }), { text: 'HI' });
      await assert.rejects(env.client.call('missing', { id: 'vm-9' }), (err: unknown) => {
        assert.ok(err instanceof RpcError);
        assert.equal(err.code, 'not-found');
        assert.equal(err.message, 'no pair vm-9');
        return true;
      });
      // Checked in the preload before anything is sent.
      await assert.rejects(env.client.call('echo', { text: 'far too long' }), { code: 'bad-request' });
      await assert.rejects(env.client.call('slow', {}, { timeoutMs: 30 }), { code: 'timeout' });
      await assert.rejects(env.client.call('nope' as 'echo', { text: '' }), { code: 'not-found' });
    } finally {
      env.close();
    }
  });

  test('the raw bridge never rejects: it resolves with { ok, error }', async () => {
    const env = setUp();
    try {
      assert.deepEqual(await env.exposed.methods.missing({ id: 'x' }), { ok: false, error: { code: 'not-found', message: 'no pair x' } });
      assert.deepEqual(await env.exposed.methods.echo({ text: 'a' }), { ok: true, value: { text: 'A' } });
    } finally {
      env.close();
    }
  });

  test('subscriptions deliver batches and drop notices, and nothing after unsubscribe', async () => {
    const env = setUp();
    try {
      const got: number[] = [];
      const drops: number[] = [];
      const sub = env.client.subscribe('ticks', { from: 100 }, (events) => got.push(...events.map((e) => e.n)), (notice) => drops.push(notice.dropped));
      await sub.ready;
      for (const emit of env.emitters) for (const n of [1, 2, 3, 4]) emit(n);
      await tick();
      assert.deepEqual(got, [103, 104]);
      assert.deepEqual(drops, [2]);
      sub();
      await tick();
      assert.equal(env.emitters.size, 0, 'the service stopped feeding it');
    } finally {
      env.close();
    }
  });

  test("a refused subscription rejects its ready with the service's code", async () => {
    const env = setUp();
    try {
      const sub = env.client.subscribe('refused', undefined, () => assert.fail('no events'));
      await assert.rejects(sub.ready, { code: 'invalid-state', message: 'not now' });
      const bad = env.client.subscribe('ticks', { from: 'x' } as never, () => undefined);
      await assert.rejects(bad.ready, { code: 'bad-request' });
    } finally {
      env.close();
    }
  });

  test('a throwing page callback is reported in the preload, not thrown into it', async () => {
    const env = setUp();
    try {
      const sub = env.client.subscribe('ticks', { from: 0 }, () => {
        throw new Error('page bug');
      });
      await sub.ready;
      for (const emit of env.emitters) emit(1);
      await tick();
      assert.ok(env.errors.some((e) => e instanceof Error && e.message === 'page bug'));
    } finally {
      env.close();
    }
  });

  test("close() ends the page's subscriptions and rejects pending calls with 'closed'", async () => {
    const env = setUp();
    try {
      const sub = env.client.subscribe('ticks', { from: 0 }, () => undefined);
      await sub.ready;
      const pending = env.client.call('slow', {});
      env.client.close();
      await assert.rejects(pending, { code: 'closed' });
      await tick();
      assert.equal(env.emitters.size, 0);
      assert.equal(env.client.closed, true);
      await assert.rejects(env.client.call('echo', { text: 'a' }), { code: 'closed' });
    } finally {
      env.close();
    }
  });

  test('getBridge finds the exposed bridge and ignores anything else', () => {
    const [, end] = createMemoryChannelPair();
    const bridge = crossWorld(createBridge(consoleContract, createClient(consoleContract, end)));
    assert.ok(getBridge({ [BRIDGE_KEY]: bridge }));
    assert.ok(electronClient({ [BRIDGE_KEY]: bridge }));
    assert.equal(getBridge({}), undefined);
    assert.equal(electronClient({}), null);
    assert.equal(getBridge({ [BRIDGE_KEY]: { transport: 'browser', methods: {}, subscribe: () => undefined } }), undefined);
    assert.equal(getBridge({ [BRIDGE_KEY]: 'x' }), undefined);
  });
});
