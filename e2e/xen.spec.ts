// Xen over SSH, as an admin does it in the browser, against the lab (core/lab/xen-lab.ts): two emulated Xen dom0s
// with real OpenSSH sshds. Add both hosts (trusting each key after comparing its fingerprint), see what the probe
// found, protect web01 from a to b with COLO after a passing preflight, watch it reach Protected with checkpoints
// arriving (their timings labelled derived: xl's lines only bound the phases), fail over by typing the name, and,
// in a second run, cut the a–b replication link, see the split-brain alarm with both ways out, and keep A's copy.

import type { Page } from '@playwright/test';
import { type LabHost, type XenLab, labUnavailable, startXenLab } from '../core/lab/xen-lab.js';
import { Console } from './support/console.js';
import { addSshHost } from './support/ssh-host.js';
import { T, expect, test } from './support/test.js';

test.use({ demo: false });
// Each test runs its own lab (three network namespaces with sshds, the xl emulator's COLO engine at both ends):
// one after the other in one worker keeps the two cores for them.
test.describe.configure({ mode: 'default' });

const NAMES = { a: 'Xen A', b: 'Xen B' } as const;
const DOMAIN = 'web01';
/** How long b needs to notice a cut link (its sshd's keepalive) and take over, plus the console's look at both hosts. */
const TAKEOVER = 90_000;

async function withLab(): Promise<XenLab> {
  const why = labUnavailable();
  test.skip(why !== null, `the Xen lab cannot start here: ${why ?? ''}`);
  return startXenLab({ coloPeriodMs: 200 });
}

async function addHost(page: Page, ui: Console, lab: XenLab, host: LabHost, name: string): Promise<string> {
  const id = await addSshHost(page, ui, { name, address: host.address, port: host.port, user: host.user, keyFile: lab.clientKeyFile, hypervisor: 'xen', hostKeySha256: host.hostKeySha256, version: /^Xen 4\.17\b/ });
  await expect(page.getByTestId('host-warning')).toHaveCount(0);
  return id;
}

