// The launch's host checks: listening ports read from /proc/net/tcp{,6} (this machine's own, with sockets this test
// opens), the blockers of a planned port, and qemu-bridge-helper's ACL as the helper judges it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, test } from 'node:test';
import type { HostRecord } from '../../service/registry.js';
import type { ExecResult } from '../../ssh/connection.js';
import { blockers, bridgeAllowed, launchHostChecks, parseBridgeAcl, tcpListeners } from './qemu-host-checks.js';
import { launchPlan } from './qemu-launch.js';

async function listen(host: string): Promise<net.Server | undefined> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(0, host, () => resolve(server));
  });
}

const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

function procNetTcp(): string {
  const read = (f: string): string => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  return read('/proc/net/tcp') + read('/proc/net/tcp6');
}

describe('listening ports from /proc/net/tcp', () => {
  test('this machine\'s own listeners: 127.0.0.1, any address, and ::1 where IPv6 is on; a connected socket is no listener', async (t) => {
    const servers = (await Promise.all(['127.0.0.1', '0.0.0.0', '::1'].map(listen)));
    t.after(() => servers.forEach((s) => s?.close()));
    const [loop, any, v6] = servers;
    assert.ok(loop && any, 'IPv4 listeners open');
    const client = net.connect(portOf(loop), '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    t.after(() => client.destroy());

    const found = tcpListeners(procNetTcp());
    assert.ok(found.some((l) => l.address === '127.0.0.1' && l.port === portOf(loop)), JSON.stringify(found));
    assert.ok(found.some((l) => l.address === '0.0.0.0' && l.port === portOf(any)));
    if (v6 !== undefined) assert.ok(found.some((l) => l.address === '::1' && l.port === portOf(v6)), JSON.stringify(found));
    assert.ok(!found.some((l) => l.port === (client.address() as net.AddressInfo).port), 'the client end is not listed');
  });

  test('IPv6 forms: any address, a v4-mapped one, a global one; header and broken lines are skipped', () => {
    const text = [
      '  sl  local_address                         remote_address                        st tx_queue',
      '   0: 00000000000000000000000000000000:270E 00000000000000000000000000000000:0000 0A 0',
      '   1: 0000000000000000FFFF00000100007F:270F 00000000000000000000000000000000:0000 0A 0',
      '   2: B80D0120000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0',
      '   3: 0100007F:1F91 0100007F:D431 01 0',
      '   4: 0100007G:1F92 00000000:0000 0A 0',
      '   5: cut',
    ].join('\n');
    assert.deepEqual(tcpListeners(text), [
      { address: '::', port: 9998 },
      { address: '127.0.0.1', port: 9999 },
      { address: '2001:db8::1', port: 8080 },
    ]);
  });

  test('a planned port is blocked by the same address or by any address on either side; a host name only maybe', () => {
    const planned = { address: '10.0.0.2', port: 9998, use: 'the incoming migration', option: 'migrationPort' };
    assert.deepEqual(blockers(planned, [{ address: '10.0.0.3', port: 9998 }, { address: '10.0.0.2', port: 9997 }]).found, []);
    assert.deepEqual(blockers(planned, [{ address: '10.0.0.2', port: 9998 }]), { found: [{ address: '10.0.0.2', port: 9998 }], certain: true });
    assert.equal(blockers(planned, [{ address: '0.0.0.0', port: 9998 }]).found.length, 1);
    assert.equal(blockers(planned, [{ address: '::', port: 9998 }]).found.length, 1);
    assert.equal(blockers({ ...planned, address: '0.0.0.0' }, [{ address: '10.0.0.9', port: 9998 }]).found.length, 1);
    assert.equal(blockers({ ...planned, address: '2001:DB8:0:0::1' }, [{ address: '2001:db8::1', port: 9998 }]).found.length, 1);
    assert.deepEqual(blockers({ ...planned, address: 'colo-b.example' }, [{ address: '10.0.0.3', port: 9998 }]), { found: [{ address: '10.0.0.3', port: 9998 }], certain: false });
  });
});

describe('qemu-bridge-helper\'s ACL', () => {
  const allowed = (text: string, bridge = 'br0'): boolean => bridgeAllowed(parseBridgeAcl(text).rules, bridge);

  test('allow NAME and allow all let it in; no matching allow, deny NAME and deny all keep it out, deny winning', () => {
    assert.equal(allowed('allow br0\n'), true);
    assert.equal(allowed('# the lab\n\nallow all\n'), true);
    assert.equal(allowed('allow virbr0\n'), false);
    assert.equal(allowed(''), false);
    assert.equal(allowed('allow all\ndeny br0\n'), false);
    assert.equal(allowed('deny all\nallow br0\n'), false);
    assert.equal(allowed('deny br1\nallow br0\n'), true);
  });

  test('includes are listed for reading; a line the helper does not know is named with its number', () => {
    assert.deepEqual(parseBridgeAcl('include /etc/qemu/colo.conf\nallow br0\npermit br0\n'), {
      rules: [{ allow: true, name: 'br0' }],
      includes: ['/etc/qemu/colo.conf'],
      unknown: ['line 3: permit br0'],
    });
  });

  test('what the checks make of a host\'s files: each verdict with its fix, sides whose QEMU runs left out', async () => {
    const host: HostRecord = { id: 'b', name: 'colo-b', kind: 'ssh', hypervisor: 'qemu', address: '10.0.0.2' };
    const plan = launchPlan('web01', { primaryQmp: '/run/p.qmp', secondaryQmp: '/run/s.qmp', network: 'bridge', bridge: 'br0' }, '10.0.0.2', '10.0.0.1');
    const result = (stdout: string, code = 0, stderr = ''): ExecResult => ({ command: '', code, signal: null, stdout, stderr });
    const hostWith = (files: Record<string, string>, bridges: string[]) => (_h: HostRecord, argv: string[]): Promise<ExecResult> => {
      if (argv[0] === 'test') return Promise.resolve(result('', bridges.some((b) => argv[2] === `/sys/class/net/${b}/bridge`) ? 0 : 1));
      if (argv[0] === 'cat' && argv[1] === '--') {
        const missing = argv.slice(2).find((f) => files[f] === undefined);
        return Promise.resolve(missing === undefined ? result(argv.slice(2).map((f) => files[f]).join('')) : result('', 1, `cat: ${missing}: No such file or directory`));
      }
      return Promise.resolve(result('  sl  local_address rem_address   st\n'));
    };
    const acl = async (files: Record<string, string>, bridges = ['br0']) => (await launchHostChecks(plan, [{ side: 'secondary', host }], 'br0', hostWith(files, bridges)))
      .filter((c) => c.id.startsWith('bridge-acl')).map((c) => [c.status, c.detail]);

    assert.deepEqual(await acl({}), [['fail', '/etc/qemu/bridge.conf cannot be read there (exit 1: cat: /etc/qemu/bridge.conf: No such file or directory), and the helper denies every bridge without it. Fix: add the line "allow br0" to /etc/qemu/bridge.conf there.']]);
    assert.deepEqual(await acl({ '/etc/qemu/bridge.conf': 'allow virbr0\n' }), [['fail', '/etc/qemu/bridge.conf has no "allow br0" or "allow all". Fix: add the line "allow br0" to /etc/qemu/bridge.conf there.']]);
    assert.deepEqual(await acl({ '/etc/qemu/bridge.conf': 'include /etc/qemu/more.conf\n', '/etc/qemu/more.conf': 'allow all\ndeny br0\n' }), [['fail', '/etc/qemu/bridge.conf denies br0 (a deny line wins over any allow). Fix: add the line "allow br0" to /etc/qemu/bridge.conf there.']]);
    assert.deepEqual(await acl({ '/etc/qemu/bridge.conf': 'include /etc/qemu/more.conf\n', '/etc/qemu/more.conf': 'allow br0\ninclude /etc/qemu/deep.conf\n' }), [['warn', 'Allowed by what the console read; nested includes it did not follow (/etc/qemu/deep.conf) could still deny it.']]);
    assert.deepEqual(await acl({ '/etc/qemu/bridge.conf': 'allow br0\n' }), [['pass', '/etc/qemu/bridge.conf allows it.']]);

    const noBridge = await launchHostChecks(plan, [{ side: 'secondary', host }], 'br0', hostWith({ '/etc/qemu/bridge.conf': 'allow br0\n' }, []));
    assert.equal(noBridge.find((c) => c.id === 'bridge-secondary')?.status, 'fail');
    assert.match(noBridge.find((c) => c.id === 'bridge-secondary')?.detail ?? '', /^colo-b has no bridge named br0\. Fix: create it there/);

    // The secondary of a bridged pair without a disk listens for the migration only; the primary for the proxy.
    const ports = await launchHostChecks(plan, [{ side: 'secondary', host }, { side: 'primary', host }], undefined, hostWith({}, []));
    assert.deepEqual(ports.map((c) => [c.id, c.status, c.detail]), [
      ['ports-secondary', 'pass', 'Free: 9998 (the incoming migration).'],
      ['ports-primary', 'pass', 'Free: 9003 (the COLO proxy\'s mirror of the guest\'s input), 9004 (colo-compare\'s input from the secondary), 9005 (colo-compare\'s input from the primary), 9006 (colo-compare\'s output).'],
    ]);
    assert.deepEqual(await launchHostChecks(plan, [], 'br0', hostWith({}, [])), [], 'no side launched, nothing checked');
  });
});
