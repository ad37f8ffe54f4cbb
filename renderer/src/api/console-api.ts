// The renderer's one way to reach the ConsoleService. In Electron the preload exposes `window.coloConsole` (the
// contract as a bridge over IPC; electron/bridge.ts turns it back into the same RpcClient); in browser mode this
// module opens the WebSocket at /rpc on the page's own origin, offering the per-launch token the page came with
// (browser-token.ts) as a subprotocol, and runs core/api's typed client over it. Nothing else in the renderer knows which transport it is on
// (DESIGN.md: "one contract, two transports").
//
// Browser mode reconnects with backoff when the socket drops and re-establishes every live subscription, so a
// screen's subscribe() stays valid across a reconnect. Events sent during the gap are gone: `onOpen` listeners
// run on every (re)connect and refetch snapshots.

import { type CallOptions, createClient, type DropNotice, type RpcClient } from '../../../core/api/client.js';
import type { CallRequest, CallResponse, MethodName, TopicEvent, TopicName, TopicParams } from '../../../core/api/contract.js';
import { consoleContract, type ConsoleContract } from '../../../core/api/console-contract.js';
import { connectWebSocket } from '../../../core/api/ws-client.js';
import { tokenProtocols } from '../../../core/api/ws-token.js';
// Pure adapter (no Electron, no Node): window.coloConsole → RpcClient. The renderer's one import from electron/.
import { electronClient, getBridge } from '../../../electron/bridge.js';
import { browserToken } from './browser-token';

export type ConsoleClient = Pick<RpcClient<ConsoleContract>, 'call' | 'subscribe'>;
export type Method = MethodName<ConsoleContract>;
export type Topic = TopicName<ConsoleContract>;
export type Req<K extends Method> = CallRequest<ConsoleContract, K>;
export type Res<K extends Method> = CallResponse<ConsoleContract, K>;
export type Ev<K extends Topic> = TopicEvent<ConsoleContract, K>;
export type Params<K extends Topic> = TopicParams<ConsoleContract, K>;

export type ConnectionPhase = 'connecting' | 'open' | 'reconnecting';

export interface ConnectionStatus {
  phase: ConnectionPhase;
  transport: 'electron' | 'browser';
  /** Why the last attempt failed, for the banner. */
  detail?: string;
  /** When the next attempt starts (epoch ms), while reconnecting. */
  retryAt?: number;
  attempts: number;
}

const CALL_TIMEOUT_MS = 15_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;

/** The client with the topic's types erased: subscriptions are stored untyped and re-opened on reconnect. */
interface AnyClient {
  subscribe(topic: string, params: unknown, onEvents: (events: unknown[]) => void, onDropped?: (notice: DropNotice) => void): (() => void) & { ready: Promise<void> };
}

interface LiveSub {
  readonly topic: Topic;
  readonly params: unknown;
  readonly onEvents: (events: unknown[]) => void;
  readonly onDropped: ((notice: DropNotice) => void) | undefined;
  off: (() => void) | null;
}

class Connection {
  private client: ConsoleClient | null = null;
  private readonly subs = new Set<LiveSub>();
  private readonly statusListeners = new Set<(s: ConnectionStatus) => void>();
  private readonly openListeners = new Set<() => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private waiters: (() => void)[] = [];
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private started = false;
  status: ConnectionStatus;

  constructor() {
    const electron = typeof window !== 'undefined' && getBridge(window) !== undefined;
    this.status = { phase: 'connecting', transport: electron ? 'electron' : 'browser', attempts: 0 };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const bridged = electronClient(window);
    if (bridged !== null) {
      this.attach(bridged);
      return;
    }
    void this.connect();
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    const attempts = this.status.attempts + 1;
    this.setStatus({ ...this.status, phase: this.status.phase === 'open' ? 'reconnecting' : this.status.phase, attempts, retryAt: undefined });
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${scheme}//${location.host}/rpc`;
    const token = browserToken();
    if (token === null) {
      this.lost('This page has no access token: open the address the console printed when it started.');
      return;
    }
    let channel: Awaited<ReturnType<typeof connectWebSocket>>;
    try {
      channel = await connectWebSocket(url, WebSocket, tokenProtocols(token));
    } catch {
      this.lost(
        attempts > 2
          ? 'Cannot reach the console service. If it was restarted, open the new address it printed.'
          : 'Cannot reach the console service.',
      );
      return;
    }
    const client = createClient(consoleContract, channel, {
      timeoutMs: CALL_TIMEOUT_MS,
      onError: (err) => {
        for (const cb of this.errorListeners) cb(err);
      },
    });
    channel.onClose(() => this.lost('The connection to the console service closed.'));
    this.status = { ...this.status, attempts: 0, detail: undefined };
    this.attach(client);
  }

