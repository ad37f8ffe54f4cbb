// The host-key decision for a connection: known_hosts entries (the user's and the console's own) plus keys the
// admin trusted once for this session, turned into OpenSSH-like refusals. Nothing is trusted silently.

import type { HostKeyCheck } from './connection.js';
import { SshError } from './connection.js';
import { type KnownHostEntry, fingerprintSha256, hostKeyVerdict, knownHostsName } from './known-hosts.js';

export interface HostKeySources {
  entries: readonly KnownHostEntry[];
  /** Fingerprints the admin accepted for this host for this session only ("trust once"). */
  trustedOnce?: ReadonlySet<string>;
}

/** OpenSSH's own name for a key type in fingerprint lines (ED25519, RSA, ECDSA). */
export function keyTypeLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType === 'ssh-rsa') return 'RSA';
  if (keyType.startsWith('ecdsa-')) return 'ECDSA';
  return keyType.toUpperCase();
}

export function knownHostsCheck(host: string, port: number, sources: HostKeySources): HostKeyCheck {
  return (keyType, key) => {
    const fingerprint = fingerprintSha256(key);
    const name = knownHostsName(host, port);
    const verdict = hostKeyVerdict(sources.entries, host, port, keyType, key);
    switch (verdict.kind) {
      case 'trusted':
        return undefined;
      case 'revoked':
        return new SshError('host-key-revoked', `The ${keyTypeLabel(keyType)} host key ${fingerprint} presented by ${name} is marked @revoked in ${verdict.entry.source}. The connection was refused.`, { fingerprint, keyType });
      case 'changed': {
        const listed = verdict.listed.map((e) => `${fingerprintSha256(e.key)} (${e.source})`).join(', ');
        return new SshError('host-key-changed', `WARNING: the host key of ${name} has changed. It now presents ${keyTypeLabel(keyType)} key ${fingerprint}; the known key is ${listed}. Someone may be intercepting the connection, or the host was reinstalled. The connection was refused; nothing was sent.`, { fingerprint, keyType, listed });
      }
      case 'unknown': {
        if (sources.trustedOnce?.has(fingerprint)) return undefined;
        const others = verdict.otherTypes.length > 0 ? ` Keys of other types (${verdict.otherTypes.join(', ')}) are known for this host.` : '';
        return new SshError('host-key-unknown', `The authenticity of host ${name} can't be established. Its ${keyTypeLabel(keyType)} key fingerprint is ${fingerprint}.${others} Trust it once, or save it, to connect.`, { fingerprint, keyType });
      }
    }
  };
}
