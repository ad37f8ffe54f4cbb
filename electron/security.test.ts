import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APP_ENTRY_URL, CONTENT_SECURITY_POLICY } from './constants.js';
import { checkSender, isAppUrl, navigationAllowed, permissionAllowed } from './security.js';

describe('isAppUrl', () => {
  test('accepts pages of our own origin', () => {
    for (const url of [APP_ENTRY_URL, 'app://colo-console/', 'app://colo-console', 'app://colo-console/pairs/vm-1?x=1#top']) {
      assert.equal(isAppUrl(url), true, url);
    }
  });

  test('refuses look-alikes and other schemes, decided by parsing rather than by prefix', () => {
    for (const url of [
      'app://colo-console.evil/index.html',
      'app://colo-consolex/',
      'app://evil/colo-console/',
      'app://user@colo-console/',
      'app://user:pw@colo-console/',
      'app://colo-console:8080/',
      'apps://colo-console/',
      'file:///work/main/out/renderer/index.html',
      'http://colo-console/',
      'https://colo-console/',
      'devtools://devtools/bundled/inspector.html',
      'about:blank',
      'data:text/html,<h1>x</h1>',
      'javascript:alert(1)',
      '',
      'not a url',
    ]) {
      assert.equal(isAppUrl(url), false, url);
    }
  });
});

describe('checkSender', () => {
  const ours = { webContentsId: 7, frame: { url: APP_ENTRY_URL, isMainFrame: true } };

  test('accepts the main frame of our window showing our page', () => {
    assert.deepEqual(checkSender(ours, 7), { ok: true });
  });

  test('refuses another webContents, and everything while there is no window', () => {
    assert.equal(checkSender({ ...ours, webContentsId: 8 }, 7).ok, false);
    assert.equal(checkSender(ours, null).ok, false);
  });

  test('refuses a subframe, a frame that has gone, and a page of another origin', () => {
    const sub = checkSender({ ...ours, frame: { url: APP_ENTRY_URL, isMainFrame: false } }, 7);
    assert.deepEqual(sub, { ok: false, reason: 'message from a subframe' });
    assert.equal(checkSender({ ...ours, frame: null }, 7).ok, false);
    assert.equal(checkSender({ ...ours, frame: { url: 'https://example.com/', isMainFrame: true } }, 7).ok, false);
    assert.equal(checkSender({ ...ours, frame: { url: 'file:///etc/passwd', isMainFrame: true } }, 7).ok, false);
  });

  test('gives each kind of refusal its own reason, for the log-once rule', () => {
    const reasons = new Set(
      [
        checkSender({ ...ours, webContentsId: 8 }, 7),
        checkSender({ ...ours, frame: null }, 7),
        checkSender({ ...ours, frame: { url: APP_ENTRY_URL, isMainFrame: false } }, 7),
        checkSender({ ...ours, frame: { url: 'https://example.com/', isMainFrame: true } }, 7),
      ].map((v) => (v.ok ? 'ok' : v.reason)),
    );
    assert.equal(reasons.size, 4);
  });
});

describe('navigation and permissions', () => {
  test('navigation only within our own origin', () => {
    assert.equal(navigationAllowed('app://colo-console/index.html'), true);
    assert.equal(navigationAllowed('https://example.com/'), false);
    assert.equal(navigationAllowed('file:///'), false);
    assert.equal(navigationAllowed('app://colo-console.example/'), false);
  });

  test('permissions: only clipboard writes, and only from our page', () => {
    assert.equal(permissionAllowed('clipboard-sanitized-write', 'app://colo-console/index.html'), true);
    assert.equal(permissionAllowed('clipboard-sanitized-write', 'app://colo-console'), true);
    assert.equal(permissionAllowed('clipboard-sanitized-write', 'https://example.com/'), false);
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'usb', 'hid', 'serial', 'unknown']) {
      assert.equal(permissionAllowed(permission, 'app://colo-console/index.html'), false, permission);
    }
  });
});

describe('content security policy', () => {
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name = '', ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );

  test('has the directives the renderer is built for', () => {
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.deepEqual(directives.get('script-src'), ["'self'"]);
    assert.deepEqual(directives.get('style-src'), ["'self'", "'unsafe-inline'"]);
    assert.deepEqual(directives.get('img-src'), ["'self'", 'data:']);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  });

  test('never allows eval, inline scripts or remote origins', () => {
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|wasm-unsafe-eval|https?:|\*/);
    assert.doesNotMatch(directives.get('script-src')?.join(' ') ?? '', /unsafe-inline/);
  });
});
