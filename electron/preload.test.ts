// The real preload bundle (as build.ts makes it), run against a stand-in for the sandbox's require('electron'),
// and wired through the real main-process endpoint to core/api's server: what the page gets, and what goes over IPC.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { consoleContract } from '../core/api/console-contract.js';
import { RpcError } from '../core/api/errors.js';
import { type Handlers, serve } from '../core/api/server.js';
import type { ConsoleContract } from '../core/api/console-contract.js';
import { BRIDGE_KEY, type ColoConsoleBridge, clientFromBridge } from './bridge.js';
import { buildElectron } from './build.js';
import { APP_ENTRY_URL, IPC_HELLO, IPC_RPC } from './constants.js';
import { type RendererPort, createIpcEndpoint } from './ipc-endpoint.js';

type Listener = (event: unknown, payload: unknown) => void;

interface FakeRenderer {
  readonly exposed: Map<string, unknown>;
  readonly sent: { channel: string; payload: unknown }[];
  readonly listeners: Map<string, Set<Listener>>;
  readonly required: string[];
}

/** Runs the bundle the way a sandboxed preload runs: CommonJS, with a require() that knows only 'electron'. */
function runPreload(code: string, onSend: (channel: string, payload: unknown) => void): FakeRenderer {
  const renderer: FakeRenderer = { exposed: new Map(), sent: [], listeners: new Map(), required: [] };
  const ipcRenderer = {
    send: (channel: string, payload: unknown) => {
      renderer.sent.push({ channel, payload: structuredClone(payload) });
      onSend(channel, structuredClone(payload));
    },
    on: (channel: string, listener: Listener) => {
      const set = renderer.listeners.get(channel) ?? new Set();
      set.add(listener);
      renderer.listeners.set(channel, set);
    },
    removeListener: (channel: string, listener: Listener) => renderer.listeners.get(channel)?.delete(listener),
  };
  const contextBridge = {
    exposeInMainWorld: (key: string, value: unknown) => renderer.exposed.set(key, value),
  };
  const sandboxRequire = (id: string): unknown => {
    renderer.required.push(id);
    if (id === 'electron') return { contextBridge, ipcRenderer };
    throw new Error(`module not found: ${id}`);
  };
  const module = { exports: {} };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- running the built bundle is the point of this test
  const run = new Function('require', 'module', 'exports', code) as (req: typeof sandboxRequire, mod: typeof module, exports: object) => void;
  run(sandboxRequire, module, module.exports);
  return renderer;
}

function stubHandlers(): Handlers<ConsoleContract> {
  const methods: Record<string, (...args: never[]) => unknown> = Object.fromEntries(
    Object.keys(consoleContract.methods).map((name) => [name, () => {
      throw new RpcError('not-found', `stub: ${name}`);
    }]),
  );
  methods['app.info'] = () => ({ version: '9.9.9', transport: 'electron' });
  const topics: Record<string, (...args: never[]) => unknown> = Object.fromEntries(Object.keys(consoleContract.topics).map((name) => [name, () => () => undefined]));
  topics.output = (sink: { emit(e: unknown): void }) => {
    sink.emit({ pairId: 'p1', heldP50Ms: 1.5, heldP99Ms: null, packetsPerSecond: 10 });
    return () => undefined;
  };
  return { methods, topics } as unknown as Handlers<ConsoleContract>;
}

describe('preload bundle', () => {
  let dir: string;
  let code: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'colo-preload-'));
    const built = await buildElectron({ outDir: dir, only: 'preload' });
    code = await readFile(built.preload, 'utf8');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('is one CommonJS file that requires nothing but electron', () => {
    const renderer = runPreload(code, () => undefined);
    assert.deepEqual([...new Set(renderer.required)], ['electron']);
  });

  test('says hello first, then exposes exactly the contract under window.coloConsole', () => {
    const renderer = runPreload(code, () => undefined);
    assert.equal(renderer.sent[0]?.channel, IPC_HELLO);
    assert.match((renderer.sent[0]?.payload as { session: string }).session, /^[0-9a-f]{32}$/);
    assert.deepEqual([...renderer.exposed.keys()], [BRIDGE_KEY]);
    const bridge = renderer.exposed.get(BRIDGE_KEY) as ColoConsoleBridge;
    assert.deepEqual(Object.keys(bridge).sort(), ['methods', 'subscribe', 'transport']);
    assert.deepEqual(Object.keys(bridge.methods).sort(), Object.keys(consoleContract.methods).sort());
    // No Electron object anywhere in what the page gets.
    const seen = new Set<unknown>();
    const walk = (v: unknown): void => {
      if (typeof v !== 'object' || v === null || seen.has(v)) return;
      seen.add(v);
      for (const value of Object.values(v)) {
        assert.ok(typeof value !== 'object' || value === null || Object.getPrototypeOf(value) === Object.prototype, 'only plain objects');
        walk(value);
      }
    };
    walk(bridge);
  });

  test('each page load gets its own session id', () => {
    const a = runPreload(code, () => undefined).sent[0]?.payload as { session: string };
    const b = runPreload(code, () => undefined).sent[0]?.payload as { session: string };
    assert.notEqual(a.session, b.session);
  });

  test('round trip through the main-process endpoint and the server, with events, and no IPC event in callbacks', async () => {
    const ours = { webContentsId: 1, frame: { url: APP_ENTRY_URL, isMainFrame: true } };
    const endpoint = createIpcEndpoint({
      expectedWebContentsId: () => 1,
      serve: (channel) => serve(consoleContract, stubHandlers(), channel, { flushIntervalMs: 16 }),
      log: () => undefined,
    });
    let renderer: FakeRenderer | null = null;
    const port: RendererPort = {
      // main → renderer: the IPC event the preload's listener receives first is not something the page must see.
      send: (envelope) => queueMicrotask(() => {
        for (const listener of renderer?.listeners.get(IPC_RPC) ?? []) listener({ sender: 'ipcRenderer!' }, structuredClone(envelope));
      }),
      isDestroyed: () => false,
    };
    renderer = runPreload(code, (channel, payload) => {
      queueMicrotask(() => {
        if (channel === IPC_HELLO) endpoint.hello(ours, payload, port);
        else if (channel === IPC_RPC) endpoint.message(ours, payload);
      });
    });
    const bridge = renderer.exposed.get(BRIDGE_KEY) as ColoConsoleBridge;
    const client = clientFromBridge(bridge);
    try {
      assert.deepEqual(await client.call('app.info', {}), { version: '9.9.9', transport: 'electron' });
      await assert.rejects(client.call('pairs.get', { pairId: 'p1' }), { code: 'not-found', message: 'stub: pairs.get' });
      const batches: unknown[][] = [];
      const sub = client.subscribe('output', undefined, (events) => batches.push(events));
      await sub.ready;
      await new Promise((r) => setTimeout(r, 40));
      assert.deepEqual(batches, [[{ pairId: 'p1', heldP50Ms: 1.5, heldP99Ms: null, packetsPerSecond: 10 }]]);
      // Every RPC message the preload sent went in an envelope carrying its session.
      const session = (renderer.sent[0]?.payload as { session: string }).session;
      for (const { channel, payload } of renderer.sent.slice(1)) {
        assert.equal(channel, IPC_RPC);
        assert.equal((payload as { session: string }).session, session);
      }
      sub();
    } finally {
      client.close();
      endpoint.close();
    }
  });
});
