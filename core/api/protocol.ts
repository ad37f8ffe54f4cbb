// The wire protocol, after VS Code's ipc.ts but smaller: four client messages (call, cancel, sub, unsub) and four
// server messages (result, error, subscribed, events). Envelopes are checked with zod like payloads are, because
// either end may be talking to something broken or hostile.

import { z } from 'zod';
import { MAX_ERROR_MESSAGE } from './errors.js';
import { MAX_QUEUE_LIMIT } from './contract.js';

/**
 * Any duplex message transport: Electron IPC, a MessagePort, a WebSocket, or an in-memory pair. Messages are
 * plain JSON-shaped objects; a transport that needs bytes or text serialises them itself.
 */
export interface RpcChannel {
  send(msg: unknown): void;
  /** Returns a function that removes the listener. */
  onMessage(cb: (msg: unknown) => void): () => void;
  /** Lets an end give up on pending work when the peer goes away. */
  onClose?(cb: () => void): () => void;
  /**
   * Backpressure: false while the transport is congested. The server then holds event batches back, so its
   * queues coalesce or drop per policy instead of piling bytes up in the socket.
   */
  canSend?(): boolean;
  close?(): void;
}

const Id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Name = z.string().min(1).max(128);

export const ClientMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('call'), id: Id, method: Name, req: z.unknown().optional() }),
  z.object({ t: z.literal('cancel'), id: Id }),
  z.object({ t: z.literal('sub'), id: Id, topic: Name, params: z.unknown().optional() }),
  z.object({ t: z.literal('unsub'), id: Id }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export const ServerMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('result'), id: Id, res: z.unknown().optional() }),
  z.object({
    t: z.literal('error'),
    // null when the server could not tell which request a malformed message was.
    id: Id.nullable(),
    // A plain string, not the enum: a newer server's code must degrade, not make the whole reply unreadable.
    error: z.object({ code: z.string().max(64), message: z.string().max(MAX_ERROR_MESSAGE) }),
  }),
  z.object({ t: z.literal('subscribed'), id: Id }),
  z.object({
    t: z.literal('events'),
    id: Id,
    events: z.array(z.unknown()).max(MAX_QUEUE_LIMIT),
    // Events lost (reliable) or replaced (latest) since the previous batch.
    dropped: z.number().int().min(1).optional(),
  }),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/** A short, bounded description of why a payload failed its schema; the peer's own data, so safe to echo. */
export function describeIssues(error: z.ZodError): string {
  const text = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return text.slice(0, 500);
}

/** The id of a message that failed validation, when it has a usable one, so the error can still be routed. */
export function salvageId(msg: unknown): number | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const id = (msg as { id?: unknown }).id;
  return Id.safeParse(id).success ? (id as number) : null;
}
