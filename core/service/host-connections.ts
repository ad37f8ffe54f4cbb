// The console's SSH links to its hosts: one shared SshHostLink per SSH host (and one per ProxyJump hop), built from
// the host's record, with the admin's decisions of this session held here and nowhere else:
// - host keys: checked against the user's ~/.ssh/known_hosts and the console's own `known_hosts` in the data
//   directory, plus keys the admin trusted once this session; an unknown key waits for the admin (trust once, or
//   save a line to the console's file), a changed or revoked one is refused and cannot be trusted from here;
// - secrets: a key file's passphrase, or a password for "ask each session" hosts, are kept in memory only, for
//   this process's life; they never reach a file, a log or the audit.
// The Xen backend asks link(host) for every command it sends (HostLinks).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { type SshAuth, type SshConnection, SshError, type SshTarget } from '../ssh/connection.js';
import { knownHostsCheck, keyTypeLabel } from '../ssh/host-keys.js';
import { type Backoff, type LinkState, SshHostLink } from '../ssh/host-link.js';
import { type KnownHostEntry, fingerprintSha256, hostKeyVerdict, knownHostsLine, knownHostsName, parseKnownHosts } from '../ssh/known-hosts.js';
import { writeFileAtomic } from './files.js';
import type { HostLinks } from './backend.js';
import type { HostRecord } from './registry.js';

/** The console's own known_hosts, in the data directory. */
export const CONSOLE_KNOWN_HOSTS = 'known_hosts';
/** A known_hosts file larger than this is not read (it is untrusted input). */
const MAX_KNOWN_HOSTS_BYTES = 8 * 1024 * 1024;
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface HostKeyReport {
  status: 'trusted' | 'unknown' | 'changed' | 'revoked';
  /** As OpenSSH labels it: ED25519, RSA, ECDSA. */
  keyType: string;
  fingerprint: string;
  /** Changed: the fingerprints the known_hosts files list for this host, with where ("file:line"). */
  knownFingerprints?: string[];
  /** Which machine presented it: the host itself, or a ProxyJump hop ("[10.0.0.1]:2222"). */
  presentedBy: string;
}

export interface HostConnectionStatus {
  status: 'connected' | 'connecting' | 'disconnected' | 'error';
  reason?: string;
  hostKey?: HostKeyReport;
  /** What the admin must enter before the next attempt can log in. */
  needs?: 'passphrase' | 'password';
}

export interface HostConnectionsOptions {
  dataDir: string;
  /** The user's known_hosts files; default ~/.ssh/known_hosts. */
  userKnownHosts?: readonly string[];
  /** The agent's socket; default SSH_AUTH_SOCK. */
  agentSocket?: string;
  readyTimeoutMs?: number;
  keepaliveMs?: number;
  backoff?: Backoff;
  /** Called whenever a host's connection status may have changed. */
  onChange?(hostId: string): void;
  now?(): number;
}

/** One machine a link dials: the host, or one of its hops. */
interface Endpoint {
  host: string;
  port: number;
  user: string;
}

/** What the last handshake with an endpoint showed of its key. */
interface PresentedKey {
  name: string;
  endpoint: Endpoint;
  keyType: string;
  key: Buffer;
  fingerprint: string;
  verdict: HostKeyReport['status'];
  known: string[];
}

interface Session {
  record: HostRecord;
  link: SshHostLink;
  hops: SshHostLink[];
  /** Last key seen per endpoint (knownHostsName), the host's own last. */
  keys: Map<string, PresentedKey>;
  secret?: { kind: 'passphrase' | 'password'; value: string };
  needs?: 'passphrase' | 'password';
}

export class HostConnections implements HostLinks {
  private readonly sessions = new Map<string, Session>();
  /** Keys trusted once, by endpoint name, for this process's life. */
  private readonly trustedOnce = new Map<string, Set<string>>();
  readonly consoleKnownHosts: string;
  private closed = false;

  constructor(private readonly o: HostConnectionsOptions) {
    this.consoleKnownHosts = path.join(o.dataDir, CONSOLE_KNOWN_HOSTS);
  }

  /** The host's shared link, created on first use. Throws for hosts that are not reached over SSH. */
  link(host: HostRecord): SshHostLink {
    return this.session(host).link;
  }

