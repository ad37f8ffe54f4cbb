// Browser mode for real: a server on 127.0.0.1, node's fetch and raw http requests for the pages, node's `ws` for
// the socket (through the same adapter the browser renderer will use). Every refusal is checked with everything
// else right, so a 401 cannot be hiding a missing 403 and a 404 cannot be a 401 in disguise.

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
import { type BrowserServer, CSP, startBrowserServer } from './ws-server.js';

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
const cookie = () => `colo-console-token-${srv.port}=${srv.token}`;

/** A raw GET: the path goes out byte for byte (fetch would normalise '..') and any Host can be claimed. */
function rawGet(target: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: target, headers: { cookie: cookie(), ...headers } }, (res) => {
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
function tryUpgrade(url: string, options: WebSocket.ClientOptions): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
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
const goodUpgrade = () => ({ origin: origin(), headers: { cookie: cookie() } });

/** The browser adapter over node's ws, as a browser would connect: its cookie and its own origin. */
function browserLikeSocket(extra: { origin?: string; cookie?: string } = {}) {
  const o = extra.origin ?? origin();
  const c = extra.cookie ?? cookie();
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { origin: o, headers: { cookie: c } });
    }
  };
}

describe('listening', () => {
  test('binds 127.0.0.1 only: other addresses of this machine refuse the connection', async () => {
    assert.match(srv.url, new RegExp(`^http://127\\.0\\.0\\.1:${srv.port}/\\?token=`));
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
      const url = `ws://127.0.0.1:${capped.port}/rpc?token=${capped.token}`;
      const first = await tryUpgrade(url, opts);
      assert.ok(first.ok);
      assert.deepEqual(await tryUpgrade(url, opts), { ok: false, status: 503 });
      first.ws.close();
    } finally {
      await capped.close();
    }
  });
});

describe('pages', () => {
  test('no token or a wrong token: 401 with no detail and no cookie', async () => {
    for (const url of [`${origin()}/`, `${origin()}/?token=wrong`, `${origin()}/?token=${srv.token.slice(0, -1)}`]) {
      const res = await fetch(url);
      assert.equal(res.status, 401, url);
      assert.equal(await res.text(), 'Unauthorized');
      assert.equal(res.headers.get('set-cookie'), null);
    }
    const wrongCookie = await rawGet('/', { cookie: `colo-console-token-${srv.port}=nope` });
    assert.equal(wrongCookie.status, 401);
  });

  test('the right token: 200, the CSP, and an HttpOnly SameSite=Strict cookie that then suffices', async () => {
    const res = await fetch(srv.url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '<!doctype html><title>console</title>');
    assert.equal(res.headers.get('content-security-policy'), CSP);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, new RegExp(`^colo-console-token-${srv.port}=${srv.token};`));
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);

    const js = await fetch(`${origin()}/assets/app.js`, { headers: { cookie: setCookie.split(';')[0] ?? '' } });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('content-security-policy'), CSP);
    assert.equal(js.headers.get('set-cookie'), null, 'the cookie is only set from the query token');
    const css = await rawGet('/assets/style.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const nested = await rawGet('/assets/');
    assert.equal(nested.body, 'nested index');
  });

  test('a wrong Host header is 403 even with the right token (DNS rebinding)', async () => {
    for (const host of [`evil.example:${srv.port}`, '127.0.0.1', `127.0.0.1:${srv.port + 1}`, `localhost.evil:${srv.port}`]) {
      const res = await rawGet(`/?token=${srv.token}`, { host });
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
  test('the upgrade needs the token, by cookie or query', async () => {
    const none = await tryUpgrade(wsUrl(), { origin: origin() });
    assert.deepEqual(none, { ok: false, status: 401 });
    const wrong = await tryUpgrade(`${wsUrl()}?token=nope`, { origin: origin(), headers: { cookie: `colo-console-token-${srv.port}=nope` } });
    assert.deepEqual(wrong, { ok: false, status: 401 });
    const byCookie = await tryUpgrade(wsUrl(), goodUpgrade());
    assert.equal(byCookie.ok, true);
    if (byCookie.ok) byCookie.ws.close();
    const byQuery = await tryUpgrade(`${wsUrl()}?token=${srv.token}`, { origin: origin() });
    assert.equal(byQuery.ok, true);
    if (byQuery.ok) byQuery.ws.close();
  });

  test('the upgrade needs our own Origin and Host', async () => {
    for (const o of ['http://evil.example', `http://127.0.0.1:${srv.port + 1}`, `https://127.0.0.1:${srv.port}`, 'null']) {
      assert.deepEqual(await tryUpgrade(wsUrl(), { origin: o, headers: { cookie: cookie() } }), { ok: false, status: 403 }, o);
    }
    assert.deepEqual(await tryUpgrade(wsUrl(), { headers: { cookie: cookie() } }), { ok: false, status: 403 }, 'no Origin at all');
    const rebound = await tryUpgrade(wsUrl(), { origin: `http://evil.example:${srv.port}`, headers: { cookie: cookie(), host: `evil.example:${srv.port}` } });
    assert.deepEqual(rebound, { ok: false, status: 403 });
    assert.deepEqual(await tryUpgrade(`ws://127.0.0.1:${srv.port}/elsewhere`, goodUpgrade()), { ok: false, status: 404 });
  });

  test('the browser adapter refuses to resolve on a refused handshake', async () => {
    await assert.rejects(connectWebSocket(wsUrl(), browserLikeSocket({ cookie: 'x=y' })), /could not connect/);
  });

  test('the contract over a real socket: calls, errors, and batched events', async () => {
    const channel = await connectWebSocket(wsUrl(), browserLikeSocket());
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
    const up = await tryUpgrade(wsUrl(), goodUpgrade());
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
    const up = await tryUpgrade(wsUrl(), goodUpgrade());
    assert.ok(up.ok);
    const closed = new Promise<number>((resolve) => up.ws.once('close', (code) => resolve(code)));
    up.ws.on('error', () => undefined); // the client side may see the reset too
    up.ws.send(JSON.stringify({ t: 'call', id: 1, method: 'add', req: { a: 1, b: 2, pad: 'x'.repeat(1024 * 1024 + 1) } }));
    assert.equal(await closed, 1009);
    assert.ok(serverErrors.some((e) => /max(imum)? ?payload|too big|length/i.test(String(e))), String(serverErrors));

    const fresh = await connectWebSocket(wsUrl(), browserLikeSocket());
    const client = createClient(contract, fresh);
    assert.deepEqual(await client.call('add', { a: 1, b: 1 }), { sum: 2 });
    fresh.close();
    assert.equal((await fetch(srv.url)).status, 200);
  });

  test('closing the socket ends the server side: sources are disposed', async () => {
    const channel = await connectWebSocket(wsUrl(), browserLikeSocket());
    const client = createClient(contract, channel);
    await client.subscribe('gauge', undefined, () => undefined).ready;
    const probe = probes.at(-1);
    assert.ok(probe);
    channel.close();
    await waitFor(() => probe.disposed.includes('gauge'), 'the gauge source to be disposed');
    await assert.rejects(client.call('add', { a: 1, b: 1 }), { code: 'closed' });
  });
});
