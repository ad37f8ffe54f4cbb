// The demo keeps its results (issue 7 §5): a drill and the COLO-vs-Remus figures of each protection run are stored
// with the history, so after a reload the pair view still lists them, with the same numbers.

import { DEMO, T, expect, test } from './support/test.js';

test('a drill is listed with its downtime and re-protect time after a reload', async ({ page, ui, consoleApp }) => {
  await ui.overviewLoaded();
  await ui.openPair();
  const results = page.getByTestId('demo-results');
  await expect(results.getByTestId('past-drills-empty')).toHaveText('No drills run yet.', { timeout: T.load });

  await ui.openConfirm('drill');
  await ui.expectState('Protected', 'protected');
  await ui.confirmWithName();
  const report = page.getByTestId('drill-report');
  await expect(report).toBeVisible({ timeout: 60_000 });
  const downtime = (await report.getByRole('definition').nth(0).textContent())!.trim();
  expect(downtime).toMatch(/^\d+(\.\d+)? (ms|s)$/);
  // The list follows the drill's end without a reload, then keeps it across one.
  const row = results.getByTestId('past-drill-row');
  await expect(row).toHaveCount(1, { timeout: T.state });
  await expect(row.getByTestId('past-drill-downtime')).toHaveText(downtime);

  await consoleApp.reload();
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeVisible({ timeout: T.load });
  await expect(page.getByTestId('drill-report')).toHaveCount(0);
  const kept = page.getByTestId('demo-results').getByTestId('past-drill-row');
  await expect(kept).toHaveCount(1, { timeout: T.load });
  await expect(kept).toHaveAttribute('data-ok', 'true');
  await expect(kept.getByTestId('past-drill-downtime')).toHaveText(downtime);
  await expect(kept.getByTestId('past-drill-reprotect')).toHaveText(/^\d+(\.\d+)? s$|^\d+ ms$|^\d+ min \d+ s$/);
  await expect(kept).toContainText('COLO');
  await expect(kept).toContainText('Passed: the guest ran on the secondary, protected again');
  await ui.shotOf(page.getByTestId('demo-results'), 'past-drills-after-reload');
});

test('each run keeps its COLO or Remus figures and settings after a reload', async ({ page, ui, consoleApp }) => {
  await ui.overviewLoaded();
  await ui.openPair();
  const last = page.getByTestId('metric-last-checkpoint');
  await ui.expectState('Protected', 'protected');
  // Enough COLO checkpoints for quantiles to mean something (COLO checkpoints on demand: a few a second here).
  await ui.expectSeqAbove(last, 8, 2 * T.cycles);

  // The same pair in Remus mode, every 100 ms: stop, switch, start, let it run.
  await ui.confirm('stop');
  await ui.expectState(/Not protected/, 'stopped');
  // A controlled radio: it shows checked once the service has taken the change.
  const remus = ui.demoPanel().getByTestId('sim-mode').getByLabel('Remus');
  await remus.click();
  await expect(remus).toBeChecked({ timeout: T.state });
  const interval = ui.demoPanel().getByLabel('Remus interval (ms)');
  await interval.fill('100');
  await interval.press('Enter');
  await expect(interval).toHaveValue('100', { timeout: T.state });
  await ui.action('start').click();
  await ui.expectState('Protected', 'protected');
  await ui.expectSeqAbove(last, 20, 2 * T.cycles);
  await ui.confirm('stop');
  await ui.expectState(/Not protected/, 'stopped');

  await consoleApp.reload();
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeVisible({ timeout: T.load });
  const runs = page.getByTestId('run-comparison').getByTestId('run-row');
  await expect(runs).toHaveCount(2, { timeout: T.load });
  const remusRow = runs.nth(0);
  const coloRow = runs.nth(1);
  await expect(remusRow).toHaveAttribute('data-mode', 'remus');
  await expect(coloRow).toHaveAttribute('data-mode', 'colo');
  await expect(remusRow).toContainText('Web server · 10 GbE · every 100 ms · divergence 0.0005');
  await expect(coloRow).toContainText('Web server · 10 GbE · divergence 0.0005');
  const figures = /^\d+(\.\d+)? (ms|s) \/ \d+(\.\d+)? (ms|s)/;
  for (const row of [remusRow, coloRow]) {
    await expect(row.getByTestId('run-pause')).toHaveText(/^\d+(\.\d+)? ms \/ \d+(\.\d+)? ms \/ \d+(\.\d+)? (ms|s)$/);
    await expect(row.getByTestId('run-held')).toHaveText(figures);
    await expect(row).toContainText(/\d+ committed/);
  }
  // Remus holds output until the next checkpoint lands (about its 100 ms interval); COLO releases it once the
  // copies agree. The stored p50s say so.
  const p50 = async (row: typeof remusRow): Promise<number> => {
    const text = (await row.getByTestId('run-held').textContent()) ?? '';
    const m = /^(\d+(?:\.\d+)?) (ms|s)/.exec(text);
    return m === null ? NaN : Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  };
  expect(await p50(remusRow)).toBeGreaterThan(await p50(coloRow));
  // The chart (recharts, static): one p50 and one p99 bar per run.
  await expect(page.getByTestId('run-comparison').locator('.recharts-bar-rectangle')).toHaveCount(4);
  await ui.shotOf(page.getByTestId('demo-results'), 'runs-after-reload');
});
