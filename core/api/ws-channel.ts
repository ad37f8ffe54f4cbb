// One server-side WebSocket (node's `ws`) as an RpcChannel: JSON text frames in and out, and the socket's
// bufferedAmount as the backpressure signal the RPC server's batching reacts to.
//
// Replies obey the same bound as events. A peer that sends calls but never reads the replies would otherwise make
// us hold every reply it never collects. So the channel reads the peer only while it keeps up:
//   - messages go to the RPC server one at a time, each on its own turn of the event loop, so a handler's reply is
//     in the socket (and counted in bufferedAmount) before the next call is even looked at;
//   - past `maxBufferedBytes` unsent, or with too much received but not yet handed on, the socket is paused (the
//     kernel's buffers fill and the peer's own writes block) and resumed once both have drained below half;
//   - staying past `hardLimitBytes` unsent (replies of calls that were already running when reading stopped) for
//     longer than a grace period, the connection is closed with 1008 and a reason saying so, and cut if the peer
//     does not answer the close. The grace lets a reading peer take a burst of large replies (two exports at once).

import type { RawData, WebSocket } from 'ws';
import type { RpcChannel } from './protocol.js';

export interface WsChannel extends RpcChannel {
  onClose(cb: () => void): () => void;
  close(): void;
}

/** Default for how many bytes may sit unsent in the socket before batches are held back and reading stops. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Unsent bytes at which a connection is closed: room for one maximal reply (an export) over the soft bound. */
export const DEFAULT_HARD_LIMIT_BYTES = 64 * 1024 * 1024;
/** Received bytes held for the RPC server before reading stops: about one socket read's worth of small calls. */
export const MAX_INBOX_BYTES = 256 * 1024;
/** How long unsent bytes may stay over the hard bound before the connection is closed. */
export const DEFAULT_HARD_LIMIT_GRACE_MS = 5000;
/** How long a peer closed for not reading gets to answer the close frame before the socket is cut. */
export const CLOSE_GRACE_MS = 2000;
export const OVERFLOW_CLOSE_CODE = 1008;

export interface WsChannelLimits {
  /** Soft bound: above it, event batches are held back and the socket is not read. */
  maxBufferedBytes?: number;
  /** Hard bound: above it for longer than `hardLimitGraceMs`, the connection is closed. */
  hardLimitBytes?: number;
  hardLimitGraceMs?: number;
  /** Told why a connection was closed for not reading, for the server's log. */
  onOverflow?: (reason: string) => void;
}

export function wsChannel(ws: WebSocket, limits: WsChannelLimits = {}): WsChannel {
  const maxBuffered = limits.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const hardLimit = Math.max(limits.hardLimitBytes ?? DEFAULT_HARD_LIMIT_BYTES, maxBuffered);
  const messageListeners = new Set<(msg: unknown) => void>();
  const closeListeners = new Set<() => void>();
  const inbox: { data: RawData; isBinary: boolean; bytes: number }[] = [];
  let inboxBytes = 0;
  let delivering = false;
  let paused = false;
  let closed = false;
  let overTimer: ReturnType<typeof setTimeout> | null = null;

  const congested = (): boolean => ws.bufferedAmount > maxBuffered || inboxBytes > MAX_INBOX_BYTES;
  const drained = (): boolean => ws.bufferedAmount <= maxBuffered / 2 && inboxBytes <= MAX_INBOX_BYTES / 2;

  /** Pauses or resumes reading as the two queues demand; called after anything that changes either. */
  const regulate = (): void => {
    if (closed || ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > hardLimit) {
      overTimer ??= setTimeout(() => {
        overTimer = null;
        if (ws.bufferedAmount > hardLimit) overflow();
      }, limits.hardLimitGraceMs ?? DEFAULT_HARD_LIMIT_GRACE_MS);
    } else if (overTimer !== null) {
      clearTimeout(overTimer);
      overTimer = null;
    }
    if (!paused && congested()) {
      paused = true;
      ws.pause();
    } else if (paused && drained()) {
      paused = false;
      ws.resume();
    }
    if (inbox.length > 0 && !delivering && ws.bufferedAmount <= maxBuffered) {
      delivering = true;
      setImmediate(deliverNext);
    }
  };

  const deliverNext = (): void => {
    delivering = false;
    if (closed) return;
    if (ws.bufferedAmount > maxBuffered) return regulate(); // a send callback picks this up again
    const next = inbox.shift();
    if (next === undefined) return;
    inboxBytes -= next.bytes;
    const msg = next.isBinary ? null : decode(next.data);
    for (const cb of [...messageListeners]) cb(msg);
    regulate();
  };

  const overflow = (): void => {
    if (closed || ws.readyState !== ws.OPEN) return;
    const reason = `client is not reading its replies (${(ws.bufferedAmount / 1024 / 1024).toFixed(1)} MiB unsent)`;
    inbox.length = 0;
    inboxBytes = 0;
    ws.close(OVERFLOW_CLOSE_CODE, reason);
    limits.onOverflow?.(reason);
    // A peer that does not read will not read the close frame either.
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  };

  ws.on('message', (data, isBinary) => {
    if (closed) return;
    const bytes = byteLength(data);
    inbox.push({ data, isBinary, bytes });
    inboxBytes += bytes;
    regulate();
  });
  ws.once('close', () => {
    closed = true;
    if (overTimer !== null) clearTimeout(overTimer);
    inbox.length = 0;
    inboxBytes = 0;
    for (const cb of [...closeListeners]) cb();
    messageListeners.clear();
    closeListeners.clear();
  });

  return {
    send(msg) {
      if (ws.readyState !== ws.OPEN) throw new Error('socket is not open');
      // The callback runs once this frame has left for the kernel: the moment bufferedAmount has shrunk.
      ws.send(JSON.stringify(msg), () => regulate());
      regulate();
    },
    onMessage(cb) {
      messageListeners.add(cb);
      return () => messageListeners.delete(cb);
    },
    onClose(cb) {
      closeListeners.add(cb);
      return () => closeListeners.delete(cb);
    },
    canSend: () => ws.readyState === ws.OPEN && ws.bufferedAmount < maxBuffered,
    close: () => ws.close(1000),
  };
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
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
