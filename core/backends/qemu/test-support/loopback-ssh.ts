// An SshConnection to a test sshd on loopback, its host key trusted: how the QEMU tests run host commands the way
// the backend will, through a real OpenSSH server.

import { readFileSync } from 'node:fs';
import { SshConnection } from '../../../ssh/connection.js';
import { knownHostsCheck } from '../../../ssh/host-keys.js';
import { knownHostsLine, parseKnownHosts } from '../../../ssh/known-hosts.js';
import type { Sshd } from '../../../ssh/test-support/sshd.js';

export function connectLoopback(sshd: Sshd): Promise<SshConnection> {
  const trusted = parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, true), 'known_hosts');
  return SshConnection.connect(
    { host: sshd.host, port: sshd.port, user: sshd.user },
    { kind: 'key', privateKey: readFileSync(sshd.clientKeyFile) },
    { checkHostKey: knownHostsCheck(sshd.host, sshd.port, { entries: trusted.entries }), readyTimeoutMs: 10_000 },
  );
}