  /** Starts connecting (if not yet), so that the host's status fills in without anyone waiting. */
  connect(host: HostRecord): void {
    const s = this.session(host);
    if (s.link.state.kind === 'idle') void s.link.connection().catch(() => {});
  }

  status(host: HostRecord): HostConnectionStatus {
    const s = this.sessions.get(host.id);
    if (s === undefined) return { status: 'disconnected', reason: 'Not connected yet.' };
    const hostKey = this.hostKeyReport(s);
    const extra = { ...(hostKey === undefined ? {} : { hostKey }), ...(s.needs === undefined ? {} : { needs: s.needs }) };
    const st: LinkState = s.link.state;
    switch (st.kind) {
      case 'idle': return { status: 'disconnected', reason: 'Not connected yet.', ...extra };
      case 'connecting': return { status: 'connecting', ...extra };
      case 'connected': return { status: 'connected', ...extra };
      case 'closed': return { status: 'disconnected', reason: 'The connection was closed.', ...extra };
      case 'waiting': {
        const inS = Math.max(0, Math.ceil((st.retryAt - this.now()) / 1000));
        return { status: 'disconnected', reason: `${st.error.message} Next attempt in ${inS} s (attempt ${st.attempt + 1}).`, ...extra };
      }
      case 'failed': return { status: 'error', reason: this.failureWords(st.error), ...extra };
    }
  }

  /**
   * Accepts the unknown key the host (or its hop) presented last, once for this session or saved as a line in the
   * console's known_hosts, then tries again. Only that exact key, and never a changed or revoked one.
   */
  trust(host: HostRecord, fingerprint: string, save: boolean): void {
    const s = this.session(host);
    const pending = [...s.keys.values()].find((k) => k.fingerprint === fingerprint);
    if (pending === undefined) {
      const shown = [...s.keys.values()].map((k) => `${k.name}: ${k.fingerprint}`).join(', ');
      throw new HostKeyRefusal(`${host.name} has not presented the key ${fingerprint.slice(0, 80)}${shown ? ` (it presented ${shown})` : ''}; nothing was trusted.`);
    }
    if (pending.verdict === 'changed' || pending.verdict === 'revoked') {
      throw new HostKeyRefusal(`The key ${fingerprint} of ${pending.name} is ${pending.verdict === 'changed' ? 'a CHANGED key' : 'revoked'}; it cannot be trusted from the console. ${this.removeAdvice(pending)}`);
    }
    if (pending.verdict === 'unknown') {
      if (save) this.appendKnownHost(pending);
      else {
        const set = this.trustedOnce.get(pending.name) ?? new Set<string>();
        set.add(fingerprint);
        this.trustedOnce.set(pending.name, set);
      }
    }
    this.retry(host);
  }

  /** Holds a passphrase (key file) or password (ask-each-session) in memory for this session, then tries again. */
  unlock(host: HostRecord, secret: string): void {
    const s = this.session(host);
    const kind = host.auth?.kind === 'password' ? 'password' : host.auth?.kind === 'key' ? 'passphrase' : null;
    if (kind === null) throw new HostKeyRefusal(`${host.name} logs in with the SSH agent: there is no passphrase or password to enter here.`);
    s.secret = { kind, value: secret };
    s.needs = undefined;
    this.retry(host);
  }

  retry(host: HostRecord): void {
    const s = this.session(host);
    for (const hop of s.hops) hop.retry();
    s.link.retry();
    this.changed(host.id);
  }

