// The API the preload puts in the renderer's world, and the two adapters around it. Neither touches Electron,
// Node or the DOM, and this module imports nothing but core/api, so both run in unit tests, in the sandboxed
// preload and in the renderer bundle (it could live in core/api as it is).
//
//   preload:  RpcClient (core/api, over IPC) ──createBridge──▶ ContractBridge ──contextBridge──▶ window.coloConsole
//   renderer: window.coloConsole ──clientFromBridge──▶ RpcClient, the same interface browser mode's client has
//
// The bridge is made of plain functions and plain data only, because contextBridge copies everything else:
// one function per contract method, and subscribe(). Results come back as { ok, value } or { ok, error } rather
// than as rejections, because contextBridge keeps only an Error's message and the renderer needs the RPC error
// code to tell 'not-found' from 'timeout'. No callback ever sees an IPC event or anything from Electron.

import {
  type AnyContract,
  type CallRequest,
  type CallResponse,
  type MethodName,
  type TopicEvent,
  type TopicName,
  type TopicParams,
  own,
} from '../core/api/contract.js';
import type { CallOptions, DropNotice, RpcClient, Subscription } from '../core/api/client.js';
import type { ConsoleContract } from '../core/api/console-contract.js';
import { RpcError, isRpcErrorCode } from '../core/api/errors.js';

/** Where the preload puts the bridge in the renderer's world: `window.coloConsole`. */
export const BRIDGE_KEY = 'coloConsole';

export interface BridgeError {
  readonly code: string;
  readonly message: string;
}

export type BridgeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: BridgeError };

export type BridgeMethods<C extends AnyContract> = {
  readonly [K in MethodName<C>]: (req: CallRequest<C, K>, options?: CallOptions) => Promise<BridgeResult<CallResponse<C, K>>>;
};

export interface ContractBridge<C extends AnyContract> {
  readonly transport: 'electron';
  /** One function per method of the contract, keyed by the method's name ('pairs.list', …). */
  readonly methods: BridgeMethods<C>;
  /**
   * Starts a subscription and returns the function that ends it. `onReady` hears once whether the service
   * accepted it. No callback runs after the returned function has been called.
   */
  subscribe<K extends TopicName<C>>(
    topic: K,
    params: TopicParams<C, K>,
    onEvents: (events: TopicEvent<C, K>[]) => void,
    onDropped?: (notice: DropNotice) => void,
    onReady?: (result: BridgeResult<null>) => void,
  ): () => void;
}

/** What `window.coloConsole` is in the desktop app. */
export type ColoConsoleBridge = ContractBridge<ConsoleContract>;

// -- Preload side -----------------------------------------------------------------------------------------------

/** Builds the object the preload exposes, from a client running in the preload. */
export function createBridge<C extends AnyContract>(contract: C, client: RpcClient<C>, onError: (err: unknown) => void = () => undefined): ContractBridge<C> {
  const anyClient = client as unknown as RpcClient<AnyContract>;
  const methods: Record<string, (req: unknown, options?: unknown) => Promise<BridgeResult<unknown>>> = {};
  for (const name of Object.keys(contract.methods)) {
    methods[name] = (req, options) =>
      settle(() => anyClient.call(name, req, callOptions(options)));
  }

  const subscribe = (
    topic: unknown,
    params: unknown,
    onEvents: unknown,
    onDropped?: unknown,
    onReady?: unknown,
  ): (() => void) => {
    if (typeof topic !== 'string') throw new TypeError('subscribe: topic must be a string');
    if (typeof onEvents !== 'function') throw new TypeError('subscribe: onEvents must be a function');
    if (onDropped !== undefined && onDropped !== null && typeof onDropped !== 'function') throw new TypeError('subscribe: onDropped must be a function');
    if (onReady !== undefined && onReady !== null && typeof onReady !== 'function') throw new TypeError('subscribe: onReady must be a function');
    const events = onEvents as (events: unknown[]) => void;
    const dropped = typeof onDropped === 'function' ? (onDropped as (notice: DropNotice) => void) : undefined;
    const ready = typeof onReady === 'function' ? (onReady as (result: BridgeResult<null>) => void) : undefined;

    const sub: Subscription = anyClient.subscribe(
      topic as never,
      params,
      (batch) => events(batch),
      // Passed only when asked for, so the client's own rule stands: reliable events are never lost silently.
      dropped === undefined ? undefined : (notice) => dropped({ dropped: notice.dropped }),
    );
    if (ready !== undefined) {
      const tell = (result: BridgeResult<null>): void => {
        try {
          ready(result);
        } catch (err) {
          // A renderer callback that throws would otherwise surface in the preload's own window.onerror.
          onError(err);
        }
      };
      sub.ready.then(
        () => tell({ ok: true, value: null }),
        (err: unknown) => tell({ ok: false, error: bridgeError(err) }),
      );
    }
    return () => sub();
  };

  return { transport: 'electron', methods: methods as unknown as BridgeMethods<C>, subscribe };
}

