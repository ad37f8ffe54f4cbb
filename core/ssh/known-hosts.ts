// known_hosts, read the way OpenSSH reads it (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): plain host patterns with
// `*`, `?` and `!` negation, `[host]:port` for ports other than 22, hashed names (`|1|salt|hmac`), and the
// `@revoked` marker. `@cert-authority` lines are kept out of plain-key decisions: the console does not accept
// host certificates. The file is untrusted input: lines are bounded, bad lines are reported with their number and
// skipped, never fatal.
//
// A verdict is one of: trusted (this exact key is listed for the host), revoked (listed as @revoked: refuse),
// changed (the host is listed with a different key of the same type: refuse, loudly, naming both fingerprints),
// unknown (not listed; the admin decides after seeing the fingerprint).

import { createHash, createHmac, randomBytes } from 'node:crypto';

/** Longer lines are not ours to parse (an RSA-16384 key is under 3 KiB of base64). */
const MAX_LINE = 16 * 1024;

export interface KnownHostEntry {
  /** Where it was read, for messages: "~/.ssh/known_hosts:12". */
  source: string;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written: patterns separated by commas, or one `|1|…` hash. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export interface KnownHostsParse {
  entries: KnownHostEntry[];
  /** Lines that could not be read, with why; they are skipped. */
  problems: string[];
}

export type HostKeyVerdict =
  | { kind: 'trusted'; entry: KnownHostEntry }
  | { kind: 'revoked'; entry: KnownHostEntry }
  | { kind: 'changed'; listed: KnownHostEntry[] }
  | { kind: 'unknown'; otherTypes: string[] };

/** The host field's name for a host and port: `host`, or `[host]:port` when the port is not 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>`, exactly as `ssh` and `ssh-keygen -l` print it. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function parseKnownHosts(text: string, file: string): KnownHostsParse {
  const entries: KnownHostEntry[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const source = `${file}:${i + 1}`;
    const line = lines[i]!.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.length > MAX_LINE) {
      problems.push(`${source}: line longer than ${MAX_LINE} characters, skipped`);
      continue;
    }
    const fields = line.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'] = null;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else {
        problems.push(`${source}: unknown marker ${m.slice(0, 40)}, skipped`);
        continue;
      }
    }
    const [hosts, keyType, keyText] = fields;
    if (hosts === undefined || keyType === undefined || keyText === undefined) {
      problems.push(`${source}: expected "hosts key-type key", skipped`);
      continue;
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyText)) {
      problems.push(`${source}: the key is not base64, skipped`);
      continue;
    }
    const key = Buffer.from(keyText, 'base64');
    // The blob names its own type first (RFC 4253 §6.6); a line whose two disagree is corrupt or forged.
    if (blobType(key) !== keyType) {
      problems.push(`${source}: the key is not a ${keyType.slice(0, 40)} key, skipped`);
      continue;
    }
    entries.push({ source, marker, hosts, keyType, key });
  }
  return { entries, problems };
}

/** What the lists say of `key` (of `keyType`) presented by `host` on `port`. */
export function hostKeyVerdict(entries: readonly KnownHostEntry[], host: string, port: number, keyType: string, key: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((e) => hostFieldMatches(e.hosts, name));
  // A revoked key is refused whichever host lists it, as OpenSSH does.
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked !== undefined) return { kind: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const same = plain.find((e) => e.keyType === keyType && e.key.equals(key));
  if (same !== undefined) return { kind: 'trusted', entry: same };
  const listed = plain.filter((e) => e.keyType === keyType);
  if (listed.length > 0) return { kind: 'changed', listed };
  return { kind: 'unknown', otherTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** A line to append to a known_hosts file, with the host name hashed (as `HashKnownHosts yes` writes it) or not. */
export function knownHostsLine(host: string, port: number, keyType: string, key: Buffer, hashed: boolean): string {
  const name = knownHostsName(host, port);
  const field = hashed ? hashHostName(name, randomBytes(20)) : name;
  return `${field} ${keyType} ${key.toString('base64')}\n`;
}

function hashHostName(name: string, salt: Buffer): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (salt === undefined || hash === undefined) return false;
    const expected = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return expected === hash;
  }
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!globMatches(pattern.toLowerCase(), name.toLowerCase())) continue;
    // A negated match rejects the host whatever else matched (OpenSSH match_hostname).
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** OpenSSH's pattern language: `*` any run, `?` any one character, everything else literal. */
function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The key type named at the start of an SSH public key blob, or null when the blob is too short to hold one. */
function blobType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const n = blob.readUInt32BE(0);
  if (n > 64 || blob.length < 4 + n) return null;
  return blob.subarray(4, 4 + n).toString('latin1');
}
