// Browser mode for real: a server on 127.0.0.1, node's fetch and raw http requests for the pages, node's `ws` for
// the socket (through the same adapter the browser renderer will use). Every refusal is checked with everything
// else right, so a 401 cannot be hiding a missing 403 and a 404 cannot be a 401 in disguise. The token travels only
// as a WebSocket subprotocol; no response ever sets a cookie.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { createClient, serve } from './rpc.js';
import { contract, fixtureHandlers, waitFor } from './test-support/fixture-contract.js';
import { connectWebSocket } from './ws-client.js';
import { OVERFLOW_CLOSE_CODE } from './ws-channel.js';
import { type BrowserServer, CSP, startBrowserServer } from './ws-server.js';
import { WS_PROTOCOL, tokenProtocols } from './ws-token.js';

let dir = '';
let srv: BrowserServer;
const probes: ReturnType<typeof fixtureHandlers>['probe'][] = [];
const serverErrors: unknown[] = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'colo-ws-'));
  const pub = path.join(dir, 'public');
  await mkdir(path.join(pub, 'assets'), { recursive: true });
  await writeFile(path.join(pub, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(path.join(pub, 'assets', 'app.js'), 'export {};');
  await writeFile(path.join(pub, 'assets', 'style.css'), 'body{}');
  await writeFile(path.join(pub, 'assets', 'index.html'), 'nested index');
  await writeFile(path.join(pub, '.env'), 'HIDDEN=1');
  await writeFile(path.join(dir, 'package.json'), '{"secret":"outside the static dir"}');
  await writeFile(path.join(dir, 'secret.txt'), 'outside the static dir');
  await symlink(path.join(dir, 'secret.txt'), path.join(pub, 'escape.txt'));
  srv = await startBrowserServer({
    staticDir: pub,
    onChannel: (channel) => {
      const { handlers, probe } = fixtureHandlers();
      probes.push(probe);
      serve(contract, handlers, channel, { flushIntervalMs: 16 });
    },
    onError: (err) => serverErrors.push(err),
  });
});

after(async () => {
  await srv.close();
  await rm(dir, { recursive: true, force: true });
});

const origin = () => `http://127.0.0.1:${srv.port}`;
const protocols = () => tokenProtocols(srv.token);

