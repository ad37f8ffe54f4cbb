// A stand-in for the parts of Electron's main-process API that main.ts uses, recording what it is asked to do,
// so main.ts can be run in plain Node (electron/main.test.ts). Shapes follow electron.d.ts; behaviour is the
// minimum: events are EventEmitters, app.quit() emits 'before-quit' and honours preventDefault.

import { EventEmitter } from 'node:events';

export interface FakeEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}

export function fakeEvent<T extends object>(extra: T = {} as T): FakeEvent & T {
  const event = {
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
    ...extra,
  };
  return event;
}

export interface FakeFrame {
  url: string;
  processId: number;
  frameToken: string;
  parent: FakeFrame | null;
}

let nextWebContentsId = 1;

export class FakeWebContents extends EventEmitter {
  readonly id = nextWebContentsId++;
  readonly sent: { channel: string; payload: unknown }[] = [];
  mainFrame: FakeFrame = { url: '', processId: 10, frameToken: `frame-${this.id}`, parent: null };
  destroyed = false;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;

  send(channel: string, payload: unknown): void {
    this.sent.push({ channel, payload: structuredClone(payload) });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class FakeApp extends EventEmitter {
  readonly calls: string[] = [];
  readonly paths = new Map<string, string>([['appData', '/fake/appData']]);
  isPackaged = false;
  singleInstance = true;
  quitCount = 0;
  exitCode: number | null = null;
  aboutOptions: unknown = null;
  private resolveReady: () => void = () => undefined;
  readonly ready = new Promise<void>((resolve) => {
    this.resolveReady = resolve;
  });

  enableSandbox(): void {
    this.calls.push('enableSandbox');
  }
  setName(name: string): void {
    this.calls.push(`setName ${name}`);
  }
  setPath(name: string, value: string): void {
    this.paths.set(name, value);
  }
  getPath(name: string): string {
    const value = this.paths.get(name);
    if (value === undefined) throw new Error(`no path ${name}`);
    return value;
  }
  requestSingleInstanceLock(): boolean {
    return this.singleInstance;
  }
  whenReady(): Promise<void> {
    return this.ready;
  }
  makeReady(): void {
    this.resolveReady();
  }
  quit(): void {
    const event = fakeEvent();
    this.emit('before-quit', event);
    if (!event.defaultPrevented) this.quitCount++;
  }
  exit(code: number): void {
    this.exitCode = code;
  }
  showAboutPanel(): void {
    this.calls.push('showAboutPanel');
  }
  setAboutPanelOptions(options: unknown): void {
    this.aboutOptions = options;
  }
}

export class FakeSession {
  permissionRequest: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details: { requestingUrl: string }) => void) | null = null;
  permissionCheck: ((contents: unknown, permission: string, origin: string) => boolean) | null = null;
  devicePermission: (() => boolean) | null = null;
  setPermissionRequestHandler(handler: FakeSession['permissionRequest']): void {
    this.permissionRequest = handler;
  }
  setPermissionCheckHandler(handler: FakeSession['permissionCheck']): void {
    this.permissionCheck = handler;
  }
  setDevicePermissionHandler(handler: FakeSession['devicePermission']): void {
    this.devicePermission = handler;
  }
}

export interface FakeElectron {
  readonly app: FakeApp;
  readonly windows: FakeBrowserWindow[];
  readonly schemes: unknown[];
  readonly protocolHandlers: Map<string, (request: Request) => Promise<Response>>;
  readonly ipcHandlers: Map<string, (event: unknown, payload: unknown) => void>;
  readonly session: FakeSession;
  readonly errorBoxes: string[];
  /** Notifications shown, in order. */
  readonly notifications: { title: string; body: string }[];
  menu: unknown;
  readonly module: Record<string, unknown>;
}

export class FakeBrowserWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  shown = false;
  destroyed = false;
  loaded: string | null = null;
  constructor(
    readonly options: Record<string, unknown> & { webPreferences?: Record<string, unknown> },
    private readonly electron: FakeElectron,
  ) {
    super();
    electron.windows.push(this);
    electron.app.emit('web-contents-created', fakeEvent(), this.webContents);
  }
  loadURL(url: string): Promise<void> {
    this.loaded = url;
    this.webContents.mainFrame.url = url;
    return Promise.resolve();
  }
  show(): void {
    this.shown = true;
  }
  isVisible(): boolean {
    return this.shown;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
}

export function createFakeElectron(): FakeElectron {
  const electron: FakeElectron = {
    app: new FakeApp(),
    windows: [],
    schemes: [],
    protocolHandlers: new Map(),
    ipcHandlers: new Map(),
    session: new FakeSession(),
    errorBoxes: [],
    notifications: [],
    menu: null,
    module: {},
  };
  const BrowserWindow = function (this: unknown, options: Record<string, unknown>) {
    return new FakeBrowserWindow(options, electron);
  };
  Object.assign(electron.module, {
    app: electron.app,
    BrowserWindow,
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => electron.schemes.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) => electron.protocolHandlers.set(scheme, handler),
    },
    session: { defaultSession: electron.session },
    ipcMain: { on: (channel: string, handler: (event: unknown, payload: unknown) => void) => electron.ipcHandlers.set(channel, handler) },
    Menu: {
      buildFromTemplate: (template: unknown) => ({ template }),
      setApplicationMenu: (menu: unknown) => {
        electron.menu = menu;
      },
    },
    Notification: class {
      static isSupported(): boolean {
        return true;
      }
      constructor(private readonly options: { title: string; body: string }) {}
      on(): void {}
      show(): void {
        electron.notifications.push(this.options);
      }
    },
    dialog: {
      showErrorBox: (title: string, content: string) => electron.errorBoxes.push(`${title}: ${content}`),
    },
  });
  return electron;
}
