// One SSH connection to one host (ssh2), as OpenSSH users know it: the host key checked before anything else,
// key, agent or (only when asked) password authentication, keepalive, and commands run with their arguments
// quoted, their output streamed and bounded, a timeout on each and cancellation.
//
// Every failure is an SshError whose `kind` says what went wrong and whether trying again can help: a changed or
// unknown host key and a refused login are never retried (DESIGN.md; issue 8 §1).

import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { shellCommand } from './shell-quote.js';

export type SshErrorKind =
  | 'host-key-changed'
  | 'host-key-revoked'
  | 'host-key-unknown'
  | 'auth'
  | 'timeout'
  | 'network'
  | 'closed'
  | 'output-too-large'
  | 'cancelled';

const NEVER_RETRY: ReadonlySet<SshErrorKind> = new Set(['host-key-changed', 'host-key-revoked', 'host-key-unknown', 'auth']);

export class SshError extends Error {
  override readonly name = 'SshError';
  readonly retryable: boolean;
  constructor(readonly kind: SshErrorKind, message: string, readonly details: Readonly<Record<string, string>> = {}) {
    super(message);
    this.retryable = !NEVER_RETRY.has(kind);
  }
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
}

export type SshAuth =
  | { kind: 'agent'; socket: string }
  | { kind: 'key'; privateKey: Buffer; passphrase?: string }
  | { kind: 'password'; password: string };

/** Decides on the key the host presented: undefined to go on, or the SshError that refuses it. */
export type HostKeyCheck = (keyType: string, key: Buffer) => SshError | undefined;

export interface ConnectOptions {
  checkHostKey: HostKeyCheck;
  /** Longest the handshake and login may take; default 15 s. */
  readyTimeoutMs?: number;
  /** Keepalive every this many ms; the connection is dropped after `keepaliveCountMax` unanswered. Default 10 s, 3. */
  keepaliveMs?: number;
  keepaliveCountMax?: number;
  /** A jump host (ProxyJump): the connection is made through a TCP forward from it. */
  via?: SshConnection;
}

