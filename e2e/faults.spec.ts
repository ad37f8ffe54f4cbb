// The demo panel's faults, each on a fresh console: the badge shows the right state, the sentence under the
// heading says why, as the service reported it.

import type { Locator } from '@playwright/test';
import { T, expect, test } from './support/test.js';

test.beforeEach(async ({ ui }) => {
  await ui.overviewLoaded();
  await ui.openPair();
  await ui.expectState('Protected', 'protected');
  await expect(ui.demoPanel()).toBeVisible();
});

test('kill-primary: the secondary takes over (failed over)', async ({ page, ui }) => {
  await ui.inject('kill-primary');
  await ui.expectState('Failed over', 'failed-over');
  await expect(ui.detail()).toHaveText(/The secondary took over from checkpoint \d+; the guest runs on the secondary host, unprotected\./);
  const panel = page.getByTestId('failover-panel');
  await expect(panel.getByTestId('guest-downtime')).toBeVisible();
  await expect(panel).toContainText('Detected by the secondary');
  await expect(page.getByTestId('event-log')).toContainText('Fault injected by');
  await expect(page.getByTestId('event-log')).toContainText('kill-primary');
  await ui.shot('fault-kill-primary');
});

test('kill-secondary: not protected, secondary lost', async ({ page, ui }) => {
  await ui.inject('kill-secondary');
  // The primary notices only when the secondary stops answering (the COLO wait plus a timeout).
  await ui.expectState('Not protected: secondary lost', 'unprotected', T.detect);
  await expect(ui.detail()).toHaveText(/resuming domain at primary|The secondary is gone/);
  await expect(ui.action('start')).toBeEnabled();
  await expect(ui.action('failover')).toBeDisabled();
  await expect(page.getByTestId('event-log')).toContainText('kill-secondary');
  await ui.shot('fault-kill-secondary');
});

test('cut-link: split brain', async ({ page, ui }) => {
  await ui.inject('cut-link');
  await ui.expectState('Split brain', 'error', T.detect);
  await expect(ui.detail()).toHaveText(/Split brain: the replication link was cut; .*Two copies of the guest are running\./);
  await expect(page.getByTestId('failover-panel').getByRole('alert')).toContainText('Split brain: both copies of the VM are running');
  await ui.shot('fault-cut-link');
});

test('stall-secondary: degraded while stalled, protected again once un-stalled', async ({ page, ui }) => {
  await ui.inject('stall-secondary');
  await expect(ui.fault('stall-secondary')).toHaveAttribute('aria-pressed', 'true');
  await expect(ui.fault('stall-secondary')).toHaveText('Stall secondary (on)');
  await ui.expectState('Degraded: checkpoints stalled', 'degraded', T.detect);
  await expect(ui.detail()).toHaveText(/Checkpoint stalled: no \S+ from the secondary for \d+(\.\d+)? s/);
  await ui.shot('fault-stall-secondary');

  await ui.inject('stall-secondary');
  await expect(ui.fault('stall-secondary')).toHaveAttribute('aria-pressed', 'false');
  await ui.expectState('Protected', 'protected', T.detect);
  await expect(page.getByTestId('event-log')).toContainText('Fault cleared by');
});

test('slow-link: still replicating, with longer pauses', async ({ page, ui }) => {
  const p99 = page.locator('.metric').filter({ hasText: 'Primary pause p99' }).locator('.value');
  await expect.poll(() => msOf(p99), { timeout: T.cycles, message: 'a primary pause p99 to be shown' }).not.toBeNaN();
  const before = await msOf(p99);
  await ui.inject('slow-link');
  await expect(ui.fault('slow-link')).toHaveAttribute('aria-pressed', 'true');
  // Loosely: the pair keeps checkpointing (protected, or degraded for slow checkpoints, never lost) and the
  // primary's pauses grow well past what they were.
  await expect.poll(() => msOf(p99), { timeout: T.detect, message: `primary pause p99 to grow past ${before} ms` })
    .toBeGreaterThan(Math.max(250, 3 * before));
  await expect(ui.badge()).toHaveText(/^(Protected|Degraded: slow checkpoints)$/);
  await expect(ui.badge()).toHaveAttribute('data-state', /^(protected|degraded)$/);
  await ui.shot('fault-slow-link');
});

/** "12.3 ms" or "10.2 s" in a metric, in milliseconds; NaN for "—". */
async function msOf(value: Locator): Promise<number> {
  const text = (await value.textContent()) ?? '';
  const m = /([\d.,]+)\s*(ms|s)\b/.exec(text);
  if (m === null) return Number.NaN;
  const n = Number(m[1]!.replace(/,/g, ''));
  return m[2] === 's' ? n * 1000 : n;
}

test('the vCPU stop time can be left out while protected, and stays so after a reload', async ({ page, ui }) => {
  const box = page.getByTestId('sim-stop-cost');
  await expect(box).toBeChecked();
  // A click, not uncheck(): the box shows the service's setting, which changes only once the call has returned.
  await box.click();
  await expect(box).not.toBeChecked();
  await expect(page.getByTestId('event-log')).toContainText('stopCost false');
  await ui.expectState('Protected', 'protected');
  await page.reload();
  await expect(page.getByTestId('sim-stop-cost')).not.toBeChecked();
});
