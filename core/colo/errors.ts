// Errors of the checkpoint protocol itself (as opposed to malformed bytes, which are StreamErrors).

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

/** The channel closed or failed: the peer is gone. */
export class ChannelLostError extends Error {
  override readonly name = 'ChannelLostError';
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
