// QEMU COLO over SSH and QMP, as an admin does it in the browser, against the QEMU lab (core/lab/qemu-lab.ts): two
// hosts with real OpenSSH sshds, the QMP emulator behind them (checkpoints that go on, which Debian's 7.2 cannot).
// Add both hosts (trusting each key after comparing its fingerprint), attach the running pair with the wizard (a
// wrong socket path is refused beside its field), start, see measured checkpoints arrive, change the checkpoint
// delay live and see QEMU report it, kill the primary QEMU and see the console promote the secondary by itself;
// hang the primary in a checkpoint and fail over with the fencing confirmation; kill the secondary and see the
// primary run on alone, saying why.

import type { Page } from '@playwright/test';
import { type QemuLab, type QemuLabHost, qemuLabUnavailable, startQemuLab } from '../core/lab/qemu-lab.js';
import type { Console } from './support/console.js';
import { addSshHost } from './support/ssh-host.js';
import { T, expect, test } from './support/test.js';

test.use({ demo: false });
// The lab runs two sshds and the emulated pair: one test at a time keeps the two cores for them.
test.describe.configure({ mode: 'default' });

const NAMES = { a: 'QEMU A', b: 'QEMU B' } as const;
const DELAY_MS = 200;
const NEW_DELAY_MS = 500;

async function withLab(): Promise<QemuLab> {
  const why = qemuLabUnavailable('emulated');
  test.skip(why !== null, `the QEMU lab cannot start here: ${why ?? ''}`);
  return startQemuLab({ kind: 'emulated', checkpointDelayMs: DELAY_MS });
}

function addHost(page: Page, ui: Console, lab: QemuLab, host: QemuLabHost, name: string): Promise<string> {
  return addSshHost(page, ui, { name, address: host.address, port: host.port, user: host.user, keyFile: lab.clientKeyFile, hypervisor: 'qemu', hostKeySha256: host.hostKeySha256, version: /^QEMU \d+\.\d+\.\d+/ });
}