export interface ExecOptions {
  /** Longest the command may run; then it is abandoned with a 'timeout' SshError. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Output beyond this (stdout and stderr together) ends the command with 'output-too-large'; default 16 MiB. */
  maxOutputBytes?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface ExecResult {
  /** The command line as sent: every argument quoted. */
  command: string;
  /** Exit status, or null when the command ended by a signal. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

export class SshConnection {
  private closedWith: SshError | null = null;
  private readonly closeListeners = new Set<(err: SshError) => void>();

  private constructor(private readonly client: Client, readonly target: SshTarget) {
    client.on('close', () => this.closed(new SshError('closed', `The SSH connection to ${describe(target)} closed.`)));
    client.on('error', (err) => this.closed(networkError(target, err)));
  }

  static async connect(target: SshTarget, auth: SshAuth, options: ConnectOptions): Promise<SshConnection> {
    const sock = options.via === undefined ? undefined : await options.via.forwardTcp(target.host, target.port);
    const conn = await SshConnection.handshake(target, auth, options, sock);
    // ssh2 does not watch a socket it was handed: when the far host or the jump host goes, only the forwarded
    // channel says so. Without this the connection would look open until a keepalive went unanswered.
    // The far end's half-close ('end') is the news; 'close' follows only once our side has ended too.
    const drop = (): void => conn.dropped(new SshError('closed', `The SSH connection to ${describe(target)} through its jump host closed.`));
    sock?.once('end', drop);
    sock?.once('close', drop);
    return conn;
  }

  private static handshake(target: SshTarget, auth: SshAuth, options: ConnectOptions, sock: Duplex | undefined): Promise<SshConnection> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      let refused: SshError | undefined;
      let settled = false;
      const fail = (err: SshError): void => {
        if (settled) return;
        settled = true;
        client.end();
        reject(err);
      };
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.user,
        readyTimeout: options.readyTimeoutMs ?? 15_000,
        keepaliveInterval: options.keepaliveMs ?? 10_000,
        keepaliveCountMax: options.keepaliveCountMax ?? 3,
        ...(sock === undefined ? {} : { sock }),
        hostVerifier: (key: Buffer) => {
          refused = options.checkHostKey(keyTypeOf(key), key);
          return refused === undefined;
        },
        ...(auth.kind === 'agent' ? { agent: auth.socket } : {}),
        ...(auth.kind === 'key' ? { privateKey: auth.privateKey, ...(auth.passphrase === undefined ? {} : { passphrase: auth.passphrase }) } : {}),
        ...(auth.kind === 'password' ? { password: auth.password, tryKeyboard: false } : {}),
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        resolve(new SshConnection(client, target));
      });
      client.once('error', (err: Error & { level?: string }) => {
        if (refused !== undefined) fail(refused);
        else if (err.level === 'client-authentication') fail(new SshError('auth', `${describe(target)} refused the login as ${target.user} (${authWords(auth)}).`));
        else if (/Timed out while waiting for handshake/.test(err.message)) fail(new SshError('timeout', `${describe(target)} did not complete the SSH handshake within ${(config.readyTimeout ?? 0) / 1000} s.`));
        else fail(networkError(target, err));
      });
      try {
        client.connect(config);
      } catch (err) {
        // ssh2 throws synchronously on a key it cannot parse (a wrong passphrase, say).
        const message = err instanceof Error ? err.message : String(err);
        fail(new SshError('auth', `The private key for ${describe(target)} could not be used: ${message}.`));
      }
    });
  }

  /** Settles with the error once the connection has gone. */
  onClose(fn: (err: SshError) => void): () => void {
    if (this.closedWith !== null) {
      fn(this.closedWith);
      return () => {};
    }
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  get isOpen(): boolean {
    return this.closedWith === null;
  }

  /** Runs argv on the host, each argument quoted for its shell; resolves whatever the exit status. */
  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const command = shellCommand(argv);
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let channel: ClientChannel | null = null;
      let done = false;
      const finish = (outcome: { result: ExecResult } | { error: SshError }): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        offClose();
        if ('error' in outcome) {
          channel?.close();
          reject(outcome.error);
        } else {
          resolve(outcome.result);
        }
      };
      const timer = setTimeout(() => finish({ error: new SshError('timeout', `\`${clip(command)}\` on ${describe(this.target)} did not finish within ${options.timeoutMs / 1000} s.`) }), options.timeoutMs);
      const onAbort = (): void => finish({ error: new SshError('cancelled', `\`${clip(command)}\` on ${describe(this.target)} was cancelled.`) });
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const offClose = this.onClose((e) => finish({ error: new SshError(e.kind, `${e.message} \`${clip(command)}\` did not finish.`) }));
      const take = (chunk: Buffer, into: Buffer[], tap?: (c: Buffer) => void): void => {
        if (done) return;
        size += chunk.length;
        if (size > max) {
          finish({ error: new SshError('output-too-large', `\`${clip(command)}\` on ${describe(this.target)} sent more than ${max} bytes of output; it was stopped.`) });
          return;
        }
        into.push(chunk);
        tap?.(chunk);
      };
      this.client.exec(command, (e, ch) => {
        if (e) return finish({ error: networkError(this.target, e) });
        channel = ch;
        if (done) {
          ch.close();
          return;
        }
        ch.on('data', (c: Buffer) => take(c, out, options.onStdout));
        ch.stderr.on('data', (c: Buffer) => take(c, err, options.onStderr));
        ch.on('close', (code: number | null | undefined, signal: string | undefined) => finish({
          result: {
            command,
            code: typeof code === 'number' ? code : null,
            signal: signal ?? null,
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(err).toString('utf8'),
          },
        }));
      });
    });
  }

  /** A TCP connection from the host to host:port (what ProxyJump rides on). */
  forwardTcp(host: string, port: number): Promise<ClientChannel> {
    return this.channel(`a TCP forward to ${host}:${port}`, (cb) => this.client.forwardOut('127.0.0.1', 0, host, port, cb));
  }

  /** A stream to a unix socket on the host (OpenSSH streamlocal forwarding): a QEMU monitor, say. */
  openUnixSocket(socketPath: string): Promise<ClientChannel> {
    return this.channel(`the unix socket ${socketPath}`, (cb) => this.client.openssh_forwardOutStreamLocal(socketPath, cb));
  }

  close(): void {
    this.client.end();
  }

  private dropped(err: SshError): void {
    this.closed(err);
    this.client.end();
  }

  private channel(what: string, open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void): Promise<ClientChannel> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      open((err, ch) => {
        if (err) reject(new SshError('network', `${describe(this.target)} could not open ${what}: ${err.message}`));
        else resolve(ch);
      });
    });
  }

  private closed(err: SshError): void {
    if (this.closedWith !== null) return;
    this.closedWith = err;
    for (const fn of [...this.closeListeners]) fn(err);
    this.closeListeners.clear();
  }
}

function describe(t: SshTarget): string {
  return t.port === 22 ? t.host : `${t.host} port ${t.port}`;
}

function authWords(auth: SshAuth): string {
  switch (auth.kind) {
    case 'agent': return 'keys from the SSH agent';
    case 'key': return 'the given private key';
    case 'password': return 'the password';
  }
}

function networkError(target: SshTarget, err: Error & { code?: string }): SshError {
  return new SshError('network', `Cannot reach ${describe(target)}: ${err.code ? `${err.code} ` : ''}${err.message}`.trim());
}

function clip(text: string): string {
  return text.length <= 200 ? text : `${text.slice(0, 199)}…`;
}

/** The type a public key blob names first (RFC 4253 §6.6). */
function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return n <= 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown';
}
