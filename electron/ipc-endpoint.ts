// The main-process end of the renderer's one IPC link, without Electron: main.ts feeds it what ipcMain hands over
// (the sender's facts and the payload) and it decides what to act on.
//
// Each page load of the window is a session. Its preload makes a random session id and sends 'hello' before
// anything else; that replaces whatever session came before (a reload, a crashed renderer), so the old page's
// subscriptions stop and its request ids cannot collide with the new page's. Every message in either direction
// carries the session id, so a stray message from a page that has gone, or a late batch meant for it, is dropped
// rather than taken for the new page's. And every message is checked against the sender rules of security.ts.

import type { RpcChannel } from '../core/api/rpc.js';
import { SESSION_ID } from './constants.js';
import { type SenderFacts, checkSender } from './security.js';

/** The way back to the renderer that sent 'hello': its webContents, in main.ts. */
export interface RendererPort {
  send(envelope: RpcEnvelope): void;
  isDestroyed(): boolean;
}

/** What travels on the 'rpc' channel, both ways. */
export interface RpcEnvelope {
  readonly session: string;
  readonly msg: unknown;
}

export interface IpcEndpointOptions {
  /** The webContents id of the console window, or null while there is none. */
  expectedWebContentsId(): number | null;
  /** Starts serving the contract on a fresh channel (core/api serve()); returns how to stop. */
  serve(channel: RpcChannel): { close(): void };
  /** Where refusals are reported: each distinct reason once, so a misbehaving page cannot flood the log. */
  log(line: string): void;
}

export interface IpcEndpoint {
  hello(sender: SenderFacts, payload: unknown, port: RendererPort): void;
  message(sender: SenderFacts, payload: unknown): void;
  /** Ends the current session (renderer gone, window closed); the next 'hello' starts another. */
  reset(): void;
  /** Ends the current session and refuses everything from now on (shutdown). */
  close(): void;
  /** The current session id, for tests and diagnostics. */
  readonly session: string | null;
}

interface Session {
  readonly id: string;
  readonly port: RendererPort;
  readonly listeners: Set<(msg: unknown) => void>;
  readonly closeListeners: Set<() => void>;
  server: { close(): void } | null;
  ended: boolean;
}

export function createIpcEndpoint(options: IpcEndpointOptions): IpcEndpoint {
  let current: Session | null = null;
  let closed = false;
  const reported = new Set<string>();

  const refuse = (reason: string): void => {
    if (reported.has(reason)) return;
    reported.add(reason);
    try {
      options.log(`ipc: dropped a message (${reason}); further ones like it are dropped silently`);
    } catch {
      // Logging must never take the IPC handler down.
    }
  };

  const end = (session: Session): void => {
    if (session.ended) return;
    session.ended = true;
    for (const cb of [...session.closeListeners]) cb();
    session.closeListeners.clear();
    session.listeners.clear();
    session.server?.close();
    session.server = null;
  };

  const start = (id: string, port: RendererPort): Session => {
    const session: Session = { id, port, listeners: new Set(), closeListeners: new Set(), server: null, ended: false };
    const channel: RpcChannel = {
      send(msg) {
        if (session.ended || port.isDestroyed()) throw new Error('renderer is gone');
        port.send({ session: id, msg });
      },
      onMessage(cb) {
        session.listeners.add(cb);
        return () => session.listeners.delete(cb);
      },
      onClose(cb) {
        session.closeListeners.add(cb);
        return () => session.closeListeners.delete(cb);
      },
      canSend: () => !session.ended && !port.isDestroyed(),
    };
    session.server = options.serve(channel);
    return session;
  };

  return {
    hello(sender, payload, port) {
      if (closed) return refuse('the console is shutting down');
      const verdict = checkSender(sender, options.expectedWebContentsId());
      if (!verdict.ok) return refuse(verdict.reason);
      const id = sessionIdOf(payload);
      if (id === null) return refuse('malformed hello');
      if (current !== null) end(current);
      current = null;
      current = start(id, port);
    },

    message(sender, payload) {
      if (closed) return;
      const verdict = checkSender(sender, options.expectedWebContentsId());
      if (!verdict.ok) return refuse(verdict.reason);
      if (!isEnvelope(payload)) return refuse('malformed envelope');
      const session = current;
      // A page that has been replaced (or never said hello) is not listened to.
      if (session === null || session.ended || payload.session !== session.id) return refuse('message from a page session that is not the current one');
      for (const cb of [...session.listeners]) cb(payload.msg);
    },

    reset() {
      if (current !== null) end(current);
      current = null;
    },

    close() {
      closed = true;
      if (current !== null) end(current);
      current = null;
    },

    get session() {
      return current?.id ?? null;
    },
  };
}

function sessionIdOf(payload: unknown): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const id = (payload as { session?: unknown }).session;
  return typeof id === 'string' && SESSION_ID.test(id) ? id : null;
}

export function isEnvelope(payload: unknown): payload is RpcEnvelope {
  if (typeof payload !== 'object' || payload === null) return false;
  const session = (payload as { session?: unknown }).session;
  return typeof session === 'string' && SESSION_ID.test(session) && Object.hasOwn(payload, 'msg');
}