  private attach(client: ConsoleClient): void {
    this.client = client;
    for (const sub of this.subs) this.open(sub);
    this.setStatus({ ...this.status, phase: 'open', detail: undefined, retryAt: undefined });
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    for (const cb of this.openListeners) cb();
  }

  private lost(detail: string): void {
    if (this.retryTimer !== null) return;
    this.client = null;
    for (const sub of this.subs) sub.off = null;
    const n = Math.max(1, this.status.attempts);
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(n - 1, 4));
    this.setStatus({ ...this.status, phase: this.status.phase === 'connecting' ? 'connecting' : 'reconnecting', detail, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private setStatus(s: ConnectionStatus): void {
    this.status = s;
    for (const cb of this.statusListeners) cb(s);
  }

  private open(sub: LiveSub): void {
    const client = this.client as AnyClient | null;
    if (client === null) return;
    // The client's own checks (contract, params) run here; a refused subscription reports through onError.
    const off = client.subscribe(sub.topic, sub.params, sub.onEvents, sub.onDropped);
    off.ready.catch((err: unknown) => {
      for (const cb of this.errorListeners) cb(err instanceof Error ? err : new Error(String(err)));
    });
    sub.off = off;
  }

  /** Resolves once connected (immediately when already). */
  ready(): Promise<void> {
    if (this.client !== null) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async call<K extends Method>(method: K, req: Req<K>, options?: CallOptions): Promise<Res<K>> {
    await this.ready();
    const client = this.client;
    if (client === null) throw new Error('not connected to the console service');
    return options === undefined ? client.call(method, req) : client.call(method, req, options);
  }

  subscribe<K extends Topic>(topic: K, params: Params<K>, onEvents: (events: Ev<K>[]) => void, onDropped?: (notice: DropNotice) => void): () => void {
    const sub: LiveSub = { topic, params, onEvents: onEvents as (events: unknown[]) => void, onDropped, off: null };
    this.subs.add(sub);
    this.open(sub);
    return () => {
      if (!this.subs.delete(sub)) return;
      sub.off?.();
      sub.off = null;
    };
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.statusListeners.add(cb);
    return () => this.statusListeners.delete(cb);
  }

  /** Called on every (re)connect: the place to refetch snapshots, since events during a gap are gone. */
  onOpen(cb: () => void): () => void {
    this.openListeners.add(cb);
    return () => this.openListeners.delete(cb);
  }

  /** Protocol problems nobody awaited: invalid events, unreported drops, refused subscriptions. */
  onError(cb: (err: Error) => void): () => void {
    this.errorListeners.add(cb);
    return () => this.errorListeners.delete(cb);
  }

  /** Retry now instead of waiting for the backoff (the banner's "Retry" button). */
  retryNow(): void {
    if (this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect();
  }
}

const connection = new Connection();

export const api = {
  start: (): void => connection.start(),
  /** Browser mode opened without its token (main.tsx then shows where to find the address instead of the app). */
  tokenMissing: (): boolean => connection.status.transport === 'browser' && browserToken() === null,
  call: <K extends Method>(method: K, req: Req<K>, options?: CallOptions): Promise<Res<K>> => connection.call(method, req, options),
  subscribe: <K extends Topic>(
    topic: K,
    params: Params<K>,
    onEvents: (events: Ev<K>[]) => void,
    onDropped?: (notice: DropNotice) => void,
  ): (() => void) => connection.subscribe(topic, params, onEvents, onDropped),
  status: (): ConnectionStatus => connection.status,
  onStatus: (cb: (s: ConnectionStatus) => void): (() => void) => connection.onStatus(cb),
  onOpen: (cb: () => void): (() => void) => connection.onOpen(cb),
  onError: (cb: (err: Error) => void): (() => void) => connection.onError(cb),
  retryNow: (): void => connection.retryNow(),
};

/** A readable message for any failure an API call can reject with (RpcError over WebSocket, Error over IPC). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    // Electron prefixes errors that cross contextBridge: "Error invoking remote method 'x': RpcError: …".
    const m = /RpcError: (.*)$/s.exec(err.message);
    return (m?.[1] ?? err.message).slice(0, 500);
  }
  return String(err).slice(0, 500);
}