/** Hosts screen → Protect a VM → web01 on a, secondary b over the replication link, COLO → preflight → add → start. */
async function protect(page: Page, ui: Console, lab: XenLab): Promise<number> {
  await ui.go('hosts');
  await page.getByRole('button', { name: 'Protect a VM' }).click();
  const wizard = page.getByRole('form', { name: 'Protect a VM' });
  await wizard.getByLabel('Primary host').selectOption({ label: NAMES.a });
  // The domains of a, as xl lists them (the wizard loads them once a is picked).
  await expect(wizard.getByLabel('Domain').getByRole('option', { name: `${DOMAIN} (paused)` })).toHaveCount(1, { timeout: T.state });
  await wizard.getByLabel('Domain').selectOption(DOMAIN);
  await wizard.getByLabel('Secondary host').selectOption({ label: NAMES.b });
  await wizard.getByRole('textbox', { name: "Secondary's address, as the primary reaches it" }).fill(lab.b.replicationAddress ?? lab.b.address);
  await wizard.getByRole('radio', { name: 'COLO' }).check();
  await wizard.getByRole('button', { name: 'Run preflight' }).click();

  const checklist = wizard.getByRole('region', { name: 'Preflight checklist' });
  const summary = checklist.getByRole('status');
  await expect(summary).toHaveText(/^All \d+ checks passed\.$/, { timeout: T.detect });
  const checks = checklist.getByRole('listitem');
  const n = Number(/All (\d+) checks/.exec((await summary.textContent()) ?? '')?.[1]);
  await expect(checks).toHaveCount(n);
  expect(n, 'the preflight checks something').toBeGreaterThan(0);
  for (let i = 0; i < n; i++) await expect(checks.nth(i)).toHaveAttribute('data-status', 'pass');
  await ui.shotOf(wizard, 'xen-preflight');

  await wizard.getByRole('button', { name: 'Add pair' }).click();
  await expect(wizard.getByRole('status').filter({ hasText: 'added' })).toHaveText(`Pair ${DOMAIN} added. Start protection now, or later from its page.`, { timeout: T.state });
  await wizard.getByRole('button', { name: `Start protecting ${DOMAIN}` }).click();

  // The pair's page: protected from a by b, checkpoints arriving.
  await expect(page.getByRole('heading', { level: 1, name: DOMAIN, exact: true })).toBeVisible({ timeout: T.state });
  await ui.expectState('Protected', 'protected', T.detect);
  await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.a}, protected by ${NAMES.b}`);
  const last = page.getByTestId('metric-last-checkpoint');
  const first = await ui.expectSeqAbove(last, 0);
  const seen = await ui.expectSeqAbove(last, first + 2);
  // xl's lines bound the phases; the console's arrival times give the figures: derived, and said so.
  await expect(page.getByTestId('metric-cycle-timings')).toContainText('Derived');
  await expect(page.getByTestId('metric-cycle-timings').locator('.tag')).toHaveText('derived');
  return seen;
}

/** Whether `xl list` on the host shows the domain, and in which state. */
async function stateOn(lab: XenLab, h: 'a' | 'b', name: string): Promise<string | undefined> {
  const r = await lab.xl(h, ['list']);
  return r.stdout.split('\n').find((l) => l.startsWith(`${name} `))?.split(/\s+/)[4];
}

test('Xen: add both lab hosts, protect web01 with COLO, see cycles arrive, fail over to b', async ({ page, ui }) => {
  test.setTimeout(240_000);
  const lab = await withLab();
  try {
    await page.waitForLoadState('domcontentloaded');
    const a = await addHost(page, ui, lab, lab.a, NAMES.a);
    await expect(page.getByTestId(`domain-row-${DOMAIN}`)).toContainText(/web01\s*paused/, { timeout: T.state });
    await expect(page.getByTestId(`domain-row-${DOMAIN}`)).toContainText('512 MiB');
    const b = await addHost(page, ui, lab, lab.b, NAMES.b);
    expect(b).not.toBe(a);
    await ui.go('hosts');
    for (const id of [a, b]) await expect(page.getByTestId(`host-row-${id}`).getByTestId('host-status')).toHaveAttribute('data-status', 'connected');

    await protect(page, ui, lab);
    await ui.shot('xen-protected');

    // Fail over: the typed confirmation, then the guest runs on b.
    await ui.confirm('failover', DOMAIN);
    await ui.expectState('Failed over', 'failed-over', T.detect);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.b}, unprotected`);
    await expect(page.getByTestId('action-status')).toHaveText('Failover done.');
    const panel = page.getByTestId('failover-panel');
    await expect(panel.getByTestId('failover-headline')).toHaveText(new RegExp(`^${DOMAIN} now runs on ${NAMES.b}; it was down [\\d.,]+ (ms|s)\\.$`));
    const downtime = await Console.msIn(panel.getByTestId('guest-downtime'));
    expect(downtime, 'the measured guest downtime').toBeGreaterThan(0);
    // The timeline says the same figure, counted from the detection (the destroy command on a).
    await expect(panel).toContainText(`The guest runs on ${NAMES.b}, ${await panel.getByTestId('guest-downtime').textContent()} after detection.`);
    await expect(panel).toContainText(/showing web01\. Last complete checkpoint on the survivor: #\d+\./);
    // Detection once, not again where the service logged it.
    await expect(panel.getByText(/Failover detected by/)).toHaveCount(0);
    expect(await stateOn(lab, 'b', DOMAIN), `${DOMAIN} on b`).toBe('r-----');
    expect(await stateOn(lab, 'a', DOMAIN), `${DOMAIN} on a`).toBeUndefined();
    expect(await stateOn(lab, 'b', `${DOMAIN}--incoming`), 'the incoming copy was renamed').toBeUndefined();
    await ui.shot('xen-failed-over');
  } finally {
    await lab.stop();
  }
});

