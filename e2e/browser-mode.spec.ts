// Browser mode's token, in real Chromium: it arrives in the URL fragment, moves to sessionStorage, leaves the
// address bar, and is never sent anywhere but our own WebSocket: not to another server on 127.0.0.1 (cookies are
// not scoped by port, which is why there is no cookie at all), not in a Referer. A page opened without it says
// where to find the right address.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, T, test } from './support/test.js';

test.skip(({ shell }) => shell !== 'browser', 'browser mode only: the desktop app has no port and no token');

interface Seen {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** Another web server on 127.0.0.1, as any other local service would be, recording what browsers send it. */
async function otherServer(): Promise<{ origin: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>another local service</title><h1>another local service</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('the token stays with the console: no cookie, gone from the address bar, never sent to another port', async ({ page, ui }) => {
  await ui.overviewLoaded();
  const consoleOrigin = new URL(page.url()).origin;
  expect(page.url()).not.toContain('token');
  const token = await page.evaluate(() => sessionStorage.getItem('colo-console-token'));
  expect(token, 'the token is kept in sessionStorage').toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(await page.context().cookies(), 'no cookie of any kind').toEqual([]);
  expect(await page.evaluate(() => document.cookie)).toBe('');

  // A reload keeps working: the token is still in this tab's sessionStorage.
  await page.reload();
  await ui.overviewLoaded();
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-phase', 'open', { timeout: T.load });

  const other = await otherServer();
  try {
    // Leave the console by a link, as an admin following one would, then visit the other server directly.
    await page.evaluate((href) => {
      const a = document.createElement('a');
      a.href = `${href}/from-a-link`;
      a.textContent = 'elsewhere';
      document.body.append(a);
      a.click();
    }, other.origin);
    await expect(page.getByRole('heading', { name: 'another local service' })).toBeVisible({ timeout: T.load });
    await page.goto(`${other.origin}/typed`);
    await expect(page.getByRole('heading', { name: 'another local service' })).toBeVisible({ timeout: T.load });

    expect(other.seen.map((s) => s.url)).toEqual(expect.arrayContaining(['/from-a-link', '/typed']));
    for (const { url, headers } of other.seen) {
      expect(headers.cookie, `a cookie sent with ${url}`).toBeUndefined();
      // Its own pages may name themselves (its favicon's Referer); the console's address must never appear.
      expect(headers.referer ?? '', `the Referer sent with ${url}`).not.toContain(consoleOrigin);
      expect(url).not.toContain(token!);
      for (const [name, value] of Object.entries(headers)) {
        expect(String(value), `header ${name} of ${url}`).not.toContain(token!);
      }
    }
    expect(await page.context().cookies([consoleOrigin, other.origin])).toEqual([]);
  } finally {
    await other.close();
  }
});

test('a page opened without the token says where to find the right address', async ({ page, ui }) => {
  await ui.overviewLoaded();
  const origin = new URL(page.url()).origin;
  // A fresh tab: its own sessionStorage, so nothing carries over from the console's tab.
  const tab = await page.context().newPage();
  try {
    const res = await tab.goto(`${origin}/`);
    expect(res?.status()).toBe(200);
    const notice = tab.getByTestId('missing-token');
    await expect(notice).toBeVisible({ timeout: T.load });
    await expect(notice.getByRole('heading', { level: 1 })).toHaveText('Open the console from the address it printed');
    await expect(notice).toContainText('COLO Console (browser mode) is at http://127.0.0.1:PORT/#token=…');
    await expect(notice).toContainText('colo-console serve');
    await expect(notice).toContainText('npm start');
    await expect(tab.getByText('Unauthorized')).toHaveCount(0);
    await expect(tab.getByTestId('nav-overview')).toHaveCount(0);
    const shot = test.info().outputPath('missing-token.png');
    await tab.screenshot({ path: shot, fullPage: true });
    await test.info().attach('missing-token', { path: shot, contentType: 'image/png' });

    // The right address in that same tab (only the fragment changes, so no reload happens by itself) opens it.
    const token = await page.evaluate(() => sessionStorage.getItem('colo-console-token'));
    await tab.goto(`${origin}/#token=${token}`);
    await expect(tab.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible({ timeout: T.load });
    await expect(tab.getByTestId('connection-status')).toHaveAttribute('data-phase', 'open', { timeout: T.load });
    expect(tab.url()).not.toContain('token');
  } finally {
    await tab.close();
  }
});
