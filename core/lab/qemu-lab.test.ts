// The QEMU lab as the console meets it: two real sshds with their own host keys (the ones in the lab's known_hosts),
// each QMP monitor reached through its host by streamlocal forwarding, sessions that skip root's shell startup
// files, a killed primary whose socket refuses while the secondary answers, and nothing left after stop().

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { QmpClient } from '../backends/qemu/qmp-client.js';
import { type SshAuth, SshConnection, SshError } from '../ssh/connection.js';
import { knownHostsCheck } from '../ssh/host-keys.js';
import { fingerprintSha256, knownHostsName, parseKnownHosts } from '../ssh/known-hosts.js';
import { type QemuLab, type QemuLabHost, qemuLabUnavailable, startQemuLab } from './qemu-lab.js';
import { startColo } from './qemu-pair.js';
import { eventually } from '../test-support/eventually.js';

type T = { after(fn: () => Promise<void> | void): void };

/** Connects as the console would: only the lab's known_hosts decides on the key; records the key presented. */
async function connect(t: T, lab: QemuLab, h: QemuLabHost): Promise<{ conn: SshConnection; presented: { type: string; key: Buffer } }> {
  const known = parseKnownHosts(readFileSync(lab.knownHostsFile, 'utf8'), lab.knownHostsFile);
  assert.deepEqual(known.problems, []);
  const check = knownHostsCheck(h.address, h.port, { entries: known.entries });
  let presented: { type: string; key: Buffer } | undefined;
  const auth: SshAuth = { kind: 'key', privateKey: readFileSync(lab.clientKeyFile) };
  const conn = await SshConnection.connect({ host: h.address, port: h.port, user: h.user }, auth, {
    readyTimeoutMs: 15_000,
    checkHostKey: (type, key) => {
      presented = { type, key };
      return check(type, key);
    },
  });
  t.after(() => conn.close());
  return { conn, presented: presented! };
}

async function qmpThrough(t: T, conn: SshConnection, socket: string, name: string): Promise<QmpClient> {
  const client = await QmpClient.open(await conn.openUnixSocket(socket), { name, timeoutMs: 10_000, greetingTimeoutMs: 10_000 });
  t.after(() => client.close());
  return client;
}

