// The RPC over an in-memory channel pair (JSON-copied, asynchronous, like a real transport): calls, validation at
// both ends, timeouts, subscriptions, batching and both delivery policies. The channel is real; only the far end
// is sometimes raw messages, to play a broken or hostile peer that the typed client would never let us be.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { createMemoryChannelPair } from './memory-channel.js';
import { type ClientOptions, type DropNotice, RpcError, type RpcChannel, type ServeOptions, createClient, defineContract, serve } from './rpc.js';
import { contract, fixtureHandlers, sleep, waitFor } from './test-support/fixture-contract.js';

/** A client and a server joined by a memory pair, with every message the client end receives kept for inspection. */
function setup(opts: { client?: ClientOptions; server?: ServeOptions; congested?: () => boolean } = {}) {
  const [clientEnd, serverEnd] = createMemoryChannelPair();
  const received: unknown[] = [];
  clientEnd.onMessage((msg) => received.push(msg));
  const serverErrors: { err: unknown; where: string }[] = [];
  const clientErrors: Error[] = [];
  const { handlers, probe } = fixtureHandlers();
  const serverChannel: RpcChannel = opts.congested
    ? { ...bind(serverEnd), canSend: () => !opts.congested?.() }
    : serverEnd;
  const server = serve(contract, handlers, serverChannel, {
    onError: (err, where) => serverErrors.push({ err, where }),
    ...opts.server,
  });
  const client = createClient(contract, clientEnd, { timeoutMs: 2000, onError: (e) => clientErrors.push(e), ...opts.client });
  const eventMessages = () => received.filter((m) => (m as { t?: string }).t === 'events');
  return { client, server, probe, clientEnd, serverEnd, received, eventMessages, serverErrors, clientErrors };
}

function bind(ch: RpcChannel): RpcChannel {
  return { send: (m) => ch.send(m), onMessage: (cb) => ch.onMessage(cb), onClose: (cb) => ch.onClose?.(cb) ?? (() => undefined) };
}

/** Sends one raw message from the client end and resolves with the next message the server sends back. */
async function rawExchange(clientEnd: RpcChannel, msg: unknown): Promise<Record<string, unknown>> {
  const reply = new Promise<Record<string, unknown>>((resolve) => {
    const off = clientEnd.onMessage((m) => {
      off();
      resolve(m as Record<string, unknown>);
    });
  });
  clientEnd.send(msg);
  return reply;
}

async function rejectsWith(promise: Promise<unknown>, code: RpcError['code']): Promise<RpcError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

