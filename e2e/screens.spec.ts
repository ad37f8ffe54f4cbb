// The other screens: hosts, the audit log, and a pair's cycles exported as CSV.

import { readFile } from 'node:fs/promises';
import { HOST_A, HOST_B } from './support/console.js';
import { DEMO, T, expect, test } from './support/test.js';

// Issue 7: the simulator has two hosts (it had one, 'sim', running both sides); each runs one side of demo-vm.
test('hosts: the two simulated hosts, connected, one running each side of demo-vm', async ({ page, ui }) => {
  await ui.overviewLoaded();
  await ui.go('hosts');
  await expect(page.getByRole('heading', { level: 1, name: 'Hosts' })).toBeFocused();
  await expect(ui.navLink('hosts')).toHaveAttribute('aria-current', 'page');
  const a = page.getByTestId(`host-row-${HOST_A.id}`);
  const b = page.getByTestId(`host-row-${HOST_B.id}`);
  await expect(a).toBeVisible({ timeout: T.load });
  for (const [row, host] of [[a, HOST_A], [b, HOST_B]] as const) {
    await expect(row).toContainText(host.name);
    await expect(row).toContainText('Embedded simulator');
    await expect(row.getByTestId('host-status')).toHaveAttribute('data-status', 'connected');
    await expect(row.getByRole('link', { name: DEMO.name })).toBeVisible();
  }
  await expect(a).toContainText('(primary)');
  await expect(b).toContainText('(secondary)');
  await ui.shot('hosts');

  // From a host to its pair.
  await a.getByRole('link', { name: DEMO.name }).click();
  await expect(page.getByRole('heading', { level: 1, name: DEMO.name })).toBeVisible();
});

test('audit: the automatic start and the commands it sent, chain intact', async ({ page, ui }) => {
  await ui.overviewLoaded();
  await ui.go('audit');
  await expect(ui.navLink('audit')).toHaveAttribute('aria-current', 'page');
  const integrity = page.getByTestId('audit-integrity');
  await expect(integrity).toHaveAttribute('data-ok', 'true', { timeout: T.load });
  await expect(integrity).toContainText(/Chain intact: \d+ entries verified/);
  const table = page.getByTestId('audit-table');
  await expect(table.getByRole('row').filter({ hasText: 'pairs.start' })).toContainText('colo-console');
  await expect(table.getByRole('row').filter({ hasText: 'host.command' }).first()).toContainText(`simulator: protect ${DEMO.name}`);

  // The filter narrows the list as an admin types.
  await page.getByRole('searchbox', { name: 'Filter' }).fill('pairs.start');
  await expect(table.getByRole('row').filter({ hasText: 'host.command' })).toHaveCount(0);
  await expect(table.getByRole('row').filter({ hasText: 'pairs.start' })).toHaveCount(1);
  await page.getByRole('searchbox', { name: 'Filter' }).fill('');

  await page.getByRole('button', { name: 'Verify again' }).click();
  await expect(integrity).toHaveAttribute('data-ok', 'true');
  await ui.shot('audit');
});

test('export CSV: a header row and the cycles', async ({ page, ui, consoleApp }) => {
  test.skip(consoleApp.mode === 'electron', 'Electron saves downloads through its own save dialog, which Playwright cannot answer');
  await ui.overviewLoaded();
  await ui.openPair();
  await ui.expectSeqAbove(page.getByTestId('metric-last-checkpoint'), 1);

  const download = page.waitForEvent('download');
  await page.getByTestId('export-csv').click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/\.csv$/);
  const path = test.info().outputPath(file.suggestedFilename());
  await file.saveAs(path);
  await test.info().attach('export.csv', { path, contentType: 'text/csv' });

  const lines = (await readFile(path, 'utf8')).split(/\r?\n/).filter((l) => l !== '');
  expect(lines[0]).toMatch(/^run,seq,startedAt,startedAtIso,mode,trigger,outcome,provenance,primaryPauseMs/);
  expect(lines.length).toBeGreaterThanOrEqual(2);
  const header = lines[0]!.split(',');
  const row = lines[1]!.split(',');
  expect(row).toHaveLength(header.length);
  expect(row[0]).toMatch(/^\d+$/);
  expect(row[4]).toBe('colo');
  await expect(page.getByRole('status').filter({ hasText: `Saved ${file.suggestedFilename()}.` })).toBeVisible();
});
