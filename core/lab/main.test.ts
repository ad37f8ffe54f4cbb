// `npm run lab -- qemu --emulated` as a program: it prints the hosts and both QMP sockets, the sockets greet like
// QEMU, and Ctrl-C (SIGINT) takes the lab down: exit 0, its directory gone, its sshds no longer listening.
// tsx is run directly, as `npm run lab` does: npx/npm answer a Ctrl-C with their own exit status 130.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { qemuLabUnavailable } from './qemu-lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function firstLine(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let got = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no greeting on ${socket} within 10 s: ${got}`));
    }, 10_000);
    c.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        clearTimeout(timer);
        c.destroy();
        resolve(got);
      }
    });
    c.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('lab qemu --emulated: prints hosts, sockets and pair options; the sockets greet; SIGINT removes everything and exits 0', { skip: qemuLabUnavailable('emulated') ?? false }, async (t) => {
  const child = spawn(TSX, ['core/lab/main.ts', 'qemu', '--emulated', '--checkpoint-delay-ms', '150'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Still running after a failure: SIGINT lets the lab remove itself; SIGKILL only if it does not.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the lab printed no pair options within 60 s:\n${out}\n${err}`)), 60_000);
    const check = (): void => {
      if (/checkpointDelayMs = \d+/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the lab exited before it was up:\n${out}\n${err}`));
    });
  });
  const field = (re: RegExp): string => {
    const m = re.exec(out);
    assert.ok(m, `${String(re)} in:\n${out}`);
    return m[1]!;
  };
  const primary = field(/^ {2}primaryQmp = (\S+)$/m);
  const secondary = field(/^ {2}secondaryQmp = (\S+)$/m);
  assert.match(field(/^ {2}incomingUri = (\S+)$/m), /^tcp:127\.0\.0\.1:\d+$/);
  assert.equal(field(/^ {2}checkpointDelayMs = (\S+)$/m), '150');
  const hosts = [...out.matchAll(/^ {2}(qemu-[ab]) \([^)]*\): root@(\S+) port (\d+)\n {4}ED25519 key fingerprint is (SHA256:\S+)$/gm)];
  assert.deepEqual(hosts.map((h) => h[1]), ['qemu-a', 'qemu-b']);
  assert.match(out, /^VM: colo01$/m);
  assert.equal(field(/^Private key: (\S+)$/m).startsWith(path.dirname(path.dirname(primary))), true);

  for (const s of [primary, secondary]) assert.match(await firstLine(s), /^\{"QMP": \{"version": \{"qemu": \{"micro": \d+, "minor": 2, "major": 7\}/);
  for (const h of hosts) assert.equal(await listening(h[2]!, Number(h[3])), true, `${h[1]}'s sshd listens`);

  child.kill('SIGINT');
  assert.equal(await exited, 0, err);
  assert.match(out, /SIGINT: stopping the lab/);
  assert.equal(existsSync(path.dirname(path.dirname(primary))), false, 'the lab directory is gone');
  for (const h of hosts) assert.equal(await listening(h[2]!, Number(h[3])), false, `${h[1]}'s sshd is gone`);
});
