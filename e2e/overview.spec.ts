// The first thing an admin sees: the demo pair protected, checkpoints arriving, and the pair's own view with its
// live timeline.

import { DEMO, T, expect, test } from './support/test.js';
import { Console, HOST_A, HOST_B } from './support/console.js';

test('the overview shows demo-vm protected, with checkpoints arriving', async ({ page, ui }) => {
  await ui.overviewLoaded();
  const row = ui.pairRow();
  await expect(row.getByRole('link', { name: DEMO.name, exact: true })).toBeVisible();
  await ui.expectState('Protected', 'protected', T.state, row);
  await expect(page.getByText(/^1 pair: 1 protected/)).toBeVisible();

  // "Last checkpoint": an age and the checkpoint's number, which keeps growing.
  const lastCheckpoint = row.getByRole('cell').nth(2);
  await expect(lastCheckpoint).toHaveText(/(just now|\d+ s ago)\s*#\d+/, { timeout: T.cycles });
  const first = Console.seqOf(await lastCheckpoint.textContent());
  const later = await ui.expectSeqAbove(lastCheckpoint, first);
  await ui.expectSeqAbove(lastCheckpoint, later);

  // Issue 7: the simulator has two hosts, shown by name; the demo pair starts on A, protected by B.
  await expect(row.getByRole('cell').nth(5)).toHaveText(HOST_A.name);
  await expect(row.getByRole('cell').nth(6)).toHaveText(HOST_B.name);
  await expect(page.getByTestId('connection-status')).toHaveAttribute('data-phase', 'open');
  await ui.shot('overview');
});

test('the pair view shows the phase timeline and cycles arriving', async ({ page, ui }) => {
  await ui.overviewLoaded();
  // Keyboard: focus the pair's link and press Enter.
  await page.getByRole('link', { name: DEMO.name, exact: true }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeVisible({ timeout: T.load });
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeFocused();
  await expect(page).toHaveURL(/#\/pair\/demo$/);
  await expect(page).toHaveTitle(`${DEMO.name} · COLO Console`);

  await ui.expectState('Protected', 'protected');
  await expect(ui.detail()).toHaveText(/checkpoints are committing|Protected/);
  await expect(ui.runsOn()).toHaveText(`Runs on ${HOST_A.name}, protected by ${HOST_B.name}`);
  await expect(ui.alarmBanner()).toHaveCount(0);

  const timeline = page.getByTestId('phase-timeline');
  await expect(timeline).toBeVisible();
  await expect(timeline).toHaveAccessibleName(/Phase timeline/);
  const box = await timeline.boundingBox();
  expect(box?.width ?? 0).toBeGreaterThan(200);
  expect(box?.height ?? 0).toBeGreaterThan(50);

  const last = page.getByTestId('metric-last-checkpoint');
  await expect(last).toHaveText(/#\d+/, { timeout: T.cycles });
  const seq = Console.seqOf(await last.textContent());
  await ui.expectSeqAbove(last, seq);

  // The canvas is drawn: some pixel differs from the first one.
  await expect
    .poll(() => timeline.evaluate((c: HTMLCanvasElement) => {
      const ctx = c.getContext('2d');
      if (ctx === null || c.width === 0 || c.height === 0) return false;
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      for (let i = 4; i < data.length; i += 4) {
        if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2] || data[i + 3] !== data[3]) return true;
      }
      return false;
    }), { timeout: T.cycles, message: 'the phase timeline to draw something' })
    .toBe(true);

  await expect(page.getByRole('heading', { level: 2, name: 'Actions' })).toBeVisible();
  await expect(ui.action('stop')).toBeEnabled();
  await expect(ui.action('failover')).toBeEnabled();
  await expect(ui.action('drill')).toBeEnabled();
  await expect(ui.action('start')).toBeDisabled();
  await expect(page.getByTestId('event-log')).toBeVisible();
  await ui.shot('pair-view');
  await expect(ui.demoPanel()).toBeVisible();
  await ui.shotOf(ui.demoPanel(), 'demo-panel');
});
