// One server-side WebSocket (node's `ws`) as an RpcChannel: JSON text frames in and out, and the socket's
// bufferedAmount as the backpressure signal the RPC server's batching reacts to.

import type { RawData, WebSocket } from 'ws';
import type { RpcChannel } from './protocol.js';

export interface WsChannel extends RpcChannel {
  onClose(cb: () => void): () => void;
  close(): void;
}

/** Default for how many bytes may sit unsent in the socket before batches are held back. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

export function wsChannel(ws: WebSocket, maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES): WsChannel {
  const messageListeners = new Set<(msg: unknown) => void>();
  const closeListeners = new Set<() => void>();

  ws.on('message', (data, isBinary) => {
    const msg = isBinary ? null : decode(data);
    for (const cb of [...messageListeners]) cb(msg);
  });
  ws.once('close', () => {
    for (const cb of [...closeListeners]) cb();
    messageListeners.clear();
    closeListeners.clear();
  });

  return {
    send(msg) {
      if (ws.readyState !== ws.OPEN) throw new Error('socket is not open');
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
    canSend: () => ws.readyState === ws.OPEN && ws.bufferedAmount < maxBufferedBytes,
    close: () => ws.close(1000),
  };
}

/** Text that is not JSON is passed on as the raw string, so the RPC answers it with 'bad-request'. */
function decode(data: RawData): unknown {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