async function settle(fn: () => Promise<unknown>): Promise<BridgeResult<unknown>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: bridgeError(err) };
  }
}

function bridgeError(err: unknown): BridgeError {
  if (err instanceof RpcError) return err.toData();
  // The preload's own failures (a bad timeout, say); never server internals, which arrive as RpcErrors.
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** Only the one option the client knows, and only as a number: the renderer hands over whatever it likes. */
function callOptions(options: unknown): CallOptions | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  const timeoutMs = (options as { timeoutMs?: unknown }).timeoutMs;
  return typeof timeoutMs === 'number' ? { timeoutMs } : undefined;
}

// -- Renderer side ----------------------------------------------------------------------------------------------

/**
 * The bridge as an RpcClient, so the renderer holds the same interface in the desktop app as in browser mode and
 * cannot tell the two apart. Errors come back as RpcErrors with their codes.
 */
export function clientFromBridge<C extends AnyContract>(bridge: ContractBridge<C>): RpcClient<C> {
  return new BridgeClient(bridge) as unknown as RpcClient<C>;
}

class BridgeClient {
  private readonly subs = new Set<() => void>();
  private readonly pending = new Set<(err: RpcError) => void>();
  private isClosed = false;

  constructor(private readonly bridge: ContractBridge<AnyContract>) {}

  get closed(): boolean {
    return this.isClosed;
  }

  call(method: string, req: unknown, options?: CallOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new RpcError('closed', 'client is closed'));
      const fn = own(this.bridge.methods as Readonly<Record<string, unknown>>, method);
      if (typeof fn !== 'function') return reject(new RpcError('not-found', `no method ${method}`));
      const fail = (err: RpcError): void => {
        this.pending.delete(fail);
        reject(err);
      };
      this.pending.add(fail);
      const opts = options?.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs };
      (fn as (req: unknown, options?: CallOptions) => Promise<BridgeResult<unknown>>)(req, opts).then(
        (result) => {
          if (!this.pending.delete(fail)) return;
          if (result.ok) resolve(result.value);
          else reject(toRpcError(result.error));
        },
        (err: unknown) => fail(new RpcError('internal', err instanceof Error ? err.message : String(err))),
      );
    });
  }

  subscribe(topic: string, params: unknown, onEvents: (events: unknown[]) => void, onDropped?: (notice: DropNotice) => void): Subscription {
    let accept: () => void = () => undefined;
    let refuse: (err: RpcError) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      accept = resolve;
      refuse = reject;
    });
    ready.catch(() => undefined);
    if (this.isClosed) {
      refuse(new RpcError('closed', 'client is closed'));
      return Object.assign(() => undefined, { ready });
    }

    let active = true;
    let remote: (() => void) | null = null;
    const unsubscribe = (): void => {
      if (!active) return;
      active = false;
      this.subs.delete(unsubscribe);
      remote?.();
    };
    this.subs.add(unsubscribe);
    try {
      remote = this.bridge.subscribe(
        topic,
        params,
        (events) => {
          if (active) onEvents(events);
        },
        onDropped === undefined
          ? undefined
          : (notice) => {
              if (active) onDropped({ dropped: notice.dropped });
            },
        (result) => {
          if (result.ok) return accept();
          unsubscribe();
          refuse(toRpcError(result.error));
        },
      );
    } catch (err) {
      active = false;
      this.subs.delete(unsubscribe);
      refuse(new RpcError('bad-request', err instanceof Error ? err.message : String(err)));
    }
    if (!active) remote?.();
    return Object.assign(unsubscribe, { ready });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const unsubscribe of [...this.subs]) unsubscribe();
    for (const fail of [...this.pending]) fail(new RpcError('closed', 'client is closed'));
  }
}

function toRpcError(error: BridgeError): RpcError {
  return new RpcError(isRpcErrorCode(error.code) ? error.code : 'internal', String(error.message));
}

/** The bridge the preload exposed, if this page runs in the desktop app; undefined in a plain browser. */
export function getBridge(scope: object = globalThis): ColoConsoleBridge | undefined {
  const candidate = (scope as Record<string, unknown>)[BRIDGE_KEY];
  if (typeof candidate !== 'object' || candidate === null) return undefined;
  const bridge = candidate as Partial<ColoConsoleBridge>;
  if (bridge.transport !== 'electron' || typeof bridge.subscribe !== 'function') return undefined;
  if (typeof bridge.methods !== 'object' || bridge.methods === null) return undefined;
  return bridge as ColoConsoleBridge;
}

/** The console's client in the desktop app, or null when the page is not running in it (browser mode). */
export function electronClient(scope: object = globalThis): RpcClient<ConsoleContract> | null {
  const bridge = getBridge(scope);
  return bridge === undefined ? null : clientFromBridge(bridge);
}
