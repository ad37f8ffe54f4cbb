// The desktop app's main process: one window, locked down; the renderer served from app://colo-console; one
// ConsoleService, reached by the renderer over one IPC channel that carries core/api's RPC; a clean shutdown that
// flushes the service's history before the process goes.
//
// Built by build.ts into out/electron/main.cjs (the renderer build sits next to it in out/renderer).

import { existsSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import {
  BrowserWindow,
  Menu,
  Notification,
  type WebContents,
  app,
  dialog,
  ipcMain,
  protocol,
  session,
} from 'electron';
import { consoleContract } from '../core/api/console-contract.js';
import { serve } from '../core/api/server.js';
import { APP_DIR_NAME } from '../core/cli/data-dir.js';
import { resolveAppRequest } from './app-protocol.js';
import { APP_ENTRY_URL, APP_SCHEME, IPC_HELLO, IPC_RPC, PRODUCT_NAME } from './constants.js';
import { type RendererPort, createIpcEndpoint } from './ipc-endpoint.js';
import { buildMenuTemplate } from './menu.js';
import { startPairNotifier } from './pair-notifier.js';
import { type SenderFacts, navigationAllowed, permissionAllowed } from './security.js';
import { sandboxWarning } from './sandbox-note.js';
import { type RunningService, startConsoleService } from './service.js';

/** The version in package.json, put in by build.ts (run unpackaged, Electron would report its own). */
declare const COLO_CONSOLE_VERSION: string;

// In the bundle this is out/electron.
const HERE = import.meta.dirname;
const RENDERER_DIR = path.join(HERE, '..', 'renderer');
const PRELOAD = path.join(HERE, 'preload.cjs');
const ICON = path.join(HERE, 'icon.png');
/** How long a quit waits for the service to flush before giving up on it. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

const log = (line: string): void => console.error(`colo-console: ${line}`);

// -- Before ready: the scheme's privileges, the sandbox everywhere, where our data lives -----------------------

protocol.registerSchemesAsPrivileged([
  // standard + secure: a real origin with relative URLs, storage and a secure context. No corsEnabled (it would let
  // other origins read ours) and no bypassCSP.
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);
app.enableSandbox();
app.setName(PRODUCT_NAME);
// The same directory browser mode uses (core/cli/data-dir.ts), so both modes share one state; Electron's default
// would be named after the product when packaged and after Electron itself when not. COLO_CONSOLE_DATA_DIR gives
// a run (a test, say) its own.
app.setPath('userData', process.env.COLO_CONSOLE_DATA_DIR || path.join(app.getPath('appData'), APP_DIR_NAME));

if (app.requestSingleInstanceLock()) {
  run();
} else {
  log(`${PRODUCT_NAME} is already running; focusing that window instead`);
  app.quit();
}

function run(): void {
  let win: BrowserWindow | null = null;
  let servicePromise: Promise<RunningService> | null = null;
  let service: RunningService | null = null;
  let shutdown: 'running' | 'closing' | 'done' = 'running';
  const logged = new Set<string>();
  const logOnce = (line: string): void => {
    if (logged.has(line)) return;
    logged.add(line);
    log(line);
  };

  const endpoint = createIpcEndpoint({
    expectedWebContentsId: () => (win !== null && !win.isDestroyed() ? win.webContents.id : null),
    serve: (channel) => {
      if (service === null) throw new Error('the console service is not running');
      return serve(consoleContract, service.handlers, channel, {
        onError: (err, where) => log(`${where}: ${err instanceof Error ? err.message : String(err)}`),
      });
    },
    log,
  });

  // -- Every webContents, ours or not: no navigation away, no new windows, no webviews -----------------------

  app.on('web-contents-created', (_event, contents) => {
    const blockNavigation = (event: { preventDefault(): void; url: string }): void => {
      if (navigationAllowed(event.url)) return;
      event.preventDefault();
      logOnce(`blocked navigation to ${originOf(event.url)}`);
    };
    contents.on('will-navigate', blockNavigation);
    contents.on('will-frame-navigate', blockNavigation);
    contents.on('will-redirect', blockNavigation);
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      logOnce(`blocked a new window for ${originOf(url)}`);
      return { action: 'deny' };
    });
  });

  app.on('second-instance', () => {
    if (win === null || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  // -- Shutdown: stop taking requests, flush the service, then really quit ---------------------------------

  app.on('before-quit', (event) => {
    if (shutdown === 'done') return;
    event.preventDefault();
    if (shutdown === 'closing') return;
    shutdown = 'closing';
    endpoint.close();
    void closeService(servicePromise).finally(() => {
      shutdown = 'done';
      app.quit();
    });
  });
  app.on('window-all-closed', () => app.quit());
  // Ctrl-C in the terminal that ran `npm start`, or a service manager's TERM: the same clean path as File ▸ Quit.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());

  void app.whenReady().then(async () => {
    lockDownSession();
    protocol.handle(APP_SCHEME, serveAppRequest);
    Menu.setApplicationMenu(Menu.buildFromTemplate(buildMenuTemplate({
      platform: process.platform,
      isPackaged: app.isPackaged,
      showAbout: () => app.showAboutPanel(),
    })));
    app.setAboutPanelOptions({
      applicationName: PRODUCT_NAME,
      applicationVersion: COLO_CONSOLE_VERSION,
      version: `Electron ${process.versions.electron ?? '?'}`,
      copyright: 'Licensed under the Apache License 2.0',
    });

    ipcMain.on(IPC_HELLO, (event, payload: unknown) => {
      try {
        endpoint.hello(senderFacts(event.sender, event.senderFrame), payload, portFor(event.sender));
      } catch (err) {
        log(`could not start a page session: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    ipcMain.on(IPC_RPC, (event, payload: unknown) => {
      endpoint.message(senderFacts(event.sender, event.senderFrame), payload);
    });

    // Chromium's switches are in the main process's argv too: whoever started us (the launcher as root, Playwright
    // as root, an admin by hand) turned the sandbox off if this one is there.
    const sandboxOff = sandboxWarning(process.argv, typeof process.getuid === 'function' && process.getuid() === 0);
    if (sandboxOff !== null) log(sandboxOff);
    try {
      servicePromise = startConsoleService({
        warnings: sandboxOff === null ? [] : [sandboxOff],
        dataDir: app.getPath('userData'),
        // `npm start -- --no-demo`, as for browser mode.
        demo: !process.argv.includes('--no-demo'),
        version: COLO_CONSOLE_VERSION,
        onError: (err, where) => log(`service: ${where}: ${err instanceof Error ? err.message : String(err)}`),
      });
      service = await servicePromise;
    } catch (err) {
      dialog.showErrorBox(PRODUCT_NAME, `The console service could not start:\n${err instanceof Error ? err.message : String(err)}`);
      shutdown = 'done';
      app.exit(1);
      return;
    }
    if (shutdown !== 'running') return;
    win = createWindow();
    // Native notifications come from here, not from the page: they must reach the admin with the window minimised.
    const running = service;
    startPairNotifier({
      watch: (fn) => running.watchPairs(fn),
      create: (alert) => (Notification.isSupported() ? new Notification({ title: alert.title, body: alert.body }) : null),
      open: (pairId) => {
        if (win === null || win.isDestroyed()) win = createWindow();
        if (win.isMinimized()) win.restore();
        win.focus();
        // Only the fragment changes: an in-page navigation to the pair view, no reload.
        win.loadURL(`${APP_ENTRY_URL}#/pair/${encodeURIComponent(pairId)}`).catch((err: unknown) => log(`could not show the pair: ${err instanceof Error ? err.message : String(err)}`));
      },
    });
    app.on('activate', () => {
      if ((win === null || win.isDestroyed()) && shutdown === 'running') win = createWindow();
    });
  });

  function createWindow(): BrowserWindow {
    const w = new BrowserWindow({
      width: 1360,
      height: 860,
      minWidth: 960,
      minHeight: 600,
      show: false,
      title: PRODUCT_NAME,
      backgroundColor: '#0f172a',
      ...(process.platform !== 'darwin' && existsSync(ICON) ? { icon: ICON } : {}),
      webPreferences: {
        preload: PRELOAD,
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
        devTools: !app.isPackaged,
      },
    });
    w.once('ready-to-show', () => w.show());
    // Shown anyway if the page cannot load, so the user sees Chromium's error rather than nothing.
    w.webContents.once('did-fail-load', () => {
      if (!w.isDestroyed() && !w.isVisible()) w.show();
    });
    w.webContents.on('render-process-gone', (_event, details) => {
      log(`the window's renderer went away (${details.reason}); reload it with View ▸ Reload`);
      endpoint.reset();
    });
    w.on('closed', () => {
      endpoint.reset();
      if (win === w) win = null;
    });
    w.loadURL(APP_ENTRY_URL).catch((err: unknown) => log(`could not load the console: ${err instanceof Error ? err.message : String(err)}`));
    return w;
  }
}

function lockDownSession(): void {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(permissionAllowed(permission, details.requestingUrl));
  });
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin));
  ses.setDevicePermissionHandler(() => false);
}

let rendererRoot: Promise<string | null> | null = null;

async function serveAppRequest(request: Request): Promise<Response> {
  rendererRoot ??= realpath(RENDERER_DIR).catch(() => null);
  const root = await rendererRoot;
  if (root === null) {
    return new Response(`The console's renderer is not built (${RENDERER_DIR} is missing).`, {
      status: 404,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
    });
  }
  const answer = await resolveAppRequest(root, request.method, request.url);
  if (answer.file === undefined) return new Response(null, { status: answer.status, headers: answer.headers });
  try {
    const body = answer.headOnly === true ? null : await readFile(answer.file);
    return new Response(body, { status: answer.status, headers: answer.headers });
  } catch {
    return new Response(null, { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
  }
}

/** The facts security.ts decides on. `senderFrame` is null once the frame has navigated away or gone. */
function senderFacts(sender: WebContents, frame: Electron.WebFrameMain | null): SenderFacts {
  if (frame === null) return { webContentsId: sender.id, frame: null };
  const main = sender.mainFrame;
  const isMainFrame = frame.parent === null && frame.processId === main.processId && frame.frameToken === main.frameToken;
  return { webContentsId: sender.id, frame: { url: frame.url, isMainFrame } };
}

function portFor(contents: WebContents): RendererPort {
  return {
    send: (envelope) => contents.send(IPC_RPC, envelope),
    isDestroyed: () => contents.isDestroyed(),
  };
}

async function closeService(starting: Promise<RunningService> | null): Promise<void> {
  if (starting === null) return;
  const service = await starting.catch(() => null);
  if (service === null) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      service.close(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still not done after ${SHUTDOWN_TIMEOUT_MS / 1000} s`)), SHUTDOWN_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    log(`closing the console service failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? `${parsed.protocol}//${parsed.host}` : parsed.origin;
  } catch {
    return 'an unparsable URL';
  }
}
