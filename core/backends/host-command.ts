// Runs one command on one host over its shared link and reports it to the audit log, exactly as sent. A failure of
// the connection itself (timeout, too much output, link down) becomes one error naming the host and the command,
// so that a host that lies or hangs is reported as itself and nothing else is disturbed.

import type { BackendContext } from '../service/backend.js';
import type { HostRecord } from '../service/registry.js';
import type { ExecOptions, ExecResult } from '../ssh/connection.js';
import type { SshHostLink } from '../ssh/host-link.js';
import { shellCommand } from '../ssh/shell-quote.js';

/** Where the console keeps the logs of what it starts on a host (xl remus, QEMU). */
export const LOG_DIR = '/var/log/colo-console';

export class HostCommandError extends Error {
  override readonly name = 'HostCommandError';
  constructor(readonly hostId: string, readonly command: string, message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export interface RunOptions {
  timeoutMs: number;
  maxOutputBytes?: number;
  signal?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  /** Summarises the output for the audit detail; default: the exit status and stderr's first line. */
  detail?: (r: ExecResult) => string;
  /** Exit statuses that count as 'ok' in the audit; default 0 only. */
  okCodes?: readonly number[];
}

export async function runOnHost(link: SshHostLink, host: HostRecord, argv: readonly string[], ctx: BackendContext, o: RunOptions): Promise<ExecResult> {
  const command = shellCommand(argv);
  const signal = o.signal ?? ctx.signal;
  const options: ExecOptions = {
    timeoutMs: o.timeoutMs,
    ...(o.maxOutputBytes === undefined ? {} : { maxOutputBytes: o.maxOutputBytes }),
    ...(signal === undefined ? {} : { signal }),
    ...(o.onStdout === undefined ? {} : { onStdout: o.onStdout }),
  };
  let result: ExecResult;
  try {
    result = await link.exec(argv, options);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.command({ hostId: host.id, command, result: 'error', detail: clip(message) });
    throw new HostCommandError(host.id, command, `${host.name}: \`${clip(command, 160)}\` failed: ${message}`, err);
  }
  const ok = (o.okCodes ?? [0]).includes(result.code ?? -1);
  ctx.command({ hostId: host.id, command: result.command, result: ok ? 'ok' : 'error', detail: clip((o.detail ?? exitSummary)(result)) });
  return result;
}

/** "exit 1: <stderr's first line>", or "signal KILL". */
export function exitSummary(r: ExecResult): string {
  const status = r.code === null ? `signal ${r.signal ?? '?'}` : `exit ${r.code}`;
  const first = firstLine(r.stderr);
  return first === '' ? status : `${status}: ${first}`;
}

export function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? '').trim().slice(0, 300);
}

function clip(text: string, max = 1000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