  /** Closes the host's links and forgets its secrets (a removed or re-added host). */
  forget(hostId: string): void {
    const s = this.sessions.get(hostId);
    if (s === undefined) return;
    this.sessions.delete(hostId);
    s.link.close();
    for (const hop of s.hops) hop.close();
    s.secret = undefined;
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.sessions.keys()]) this.forget(id);
  }

  // -------------------------------------------------------------------------------------------------------------

  private session(host: HostRecord): Session {
    if (host.kind !== 'ssh') throw new Error(`${host.name} is not reached over SSH.`);
    if (this.closed) throw new SshError('closed', 'The console is closing.');
    const existing = this.sessions.get(host.id);
    if (existing !== undefined) return existing;
    if (host.address === undefined) throw new Error(`${host.name} has no address.`);
    const user = host.user ?? defaultUser();
    const target: SshTarget = { host: host.address, port: host.port ?? 22, user };
    const s: Session = { record: host, link: undefined as unknown as SshHostLink, hops: [], keys: new Map() };
    // Hops in order: each one dialled through the one before it, the host through the last.
    let previous: SshHostLink | undefined;
    for (const j of host.jumps ?? []) {
      const hop = this.makeLink(s, { host: j.address, port: j.port, user: j.user ?? user }, previous);
      s.hops.push(hop);
      previous = hop;
    }
    s.link = this.makeLink(s, target, previous);
    this.sessions.set(host.id, s);
    return s;
  }

  private makeLink(s: Session, endpoint: Endpoint, via: SshHostLink | undefined): SshHostLink {
    const name = knownHostsName(endpoint.host, endpoint.port);
    return new SshHostLink({
      target: endpoint,
      auth: () => this.auth(s),
      connect: {
        checkHostKey: (keyType, key) => this.checkKey(s, name, endpoint, keyType, key),
        readyTimeoutMs: this.o.readyTimeoutMs ?? 15_000,
        ...(this.o.keepaliveMs === undefined ? {} : { keepaliveMs: this.o.keepaliveMs }),
      },
      ...(via === undefined ? {} : { via: (): Promise<SshConnection> => via.connection() }),
      ...(this.o.backoff === undefined ? {} : { backoff: this.o.backoff }),
      onState: (state) => {
        // A refused password is asked again (and forgotten): it is the one secret the server judges.
        if (state.kind === 'failed' && state.error.kind === 'auth' && s.record.auth?.kind === 'password' && s.secret !== undefined) {
          s.secret = undefined;
          s.needs = 'password';
        }
        this.changed(s.record.id);
      },
      now: () => this.now(),
    });
  }

  private checkKey(s: Session, name: string, endpoint: Endpoint, keyType: string, key: Buffer): SshError | undefined {
    const entries = this.knownEntries();
    const trustedOnce = this.trustedOnce.get(name) ?? new Set<string>();
    const refusal = knownHostsCheck(endpoint.host, endpoint.port, { entries, trustedOnce })(keyType, key);
    const verdict = hostKeyVerdict(entries, endpoint.host, endpoint.port, keyType, key);
    const fingerprint = fingerprintSha256(key);
    const status: HostKeyReport['status'] = verdict.kind === 'unknown' && trustedOnce.has(fingerprint) ? 'trusted' : verdict.kind;
    const known = verdict.kind === 'changed' ? verdict.listed.map((e) => `${fingerprintSha256(e.key)} (${e.source})`) : [];
    s.keys.set(name, { name, endpoint, keyType, key, fingerprint, verdict: status, known });
    this.changed(s.record.id);
    return refusal;
  }

  /** The user's known_hosts files, then the console's; missing files are empty, oversized ones skipped. */
  private knownEntries(): KnownHostEntry[] {
    const files = [...(this.o.userKnownHosts ?? [path.join(homedir(), '.ssh', 'known_hosts')]), this.consoleKnownHosts];
    const entries: KnownHostEntry[] = [];
    for (const file of files) {
      try {
        if (!existsSync(file) || statSync(file).size > MAX_KNOWN_HOSTS_BYTES) continue;
        entries.push(...parseKnownHosts(readFileSync(file, 'utf8'), file).entries);
      } catch {
        // An unreadable file lists nothing: the key is then unknown, which the admin sees and decides on.
      }
    }
    return entries;
  }

  private appendKnownHost(k: PresentedKey): void {
    let before = '';
    try {
      before = readFileSync(this.consoleKnownHosts, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const sep = before === '' || before.endsWith('\n') ? '' : '\n';
    // writeFileAtomic creates the file 0600 and renames it into place: a crash leaves the old file or the new one.
    writeFileAtomic(this.consoleKnownHosts, `${before}${sep}${knownHostsLine(k.endpoint.host, k.endpoint.port, k.keyType, k.key, false)}`);
  }

  /** The login for the next attempt; throws the SshError that stops the link until the admin acts. */
  private auth(s: Session): SshAuth {
    const auth = s.record.auth ?? { kind: 'agent' as const };
    const where = s.record.name;
    switch (auth.kind) {
      case 'agent': {
        const socket = this.o.agentSocket ?? process.env.SSH_AUTH_SOCK;
        if (!socket) throw new SshError('auth', `${where} logs in with the SSH agent, but no agent is running for the console (SSH_AUTH_SOCK is not set).`);
        return { kind: 'agent', socket };
      }
      case 'password': {
        if (s.secret?.kind !== 'password') {
          s.needs = 'password';
          throw new SshError('auth', `${where} asks for a password each session: enter it to connect.`);
        }
        return { kind: 'password', password: s.secret.value };
      }
      case 'key': {
        let privateKey: Buffer;
        try {
          if (statSync(auth.keyPath).size > MAX_KEY_FILE_BYTES) throw new Error(`larger than ${MAX_KEY_FILE_BYTES} bytes: not a private key`);
          privateKey = readFileSync(auth.keyPath);
        } catch (err) {
          throw new SshError('auth', `The key file ${auth.keyPath} for ${where} cannot be read: ${err instanceof Error ? err.message : String(err)}.`);
        }
        const passphrase = s.secret?.kind === 'passphrase' ? s.secret.value : undefined;
        const parsed = ssh2.utils.parseKey(privateKey, passphrase);
        if (parsed instanceof Error) {
          if (/no passphrase given/i.test(parsed.message)) {
            s.needs = 'passphrase';
            throw new SshError('auth', `The key file ${auth.keyPath} for ${where} is encrypted: enter its passphrase to connect.`);
          }
          if (passphrase !== undefined && /passphrase/i.test(parsed.message)) {
            s.secret = undefined;
            s.needs = 'passphrase';
            throw new SshError('auth', `The passphrase for ${auth.keyPath} is wrong; enter it again.`);
          }
          throw new SshError('auth', `The key file ${auth.keyPath} for ${where} is not a private key ssh can use: ${parsed.message}.`);
        }
        return { kind: 'key', privateKey, ...(passphrase === undefined ? {} : { passphrase }) };
      }
    }
  }

  private hostKeyReport(s: Session): HostKeyReport | undefined {
    // A hop's problem comes first: until it is solved the host itself is never reached.
    const problem = [...s.keys.values()].find((k) => k.verdict !== 'trusted');
    const own = s.keys.get(knownHostsName(s.record.address ?? '', s.record.port ?? 22));
    const k = problem ?? own;
    if (k === undefined) return undefined;
    return {
      status: k.verdict,
      keyType: keyTypeLabel(k.keyType),
      fingerprint: k.fingerprint,
      presentedBy: k.name,
      ...(k.known.length > 0 ? { knownFingerprints: k.known } : {}),
    };
  }

  private failureWords(err: SshError): string {
    // Only a changed key has a stale line to remove; a revoked one is refused for good, and says so itself.
    if (err.kind !== 'host-key-changed') return err.message;
    const s = [...this.sessions.values()].find((x) => [...x.keys.values()].some((k) => k.fingerprint === err.details.fingerprint));
    const k = s === undefined ? undefined : [...s.keys.values()].find((x) => x.fingerprint === err.details.fingerprint);
    return k === undefined ? err.message : `${err.message} ${this.removeAdvice(k)}`;
  }

  /** Where the stale line is, and the command that removes it. */
  private removeAdvice(k: PresentedKey): string {
    const lines = k.known.map((x) => /\(([^)]*)\)$/.exec(x)?.[1]).filter(Boolean);
    const files = [...new Set(lines.map((l) => l!.replace(/:\d+$/, '')))];
    const where = lines.length > 0 ? `the line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}` : 'the line that lists it';
    const cmd = files.map((f) => `ssh-keygen -R '${k.name}' -f ${f}`).join('; ');
    return `If the host was really reinstalled, remove ${where}${cmd ? ` (${cmd})` : ''}, check the new key out of band, then add it again.`;
  }

  private changed(hostId: string): void {
    try {
      this.o.onChange?.(hostId);
    } catch {
      // A listener's fault is not the link's.
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

/** An admin's host-key or secret request that cannot be honoured (the service turns it into a bad-request). */
export class HostKeyRefusal extends Error {
  override readonly name = 'HostKeyRefusal';
}

function defaultUser(): string {
  return process.env.USER ?? 'root';
}

/** The OpenSSH wording of a key line, for the UI and messages: "ED25519 key fingerprint is SHA256:…". */
export function fingerprintWords(keyType: string, fingerprint: string): string {
  return `${keyType} key fingerprint is ${fingerprint}.`;
}