/** Hosts screen → Protect a VM → QEMU, attach: the VM on a, the sockets, the incoming URI → preflight → add → start. */
async function protect(page: Page, ui: Console, lab: QemuLab): Promise<void> {
  await ui.go('hosts');
  await page.getByRole('button', { name: 'Protect a VM' }).click();
  const wizard = page.getByRole('form', { name: 'Protect a VM' });
  await wizard.getByTestId('protect-hypervisor').getByRole('radio', { name: 'QEMU' }).check();
  await wizard.getByRole('radio', { name: 'Attach to running QEMUs' }).check();
  await wizard.getByLabel('Primary host').selectOption({ label: NAMES.a });
  await wizard.getByTestId('protect-vm').fill(lab.vm);
  await wizard.getByLabel('Secondary host').selectOption({ label: NAMES.b });
  await wizard.getByTestId('qemu-primaryQmp').fill(lab.primarySocket);
  // A path QEMU could not have: refused beside its field, in the schema's words, before anything is sent.
  await wizard.getByTestId('qemu-secondaryQmp').fill('run/secondary.qmp');
  await expect(wizard.getByTestId('qemu-secondaryQmp')).toHaveAttribute('aria-invalid', 'true');
  await expect(wizard.getByRole('alert').filter({ hasText: 'an absolute path' })).toBeVisible();
  await wizard.getByTestId('qemu-secondaryQmp').fill(lab.secondarySocket);
  await expect(wizard.getByTestId('qemu-secondaryQmp')).toHaveAttribute('aria-invalid', 'false');
  await wizard.getByTestId('qemu-incomingUri').fill(lab.incomingUri);
  await wizard.getByTestId('qemu-checkpointDelayMs').fill(String(DELAY_MS));
  await expect(wizard.getByTestId('qemu-autoFailover')).toBeChecked();
  await wizard.getByRole('button', { name: 'Run preflight' }).click();

  const checklist = wizard.getByRole('region', { name: 'Preflight checklist' });
  // The emulator is QEMU 7.2: its checkpoint deadlock is a warning, not a failure.
  await expect(checklist.getByRole('status')).toHaveText(/^(All \d+ checks passed\.|Ready, with \d+ warnings?\.)$/, { timeout: T.detect });
  const checks = checklist.getByRole('listitem');
  expect(await checks.count(), 'the preflight checks something').toBeGreaterThan(0);
  for (const status of await checks.evaluateAll((items) => items.map((i) => i.getAttribute('data-status')))) expect(['pass', 'warn']).toContain(status);
  await ui.shotOf(wizard, 'qemu-preflight');

  await wizard.getByRole('button', { name: 'Add pair' }).click();
  await expect(wizard.getByRole('status').filter({ hasText: 'added' })).toHaveText(`Pair ${lab.vm} added. Start protection now, or later from its page.`, { timeout: T.state });
  await wizard.getByRole('button', { name: `Start protecting ${lab.vm}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: lab.vm, exact: true })).toBeVisible({ timeout: T.state });
}

/** The lab, both hosts added, the pair attached and protected with checkpoints arriving; then `run`; the lab always stopped. */
async function onProtectedPair(page: Page, ui: Console, run: (lab: QemuLab) => Promise<void>): Promise<void> {
  const lab = await withLab();
  try {
    await page.waitForLoadState('domcontentloaded');
    await addHost(page, ui, lab, lab.a, NAMES.a);
    await addHost(page, ui, lab, lab.b, NAMES.b);
    await protect(page, ui, lab);
    await ui.expectState('Protected', 'protected', T.detect);
    await ui.expectSeqAbove(page.getByTestId('metric-last-checkpoint'), 1);
    await run(lab);
  } finally {
    await lab.stop();
  }
}

test('QEMU: attach the emulated pair over SSH, see measured cycles, change the checkpoint delay live, the primary killed fails over by itself', async ({ page, ui }) => {
  test.setTimeout(240_000);
  const lab = await withLab();
  try {
    await page.waitForLoadState('domcontentloaded');
    const a = await addHost(page, ui, lab, lab.a, NAMES.a);
    const b = await addHost(page, ui, lab, lab.b, NAMES.b);
    expect(b).not.toBe(a);
    await protect(page, ui, lab);

    // Protected from a by b, checkpoints arriving, timed from QEMU's own event timestamps.
    await ui.expectState('Protected', 'protected', T.detect);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.a}, protected by ${NAMES.b}`);
    const last = page.getByTestId('metric-last-checkpoint');
    const first = await ui.expectSeqAbove(last, 0);
    await ui.expectSeqAbove(last, first + 2);
    await expect(page.getByTestId('metric-cycle-timings')).toContainText('Measured');
    await expect(page.getByTestId('metric-cycle-timings').locator('.tag')).toHaveText('measured');
    // QEMU counts no pages or bytes per checkpoint: said, not drawn as zeros.
    await expect(page.getByTestId('dirty-chart-not-reported')).toContainText('not reported by QEMU');
    await expect(page.getByTestId('dirty-chart')).toHaveCount(0);

    // The QEMU panel: both monitors answer, COLO on both sides, the delay QEMU holds.
    const panel = page.getByTestId('qemu-panel');
    await expect(panel.getByTestId('qemu-monitor-primary')).toHaveText('connected');
    await expect(panel.getByTestId('qemu-monitor-secondary')).toHaveText('connected');
    await expect(panel.getByTestId('qemu-colomode-primary')).toHaveText('primary');
    await expect(panel.getByTestId('qemu-colomode-secondary')).toHaveText('secondary');
    await expect(panel.getByTestId('qemu-migration')).toHaveText('colo');
    await expect(panel.getByTestId('qemu-checkpoint-delay')).toHaveText(`${DELAY_MS} ms`);
    await expect(page.getByTestId('qemu-figures')).toHaveText(new RegExp(`^QEMU \\d+\\.\\d+\\.\\d+.* · delay ${DELAY_MS} ms$`));
    await ui.shot('qemu-protected');

    // The checkpoint delay, changed live: QEMU reports the new value, and the emulated primary holds it.
    await panel.getByTestId('qemu-delay-input').fill(String(NEW_DELAY_MS));
    await panel.getByTestId('qemu-delay-apply').click();
    await expect(panel.getByTestId('qemu-checkpoint-delay')).toHaveText(`${NEW_DELAY_MS} ms`, { timeout: T.state });
    await expect(panel.getByTestId('qemu-delay-error')).toHaveCount(0);
    expect(lab.emulated?.state.sides.primary.parameters['x-checkpoint-delay'], 'x-checkpoint-delay on the primary').toBe(NEW_DELAY_MS);
    await expect(page.getByTestId('qemu-figures')).toHaveText(new RegExp(` · delay ${NEW_DELAY_MS} ms$`));
    // Still protected, checkpoints still coming.
    await ui.expectSeqAbove(last, (await ui.expectSeqAbove(last, 0)) + 1);

    // The primary's QEMU dies while its host answers: gone for certain, so the console promotes the secondary.
    await lab.killPrimary();
    await ui.expectState('Failed over', 'failed-over', T.detect);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.b}, unprotected`);
    await expect(page.getByTestId('failover-panel').getByTestId('failover-headline')).toContainText(`now runs on ${NAMES.b}`);
    await ui.shot('qemu-failed-over');
  } finally {
    await lab.stop();
  }
});

test('QEMU: the primary hung in a checkpoint; the failover asks for the primary host\'s name as well, and fails over once both are typed', async ({ page, ui }) => {
  test.setTimeout(240_000);
  await onProtectedPair(page, ui, async (lab) => {
    // QEMU 7.2's deadlock: the primary stays paused in a checkpoint and its monitor goes silent. The console
    // cannot end that QEMU, so it cannot rule out two running copies: the admin must say the primary is fenced.
    lab.emulated!.faults.hangNextCheckpoint();
    const panel = page.getByTestId('qemu-panel');
    await expect(panel.getByTestId('qemu-fencing')).toContainText(`confirm by typing ${NAMES.a}`, { timeout: T.detect });
    await expect(panel.getByTestId('qemu-monitor-primary')).toHaveText(/^silent/);

    const dialog = await ui.openConfirm('failover', lab.vm);
    await expect(dialog.getByTestId('fencing-required')).toContainText(`confirm by typing ${NAMES.a}`);
    const name = dialog.getByTestId('confirm-name');
    const fenced = dialog.getByTestId('confirm-fenced-host');
    const submit = dialog.getByTestId('confirm-submit');
    await name.fill(lab.vm);
    // The VM's name alone is not enough; nor is the wrong host, or the right one in the wrong case.
    await expect(submit).toBeDisabled();
    for (const wrong of [NAMES.b, NAMES.a.toLowerCase()]) {
      await fenced.fill(wrong);
      await expect(submit).toBeDisabled();
    }
    await fenced.fill(NAMES.a);
    await expect(submit).toBeEnabled();
    await ui.shotOf(dialog, 'qemu-fencing-dialog');
    await submit.click();
    await expect(dialog).toBeHidden({ timeout: T.state });

    await ui.expectState('Failed over', 'failed-over', T.detect);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.b}, unprotected`);
    expect(lab.emulated!.state.sides.secondary.runState, 'the secondary runs the guest').toBe('running');
    // The audit log says who confirmed the fencing, with the name typed.
    await ui.auditRow('pairs.failover', new RegExp(`confirmed by typing "${NAMES.a}" that the primary host is fenced`));
  });
});

