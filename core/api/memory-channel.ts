// Two connected in-process channel ends, for running a client and a server in one process (tests, a headless
// service talking to itself). Each message is copied through JSON and delivered on a later microtask, so code that
// works here cannot be relying on shared objects or synchronous delivery that a real transport would not give it.

import type { RpcChannel } from './protocol.js';

export interface MemoryChannel extends RpcChannel {
  onClose(cb: () => void): () => void;
  close(): void;
}

export function createMemoryChannelPair(): [MemoryChannel, MemoryChannel] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class End implements MemoryChannel {
  peer: End | null = null;
  private readonly messageListeners = new Set<(msg: unknown) => void>();
  private readonly closeListeners = new Set<() => void>();
  private closed = false;

  send(msg: unknown): void {
    if (this.closed) throw new Error('channel closed');
    const copy: unknown = JSON.parse(JSON.stringify(msg));
    const peer = this.peer;
    queueMicrotask(() => peer?.deliver(copy));
  }

  onMessage(cb: (msg: unknown) => void): () => void {
    this.messageListeners.add(cb);
    return () => this.messageListeners.delete(cb);
  }

  onClose(cb: () => void): () => void {
    this.closeListeners.add(cb);
    return () => this.closeListeners.delete(cb);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of [...this.closeListeners]) cb();
    this.peer?.close();
  }

  private deliver(msg: unknown): void {
    if (this.closed) return;
    for (const cb of [...this.messageListeners]) cb(msg);
  }
}
