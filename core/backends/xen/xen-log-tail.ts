// Follows the supervised `xl remus` log on the primary from a byte offset: one long `tail -c +N -F --pid=P` over the
// host's shared SSH link, its output split into lines as it arrives. GNU tail's --pid makes it exit once xl remus
// has exited and the rest of the file has been printed, so the tail ending normally means "the run is over and
// every line is in". Anything else (the link dropped, the output limit reached, the command's timeout) restarts the
// tail from the offset of the last complete line: nothing is lost or read twice.

import type { BackendContext } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import type { SshHostLink } from '../../ssh/host-link.js';
import { HostCommandError, exitSummary, runOnHost } from '../host-command.js';
import type { XlEvent } from './xl-log-line.js';
import { XlLogReader } from './xl-log-reader.js';

export interface LogTailOptions {
  link: SshHostLink;
  host: HostRecord;
  log: string;
  pid: number;
  offset: number;
  ctx: BackendContext;
  /** One line's event; `text()` gives its text, valid only during the call. */
  onLine(event: XlEvent, text: () => string): void;
  /** The tail is streaming again (after a start or a reconnect), or it lost its connection. */
  onConnected?(connected: boolean, why?: string): void;
  /** While the primary cannot be reached: the caller may look for the run's end elsewhere (the secondary). */
  onUnreachable?(): Promise<boolean>;
  /** How often onUnreachable is asked at most; default 5 s. */
  unreachableCheckMs?: number;
  /** Output per tail command before it is restarted from the offset (bounds what ssh2 buffers). */
  maxBytesPerTail?: number;
  /** Longest one tail command runs before it is restarted. */
  tailTimeoutMs?: number;
  retryDelayMs?: number;
}

export type TailEnd = { kind: 'exited' } | { kind: 'stopped' } | { kind: 'given-up'; why: string };

export class LogTail {
  private reader: XlLogReader;
  private readonly abort = new AbortController();
  private stopped = false;
  readonly done: Promise<TailEnd>;

  constructor(private readonly o: LogTailOptions) {
    this.reader = new XlLogReader(o.offset);
    this.done = this.loop();
  }

  /** Bytes of the log read as complete lines: where a restarted tail begins. */
  get offset(): number {
    return this.reader.resumeOffset;
  }

  stop(): Promise<TailEnd> {
    this.stopped = true;
    this.abort.abort();
    return this.done;
  }

  private async loop(): Promise<TailEnd> {
    const o = this.o;
    let failures = 0;
    let lastAsked = -Infinity;
    const text = (): string => this.reader.lineText();
    while (!this.stopped) {
      try {
        await o.link.connection();
      } catch (err) {
        o.onConnected?.(false, err instanceof Error ? err.message : String(err));
        // Asked now and then, not at every retry: each question is a command on the other host, in the audit log.
        if (o.onUnreachable !== undefined && Date.now() - lastAsked >= (o.unreachableCheckMs ?? 5000)) {
          lastAsked = Date.now();
          if (await o.onUnreachable().catch(() => false)) return { kind: 'exited' };
        }
        await this.sleep(o.retryDelayMs ?? 500);
        continue;
      }
      // A restart begins at the last complete line: a partial line held from before is read again, whole.
      if (this.reader.pendingBytes > 0) this.reader = new XlLogReader(this.reader.resumeOffset);
      const reader = this.reader;
      const argv = ['tail', '-c', `+${reader.resumeOffset + 1}`, '-F', `--pid=${o.pid}`, '--', o.log];
      o.onConnected?.(true);
      try {
        const r = await runOnHost(o.link, o.host, argv, o.ctx, {
          timeoutMs: o.tailTimeoutMs ?? 3_600_000,
          maxOutputBytes: o.maxBytesPerTail ?? 8 * 1024 * 1024,
          signal: this.abort.signal,
          onStdout: (chunk) => {
            reader.push(chunk, (event) => o.onLine(event, text));
          },
          detail: (res) => `${exitSummary(res)}; log read to byte ${this.reader.resumeOffset}`,
        });
        if (r.code === 0) return { kind: 'exited' };
        // tail itself failed (no such option, no such file once xl remus is gone): say so, retry a few times.
        if (++failures >= 5) return { kind: 'given-up', why: `tail of ${o.log} on ${o.host.name} keeps failing: ${exitSummary(r)}` };
      } catch (err) {
        if (this.stopped) break;
        const kind = err instanceof HostCommandError ? (err.cause as { kind?: string } | undefined)?.kind : undefined;
        // Over the output bound or the time bound: restart at once from the offset. Otherwise the link is down.
        if (kind === 'output-too-large' || kind === 'timeout') continue;
        o.onConnected?.(false, err instanceof Error ? err.message : String(err));
      }
      await this.sleep(o.retryDelayMs ?? 500);
    }
    return { kind: 'stopped' };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
