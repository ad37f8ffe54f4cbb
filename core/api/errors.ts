// The one error type a caller of the RPC ever sees. Its code is part of the contract between the two ends, so a
// client can branch on it; its message is for people and must never carry server internals (stacks, paths).

export const RPC_ERROR_CODES = ['bad-request', 'not-found', 'invalid-state', 'internal', 'timeout', 'closed'] as const;

export type RpcErrorCode = (typeof RPC_ERROR_CODES)[number];

/** The shape of an error on the wire. */
export interface RpcErrorData {
  readonly code: RpcErrorCode;
  readonly message: string;
}

/** Longest message sent over the wire; a handler's message is cut to this so a reply stays small. */
export const MAX_ERROR_MESSAGE = 1000;

export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: RpcErrorCode,
    message: string,
  ) {
    super(message);
  }

  toData(): RpcErrorData {
    return { code: this.code, message: this.message.slice(0, MAX_ERROR_MESSAGE) };
  }
}

export function isRpcErrorCode(value: unknown): value is RpcErrorCode {
  return typeof value === 'string' && (RPC_ERROR_CODES as readonly string[]).includes(value);
}

/**
 * What the server sends for a failure. Only an RpcError thrown on purpose keeps its code and message; anything
 * else is a bug whose text could reveal internals, so the client gets a generic 'internal'.
 */
export function toWireError(err: unknown): RpcErrorData {
  return err instanceof RpcError ? err.toData() : INTERNAL_ERROR;
}

export const INTERNAL_ERROR: RpcErrorData = Object.freeze({ code: 'internal', message: 'internal error' });

/** An error received from a peer; an unknown code (a newer server) degrades to 'internal' rather than failing. */
export function fromWireError(data: { code: string; message: string }): RpcError {
  return new RpcError(isRpcErrorCode(data.code) ? data.code : 'internal', data.message);
}
