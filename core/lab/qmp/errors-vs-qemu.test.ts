// The emulator's monitor against a real QEMU 7.2 (machine "none": a monitor and no guest), byte for byte: the
// greeting, negotiation, QEMU's checks of a request and of each command's arguments, and the answers of a QEMU
// that has no migration. Anything the transcript does not show is pinned down here, so those words cannot drift
// either.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { QEMU_BINARY, qemuMissing } from '../qemu-pair.js';
import { type QmpPair, startQmpPair } from './index.js';

/** Sent in this order to both; each text gives one reply per command in it. */
const PROBES: [string, number][] = [
  ['{"execute":"query-migrate","id":"early"}', 1],
  ['{"exec-oob":"qmp_capabilities"}', 1],
  ['{"execute":"qmp_capabilities","arguments":{"enable":["foo"]}}', 1],
  ['{"execute":"qmp_capabilities","arguments":{"enable":["oob"]}}', 1],
  ['{"execute":"qmp_capabilities"}', 1],
  // Two commands in one chunk and no line end between them: QEMU reads a JSON stream, not lines.
  ['{"execute":"query-migrate","id":1}{"execute":"query-version","id":2}', 2],
  ['{"execute": nope}', 1],
  ['[1]', 1],
  ['"str"', 1],
  ['{"id":5}', 1],
  ['{"execute":1}', 1],
  ['{"execute":"query-migrate","foo":1}', 1],
  ['{"execute":"query-migrate","arguments":[1]}', 1],
  ['{"execute":"no-such-command","id":{"nested":[1,"a"]}}', 1],
  ['{"exec-oob":"query-migrate","id":7}', 1],
  ['{"execute":"migrate","id":8}', 1],
  ['{"execute":"migrate","arguments":{"uri":5}}', 1],
  ['{"execute":"query-colo-status","arguments":{"x":1}}', 1],
  ['{"execute":"migrate-set-capabilities","arguments":{"capabilities":5}}', 1],
  ['{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"nope","state":true}]}}', 1],
  ['{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-colo"}]}}', 1],
  ['{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-colo","state":"yes"}]}}', 1],
  ['{"execute":"migrate-set-capabilities","arguments":{"capabilities":[{"capability":"x-colo","state":true},{"capability":"events","state":true}]}}', 1],
  ['{"execute":"query-migrate-capabilities","id":"caps"}', 1],
  ['{"execute":"x-colo-lost-heartbeat"}', 1],
  ['{"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":"soon"}}', 1],
  ['{"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":true}}', 1],
  ['{"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":5000000000}}', 1],
  ['{"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":-1}}', 1],
  ['{"execute":"migrate-set-parameters","arguments":{"nope":1}}', 1],
  ['{"execute":"migrate-set-parameters","arguments":{"x-checkpoint-delay":300}}', 1],
  ['{"execute":"query-migrate"}', 1],
  ['{"execute":"query-colo-status"}', 1],
  ['{"exec-oob":"yank","arguments":{"instances":[{"type":"migration"}]},"id":"y"}', 1],
  ['{"exec-oob":"yank","arguments":{"instances":[{"type":"bogus"}]},"id":"y"}', 1],
  ['{"exec-oob":"yank","arguments":{"instances":[{"type":"chardev"}]},"id":"y"}', 1],
  ['{"execute":"yank","arguments":{"instances":[{"type":"chardev","id":"nope"}]}}', 1],
];

/** Every line a monitor sends, in order (events too, though neither side should send any here). */
class Lines {
  readonly got: string[] = [];
  private buf = '';
  constructor(readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.got.push(this.buf.slice(0, nl + 1));
        this.buf = this.buf.slice(nl + 1);
      }
    });
  }
  async upTo(n: number, who: string): Promise<string[]> {
    const until = Date.now() + 3000;
    while (this.got.length < n) {
      if (Date.now() > until) throw new Error(`${who} sent ${this.got.length} lines, expected ${n}: ${this.got.join('')}`);
      await delay(5);
    }
    return this.got.slice(0, n);
  }
}

async function connect(socketPath: string, child?: ChildProcess): Promise<net.Socket> {
  for (let i = 0; ; i++) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`${QEMU_BINARY} exited with ${child.exitCode}`);
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(socketPath);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (i > 200) throw err;
      await delay(25);
    }
  }
}

const skip = qemuMissing();
let dir: string;
let qemu: ChildProcess | undefined;
let pair: QmpPair | undefined;
const socks: net.Socket[] = [];

before(async () => {
  if (skip !== null) return;
  dir = mkdtempSync(path.join(tmpdir(), 'colo-qmp-vs-'));
  const qemuSock = path.join(dir, 'qemu.qmp');
  qemu = spawn(QEMU_BINARY, ['-M', 'none', '-nodefaults', '-display', 'none', '-S', '-chardev', `socket,id=qmp0,path=${qemuSock},server=on,wait=off`, '-mon', 'chardev=qmp0,mode=control'], { stdio: 'ignore' });
  pair = await startQmpPair({ dir });
});

after(async () => {
  for (const s of socks) s.destroy();
  if (qemu !== undefined && qemu.exitCode === null && qemu.signalCode === null) {
    const gone = new Promise((r) => qemu!.once('exit', r));
    qemu.kill('SIGKILL');
    await gone;
  }
  await pair?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

test('requests, arguments and errors: the emulator answers byte for byte as a real QEMU 7.2', { skip: skip ?? false }, async () => {
  const real = new Lines(await connect(path.join(dir, 'qemu.qmp'), qemu));
  const emu = new Lines(await connect(pair!.primarySocket));
  socks.push(real.sock, emu.sock);
  let expected = 1;
  const [realGreeting] = await real.upTo(expected, 'QEMU');
  assert.equal((await emu.upTo(expected, 'the emulator'))[0], realGreeting, 'greeting');
  for (const [text, replies] of PROBES) {
    real.sock.write(text);
    emu.sock.write(text);
    expected += replies;
    const r = await real.upTo(expected, 'QEMU');
    const e = await emu.upTo(expected, 'the emulator');
    assert.deepEqual(e.slice(expected - replies), r.slice(expected - replies), `answers to ${text}`);
  }
  await delay(200);
  assert.deepEqual(emu.got.slice(expected), real.got.slice(expected), 'nothing more from either');

  // A migration nobody receives: setup, the reply, failed (events are on from the probes), then why.
  const stamp = (l: string): string => l.replace(/"seconds": \d+, "microseconds": \d+/, '"seconds": S, "microseconds": U');
  for (const l of [real, emu]) l.sock.write('{"execute":"migrate","arguments":{"uri":"tcp:127.0.0.1:1"}}');
  expected += 3;
  const r = (await real.upTo(expected, 'QEMU')).slice(-3).map(stamp);
  assert.deepEqual((await emu.upTo(expected, 'the emulator')).slice(-3).map(stamp), r);
  for (const l of [real, emu]) l.sock.write('{"execute":"query-migrate"}');
  expected += 1;
  assert.equal((await emu.upTo(expected, 'the emulator')).at(-1), (await real.upTo(expected, 'QEMU')).at(-1));
});