describe('calls', () => {
  test('a request travels to its handler and the typed response comes back', async () => {
    const { client } = setup();
    const res: { sum: number } = await client.call('add', { a: 2, b: 40 });
    assert.deepEqual(res, { sum: 42 });
    const many = await Promise.all([1, 2, 3].map((n) => client.call('add', { a: n, b: n })));
    assert.deepEqual(many.map((r) => r.sum), [2, 4, 6], 'concurrent calls are matched to their own replies');
  });

  test('the client refuses an invalid request locally with bad-request', async () => {
    const { client, received } = setup();
    // @ts-expect-error -- the types forbid it; the run-time check must too
    const err = await rejectsWith(client.call('add', { a: 'two', b: 3 }), 'bad-request');
    assert.match(err.message, /a:/);
    await sleep(10);
    assert.equal(received.length, 0, 'nothing was sent');
  });

  test('the server answers an invalid request with bad-request and keeps serving', async () => {
    const { client, clientEnd } = setup();
    client.close(); // the raw exchange below plays the client
    const reply = await rawExchange(clientEnd, { t: 'call', id: 7, method: 'add', req: { a: 'two', b: 3 } });
    assert.equal(reply.t, 'error');
    assert.equal(reply.id, 7);
    assert.equal((reply.error as { code: string }).code, 'bad-request');
    const ok = await rawExchange(clientEnd, { t: 'call', id: 8, method: 'add', req: { a: 1, b: 1 } });
    assert.deepEqual(ok, { t: 'result', id: 8, res: { sum: 2 } });
  });

  test('malformed envelopes get bad-request, routed by id when there is one, and never crash the server', async () => {
    const { client, clientEnd } = setup();
    client.close();
    for (const junk of ['not json at all', null, 42, [], { t: 'call' }, { t: 'bogus' }, { t: 'call', id: -1, method: 'add' }]) {
      const reply = await rawExchange(clientEnd, junk);
      assert.equal(reply.t, 'error', `reply to ${JSON.stringify(junk)}`);
      assert.equal((reply.error as { code: string }).code, 'bad-request');
      assert.equal(reply.id, null);
    }
    for (const junk of [{ t: 'call', id: 3, method: 42 }, { t: 'bogus', id: 3 }]) {
      const routed = await rawExchange(clientEnd, junk);
      assert.equal(routed.id, 3, 'a usable id is echoed so the caller can fail fast');
      assert.equal((routed.error as { code: string }).code, 'bad-request');
    }
    const ok = await rawExchange(clientEnd, { t: 'call', id: 9, method: 'add', req: { a: 2, b: 2 } });
    assert.deepEqual(ok, { t: 'result', id: 9, res: { sum: 4 } });
  });

  test('unknown methods, including Object.prototype names, are not-found', async () => {
    const { client, clientEnd } = setup();
    client.close();
    for (const method of ['nope', 'toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const reply = await rawExchange(clientEnd, { t: 'call', id: 1, method, req: {} });
      assert.equal((reply.error as { code: string }).code, 'not-found', method);
    }
  });

  test('a duplicate id while the first call is pending is refused', async () => {
    const { client, clientEnd } = setup();
    client.close();
    clientEnd.send({ t: 'call', id: 5, method: 'slow', req: { ms: 100 } });
    const reply = await rawExchange(clientEnd, { t: 'call', id: 5, method: 'add', req: { a: 1, b: 1 } });
    assert.equal(reply.id, 5);
    assert.equal((reply.error as { code: string }).code, 'bad-request');
  });

  test('a handler returning a response that breaks the schema yields internal, logged on the server', async () => {
    const { client, serverErrors } = setup();
    const err = await rejectsWith(client.call('broken', {}), 'internal');
    assert.equal(err.message, 'internal error');
    assert.equal(serverErrors.length, 1);
    assert.match(String(serverErrors[0]?.err), /invalid response/);
  });

  test('handler exceptions: RpcError keeps its code; anything else is a generic internal with no detail', async () => {
    const { client, serverErrors } = setup();
    const notFound = await rejectsWith(client.call('fail', { how: 'rpc-error' }), 'not-found');
    assert.equal(notFound.message, 'no such pair: p9');
    const crash = await rejectsWith(client.call('fail', { how: 'crash' }), 'internal');
    assert.equal(crash.message, 'internal error');
    assert.doesNotMatch(crash.message, /secret|\/etc|at /);
    await rejectsWith(client.call('fail', { how: 'throw-string' }), 'internal');
    assert.equal(serverErrors.length, 2, 'the two unexpected failures reach the server log; the RpcError does not');
  });

  test('a call times out, and the server is told to abort the handler', async () => {
    const { client, probe } = setup();
    const started = Date.now();
    await rejectsWith(client.call('slow', { ms: 3000 }, { timeoutMs: 60 }), 'timeout');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 55 && elapsed < 1000, `timed out after ${elapsed} ms`);
    await waitFor(() => probe.aborted.length === 1, 'the handler to see its abort signal');
  });

  test('a call to a peer that never answers still settles, with timeout', async () => {
    const [clientEnd] = createMemoryChannelPair(); // nobody serves the other end
    const client = createClient(contract, clientEnd, { timeoutMs: 40 });
    await rejectsWith(client.call('add', { a: 1, b: 2 }), 'timeout');
    const sub = client.subscribe('cycles', undefined, () => undefined);
    await rejectsWith(sub.ready, 'timeout');
  });

  test('the client checks responses: a wrong-shaped result is internal, garbage goes to onError, nothing throws', async () => {
    const [clientEnd, fakeServer] = createMemoryChannelPair();
    const clientErrors: Error[] = [];
    const client = createClient(contract, clientEnd, { timeoutMs: 1000, onError: (e) => clientErrors.push(e) });
    fakeServer.onMessage((raw) => {
      const msg = raw as { id: number };
      fakeServer.send('garbage');
      fakeServer.send({ t: 'result', id: 'x' });
      fakeServer.send({ t: 'error', id: null, error: { code: 'weird-new-code', message: 'hm' } });
      fakeServer.send({ t: 'result', id: msg.id, res: { sum: 'forty-two' } });
    });
    const err = await rejectsWith(client.call('add', { a: 1, b: 2 }), 'internal');
    assert.match(err.message, /invalid response to add/);
    assert.equal(clientErrors.length, 4, clientErrors.map((e) => e.message).join(' | '));
    assert.equal((clientErrors[2] as RpcError).code, 'internal', 'an unknown error code degrades to internal');
  });

  test('closing the channel rejects pending calls with closed, and later calls fail at once', async () => {
    const { client, clientEnd, probe } = setup();
    client.subscribe('cycles', undefined, () => undefined);
    await waitFor(() => probe.sinks.cycles.length === 1, 'subscription');
    const pending = client.call('slow', { ms: 3000 });
    await sleep(10); // let the call reach the server, so there is a handler to abort
    clientEnd.close();
    await rejectsWith(pending, 'closed');
    await rejectsWith(client.call('add', { a: 1, b: 1 }), 'closed');
    assert.equal(client.closed, true);
    assert.deepEqual(probe.disposed, ['cycles'], 'the server stopped the subscription source');
    assert.deepEqual(probe.aborted, ['slow'], 'and aborted the pending handler');
  });
});

