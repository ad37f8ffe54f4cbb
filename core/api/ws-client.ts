// The browser end of browser mode: a standard WebSocket as an RpcChannel. It names only the few WebSocket members
// it uses and takes the constructor as a parameter, so core/ typechecks without the DOM library and tests can hand
// it node's `ws` instead of a browser's.

import type { RpcChannel } from './protocol.js';

/** The subset of the WHATWG WebSocket this adapter relies on. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string[]) => WebSocketLike;

export interface WebSocketChannel extends RpcChannel {
  onClose(cb: () => void): () => void;
  close(): void;
}

const OPEN = 1;

/**
 * Opens the socket and resolves once it is open; a socket that fails before opening rejects instead. `protocols`
 * are the subprotocols to offer: browser mode's carry its token (ws-token.ts).
 */
export function connectWebSocket(url: string, WebSocketImpl: WebSocketConstructor, protocols?: string[]): Promise<WebSocketChannel> {
  return new Promise((resolve, reject) => {
    const ws = protocols === undefined ? new WebSocketImpl(url) : new WebSocketImpl(url, protocols);
    const messageListeners = new Set<(msg: unknown) => void>();
    const closeListeners = new Set<() => void>();
    let opened = false;
    let closed = false;

    const channel: WebSocketChannel = {
      send(msg) {
        if (ws.readyState !== OPEN) throw new Error('socket is not open');
        ws.send(JSON.stringify(msg));
      },
      onMessage(cb) {
        messageListeners.add(cb);
        return () => messageListeners.delete(cb);
      },
      onClose(cb) {
        closeListeners.add(cb);
        return () => closeListeners.delete(cb);
      },
      canSend: () => ws.readyState === OPEN,
      close: () => ws.close(1000),
    };

    ws.addEventListener('open', () => {
      opened = true;
      resolve(channel);
    });
    // Browsers give no reason for a refused handshake (401/403 look alike), so neither do we.
    ws.addEventListener('error', () => {
      if (!opened) reject(new Error('could not connect'));
    });
    ws.addEventListener('close', () => {
      if (!opened) reject(new Error('could not connect'));
      if (closed) return;
      closed = true;
      for (const cb of [...closeListeners]) cb();
    });
    ws.addEventListener('message', (event) => {
      const msg = decode(event.data);
      for (const cb of [...messageListeners]) cb(msg);
    });
  });
}

/** Anything that is not JSON text is passed on as-is, for the RPC to reject as malformed and report. */
function decode(data: unknown): unknown {
  if (typeof data !== 'string') return null;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}
