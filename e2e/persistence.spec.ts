// A page reload loses nothing: the state lives in the service, the history backfills the pair view, and the
// audit log has every action, its chain intact.

import { readdirSync } from 'node:fs';
import { Console } from './support/console.js';
import { DEMO, T, expect, test } from './support/test.js';

test('a reload keeps the state, the history and the audit trail', async ({ page, ui, consoleApp }) => {
  await ui.overviewLoaded();
  await ui.openPair();
  await ui.expectState('Protected', 'protected');
  const last = page.getByTestId('metric-last-checkpoint');
  const seq = await ui.expectSeqAbove(last, 0);

  // Reload while protected: same screen (the hash route survives), same pair, checkpoints carry on from there.
  await consoleApp.reload();
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeVisible({ timeout: T.load });
  await expect(page).toHaveURL(/#\/pair\/demo$/);
  // The per-launch token left the address bar; sessionStorage carries it across the reload.
  expect(page.url()).not.toContain('token=');
  await ui.expectState('Protected', 'protected');
  await ui.expectSeqAbove(last, seq);

  // Stop, reload: still stopped, and the event log (from the service's history) still has the stop.
  await ui.confirm('stop');
  await ui.expectState('Not protected: stopped by admin', 'stopped');
  const beforeStop = Console.seqOf(await last.textContent());
  await consoleApp.reload();
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeVisible({ timeout: T.load });
  await ui.expectState('Not protected: stopped by admin', 'stopped');
  await expect(ui.detail()).toHaveText(/Protection stopped/);
  await expect.poll(async () => Console.seqOf(await last.textContent()), { timeout: T.load, message: 'the last checkpoint to be remembered' })
    .toBeGreaterThanOrEqual(beforeStop);
  await expect(page.getByTestId('event-log')).toContainText('Stop requested by', { timeout: T.load });
  await expect(ui.action('start')).toBeEnabled();
  await ui.shot('pair-stopped-after-reload');

  // The audit log: the automatic start and the admin's stop, both ok, and the chain verified.
  await ui.go('audit');
  const integrity = page.getByTestId('audit-integrity');
  await expect(integrity).toHaveAttribute('data-ok', 'true', { timeout: T.load });
  await expect(integrity).toContainText(/Chain intact: \d+ entries verified/);
  const table = page.getByTestId('audit-table');
  const stopRow = table.getByRole('row').filter({ hasText: 'pairs.stop' });
  await expect(stopRow).toHaveCount(1);
  await expect(stopRow).toContainText(`pair ${DEMO.id} (${DEMO.name})`);
  await expect(stopRow.getByRole('cell').nth(5)).toHaveText('ok');
  const startRow = table.getByRole('row').filter({ hasText: 'pairs.start' });
  await expect(startRow).toHaveCount(1);
  await expect(startRow).toContainText('colo-console');

  await consoleApp.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible({ timeout: T.load });
  await expect(integrity).toHaveAttribute('data-ok', 'true', { timeout: T.load });
  await expect(table.getByRole('row').filter({ hasText: 'pairs.stop' })).toHaveCount(1);
  await ui.go('overview');
  await ui.expectState('Not protected: stopped by admin', 'stopped', T.state, ui.pairRow());
});

test.describe('a corrupt data file', () => {
  test.use({ dataFiles: { 'settings.json': '{"theme": "dark", ' } });

  test('is reported on screen until dismissed, moved aside, and the console starts anyway', async ({ page, ui, consoleApp }) => {
    await ui.overviewLoaded();
    const notice = page.getByRole('alert').filter({ hasText: 'could not be read when the console started' });
    await expect(notice).toContainText('settings.json');
    await expect(notice).toContainText(/not valid JSON.*moved aside to settings\.json\.corrupt-/);
    expect(readdirSync(consoleApp.dataDir).some((f) => f.startsWith('settings.json.corrupt-'))).toBe(true);
    await ui.shot('corrupt-file-notice');
    await notice.getByRole('button', { name: 'Dismiss' }).click();
    await expect(notice).toHaveCount(0);
    await ui.expectState('Protected', 'protected');
  });
});