test('QEMU: the secondary\'s QEMU killed: the primary leaves COLO and runs on alone, the pair says why, the commands are on record, and protection can start again', async ({ page, ui }) => {
  test.setTimeout(180_000);
  await onProtectedPair(page, ui, async (lab) => {
    await lab.killSecondary();
    // Always safe, so automatic: the guest runs on where it ran, no longer protected, and the words say which side
    // went and how the console knew (QEMU's own COLO_EXIT first, when it came).
    await ui.expectState(/^Not protected/, 'unprotected', T.detect);
    await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.a}, unprotected`);
    await expect(ui.detail()).toContainText(new RegExp(`${NAMES.b} is gone \\((COLO_EXIT on the (primary|secondary) \\(reason \\w+\\)|its QEMU .+)\\); ${lab.vm} left COLO and runs on ${NAMES.a}, unprotected\\.`));
    expect(lab.emulated!.state.sides.primary.runState, 'the primary runs the guest').toBe('running');
    expect(lab.emulated!.state.sides.primary.mode, 'out of COLO').toBe('none');
    await expect(ui.action('start')).toBeEnabled();
    await ui.shot('qemu-secondary-lost');
    // What the console sent the primary to take it out of COLO is in the audit log.
    await ui.auditRow('host.command', /x-colo-lost-heartbeat/);
  });
});
