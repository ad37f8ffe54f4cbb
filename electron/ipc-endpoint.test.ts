import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { createClient } from '../core/api/client.js';
import { defineContract } from '../core/api/contract.js';
import type { RpcChannel } from '../core/api/protocol.js';
import { serve } from '../core/api/server.js';
import { APP_ENTRY_URL } from './constants.js';
import { type RendererPort, type RpcEnvelope, createIpcEndpoint } from './ipc-endpoint.js';
import type { SenderFacts } from './security.js';

const WINDOW = 3;
const OURS: SenderFacts = { webContentsId: WINDOW, frame: { url: APP_ENTRY_URL, isMainFrame: true } };
const S1 = 'a'.repeat(32);
const S2 = 'b'.repeat(32);

class FakePort implements RendererPort {
  readonly sent: RpcEnvelope[] = [];
  destroyed = false;
  send(envelope: RpcEnvelope): void {
    this.sent.push(envelope);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

/** An endpoint whose serve() just records the channels it is given. */
function recording(expected: number | null = WINDOW) {
  const channels: { channel: RpcChannel; received: unknown[]; closed: number }[] = [];
  const logs: string[] = [];
  const endpoint = createIpcEndpoint({
    expectedWebContentsId: () => expected,
    serve: (channel) => {
      const entry = { channel, received: [] as unknown[], closed: 0 };
      channel.onMessage((msg) => entry.received.push(msg));
      channel.onClose?.(() => entry.closed++);
      channels.push(entry);
      return { close: () => undefined };
    },
    log: (line) => logs.push(line),
  });
  return { endpoint, channels, logs };
}

describe('ipc endpoint', () => {
  test('hello from our page starts a session; its messages reach the server and replies go back wrapped', () => {
    const { endpoint, channels } = recording();
    const port = new FakePort();
    endpoint.hello(OURS, { session: S1 }, port);
    assert.equal(endpoint.session, S1);
    assert.equal(channels.length, 1);
    endpoint.message(OURS, { session: S1, msg: { t: 'call', id: 1, method: 'x' } });
    assert.deepEqual(channels[0]?.received, [{ t: 'call', id: 1, method: 'x' }]);
    channels[0]?.channel.send({ t: 'result', id: 1 });
    assert.deepEqual(port.sent, [{ session: S1, msg: { t: 'result', id: 1 } }]);
  });

  test('a new hello (a reload) ends the old session: its server is told, its messages are dropped', () => {
    const { endpoint, channels, logs } = recording();
    endpoint.hello(OURS, { session: S1 }, new FakePort());
    endpoint.hello(OURS, { session: S2 }, new FakePort());
    assert.equal(channels[0]?.closed, 1);
    assert.equal(endpoint.session, S2);
    endpoint.message(OURS, { session: S1, msg: { t: 'unsub', id: 1 } });
    endpoint.message(OURS, { session: S2, msg: { t: 'unsub', id: 2 } });
    assert.deepEqual(channels[0]?.received, []);
    assert.deepEqual(channels[1]?.received, [{ t: 'unsub', id: 2 }]);
    assert.equal(logs.length, 1);
    assert.throws(() => channels[0]?.channel.send({ t: 'result', id: 1 }), /renderer is gone/);
  });

  test('checks the sender of every message, hello included, and logs each kind of refusal once', () => {
    const { endpoint, channels, logs } = recording();
    const strangers: SenderFacts[] = [
      { ...OURS, webContentsId: WINDOW + 1 },
      { ...OURS, frame: { url: APP_ENTRY_URL, isMainFrame: false } },
      { ...OURS, frame: { url: 'https://example.com/', isMainFrame: true } },
      { ...OURS, frame: null },
    ];
    for (const sender of strangers) endpoint.hello(sender, { session: S1 }, new FakePort());
    assert.equal(endpoint.session, null);
    assert.equal(channels.length, 0);

    endpoint.hello(OURS, { session: S1 }, new FakePort());
    for (let i = 0; i < 3; i++) {
      for (const sender of strangers) endpoint.message(sender, { session: S1, msg: { t: 'cancel', id: i } });
    }
    assert.deepEqual(channels[0]?.received, []);
    assert.equal(logs.length, strangers.length, logs.join('\n'));
  });

  test('refuses malformed hellos and envelopes', () => {
    const { endpoint, channels, logs } = recording();
    for (const payload of [undefined, null, 'x', {}, { session: 'short' }, { session: S1.toUpperCase() }, { session: 1 }]) {
      endpoint.hello(OURS, payload, new FakePort());
    }
    assert.equal(channels.length, 0);
    endpoint.hello(OURS, { session: S1 }, new FakePort());
    for (const payload of [undefined, 'x', { msg: 1 }, { session: S1 }, [S1, {}]]) endpoint.message(OURS, payload);
    assert.deepEqual(channels[0]?.received, []);
    assert.deepEqual(logs.map((l) => /\((.*)\)/.exec(l)?.[1]), ['malformed hello', 'malformed envelope']);
  });

  test('nothing is accepted while there is no window', () => {
    const { endpoint, channels } = recording(null);
    endpoint.hello(OURS, { session: S1 }, new FakePort());
    assert.equal(channels.length, 0);
  });

  test('reset (renderer gone) and close (shutdown) end the session', () => {
    const { endpoint, channels } = recording();
    const port = new FakePort();
    endpoint.hello(OURS, { session: S1 }, port);
    endpoint.reset();
    assert.equal(channels[0]?.closed, 1);
    assert.equal(endpoint.session, null);
    endpoint.hello(OURS, { session: S2 }, port);
    assert.equal(endpoint.session, S2);
    endpoint.close();
    assert.equal(channels[1]?.closed, 1);
    endpoint.hello(OURS, { session: S1 }, port);
    assert.equal(endpoint.session, null, 'no new session after close');
  });

  test('a destroyed webContents makes the channel refuse to send and report it cannot', () => {
    const { endpoint, channels } = recording();
    const port = new FakePort();
    endpoint.hello(OURS, { session: S1 }, port);
    assert.equal(channels[0]?.channel.canSend?.(), true);
    port.destroyed = true;
    assert.equal(channels[0]?.channel.canSend?.(), false);
    assert.throws(() => channels[0]?.channel.send({}), /renderer is gone/);
  });

  test("with core/api's server: a call, a subscription, and a reload that stops the old page's subscription", async () => {
    const contract = defineContract({
      methods: { echo: { request: z.object({ text: z.string() }), response: z.object({ text: z.string() }) } },
      topics: { ticks: { event: z.number(), policy: 'reliable' } },
    });
    const sinks = new Set<(n: number) => void>();
    const endpoint = createIpcEndpoint({
      expectedWebContentsId: () => WINDOW,
      serve: (channel) =>
        serve(contract, {
          methods: { echo: (req) => ({ text: req.text.toUpperCase() }) },
          topics: {
            ticks: (sink) => {
              const emit = (n: number): void => sink.emit(n);
              sinks.add(emit);
              return () => sinks.delete(emit);
            },
          },
        }, channel, { flushIntervalMs: 16 }),
      log: () => undefined,
    });

    // A renderer: the preload's side of the link, delivering asynchronously like real IPC.
    const page = (session: string) => {
      const listeners = new Set<(msg: unknown) => void>();
      const port: RendererPort = {
        send: (envelope) => queueMicrotask(() => {
          if (envelope.session === session) for (const cb of listeners) cb(structuredClone(envelope.msg));
        }),
        isDestroyed: () => false,
      };
      endpoint.hello(OURS, { session }, port);
      const channel: RpcChannel = {
        send: (msg) => queueMicrotask(() => endpoint.message(OURS, { session, msg: structuredClone(msg) })),
        onMessage: (cb) => {
          listeners.add(cb);
          return () => listeners.delete(cb);
        },
      };
      return createClient(contract, channel, { timeoutMs: 2000 });
    };

    const first = page(S1);
    assert.deepEqual(await first.call('echo', { text: 'hi' }), { text: 'HI' });
    const got: number[] = [];
    const sub = first.subscribe('ticks', undefined, (events) => got.push(...events));
    await sub.ready;
    assert.equal(sinks.size, 1);
    for (const emit of sinks) emit(1);
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(got, [1]);

    const second = page(S2);
    assert.equal(sinks.size, 0, "the reload stopped the old page's subscription");
    assert.deepEqual(await second.call('echo', { text: 'again' }), { text: 'AGAIN' });
    first.close();
    second.close();
    endpoint.close();
  });
});