/** A raw GET: the path goes out byte for byte (fetch would normalise '..') and any Host can be claimed. */
function rawGet(target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: target, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

type Upgrade = { ok: true; ws: WebSocket } | { ok: false; status: number };

/** Attempts the WebSocket handshake and reports the HTTP status of a refusal. */
function tryUpgrade(url: string, offered: string[], options: WebSocket.ClientOptions): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, offered, options);
    ws.once('open', () => resolve({ ok: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ok: false, status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

const wsUrl = () => `ws://127.0.0.1:${srv.port}/rpc`;
const goodUpgrade = () => ({ origin: origin() });

/** The browser adapter over node's ws, as a browser would connect: from its own origin, offering what it is given. */
function browserLikeSocket(o: string = origin()) {
  return class extends WebSocket {
    constructor(url: string, offered?: string[]) {
      super(url, offered ?? [], { origin: o });
    }
  };
}

describe('listening', () => {
  test('binds 127.0.0.1 only: other addresses of this machine refuse the connection', async () => {
    assert.equal(srv.url, `http://127.0.0.1:${srv.port}/#token=${srv.token}`, 'the token is in the fragment, which browsers never send');
    const others = ['127.0.0.2'];
    for (const addrs of Object.values(os.networkInterfaces())) {
      for (const a of addrs ?? []) if (!a.internal && a.family === 'IPv4') others.push(a.address);
    }
    for (const host of others) {
      const outcome = await new Promise<string>((resolve) => {
        const s = net.connect({ host, port: srv.port });
        s.once('connect', () => {
          s.destroy();
          resolve('connected');
        });
        s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      assert.equal(outcome, 'ECONNREFUSED', `connect to ${host}`);
    }
  });

  test('refuses to listen anywhere but 127.0.0.1', async () => {
    for (const host of ['0.0.0.0', '::', 'localhost', '192.168.1.10']) {
      await assert.rejects(startBrowserServer({ staticDir: dir, host, onChannel: () => undefined }), /127\.0\.0\.1 only/);
    }
  });

  test('tokens are per launch: 32 random bytes, base64url', async () => {
    const other = await startBrowserServer({ staticDir: dir, onChannel: () => undefined });
    try {
      assert.match(srv.token, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(other.token, srv.token);
      assert.notEqual(other.port, srv.port);
    } finally {
      await other.close();
    }
  });

  test('connections beyond the cap are refused with 503', async () => {
    const capped = await startBrowserServer({ staticDir: dir, maxConnections: 1, onChannel: () => undefined });
    try {
      const opts = { origin: `http://127.0.0.1:${capped.port}` };
      const url = `ws://127.0.0.1:${capped.port}/rpc`;
      const first = await tryUpgrade(url, tokenProtocols(capped.token), opts);
      assert.ok(first.ok);
      assert.deepEqual(await tryUpgrade(url, tokenProtocols(capped.token), opts), { ok: false, status: 503 });
      first.ws.close();
    } finally {
      await capped.close();
    }
  });
});

describe('pages', () => {
  test('pages need no token and never set a cookie: they hold no secrets, the socket is what is guarded', async () => {
    for (const url of [`${origin()}/`, `${origin()}/?token=wrong`, `${origin()}/?token=${srv.token}`, srv.url]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      assert.equal(await res.text(), '<!doctype html><title>console</title>');
      assert.equal(res.headers.get('set-cookie'), null, url);
    }
  });

  test('every response carries the CSP, with base-uri none, and no cookie', async () => {
    assert.match(CSP, /(^|; )base-uri 'none'(;|$)/);
    assert.match(CSP, /(^|; )object-src 'none'(;|$)/);
    const res = await fetch(`${origin()}/`);
    assert.equal(res.headers.get('content-security-policy'), CSP);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');

    const js = await fetch(`${origin()}/assets/app.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('content-security-policy'), CSP);
    assert.equal(js.headers.get('set-cookie'), null);
    const css = await rawGet('/assets/style.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(css.headers['set-cookie'], undefined);
    const nested = await rawGet('/assets/');
    assert.equal(nested.body, 'nested index');
    const missing = await rawGet('/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['content-security-policy'], CSP);
  });

  test('a wrong Host header is 403 even with the right token (DNS rebinding)', async () => {
    for (const host of [`evil.example:${srv.port}`, '127.0.0.1', `127.0.0.1:${srv.port + 1}`, `localhost.evil:${srv.port}`]) {
      const res = await rawGet('/', { host });
      assert.equal(res.status, 403, host);
      assert.equal(res.body, 'Forbidden');
      assert.equal(res.headers['set-cookie'], undefined);
    }
    assert.equal((await rawGet('/', { host: `localhost:${srv.port}` })).status, 200, 'localhost:<port> is us too');
  });

  test('path traversal in every spelling is 404, and nothing from outside leaks', async () => {
    const attempts = [
      '/../package.json',
      '/../secret.txt',
      '/..%2fpackage.json',
      '/%2e%2e/package.json',
      '/%2E%2E%2Fpackage.json',
      '/%2e%2e%5cpackage.json',
      '/..%5c..%5csecret.txt',
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '//etc/passwd',
      '/%2fetc%2fpasswd',
      '/escape.txt',
      '/.env',
      '/%2eenv',
      '/index.html%00.js',
      '/%E0%A4%A',
      '/assets',
    ];
    for (const target of attempts) {
      const res = await rawGet(target);
      assert.equal(res.status, 404, target);
      assert.equal(res.body, 'Not Found', target);
    }
    const viaFetch = await fetch(`${origin()}/../package.json?token=${srv.token}`);
    assert.equal(viaFetch.status, 404);
    assert.doesNotMatch(await viaFetch.text(), /secret/);
  });

  test('only GET and HEAD', async () => {
    const head = await fetch(srv.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '37');
    const post = await fetch(srv.url, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
  });
});

describe('websocket', () => {
  test('the upgrade needs the token, offered as a subprotocol; not by query, not by cookie', async () => {
    const refused = { ok: false, status: 401 };
    assert.deepEqual(await tryUpgrade(wsUrl(), [], goodUpgrade()), refused, 'no token');
    assert.deepEqual(await tryUpgrade(wsUrl(), [WS_PROTOCOL], goodUpgrade()), refused, 'our protocol but no token');
    assert.deepEqual(await tryUpgrade(wsUrl(), tokenProtocols('nope'), goodUpgrade()), refused, 'a wrong token');
    assert.deepEqual(await tryUpgrade(wsUrl(), tokenProtocols(srv.token.slice(0, -1)), goodUpgrade()), refused, 'a truncated token');
    assert.deepEqual(await tryUpgrade(`${wsUrl()}?token=${srv.token}`, [WS_PROTOCOL], goodUpgrade()), refused, 'the token in the query');
    const byCookie = { origin: origin(), headers: { cookie: `colo-console-token-${srv.port}=${srv.token}` } };
    assert.deepEqual(await tryUpgrade(wsUrl(), [WS_PROTOCOL], byCookie), refused, 'the token as the old cookie');

    const good = await tryUpgrade(wsUrl(), protocols(), goodUpgrade());
    assert.ok(good.ok);
    // The server answers with its protocol name; the token is never echoed back.
    assert.equal(good.ws.protocol, WS_PROTOCOL);
    good.ws.close();
  });

  test('the upgrade needs our own Origin and Host', async () => {
    for (const o of ['http://evil.example', `http://127.0.0.1:${srv.port + 1}`, `https://127.0.0.1:${srv.port}`, 'null']) {
      assert.deepEqual(await tryUpgrade(wsUrl(), protocols(), { origin: o }), { ok: false, status: 403 }, o);
    }
    assert.deepEqual(await tryUpgrade(wsUrl(), protocols(), {}), { ok: false, status: 403 }, 'no Origin at all');
    const rebound = await tryUpgrade(wsUrl(), protocols(), { origin: `http://evil.example:${srv.port}`, headers: { host: `evil.example:${srv.port}` } });
    assert.deepEqual(rebound, { ok: false, status: 403 });
    assert.deepEqual(await tryUpgrade(`ws://127.0.0.1:${srv.port}/elsewhere`, protocols(), goodUpgrade()), { ok: false, status: 404 });
  });

  test('the browser adapter refuses to resolve on a refused handshake', async () => {
    await assert.rejects(connectWebSocket(wsUrl(), browserLikeSocket(), tokenProtocols('wrong')), /could not connect/);
    await assert.rejects(connectWebSocket(wsUrl(), browserLikeSocket(), [WS_PROTOCOL]), /could not connect/);
  });

  test('the contract over a real socket: calls, errors, and batched events', async () => {
    const channel = await connectWebSocket(wsUrl(), browserLikeSocket(), protocols());
    const frames: unknown[] = [];
    channel.onMessage((m) => frames.push(m));
    const client = createClient(contract, channel, { timeoutMs: 2000 });
    try {
      assert.deepEqual(await client.call('add', { a: 20, b: 22 }), { sum: 42 });
      await assert.rejects(client.call('fail', { how: 'crash' }), { code: 'internal', message: 'internal error' });

      const got: number[] = [];
      const sub = client.subscribe('cycles', undefined, (events) => got.push(...events.map((e) => e.seq)));
      await sub.ready;
      const sink = probes.at(-1)?.sinks.cycles[0];
      assert.ok(sink);
      const before = frames.length;
      for (let i = 0; i < 500; i++) sink.emit({ seq: i });
      await waitFor(() => got.length === 500, '500 events');
      assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => i));
      assert.ok(frames.length - before <= 2, `500 events took ${frames.length - before} frames`);
    } finally {
      client.close();
      channel.close();
    }
  });

  test('non-JSON text gets a bad-request error; the connection stays usable', async () => {
    const up = await tryUpgrade(wsUrl(), protocols(), goodUpgrade());
    assert.ok(up.ok);
    const replies: unknown[] = [];
    up.ws.on('message', (data: Buffer) => replies.push(JSON.parse(data.toString('utf8'))));
    up.ws.send('{not json');
    up.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'add', req: { a: 1, b: 2 } }));
    await waitFor(() => replies.length === 2, 'two replies');
    const refusal = replies[0] as { t: string; id: unknown; error: { code: string } };
    assert.equal(refusal.t, 'error');
    assert.equal(refusal.id, null);
    assert.equal(refusal.error.code, 'bad-request');
    assert.deepEqual(replies[1], { t: 'result', id: 1, res: { sum: 3 } });
    up.ws.close();
  });

  test('an oversize message closes that connection with 1009; the server carries on', async () => {
    const up = await tryUpgrade(wsUrl(), protocols(), goodUpgrade());
    assert.ok(up.ok);
    const closed = new Promise<number>((resolve) => up.ws.once('close', (code) => resolve(code)));
    up.ws.on('error', () => undefined); // the client side may see the reset too
    up.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'add', req: { a: 1, b: 2, pad: 'x'.repeat(1024 * 1024 + 1) } }));
    assert.equal(await closed, 1009);
    assert.ok(serverErrors.some((e) => /max(imum)? ?payload|too big|length/i.test(String(e))), String(serverErrors));

    const fresh = await connectWebSocket(wsUrl(), browserLikeSocket(), protocols());
    const client = createClient(contract, fresh);
    assert.deepEqual(await client.call('add', { a: 1, b: 1 }), { sum: 2 });
    fresh.close();
    assert.equal((await fetch(srv.url)).status, 200);
  });

  test('closing the socket ends the server side: sources are disposed', async () => {
    const channel = await connectWebSocket(wsUrl(), browserLikeSocket(), protocols());
    const client = createClient(contract, channel);
    await client.subscribe('gauge', undefined, () => undefined).ready;
    const probe = probes.at(-1);
    assert.ok(probe);
    channel.close();
    await waitFor(() => probe.disposed.includes('gauge'), 'the gauge source to be disposed');
    await assert.rejects(client.call('add', { a: 1, b: 1 }), { code: 'closed' });
  });
});