describe('subscriptions', () => {
  test('events arrive validated and typed; unsubscribe stops them and disposes the source', async () => {
    const { client, probe, eventMessages } = setup();
    const got: number[] = [];
    const unsubscribe = client.subscribe('state', { pair: 'p1' }, (events) => got.push(...events.map((e) => e.seq)));
    await unsubscribe.ready;
    assert.deepEqual(probe.stateParams, [{ pair: 'p1' }]);
    const sink = probe.sinks.state[0];
    assert.ok(sink);
    sink.emit({ seq: 1 });
    sink.emit({ seq: 2 });
    await waitFor(() => got.length === 2, 'two events');
    assert.deepEqual(got, [1, 2]);

    unsubscribe();
    sink.emit({ seq: 3 });
    await waitFor(() => probe.disposed.includes('state'), 'the source to be disposed');
    await sleep(80);
    assert.deepEqual(got, [1, 2], 'nothing after unsubscribe');
    assert.equal(eventMessages().length, 1, 'and nothing further was even sent');
  });

  test('no callback after unsubscribe, even for a batch already in flight', async () => {
    const [clientEnd, fakeServer] = createMemoryChannelPair();
    const client = createClient(contract, clientEnd);
    const fromClient: { t: string; id: number }[] = [];
    fakeServer.onMessage((raw) => {
      const msg = raw as { t: string; id: number };
      fromClient.push(msg);
      if (msg.t === 'sub') fakeServer.send({ t: 'subscribed', id: msg.id });
    });
    const got: number[][] = [[], []];
    const first = client.subscribe('cycles', undefined, (e) => got[0]?.push(...e.map((x) => x.seq)));
    const second = client.subscribe('cycles', undefined, (e) => got[1]?.push(...e.map((x) => x.seq)));
    await Promise.all([first.ready, second.ready]);
    const [a, b] = fromClient.map((m) => m.id);
    // Both batches are on the wire (delivered on a later microtask) when the first subscriber leaves.
    fakeServer.send({ t: 'events', id: a, events: [{ seq: 1 }] });
    fakeServer.send({ t: 'events', id: b, events: [{ seq: 1 }] });
    first();
    await sleep(20);
    assert.deepEqual(got, [[], [1]], 'the identical batch still reaches the subscriber that stayed');
    assert.deepEqual(fromClient.at(-1), { t: 'unsub', id: a });
  });

  test('refusals: unknown topic, bad params, and a source that throws RpcError', async () => {
    const { client, clientEnd, probe } = setup();
    // @ts-expect-error -- not a topic of the contract
    await rejectsWith(client.subscribe('nope', undefined, () => undefined).ready, 'not-found');
    // @ts-expect-error -- params must match the schema
    await rejectsWith(client.subscribe('state', { pair: 7 }, () => undefined).ready, 'bad-request');
    // @ts-expect-error -- gauge takes no params
    client.subscribe('gauge', { x: 1 }, () => undefined)();
    await rejectsWith(client.subscribe('state', { pair: 'missing' }, () => undefined).ready, 'not-found');
    assert.equal(probe.sinks.state.length, 0);
    // The server checks too: params for a topic that takes none, and params that break the schema.
    const none = await rawExchange(clientEnd, { t: 'sub', id: 100, topic: 'gauge', params: { x: 1 } });
    assert.equal((none.error as { code: string }).code, 'bad-request');
    const bad = await rawExchange(clientEnd, { t: 'sub', id: 101, topic: 'state', params: { pair: '' } });
    assert.equal((bad.error as { code: string }).code, 'bad-request');
  });

  test('the server caps subscriptions per connection', async () => {
    const { client } = setup({ server: { maxSubscriptions: 2 } });
    await client.subscribe('cycles', undefined, () => undefined).ready;
    await client.subscribe('gauge', undefined, () => undefined).ready;
    await rejectsWith(client.subscribe('cycles', undefined, () => undefined).ready, 'invalid-state');
  });

  test('many events in a short time arrive in few messages, in order', async () => {
    const { client, probe, eventMessages } = setup({ server: { flushIntervalMs: 25 } });
    const got: number[] = [];
    await client.subscribe('cycles', undefined, (events) => got.push(...events.map((e) => e.seq))).ready;
    const sink = probe.sinks.cycles[0];
    assert.ok(sink);
    for (let i = 0; i < 300; i++) sink.emit({ seq: i });
    // A second burst spread over ~100 ms: one message per flush tick, not one per event.
    const started = Date.now();
    for (let i = 300; i < 400; i++) {
      sink.emit({ seq: i });
      if (i % 10 === 0) await sleep(10);
    }
    const ticks = Math.ceil((Date.now() - started) / 25);
    await waitFor(() => got.length === 400, 'all 400 events');
    assert.deepEqual(got, Array.from({ length: 400 }, (_, i) => i));
    const messages = eventMessages().length;
    assert.ok(messages <= ticks + 2 && messages < 50, `400 events took ${messages} messages over ${ticks} ticks`);
    const first = (eventMessages()[0] as { events: unknown[] }).events.length;
    assert.ok(first >= 300, `the synchronous burst is one message (first had ${first})`);
  });

  test("'reliable' overflow drops the oldest and reports the exact count before the survivors", async () => {
    const { client, probe } = setup();
    const log: string[] = [];
    const got: number[] = [];
    await client.subscribe(
      'state',
      { pair: 'p1' },
      (events) => {
        log.push(`events:${events.length}`);
        got.push(...events.map((e) => e.seq));
      },
      (n: DropNotice) => log.push(`dropped:${n.dropped}`),
    ).ready;
    const sink = probe.sinks.state[0];
    assert.ok(sink);
    for (let i = 0; i < 25; i++) sink.emit({ seq: i }); // queueLimit is 10
    await waitFor(() => got.length === 10, 'the surviving events');
    await sleep(60);
    assert.deepEqual(log, ['dropped:15', 'events:10']);
    assert.deepEqual(got, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24], 'the newest survive');
  });

  test("'reliable' drops are never silent: without onDropped they go to the client's onError", async () => {
    const { client, probe, clientErrors } = setup();
    await client.subscribe('state', { pair: 'p1' }, () => undefined).ready;
    for (let i = 0; i < 13; i++) probe.sinks.state[0]?.emit({ seq: i });
    await waitFor(() => clientErrors.length === 1, 'the drop report');
    assert.match(clientErrors[0]?.message ?? '', /3 event\(s\) dropped/);
  });

  test("'latest' coalesces to the newest value and counts what it replaced", async () => {
    const { client, probe, eventMessages } = setup();
    const got: number[] = [];
    const dropped: number[] = [];
    await client.subscribe('gauge', undefined, (events) => got.push(...events.map((e) => e.value)), (n) => dropped.push(n.dropped)).ready;
    const sink = probe.sinks.gauge[0];
    assert.ok(sink);
    for (let i = 0; i < 100; i++) sink.emit({ value: i });
    await waitFor(() => got.length === 1, 'one value');
    await sleep(60);
    assert.deepEqual(got, [99]);
    assert.deepEqual(dropped, [99]);
    assert.equal(eventMessages().length, 1);
  });

  test('a congested channel holds batches back; queues then coalesce or drop with a count', async () => {
    let congested = true;
    const { client, probe, eventMessages } = setup({ congested: () => congested });
    const state: number[] = [];
    const stateDrops: number[] = [];
    const gauge: number[] = [];
    await client.subscribe('state', { pair: 'p1' }, (e) => state.push(...e.map((x) => x.seq)), (n) => stateDrops.push(n.dropped)).ready;
    await client.subscribe('gauge', undefined, (e) => gauge.push(...e.map((x) => x.value))).ready;
    for (let i = 0; i < 5; i++) probe.sinks.state[0]?.emit({ seq: i });
    probe.sinks.gauge[0]?.emit({ value: 1 });
    await sleep(80); // two flush ticks pass while congested
    for (let i = 5; i < 30; i++) probe.sinks.state[0]?.emit({ seq: i });
    probe.sinks.gauge[0]?.emit({ value: 2 });
    assert.equal(eventMessages().length, 0, 'nothing sent while congested');
    congested = false;
    await waitFor(() => state.length === 10 && gauge.length === 1, 'the held batches');
    assert.deepEqual(stateDrops, [20]);
    assert.deepEqual(state, [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert.deepEqual(gauge, [2]);
  });

  test('an invalid event from a source is counted as dropped at the client and logged at the server', async () => {
    const { client, probe, serverErrors } = setup();
    const got: number[] = [];
    const dropped: number[] = [];
    await client.subscribe('cycles', undefined, (e) => got.push(...e.map((x) => x.seq)), (n) => dropped.push(n.dropped)).ready;
    const sink = probe.sinks.cycles[0];
    sink?.emit({ seq: 1 });
    sink?.emit({ seq: 'two' } as unknown as { seq: number });
    sink?.emit({ seq: 3 });
    await waitFor(() => got.length === 2, 'the valid events');
    assert.deepEqual(got, [1, 3]);
    assert.deepEqual(dropped, [1]);
    assert.equal(serverErrors.length, 1);
  });

  test('invalid events from the server are discarded by the client and reported as dropped', async () => {
    const [clientEnd, fakeServer] = createMemoryChannelPair();
    const clientErrors: Error[] = [];
    const client = createClient(contract, clientEnd, { onError: (e) => clientErrors.push(e) });
    fakeServer.onMessage((raw) => {
      const { id } = raw as { id: number };
      fakeServer.send({ t: 'subscribed', id });
      fakeServer.send({ t: 'events', id, events: [{ seq: 1 }, { seq: 'x' }, { nope: true }, { seq: 4 }], dropped: 2 });
    });
    const got: number[] = [];
    const dropped: number[] = [];
    await client.subscribe('cycles', undefined, (e) => got.push(...e.map((x) => x.seq)), (n) => dropped.push(n.dropped)).ready;
    await waitFor(() => got.length === 2, 'the valid events');
    assert.deepEqual(got, [1, 4]);
    assert.deepEqual(dropped, [4], 'two reported by the server plus two invalid');
    assert.equal(clientErrors.length, 1);
  });

  test('a subscriber callback that throws is reported and does not stop later deliveries', async () => {
    const { client, probe, clientErrors } = setup();
    let calls = 0;
    await client.subscribe('cycles', undefined, () => {
      calls++;
      throw new Error('subscriber bug');
    }).ready;
    probe.sinks.cycles[0]?.emit({ seq: 1 });
    await waitFor(() => calls === 1, 'first delivery');
    probe.sinks.cycles[0]?.emit({ seq: 2 });
    await waitFor(() => calls === 2, 'second delivery');
    assert.equal(clientErrors.filter((e) => e.message === 'subscriber bug').length, 2);
  });

  test('server.close() disposes every source and stops deliveries', async () => {
    const { client, server, probe, eventMessages } = setup();
    await client.subscribe('cycles', undefined, () => undefined).ready;
    await client.subscribe('gauge', undefined, () => undefined).ready;
    probe.sinks.cycles[0]?.emit({ seq: 1 });
    server.close();
    assert.deepEqual(probe.disposed.sort(), ['cycles', 'gauge']);
    probe.sinks.gauge[0]?.emit({ value: 1 });
    await sleep(80);
    assert.equal(eventMessages().length, 0, 'queued events were discarded with the connection');
  });
});

describe('configuration', () => {
  test('the flush interval must lie within 16–50 ms', () => {
    const [, serverEnd] = createMemoryChannelPair();
    const { handlers } = fixtureHandlers();
    assert.throws(() => serve(contract, handlers, serverEnd, { flushIntervalMs: 5 }), RangeError);
    assert.throws(() => serve(contract, handlers, serverEnd, { flushIntervalMs: 51 }), RangeError);
    assert.doesNotThrow(() => serve(contract, handlers, serverEnd, { flushIntervalMs: 16 }).close());
  });

  test('serve() refuses handlers that miss a method or topic', () => {
    const [, serverEnd] = createMemoryChannelPair();
    const { handlers } = fixtureHandlers();
    const partial = { methods: { ...handlers.methods, add: undefined }, topics: handlers.topics } as unknown as typeof handlers;
    assert.throws(() => serve(contract, partial, serverEnd), /no handler for method add/);
  });

  test('defineContract rejects bad names, policies and queue limits', () => {
    const ev = z.object({});
    assert.throws(() => defineContract({ methods: { 'bad name': { request: ev, response: ev } }, topics: {} }), /plain identifier/);
    assert.throws(() => defineContract({ methods: {}, topics: { t: { event: ev, policy: 'sometimes' as 'latest' } } }), /policy/);
    assert.throws(() => defineContract({ methods: {}, topics: { t: { event: ev, policy: 'reliable', queueLimit: 0 } } }), RangeError);
    assert.throws(() => defineContract({ methods: {}, topics: { t: { event: ev, policy: 'latest', queueLimit: 5 } } }), /reliable/);
    assert.throws(() => defineContract({ methods: { m: { request: {} as typeof ev, response: ev } }, topics: {} }), /zod/);
    const ok = defineContract({ methods: { m: { request: ev, response: ev } }, topics: {} });
    assert.ok(Object.isFrozen(ok) && Object.isFrozen(ok.methods));
  });

  test('client timeouts must be positive and within setTimeout range', () => {
    const [clientEnd] = createMemoryChannelPair();
    assert.throws(() => createClient(contract, clientEnd, { timeoutMs: 0 }), RangeError);
    assert.throws(() => createClient(contract, clientEnd, { timeoutMs: 2 ** 31 }), RangeError);
  });
});
