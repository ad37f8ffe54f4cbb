// Browser mode's memory with a client that sends calls and never reads the replies: the real `serve` in a child
// process, a raw WebSocket that has paused its socket, 100,000 `pairs.list` calls, and the server's resident set
// read from /proc. Before replies obeyed backpressure, such a client grew the server by gigabytes; now the server
// stops reading it and the growth is bounded. This is a bound, not a timing: it holds however slow the machine.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import WebSocket from 'ws';
import { tokenProtocols } from '../api/ws-token.js';
import { RENDERER_INDEX, type RunningServer, startServer } from './serve-process.js';

const CALLS = 100_000;
const MAX_GROWTH_MB = 100;

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Bytes waiting in the server's kernel receive queue on the connection from `clientPort` to `serverPort`
 * (/proc/net/tcp's rx_queue): what the server has not read. The kernel buffers several MB on loopback, so the
 * client's own send queue can empty although the server has stopped reading; this queue cannot.
 */
function serverUnread(serverPort: number, clientPort: number): number {
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5) continue;
    if (f[1]!.endsWith(`:${hex(serverPort)}`) && f[2]!.endsWith(`:${hex(clientPort)}`)) return parseInt(f[4]!.split(':')[1]!, 16);
  }
  return 0;
}

function connect(server: RunningServer): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.origin.replace('http:', 'ws:')}/rpc`, tokenProtocols(server.token), { origin: server.origin });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
  });
}

/** One call and its reply, on a client that reads. */
function call(ws: WebSocket, id: number, method: string): Promise<{ t: string; res?: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${method}: no reply within 10 s`)), 10_000);
    const onMessage = (data: Buffer): void => {
      const msg = JSON.parse(data.toString('utf8')) as { t: string; id: number; res?: unknown };
      if (msg.id !== id) return;
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(msg);
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ t: 'call', id, method, req: {} }));
  });
}

const skip = process.platform !== 'linux'
  ? 'reads the server\'s memory from /proc, which only Linux has'
  : !existsSync(RENDERER_INDEX)
    ? `the UI is not built (${RENDERER_INDEX} is missing): run 'npm run build:renderer' first`
    : false;

test(`a client that never reads: ${CALLS.toLocaleString('en')} calls grow the server by at most ${MAX_GROWTH_MB} MB, and every call is answered once it reads`, { skip, timeout: 240_000 }, async () => {
  const server = await startServer({ demo: false });
  const sockets: WebSocket[] = [];
  try {
    // Warm up first (code loaded, one reply made), so the baseline is the server at work, not the server idle.
    const reader = await connect(server);
    sockets.push(reader);
    const list = await call(reader, 1, 'pairs.list');
    assert.equal(list.t, 'result');
    const replyBytes = JSON.stringify(list).length;
    assert.ok(replyBytes > 500, `a pairs.list reply is ${replyBytes} bytes: too small to show anything`);
    await sleep(500);
    const baseline = rssMb(server.pid);
    let peak = baseline;
    const sample = (): void => {
      peak = Math.max(peak, rssMb(server.pid));
    };

    const hog = await connect(server);
    sockets.push(hog);
    hog.pause();
    let replies = 0;
    hog.on('message', () => replies++);
    const frame = (id: number): string => JSON.stringify({ t: 'call', id, method: 'pairs.list', req: {} });
    for (let id = 1; id <= CALLS; id++) {
      hog.send(frame(id));
      if (id % 5000 === 0) {
        sample();
        await sleep(0);
      }
    }
    // Unbounded, the replies would be CALLS × replyBytes.
    const unboundedMb = (CALLS * replyBytes) / 1024 / 1024;
    assert.ok(unboundedMb > MAX_GROWTH_MB, `the replies total only ${unboundedMb.toFixed(0)} MB`);

    // Until the server has stopped taking calls: what the client has queued stops shrinking.
    let queued = hog.bufferedAmount;
    for (let still = 0; still < 10; ) {
      await sleep(200);
      sample();
      still = hog.bufferedAmount === queued ? still + 1 : 0;
      queued = hog.bufferedAmount;
    }
    // And a while longer, for calls the server took but has not answered yet.
    for (let i = 0; i < 10; i++) {
      await sleep(200);
      sample();
    }
    const stalled = peak - baseline;
    assert.ok(stalled <= MAX_GROWTH_MB, `the server grew by ${stalled.toFixed(1)} MB (from ${baseline.toFixed(1)} MB) holding replies nobody read`);
    const unread = serverUnread(Number(new URL(server.origin).port), (hog as unknown as { _socket: { localPort: number } })._socket.localPort);
    assert.ok(queued > 0 || unread > 0, `the server read every call although nobody read a reply (client queue ${queued} B, server's unread ${unread} B)`);
    // Meanwhile the server serves others.
    assert.equal((await call(reader, 2, 'pairs.list')).t, 'result');

    // Reading again: every call gets its reply, and memory stays within the bound throughout.
    hog.resume();
    const deadline = Date.now() + 180_000;
    while (replies < CALLS) {
      if (Date.now() > deadline) throw new Error(`only ${replies} of ${CALLS} replies after 180 s`);
      await sleep(250);
      sample();
    }
    const growth = peak - baseline;
    process.stdout.write(`# RSS ${baseline.toFixed(1)} MB at rest; +${stalled.toFixed(1)} MB while not read; peak +${growth.toFixed(1)} MB over ${CALLS} calls (${unboundedMb.toFixed(0)} MB of replies); while stopped, ${queued} B queued at the client and ${unread} B unread at the server\n`);
    assert.ok(growth <= MAX_GROWTH_MB, `the server grew by ${growth.toFixed(1)} MB (from ${baseline.toFixed(1)} MB)`);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- server output ---\n${server.log()}`, { cause: err });
  } finally {
    for (const ws of sockets) ws.terminate();
    await server.stop();
    rmSync(server.dataDir, { recursive: true, force: true });
  }
});
