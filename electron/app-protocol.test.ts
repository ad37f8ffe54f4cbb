import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveAppRequest } from './app-protocol.js';
import { CONTENT_SECURITY_POLICY } from './constants.js';

describe('resolveAppRequest', () => {
  let base: string;
  let root: string;

  before(async () => {
    base = await realpath(await mkdtemp(path.join(tmpdir(), 'colo-app-protocol-')));
    root = path.join(base, 'renderer');
    await mkdir(path.join(root, 'assets'), { recursive: true });
    await writeFile(path.join(root, 'index.html'), '<!doctype html><title>COLO Console</title>');
    await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    await writeFile(path.join(root, 'assets', 'app.css'), 'body{}');
    await writeFile(path.join(root, '.env'), 'SECRET=1');
    await writeFile(path.join(base, 'secret.txt'), 'outside');
    await symlink(path.join(base, 'secret.txt'), path.join(root, 'assets', 'link.js'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const get = (url: string, method = 'GET') => resolveAppRequest(root, method, url);

  test('serves the entry page and assets with their types', async () => {
    const index = await get('app://colo-console/index.html');
    assert.equal(index.status, 200);
    assert.equal(index.file, path.join(root, 'index.html'));
    assert.equal(index.headers['Content-Type'], 'text/html; charset=utf-8');
    assert.equal((await get('app://colo-console/')).file, path.join(root, 'index.html'));
    assert.equal((await get('app://colo-console')).file, path.join(root, 'index.html'));
    const js = await get('app://colo-console/assets/app.js?v=1#x');
    assert.equal(js.file, path.join(root, 'assets', 'app.js'));
    assert.equal(js.headers['Content-Type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['Content-Length'], '14');
    assert.equal((await get('app://colo-console/assets/app.css')).headers['Content-Type'], 'text/css; charset=utf-8');
  });

  test('every answer carries the CSP and nosniff, errors included', async () => {
    for (const url of ['app://colo-console/index.html', 'app://colo-console/nope.js', 'app://other/', 'bad']) {
      const answer = await get(url);
      assert.equal(answer.headers['Content-Security-Policy'], CONTENT_SECURITY_POLICY, url);
      assert.equal(answer.headers['X-Content-Type-Options'], 'nosniff', url);
    }
  });

  test('a client-side route gets index.html; a missing file does not', async () => {
    assert.equal((await get('app://colo-console/pairs/vm-1')).file, path.join(root, 'index.html'));
    assert.equal((await get('app://colo-console/assets/missing.js')).status, 404);
    assert.equal((await get('app://colo-console/favicon.ico')).status, 404);
  });

  test('nothing outside the directory, however the path is spelled', async () => {
    for (const url of [
      'app://colo-console/../secret.txt',
      'app://colo-console/%2e%2e/secret.txt',
      'app://colo-console/assets/..%2f..%2fsecret.txt',
      'app://colo-console/assets%2f..%2f..%2fsecret.txt',
      'app://colo-console/..%5c..%5csecret.txt',
      'app://colo-console/assets\\..\\..\\secret.txt',
      'app://colo-console/%00/index.html',
      'app://colo-console/assets/link.js',
      'app://colo-console/.env',
      'app://colo-console/assets/',
      'app://colo-console/assets',
    ]) {
      // Refused, or (a path that looks like a client-side route) the entry page: never anything else.
      const answer = await get(url);
      if (answer.status === 200) assert.equal(answer.file, path.join(root, 'index.html'), url);
      else assert.equal(answer.file, undefined, url);
    }
  });

  test('a symlink out of the directory, a hidden file and a climbing path are refused outright', async () => {
    assert.equal((await get('app://colo-console/assets/link.js')).status, 404);
    assert.equal((await get('app://colo-console/.env')).status, 404);
    assert.equal((await get('app://colo-console/../secret.txt')).status, 404);
    assert.equal((await get('app://colo-console/assets/..%2f..%2fsecret.txt')).status, 404);
  });

  test('only our host, no credentials, only GET and HEAD', async () => {
    assert.equal((await get('app://evil/index.html')).status, 400);
    assert.equal((await get('app://colo-console.evil/index.html')).status, 400);
    assert.equal((await get('app://u:p@colo-console/index.html')).status, 400);
    assert.equal((await get('https://colo-console/index.html')).status, 400);
    assert.equal((await get('not a url')).status, 400);
    const post = await get('app://colo-console/index.html', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.Allow, 'GET, HEAD');
    const head = await get('app://colo-console/index.html', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headOnly, true);
  });
});