test('Xen: the a–b replication link cut while protected raises the split-brain alarm; keeping the copy on A destroys b\'s', async ({ page, ui }) => {
  test.setTimeout(240_000);
  const lab = await withLab();
  test.skip(lab.mode !== 'namespaces', `the lab runs in loopback mode: ${lab.note}`);
  try {
    await page.waitForLoadState('domcontentloaded');
    await addHost(page, ui, lab, lab.a, NAMES.a);
    await addHost(page, ui, lab, lab.b, NAMES.b);
    const seen = await protect(page, ui, lab);

    await lab.cutReplicationLink();
    // a resumes its guest (xl: "Backup failed? resuming domain at primary."), b takes over from the last checkpoint.
    await ui.expectState('Split brain', 'error', TAKEOVER);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.a} and ${NAMES.b} — split brain`);
    const banner = ui.alarmBanner();
    await expect(banner).toHaveAttribute('data-kind', 'split-brain');
    await expect(banner.getByTestId('alarm-keep-primary')).toHaveText(`Keep the copy on ${NAMES.a}…`);
    await expect(banner.getByTestId('alarm-keep-primary')).toBeEnabled();
    await expect(banner.getByTestId('alarm-keep-secondary')).toHaveText(`Keep the copy on ${NAMES.b}…`);
    await expect(banner.getByTestId('alarm-keep-secondary')).toBeEnabled();
    await expect(banner.getByTestId('alarm-headline')).toHaveText(`Split brain: ${DOMAIN} is running on both ${NAMES.a} and ${NAMES.b}.`);
    await expect(ui.detail()).toHaveText(`Split brain: ${DOMAIN} is running on both ${NAMES.a} and ${NAMES.b}.`);
    // From which checkpoint the copies differ: one the page had already shown committed, or a later one.
    await expect(banner).toContainText(new RegExp(`writes since checkpoint (\\d+) are lost.*Split brain: ${DOMAIN} runs on ${NAMES.a} and on ${NAMES.b} \\(which took over from checkpoint \\1\\)`));
    const from = Number(/writes since checkpoint (\d+) are lost/.exec((await banner.textContent()) ?? '')?.[1]);
    expect(from, `the split checkpoint, against #${seen} shown before the cut`).toBeGreaterThanOrEqual(seen);
    await expect(page.getByTestId('failover-panel')).toContainText(new RegExp(`took over as well\\. Last complete checkpoint on the survivor: #${from}\\.`));
    // The event log tells the way there: the checkpoint after the split one failed, in xl's words; no "protected"
    // after it.
    const log = page.getByTestId('event-log');
    await expect(log).toContainText(new RegExp(`degraded: Checkpoint ${from + 1} failed \\((reading|sending) data fails\\)`));
    const lines = await log.getByRole('listitem').allTextContents();
    const failedAt = lines.findIndex((line) => line.includes(`Checkpoint ${from + 1} failed`));
    expect(lines.slice(0, failedAt).filter((line) => /protected:/.test(line)), `events, newest first:\n${lines.join('\n')}`).toEqual([]);
    // Both copies really run.
    expect(await stateOn(lab, 'a', DOMAIN)).toBe('r-----');
    expect(await stateOn(lab, 'b', DOMAIN)).toBe('r-----');
    await ui.shot('xen-split-brain');

    // The way out: keep the copy on A (it took the writes the clients saw last); b's copy is destroyed.
    await banner.getByTestId('alarm-keep-primary').click();
    const dialog = ui.dialog();
    await expect(dialog.getByRole('heading', { name: `Keep the copy on ${NAMES.a}?` })).toBeVisible();
    await expect(dialog.getByRole('region', { name: 'Secondary side' })).toContainText(NAMES.b);
    await ui.confirmWithName(DOMAIN);
    await ui.expectState(/^Not protected/, 'unprotected', T.state);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.a}, unprotected`);
    await expect(ui.alarmBanner()).toHaveCount(0);
    await expect(ui.detail()).toContainText(`the copy on ${NAMES.a} was kept and the copy on ${NAMES.b} destroyed`);
    expect(await stateOn(lab, 'a', DOMAIN)).toBe('r-----');
    expect(await stateOn(lab, 'b', DOMAIN), `${DOMAIN} on b`).toBeUndefined();
    await expect(ui.action('start')).toBeEnabled();
  } finally {
    await lab.stop();
  }
});
