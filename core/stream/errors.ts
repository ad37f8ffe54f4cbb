// One error type for everything wrong with stream bytes: what was wrong, and where (absolute byte offset).

export type StreamErrorCode =
  | 'truncated'
  | 'bad-magic'
  | 'bad-version'
  | 'bad-options'
  | 'bad-banner'
  | 'record-too-long'
  | 'bad-padding'
  | 'unknown-record'
  | 'unexpected-record'
  | 'bad-body';

export class StreamError extends Error {
  override readonly name = 'StreamError';
  constructor(
    readonly code: StreamErrorCode,
    /** Absolute byte offset in the stream of the field or record at fault. */
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${detail} (at byte ${offset})`);
  }
}
