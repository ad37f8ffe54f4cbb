// The emulator's command-line entry as a program: it prints both sockets, a QMP client gets QEMU's greeting on
// each, and SIGTERM stops it and removes its directory.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseQmpLabArgs } from './main.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');

test('options: numbers, the 7.2 deadlock switch; anything else is refused with the usage', () => {
  assert.deepEqual(parseQmpLabArgs(['--checkpoint-delay-ms', '200', '--pause-ms', '30', '--qemu72-deadlock']), { checkpointDelayMs: 200, pauseMs: 30, qemu72Deadlock: true });
  assert.throws(() => parseQmpLabArgs(['--checkpoint-delay-ms', 'soon']), /usage: qmp-lab/);
  assert.throws(() => parseQmpLabArgs(['--bogus']), /usage: qmp-lab/);
});

test('run as a program: both sockets greet like QEMU 7.2; SIGTERM stops it and cleans up', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--checkpoint-delay-ms', '100'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const sockets = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no sockets printed: ${out}`)), 15_000);
    child.stdout.on('data', () => {
      const m = [...out.matchAll(/(?:primary|secondary) QMP: +(\S+)/g)].map((x) => x[1]!);
      if (m.length === 2) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
  for (const s of sockets) {
    const greeting = await new Promise<string>((resolve, reject) => {
      const c = net.connect(s);
      let got = '';
      c.on('data', (d) => {
        got += d.toString();
        if (got.endsWith('\r\n')) {
          c.destroy();
          resolve(got);
        }
      });
      c.on('error', reject);
    });
    assert.match(greeting, /^\{"QMP": \{"version": \{"qemu": \{"micro": 22, "minor": 2, "major": 7\}, "package": "Debian 1:7\.2\+dfsg-7\+deb12u18\+b3"\}, "capabilities": \["oob"\]\}\}\r\n$/);
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.equal(existsSync(path.dirname(sockets[0]!)), false, 'its temporary directory is gone');
});
