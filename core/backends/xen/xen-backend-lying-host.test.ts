// A host that lies, behind a real sshd: whatever command the console sends, a ForceCommand script answers with
// cut-off JSON, 100 MB of output, or nothing at all. Each gives one clear error naming the host and the command,
// in bounded time and memory, and is in the audit log; the same link works again once the host answers honestly.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BackendContext, HostCommand } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import { knownHostsCheck } from '../../ssh/host-keys.js';
import { SshHostLink } from '../../ssh/host-link.js';
import { knownHostsLine, parseKnownHosts } from '../../ssh/known-hosts.js';
import { type Sshd, startSshd, sshdUnavailable } from '../../ssh/test-support/sshd.js';
import { XenBackend } from './xen-backend.js';
import { JsonFileRunStore } from './xen-run-store.js';

const LIAR = `#!/bin/sh
# Answers every command according to the mode file next to it.
mode=$(cat "$(dirname "$0")/mode")
case "$mode" in
  truncated) printf '[{"domid":0,"config":{"c_info":{"type":"pv","name":"Domain-0"}}},{"domid":3,"config":{"c_info":{"ty' ;;
  flood) head -c 104857600 /dev/zero | tr '\\0' 'x' ;;
  hang) exec sleep 30 ;;
  honest) printf 'host : honest\\nvirt_caps : hvm\\nxen_major : 4\\nxen_minor : 17\\nxen_version : 4.17.3\\n' ;;
esac
`;

describe('Xen backend and a host that lies', { skip: sshdUnavailable() ?? false }, () => {
  let sshd: Sshd;
  let dir: string;
  let link: SshHostLink;
  let backend: XenBackend;
  const host: HostRecord = { id: 'liar', name: 'liar-host', kind: 'ssh', hypervisor: 'xen' };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'xen-liar-'));
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'liar.sh'), LIAR);
    chmodSync(path.join(dir, 'liar.sh'), 0o755);
    writeFileSync(path.join(dir, 'mode'), 'honest');
    sshd = await startSshd({ config: [`ForceCommand ${path.join(dir, 'liar.sh')}`] });
    const entries = parseKnownHosts(knownHostsLine(sshd.host, sshd.port, sshd.hostKeyType, sshd.hostKey, false), 'kh').entries;
    link = new SshHostLink({
      target: { host: sshd.host, port: sshd.port, user: sshd.user },
      auth: () => ({ kind: 'key', privateKey: readFileSync(sshd.clientKeyFile) }),
      connect: { checkHostKey: knownHostsCheck(sshd.host, sshd.port, { entries }), readyTimeoutMs: 5000 },
      backoff: { initialMs: 100, maxMs: 400 },
    });
    backend = new XenBackend({ links: { link: () => link }, runStore: new JsonFileRunStore(dir), commandTimeoutMs: 1500 });
  });

  after(async () => {
    await backend?.close();
    link?.close();
    await sshd?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const audited = (): { ctx: BackendContext; log: HostCommand[] } => {
    const log: HostCommand[] = [];
    return { log, ctx: { command: (c) => log.push(c) } };
  };
  const mode = (m: string): void => writeFileSync(path.join(dir, 'mode'), m);

  test('cut-off JSON from xl list -l: one error naming the host and saying the JSON was cut off', async () => {
    mode('truncated');
    const a = audited();
    await assert.rejects(backend.inventory(host, a.ctx), (e: Error) => /^liar-host: xl list -l did not print valid JSON .*cut off/.test(e.message));
    assert.deepEqual(a.log.map((c) => [c.hostId, c.command]), [['liar', 'xl list -l']]);
  });

  test('100 MB for xl list -l: stopped at the bound, one error naming the host and the command', async () => {
    mode('flood');
    const a = audited();
    await assert.rejects(backend.inventory(host, a.ctx), (e: Error) => /^liar-host: `xl list -l` failed: .*more than \d+ bytes of output/.test(e.message));
    assert.equal(a.log[0]?.result, 'error');
  });

  test('xl info that never returns: the command times out, one error naming the host and the command', async () => {
    mode('hang');
    const a = audited();
    await assert.rejects(backend.probe(host, a.ctx), (e: Error) => /^liar-host: `xl info` failed: .*did not finish within 1\.5 s/.test(e.message));
    assert.deepEqual(a.log.map((c) => [c.command, c.result]), [['xl info', 'error']]);
  });

  test('the same host answering honestly again is probed normally over the same link', async () => {
    mode('honest');
    const p = await backend.probe(host, audited().ctx);
    assert.equal(p.version, 'Xen 4.17.3');
  });
});