/** Alive and not a zombie (a session process whose listener died is reparented and may linger unreaped). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

for (const kind of ['emulated', 'real'] as const) {
  describe(`QEMU lab (${kind})`, { skip: qemuLabUnavailable(kind) ?? false }, () => {
    test('both hosts over ssh: known host keys, QMP greetings by streamlocal, quiet shells; a killed primary refuses while b answers; stop removes everything', async (t) => {
      const lab = await startQemuLab({ kind });
      t.after(() => lab.stop());
      assert.equal(lab.kind, kind);
      assert.equal(lab.vm, 'colo01');
      assert.match(lab.incomingUri, /^tcp:127\.0\.0\.1:\d+$/);
      assert.equal(kind === 'real' ? lab.real !== undefined : lab.emulated !== undefined, true);

      // Each line of known_hosts names one host as the console reaches it.
      const lines = readFileSync(lab.knownHostsFile, 'utf8').trimEnd().split('\n');
      assert.deepEqual(lines.map((l) => l.split(' ')[0]), [knownHostsName(lab.a.address, lab.a.port), knownHostsName(lab.b.address, lab.b.port)]);

      const a = await connect(t, lab, lab.a);
      const b = await connect(t, lab, lab.b);
      for (const [h, c] of [[lab.a, a], [lab.b, b]] as const) {
        assert.equal(c.presented.type, h.hostKeyType);
        assert.equal(fingerprintSha256(c.presented.key), h.hostKeySha256);
      }
      assert.notEqual(lab.a.hostKeySha256, lab.b.hostKeySha256, 'two hosts, two host keys');
      assert.notDeepEqual([lab.a.address, lab.a.port], [lab.b.address, lab.b.port]);

      // Commands run as root and never see this machine's shell setup for root.
      for (const c of [a, b]) {
        const who = await c.conn.exec(['id', '-u'], { timeoutMs: 20_000 });
        assert.equal(who.stdout.trim(), '0');
        const bashrc = await c.conn.exec(['sh', '-c', 'for f in ~/.bashrc ~/.profile; do [ ! -e "$f" ] || cat "$f"; done'], { timeoutMs: 20_000 });
        assert.equal(bashrc.code, 0, bashrc.stderr);
        assert.equal(bashrc.stdout, '', 'root\'s shell startup files read empty in the hosts\' sessions');
      }

      const primary = await qmpThrough(t, a.conn, lab.primarySocket, `VM ${lab.vm} (primary)`);
      const secondary = await qmpThrough(t, b.conn, lab.secondarySocket, `VM ${lab.vm} (secondary)`);
      assert.equal(primary.greeting?.version.major, 7);
      assert.equal(secondary.greeting?.version.major, 7);
      // COLO is the console's to start: the primary runs (or waits to be started), the secondary waits for -incoming.
      const st = await secondary.execute<{ status: string }>('query-status');
      assert.equal(st.status, 'inmigrate');
      const colo = await primary.execute<{ mode: string }>('query-colo-status');
      assert.equal(colo.mode, 'none');
      primary.close();

      await lab.killPrimary();
      await assert.rejects(a.conn.openUnixSocket(lab.primarySocket), (e: unknown) => e instanceof SshError && e.kind === 'network' && e.message.includes(lab.primarySocket));
      assert.equal((await secondary.execute<{ status: string }>('query-status')).status, 'inmigrate');
      // And b takes a new monitor client (QEMU serves one at a time, so the first one goes first).
      secondary.close();
      const again = await qmpThrough(t, b.conn, lab.secondarySocket, `VM ${lab.vm} (secondary)`);
      assert.equal((await again.execute<{ status: string }>('query-status')).status, 'inmigrate');

      const pids = lab.processes();
      assert.ok(pids.length >= (kind === 'real' ? 3 : 2), `sshds (and their sessions) and the secondary QEMU: ${pids.join(' ')}`);
      assert.ok(pids.every(running));
      await lab.stop();
      assert.deepEqual(pids.filter(running), [], 'no process of the lab is left');
      assert.equal(existsSync(lab.dir), false);
      await lab.stop();
    });

    test('COLO as the console starts it, through both hosts, with the printed incoming URI: colo on both; after killPrimary the secondary takes over', async (t) => {
      const lab = await startQemuLab({ kind });
      t.after(() => lab.stop());
      const a = await connect(t, lab, lab.a);
      const b = await connect(t, lab, lab.b);
      const primary = await qmpThrough(t, a.conn, lab.primarySocket, `VM ${lab.vm} (primary)`);
      const secondary = await qmpThrough(t, b.conn, lab.secondarySocket, `VM ${lab.vm} (secondary)`);
      // Long enough that no periodic checkpoint comes during the test (a real 7.2 would deadlock at one).
      await startColo(primary, secondary, lab.incomingUri, 600_000);
      for (const [side, client] of [['primary', primary], ['secondary', secondary]] as const) {
        await eventually(`${side} in COLO`, 20_000, async () => {
          const c = await client.execute<{ mode: string }>('query-colo-status');
          return c.mode === side ? c : undefined;
        });
      }
      assert.equal((await primary.execute<{ status: string }>('query-migrate')).status, 'colo');

      await lab.killPrimary();
      assert.deepEqual(await secondary.execute('yank', { instances: [{ type: 'migration' }] }, { oob: true }), {});
      await secondary.execute('x-colo-lost-heartbeat');
      const st = await eventually('the secondary running on its own', 20_000, async () => {
        const [c, s] = [await secondary.execute<{ mode: string }>('query-colo-status'), await secondary.execute<{ status: string }>('query-status')];
        return c.mode === 'none' && s.status === 'running' ? s : undefined;
      });
      assert.equal(st.status, 'running');
      await assert.rejects(a.conn.openUnixSocket(lab.primarySocket), (e: unknown) => e instanceof SshError && e.kind === 'network');
    });
  });
}

test('QEMU lab: options of the emulated pair are refused for a real one, and a bad delay is named', async () => {
  await assert.rejects(startQemuLab({ kind: 'real', checkpointDelayMs: 200 }), /checkpointDelayMs apply to the emulated pair only/);
  await assert.rejects(startQemuLab({ kind: 'emulated', checkpointDelayMs: 0 }), /checkpointDelayMs must be an integer 1…3600000, not 0/);
  await assert.rejects(startQemuLab({ kind: 'bogus' as 'real' }), /kind must be 'real' or 'emulated', not "bogus"/);
});
