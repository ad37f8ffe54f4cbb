// Issue 7 §3–§4: the alarm reaches the admin wherever they are, sits above the fold, and the console never shows
// a state it no longer knows.

import { HOST_A, HOST_B } from './support/console.js';
import { DEMO, T, expect, test } from './support/test.js';

test('sitting on the Audit screen, a link cut from another tab raises a notice, a nav count and a title prefix', async ({ page, ui, consoleApp }) => {
  test.skip(consoleApp.url === null, 'a second tab needs browser mode (the Electron shell has one window)');
  await ui.overviewLoaded();
  await ui.go('audit');
  await expect(page).toHaveTitle('COLO Console');
  await expect(page.getByTestId('nav-alert-count')).toHaveCount(0);

  // Another tab, on the same console: open the pair and cut its link.
  const other = await page.context().newPage();
  try {
    await other.goto(consoleApp.url!);
    await other.getByRole('link', { name: DEMO.name, exact: true }).click();
    await expect(other.getByTestId('protection-badge').first()).toHaveAttribute('data-state', 'protected', { timeout: T.load });
    await other.getByTestId('fault-cut-link').click();
  } finally {
    await other.close();
  }

  // Back on the Audit screen, untouched: the notice says which VM, what happened, where it runs now.
  const alert = ui.alert();
  await expect(alert).toContainText(`Split brain: ${DEMO.name}`, { timeout: T.detect });
  await expect(alert).toContainText(`${DEMO.name} is running on both ${HOST_A.name} and ${HOST_B.name}.`);
  await expect(page.getByTestId('nav-alert-count')).toHaveText('1');
  await expect(page).toHaveTitle('(1) ⚠ COLO Console');
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  await ui.shot('alert-on-audit');

  // It links to the pair.
  await alert.getByRole('link').click();
  await expect(page).toHaveURL(/#\/pair\/demo$/);
  await expect(ui.alarmBanner()).toHaveAttribute('data-kind', 'split-brain');
  await expect(page).toHaveTitle(`(1) ⚠ ${DEMO.name} · COLO Console`);

  // Dismissed, it stays dismissed for this fault.
  await alert.getByRole('button', { name: /Dismiss/ }).click();
  await expect(ui.alert()).toHaveCount(0);
  await expect(page).toHaveTitle(`${DEMO.name} · COLO Console`);
});

test('a desktop notification, once allowed, names the VM, what happened and where it runs; a click opens the pair', async ({ page, ui, consoleApp }) => {
  test.skip(consoleApp.mode === 'electron', 'Electron grants notifications itself; the control and the permission prompt are browser mode');
  // Record what the page hands to the real Notification API (the OS side of it is the browser's).
  await page.addInitScript(() => {
    const Real = window.Notification;
    const seen: { title: string; body: string }[] = [];
    (window as unknown as { __notifications: typeof seen }).__notifications = seen;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        seen.push({ title, body: options?.body ?? '' });
        (window as unknown as { __lastNotification: Notification }).__lastNotification = this;
      }
    }
    window.Notification = Recorded;
  });
  await page.reload();
  await ui.overviewLoaded();
  await page.context().grantPermissions(['notifications']);
  const enable = page.getByTestId('enable-desktop-alerts');
  await expect(enable).toBeVisible();
  await enable.click();
  await expect(enable).toHaveCount(0);

  await ui.openPair();
  await ui.expectState('Protected', 'protected');
  await ui.inject('cut-link');
  await ui.expectState('Split brain', 'error', T.detect);
  await ui.go('hosts');
  const notes = await page.evaluate(() => (window as unknown as { __notifications: { title: string; body: string }[] }).__notifications);
  const split = notes.find((n) => n.title.includes('Split brain'));
  expect(split, `notifications: ${JSON.stringify(notes)}`).toBeDefined();
  expect(split!.title).toBe(`Split brain: ${DEMO.name}`);
  expect(split!.body).toBe(`Split brain: ${DEMO.name} is running on both ${HOST_A.name} and ${HOST_B.name}.`);
  // Its click leads to the pair.
  await page.evaluate(() => {
    const n = (window as unknown as { __lastNotification: Notification }).__lastNotification;
    n.onclick?.call(n, new Event('click'));
  });
  await expect(page).toHaveURL(/#\/pair\/demo$/);
});

test('the alarm banner and its actions sit above the fold at 1280×720', async ({ page, ui }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await ui.overviewLoaded();
  await ui.openPair();
  await ui.expectState('Protected', 'protected');
  await ui.inject('cut-link');
  await ui.expectState('Split brain', 'error', T.detect);
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const part of [ui.alarmBanner(), ui.alarmBanner().getByTestId('alarm-keep-primary'), ui.alarmBanner().getByTestId('alarm-keep-secondary')]) {
    const box = await part.boundingBox();
    expect(box, 'the banner is laid out').not.toBeNull();
    expect(box!.y, 'top within the window').toBeGreaterThanOrEqual(0);
    expect(box!.y + box!.height, 'bottom above the fold').toBeLessThanOrEqual(720);
  }
  await page.screenshot({ path: test.info().outputPath('banner-1280x720.png') });
});

test('service gone: every state shown becomes unknown, with the time it was lost', async ({ page, ui, consoleApp }) => {
  test.skip(consoleApp.mode === 'electron', 'in the Electron shell the service is the app itself');
  await ui.overviewLoaded();
  await ui.openPair();
  await ui.expectState('Protected', 'protected');
  await consoleApp.stopService();

  const unknown = /^unknown \(console disconnected since \d\d:\d\d:\d\d\)$/;
  await expect(ui.badge()).toHaveAttribute('data-state', 'unknown', { timeout: T.state });
  await expect(ui.badge()).toHaveText(unknown);
  await expect(ui.badge()).not.toHaveAttribute('data-tone', 'ok');
  await expect(ui.runsOn()).toContainText('unknown (console disconnected since');
  await ui.shot('disconnected-pair');

  await ui.go('overview');
  await expect(ui.badge(ui.pairRow())).toHaveText(unknown);
  await expect(page.getByText(/state unknown \(console disconnected since/)).toBeVisible();

  await ui.go('hosts');
  const statuses = page.getByTestId('host-status');
  await expect(statuses.first()).toHaveAttribute('data-status', 'unknown');
  for (const s of await statuses.all()) await expect(s).toHaveText(unknown);
  // No "connected" and no "Protected" left anywhere on screen.
  await expect(page.getByText('Protected', { exact: true })).toHaveCount(0);
});
