// main.ts, bundled the way build.ts bundles it, run in plain Node against stand-ins for Electron and for the
// console service (test-support/fake-electron.ts): the window's settings, the app scheme, the security handlers,
// the IPC adapter and the shutdown, without the Electron binary.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Plugin } from 'esbuild';
import { consoleContract } from '../core/api/console-contract.js';
import type { ConsoleContract } from '../core/api/console-contract.js';
import { RpcError } from '../core/api/errors.js';
import type { Handlers } from '../core/api/server.js';
import { buildElectron } from './build.js';
import { CONTENT_SECURITY_POLICY, IPC_HELLO, IPC_RPC } from './constants.js';
import { sandboxWarning } from './sandbox-note.js';
import { type FakeElectron, FakeWebContents, createFakeElectron, fakeEvent } from './test-support/fake-electron.js';

const require = createRequire(import.meta.url);
const SESSION = 'c'.repeat(32);

/** Puts the stand-ins where main.ts imports 'electron' and './service.js'. */
const standIns: Plugin = {
  name: 'stand-ins',
  setup(b) {
    b.onResolve({ filter: /^electron$/ }, () => ({ path: 'electron', namespace: 'stand-in' }));
    b.onResolve({ filter: /[/\\]service\.js$/ }, (args) => (args.importer.endsWith('main.ts') ? { path: 'service', namespace: 'stand-in' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'stand-in' }, (args) => ({
      contents: args.path === 'electron' ? 'module.exports = globalThis.__coloFakeElectron;' : 'module.exports = globalThis.__coloFakeService;',
      loader: 'js',
    }));
  },
};

interface FakeService {
  started: string[];
  versions: string[];
  warnings: (readonly string[] | undefined)[];
  closed: number;
  finishClose: () => void;
  fail: Error | null;
}

function stubHandlers(): Handlers<ConsoleContract> {
  const methods: Record<string, (...args: never[]) => unknown> = Object.fromEntries(Object.keys(consoleContract.methods).map((name) => [name, () => {
    throw new RpcError('not-found', `stub: ${name}`);
  }]));
  methods['app.info'] = () => ({ version: '9.9.9', transport: 'electron' });
  const topics: Record<string, (...args: never[]) => unknown> = Object.fromEntries(Object.keys(consoleContract.topics).map((name) => [name, () => () => undefined]));
  return { methods, topics } as unknown as Handlers<ConsoleContract>;
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('main process', () => {
  let base: string;
  let mainScript: string;
  let signalListeners: Map<string, Set<(...args: unknown[]) => void>>;

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'colo-main-'));
    const outDir = path.join(base, 'out', 'electron');
    await mkdir(path.join(base, 'out', 'renderer', 'assets'), { recursive: true });
    await writeFile(path.join(base, 'out', 'renderer', 'index.html'), '<!doctype html><title>COLO Console</title>');
    await writeFile(path.join(base, 'out', 'renderer', 'assets', 'app.js'), 'export {}');
    mainScript = (await buildElectron({ outDir, mainPlugins: [standIns] })).main;
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });
  afterEach(() => {
    // main.ts turns SIGINT and SIGTERM into app.quit(); take those handlers off this test process again.
    for (const [signal, known] of signalListeners) {
      for (const listener of process.listeners(signal as NodeJS.Signals)) {
        if (!known.has(listener as (...args: unknown[]) => void)) process.off(signal, listener);
      }
    }
    delete process.env.COLO_CONSOLE_DATA_DIR;
  });

  function load(options: { env?: Record<string, string>; singleInstance?: boolean; failStart?: Error } = {}): { electron: FakeElectron; service: FakeService } {
    signalListeners = new Map(['SIGINT', 'SIGTERM'].map((s) => [s, new Set(process.listeners(s as NodeJS.Signals) as ((...args: unknown[]) => void)[])]));
    Object.assign(process.env, options.env ?? {});
    const electron = createFakeElectron();
    electron.app.singleInstance = options.singleInstance ?? true;
    let finishClose: () => void = () => undefined;
    const closing = new Promise<void>((resolve) => {
      finishClose = resolve;
    });
    const service: FakeService = { started: [], versions: [], warnings: [], closed: 0, finishClose: () => finishClose(), fail: options.failStart ?? null };
    Object.assign(globalThis, {
      __coloFakeElectron: electron.module,
      __coloFakeService: {
        startConsoleService: ({ dataDir, version, demo, warnings }: { dataDir: string; version: string; demo: boolean; warnings?: readonly string[] }) => {
          assert.equal(demo, true);
          service.started.push(dataDir);
          service.versions.push(version);
          service.warnings.push(warnings);
          if (service.fail !== null) return Promise.reject(service.fail);
          return Promise.resolve({
            handlers: stubHandlers(),
            watchPairs: () => () => undefined,
            close: async () => {
              service.closed++;
              await closing;
            },
          });
        },
      },
    });
    delete require.cache[mainScript];
    require(mainScript);
    return { electron, service };
  }

  async function ready(options: Parameters<typeof load>[0] = {}) {
    const loaded = load(options);
    loaded.electron.app.makeReady();
    await settle();
    return loaded;
  }

  test('before ready: the app scheme is privileged (standard, secure; not CORS-open, not CSP-exempt), sandbox on', () => {
    const { electron } = load();
    assert.deepEqual(electron.schemes, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);
    assert.ok(electron.app.calls.includes('enableSandbox'));
    // Shared with browser mode: core/cli/data-dir.ts names the same directory.
    assert.equal(electron.app.getPath('userData'), path.join('/fake/appData', 'colo-console'));
    assert.equal(electron.windows.length, 0);
  });

  test('started with --no-sandbox (as root, by the launcher): the service is given the warning app.info shows on screen', async (t) => {
    const argv = process.argv;
    t.after(() => {
      process.argv = argv;
    });
    const { service: sandboxed } = await ready();
    assert.deepEqual(sandboxed.warnings, [[]], 'no warning while the sandbox is on');

    process.argv = [...argv, '--no-sandbox'];
    const lines: string[] = [];
    t.mock.method(console, 'error', (line: string) => lines.push(line));
    const { service } = await ready();
    const expected = sandboxWarning(['--no-sandbox'], typeof process.getuid === 'function' && process.getuid() === 0);
    assert.ok(expected !== null);
    assert.deepEqual(service.warnings, [[expected]]);
    assert.match(expected, /sandbox is off for every process of this app, this window included/);
    assert.ok(lines.includes(`colo-console: ${expected}`), `logged: ${lines.join(' | ')}`);
  });

  test('COLO_CONSOLE_DATA_DIR gives a run its own data directory, which the service is started with', async () => {
    const { electron, service } = await ready({ env: { COLO_CONSOLE_DATA_DIR: '/tmp/colo-test-data' } });
    assert.equal(electron.app.getPath('userData'), '/tmp/colo-test-data');
    assert.deepEqual(service.started, ['/tmp/colo-test-data']);
    assert.deepEqual(service.versions, [(require('../package.json') as { version: string }).version]);
  });

  test('one window, hidden until ready-to-show, locked down, loading the app scheme', async () => {
    const { electron } = await ready();
    assert.equal(electron.windows.length, 1);
    const win = electron.windows[0];
    assert.ok(win);
    assert.equal(win.options.show, false);
    assert.deepEqual(
      { ...win.options.webPreferences, preload: undefined },
      {
        preload: undefined,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        experimentalFeatures: false,
        navigateOnDragDrop: false,
        safeDialogs: true,
        spellcheck: false,
        devTools: true,
      },
    );
    assert.equal(win.options.webPreferences?.preload, path.join(path.dirname(mainScript), 'preload.cjs'));
    assert.equal(win.loaded, 'app://colo-console/index.html');
    assert.equal(win.shown, false);
    win.emit('ready-to-show');
    assert.equal(win.shown, true);
    assert.ok(electron.menu !== null);
  });

  test('packaged builds get no developer tools', async () => {
    const loaded = load();
    loaded.electron.app.isPackaged = true;
    loaded.electron.app.makeReady();
    await settle();
    assert.equal(loaded.electron.windows[0]?.options.webPreferences?.devTools, false);
  });

  test('the app scheme serves the renderer build with the CSP, and nothing outside it', async () => {
    const { electron } = await ready();
    const handle = electron.protocolHandlers.get('app');
    assert.ok(handle);
    const index = await handle(new Request('app://colo-console/index.html'));
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(await index.text(), /<title>COLO Console<\/title>/);
    const js = await handle(new Request('app://colo-console/assets/app.js'));
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    for (const url of ['app://colo-console/../electron/main.cjs', 'app://colo-console/%2e%2e/electron/main.cjs', 'app://other/index.html']) {
      const res = await handle(new Request(url));
      assert.notEqual(res.status, 200, url);
      assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, url);
    }
  });

  test('every webContents: no navigation away, no new windows, no webviews', async () => {
    const { electron } = await ready();
    const contents = new FakeWebContents();
    electron.app.emit('web-contents-created', fakeEvent(), contents);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect']) {
      const away = fakeEvent({ url: 'https://example.com/' });
      contents.emit(event, away);
      assert.equal(away.defaultPrevented, true, event);
      const home = fakeEvent({ url: 'app://colo-console/index.html' });
      contents.emit(event, home);
      assert.equal(home.defaultPrevented, false, event);
    }
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'https://example.com/' }), { action: 'deny' });
    assert.deepEqual(contents.windowOpenHandler?.({ url: 'app://colo-console/index.html' }), { action: 'deny' });
    const webview = fakeEvent();
    contents.emit('will-attach-webview', webview);
    assert.equal(webview.defaultPrevented, true);
  });

  test('permission requests and checks are refused (but clipboard writes from our page)', async () => {
    const { electron } = await ready();
    const asked = (permission: string, url: string): boolean => {
      let granted: boolean | null = null;
      electron.session.permissionRequest?.(null, permission, (g) => (granted = g), { requestingUrl: url });
      assert.notEqual(granted, null);
      return granted === true;
    };
    assert.equal(asked('media', 'app://colo-console/index.html'), false);
    assert.equal(asked('notifications', 'app://colo-console/index.html'), false);
    assert.equal(asked('clipboard-sanitized-write', 'https://example.com/'), false);
    assert.equal(asked('clipboard-sanitized-write', 'app://colo-console/index.html'), true);
    assert.equal(electron.session.permissionCheck?.(null, 'geolocation', 'app://colo-console'), false);
    assert.equal(electron.session.devicePermission?.(), false);
  });

  test("IPC: our page's messages reach the service and the answers come back in its session; strangers get nothing", async () => {
    const { electron } = await ready();
    const win = electron.windows[0];
    assert.ok(win);
    const contents = win.webContents;
    const hello = electron.ipcHandlers.get(IPC_HELLO);
    const rpc = electron.ipcHandlers.get(IPC_RPC);
    assert.ok(hello && rpc);
    const call = (id: number) => ({ session: SESSION, msg: { t: 'call', id, method: 'app.info', req: {} } });

    hello({ sender: contents, senderFrame: contents.mainFrame }, { session: SESSION });
    rpc({ sender: contents, senderFrame: contents.mainFrame }, call(1));
    await settle();
    assert.deepEqual(contents.sent, [{ channel: IPC_RPC, payload: { session: SESSION, msg: { t: 'result', id: 1, res: { version: '9.9.9', transport: 'electron' } } } }]);

    const other = new FakeWebContents();
    other.mainFrame.url = 'app://colo-console/index.html';
    rpc({ sender: other, senderFrame: other.mainFrame }, call(2));
    const subframe = { url: 'app://colo-console/index.html', processId: 10, frameToken: 'sub', parent: contents.mainFrame };
    rpc({ sender: contents, senderFrame: subframe }, call(3));
    rpc({ sender: contents, senderFrame: null }, call(4));
    rpc({ sender: contents, senderFrame: { ...contents.mainFrame, url: 'https://example.com/' } }, call(5));
    // A frame with the main frame's URL but not the main frame's identity.
    rpc({ sender: contents, senderFrame: { ...contents.mainFrame, frameToken: 'stale' } }, call(6));
    await settle();
    assert.equal(contents.sent.length, 1);
    assert.equal(other.sent.length, 0);
  });

  test('quit waits for the service to flush, once, then quits', async () => {
    const { electron, service } = await ready();
    electron.app.quit();
    assert.equal(electron.app.quitCount, 0, 'held until the service has closed');
    electron.app.quit();
    electron.app.emit('window-all-closed');
    await settle();
    assert.equal(service.closed, 1);
    assert.equal(electron.app.quitCount, 0);
    service.finishClose();
    await settle();
    assert.equal(electron.app.quitCount, 1);
  });

  test('SIGTERM and SIGINT take the same clean path', async () => {
    const { electron, service } = await ready();
    const added = process.listeners('SIGTERM').filter((l) => !signalListeners.get('SIGTERM')?.has(l as (...args: unknown[]) => void));
    assert.equal(added.length, 1);
    (added[0] as () => void)();
    await settle();
    assert.equal(service.closed, 1);
    service.finishClose();
    await settle();
    assert.equal(electron.app.quitCount, 1);
  });

  test('a service that cannot start: an error box and exit status 1, no window', async () => {
    const { electron } = await ready({ failStart: new Error('database is locked') });
    assert.equal(electron.windows.length, 0);
    assert.equal(electron.app.exitCode, 1);
    assert.match(electron.errorBoxes[0] ?? '', /database is locked/);
  });

  test('with the real console service: the demo pair over IPC, then a quit that closes the service first', async () => {
    // The same bundle with only Electron stood in for; its native module resolves through a node_modules link.
    const dir = await mkdtemp(path.join(base, 'real-'));
    await symlink(path.join(import.meta.dirname, '..', 'node_modules'), path.join(dir, 'node_modules'), 'junction');
    await mkdir(path.join(dir, 'out', 'renderer'), { recursive: true });
    const electronOnly: Plugin = {
      name: 'electron-stand-in',
      setup(b) {
        b.onResolve({ filter: /^electron$/ }, () => ({ path: 'electron', namespace: 'stand-in' }));
        b.onLoad({ filter: /.*/, namespace: 'stand-in' }, () => ({ contents: 'module.exports = globalThis.__coloFakeElectron;', loader: 'js' }));
      },
    };
    const realMain = (await buildElectron({ outDir: path.join(dir, 'out', 'electron'), mainPlugins: [electronOnly] })).main;
    signalListeners = new Map(['SIGINT', 'SIGTERM'].map((s) => [s, new Set(process.listeners(s as NodeJS.Signals) as ((...args: unknown[]) => void)[])]));
    process.env.COLO_CONSOLE_DATA_DIR = path.join(dir, 'data');
    const electron = createFakeElectron();
    Object.assign(globalThis, { __coloFakeElectron: electron.module });
    require(realMain);
    electron.app.makeReady();
    const until = async (what: string, done: () => boolean, ms = 15_000): Promise<void> => {
      const end = Date.now() + ms;
      while (!done()) {
        if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until('the window', () => electron.windows.length === 1);
    const contents = electron.windows[0]?.webContents;
    assert.ok(contents);
    const from = { sender: contents, senderFrame: contents.mainFrame };
    electron.ipcHandlers.get(IPC_HELLO)?.(from, { session: SESSION });
    const rpc = (msg: unknown): void => electron.ipcHandlers.get(IPC_RPC)?.(from, { session: SESSION, msg });
    rpc({ t: 'call', id: 1, method: 'app.info', req: {} });
    rpc({ t: 'call', id: 2, method: 'pairs.list', req: {} });
    rpc({ t: 'sub', id: 3, topic: 'cycles', params: {} });
    const received = () => contents.sent.map((s) => (s.payload as { msg: { t: string; id: number; res?: unknown; events?: unknown[] } }).msg);
    await until('a checkpoint of the demo pair', () => received().some((m) => m.t === 'events' && m.id === 3));
    const version = (require('../package.json') as { version: string }).version;
    assert.deepEqual(received().find((m) => m.id === 1)?.res, { version, transport: 'electron' });
    const pairs = received().find((m) => m.id === 2)?.res as { backend: string }[];
    assert.ok(pairs.length >= 1 && pairs.some((p) => p.backend === 'sim'));

    electron.app.quit();
    assert.equal(electron.app.quitCount, 0);
    await until('the service to close and the app to quit', () => electron.app.quitCount === 1);
  });

  test('a second instance quits at once and starts nothing', async () => {
    const { electron, service } = await ready({ singleInstance: false });
    assert.equal(electron.app.quitCount, 1);
    assert.equal(electron.windows.length, 0);
    assert.deepEqual(service.started, []);
  });
});