describe('a client that sends calls but does not read the replies', () => {
  /** A server of its own, with small bounds, and a raw client that has stopped reading its socket. */
  async function nonReader(limits: { maxBufferedBytes: number; hardLimitBytes?: number; hardLimitGraceMs?: number }) {
    const errors: unknown[] = [];
    let probe: ReturnType<typeof fixtureHandlers>['probe'] | undefined;
    const server = await startBrowserServer({
      staticDir: dir,
      ...limits,
      onChannel: (channel) => {
        const fixture = fixtureHandlers();
        probe = fixture.probe;
        serve(contract, fixture.handlers, channel, { flushIntervalMs: 16 });
      },
      onError: (err) => errors.push(err),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/rpc`, tokenProtocols(server.token), { origin: `http://127.0.0.1:${server.port}` });
    ws.on('error', () => undefined); // a cut connection is one of the outcomes under test
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', () => reject(new Error('handshake refused')));
    });
    ws.pause();
    const replies: unknown[] = [];
    ws.on('message', (data: Buffer) => replies.push(JSON.parse(data.toString('utf8'))));
    return { server, ws, errors, replies, calls: () => probe?.blobCalls ?? 0 };
  }

  /** Waits until `value` has not changed for `quietMs`, and returns it. */
  async function settled(value: () => number, quietMs = 400, maxMs = 10_000): Promise<number> {
    const deadline = Date.now() + maxMs;
    let last = value();
    let since = Date.now();
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const now = value();
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        return now;
      }
    }
    throw new Error(`still changing after ${maxMs} ms (at ${last})`);
  }

  test('the server stops reading it once replies back up, and carries on where it left off when it reads again', async () => {
    const { server, ws, replies, calls } = await nonReader({ maxBufferedBytes: 64 * 1024 });
    try {
      const n = 2000;
      const replyBytes = 64 * 1024;
      for (let id = 1; id <= n; id++) ws.send(JSON.stringify({ t: 'call', id, method: 'blob', req: { bytes: replyBytes } }));
      // The kernel's socket buffers take a few MB of replies; past that, the server reads no more calls.
      const handled = await settled(calls);
      assert.ok(handled < n / 2, `${handled} of ${n} calls handled while nobody read: reading did not stop`);
      assert.ok(handled > 0, 'no call handled at all');

      // Reading again: every call is answered, in order, nothing dropped.
      ws.resume();
      await waitFor(() => replies.length === n, `${n} replies`, 60_000);
      assert.equal(calls(), n);
      const ids = replies.map((r) => (r as { id: number }).id);
      assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i + 1));
      assert.ok(replies.every((r) => (r as { t: string; res: string }).t === 'result' && (r as { res: string }).res.length === replyBytes));
    } finally {
      ws.terminate();
      await server.close();
    }
  });

  test('staying past the hard bound closes the connection with 1008, the reason is logged, and other clients carry on', async () => {
    const hardLimitBytes = 1024 * 1024;
    const { server, ws, errors } = await nonReader({ maxBufferedBytes: 64 * 1024, hardLimitBytes, hardLimitGraceMs: 300 });
    try {
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      // Each reply alone is over the hard bound: once the kernel's buffers are full, the next one cannot fit.
      for (let id = 1; id <= 40; id++) ws.send(JSON.stringify({ t: 'call', id, method: 'blob', req: { bytes: 2 * hardLimitBytes } }));
      await waitFor(() => errors.some((e) => /closed a WebSocket: client is not reading its replies \(\d+\.\d MiB unsent\)/.test(String(e))), 'the overflow to be logged', 10_000);
      // It read nothing, so it cannot see the close frame; the socket is cut after the grace period.
      ws.resume();
      const code = await closed;
      assert.ok(code === OVERFLOW_CLOSE_CODE || code === 1006, `close code ${code}`);

      const fresh = await connectWebSocket(`ws://127.0.0.1:${server.port}/rpc`, browserLikeSocket(`http://127.0.0.1:${server.port}`), tokenProtocols(server.token));
      const client = createClient(contract, fresh, { timeoutMs: 5000 });
      assert.deepEqual(await client.call('add', { a: 2, b: 3 }), { sum: 5 });
      fresh.close();
    } finally {
      ws.terminate();
      await server.close();
    }
  });

  test('a client that reads gets a burst of replies over the hard bound without being closed', async () => {
    const hardLimitBytes = 1024 * 1024;
    const server = await startBrowserServer({
      staticDir: dir,
      maxBufferedBytes: 64 * 1024,
      hardLimitBytes,
      hardLimitGraceMs: 2000,
      onChannel: (channel) => serve(contract, fixtureHandlers().handlers, channel),
    });
    try {
      const channel = await connectWebSocket(`ws://127.0.0.1:${server.port}/rpc`, browserLikeSocket(`http://127.0.0.1:${server.port}`), tokenProtocols(server.token));
      const client = createClient(contract, channel, { timeoutMs: 20_000 });
      // Four replies, each twice the hard bound, asked for at once: briefly far over it, and drained by a reader.
      const replies = await Promise.all([1, 2, 3, 4].map(() => client.call('blob', { bytes: 2 * hardLimitBytes })));
      assert.deepEqual(replies.map((r) => r.length), [1, 2, 3, 4].map(() => 2 * hardLimitBytes));
      assert.deepEqual(await client.call('add', { a: 1, b: 1 }), { sum: 2 });
      channel.close();
    } finally {
      await server.close();
    }
  });
});
