// An SshConnection, or the SshHostLink the backend uses, to a test sshd on loopback, its host key trusted: how the
// QEMU tests reach a host the way the backend will, through a real OpenSSH server.

import { readFileSync } from 'node:fs';
import { SshConnection } from '../../../ssh/connection.js';
import { SshHostLink } from '../../../ssh/host-link.js';
import { knownHostsCheck } from '../../../ssh/host-keys.js';
import { knownHostsLine, parseKnownHosts } from '../../../ssh/known-hosts.js';
import type { Sshd } from '../../../ssh/test-support/sshd.js';

/** The link the backend is given for a host: key auth, the sshd's key pinned, quick reconnects. */
export function linkToSshd(sshd: Sshd, o: { readyTimeoutMs?: number; backoff?: { initialMs: number; maxMs: number } } = {}): SshHostLink {
  const entries = parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, false), 'known_hosts').entries;
  return new SshHostLink({
    target: { host: sshd.host, port: sshd.port, user: sshd.user },
    auth: () => ({ kind: 'key', privateKey: readFileSync(sshd.clientKeyFile) }),
    connect: { checkHostKey: knownHostsCheck(sshd.host, sshd.port, { entries }), readyTimeoutMs: o.readyTimeoutMs ?? 5000 },
    backoff: o.backoff ?? { initialMs: 100, maxMs: 400 },
  });
}

export function connectLoopback(sshd: Sshd): Promise<SshConnection> {
  const trusted = parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, true), 'known_hosts');
  return SshConnection.connect(
    { host: sshd.host, port: sshd.port, user: sshd.user },
    { kind: 'key', privateKey: readFileSync(sshd.clientKeyFile) },
    { checkHostKey: knownHostsCheck(sshd.host, sshd.port, { entries: trusted.entries }), readyTimeoutMs: 10_000 },
  );
}
