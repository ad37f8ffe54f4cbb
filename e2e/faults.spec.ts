// The demo panel's faults, each on a fresh console, each ending in the picture issue 7 asks for: the end state,
// the headline's words, the numbers shown, the action offered, and the audit entry. Hosts by name, never by id.
//
// Changed from the tests before issue 7 (they asserted what the issue calls wrong): kill-secondary no longer
// accepts xl's "resuming domain at primary" as the explanation (it is only the detail line now); cut-link's way
// out is "Keep the copy on A/B" at the top of the page, not the failover panel's "Stop one of them"; a stall that
// outlasts the threshold is "Guest frozen" (red), not amber "Degraded: checkpoints stalled".

import { Console, HOST_A, HOST_B } from './support/console.js';
import { DEMO, T, expect, test } from './support/test.js';

test.beforeEach(async ({ ui }) => {
  await ui.overviewLoaded();
  await ui.openPair();
  await ui.expectState('Protected', 'protected');
  await expect(ui.runsOn()).toHaveText(`Runs on ${HOST_A.name}, protected by ${HOST_B.name}`);
  await expect(ui.demoPanel()).toBeVisible();
});

test('kill-primary: the secondary takes over; the report is the guest downtime, on host B; host A is down', async ({ page, ui }) => {
  await ui.inject('kill-primary');
  await ui.expectState('Failed over', 'failed-over', T.detect);
  // Where it runs now, by name: after the failover the sides swapped.
  await expect(ui.runsOn()).toHaveText(`Runs on ${HOST_B.name}, unprotected`);
  const panel = page.getByTestId('failover-panel');
  await expect(panel.getByTestId('failover-headline')).toHaveText(new RegExp(`^${DEMO.name} now runs on ${HOST_B.name}; it was down [\\d.,]+ (ms|s)\\.$`));
  const downtime = await Console.msIn(panel.getByTestId('guest-downtime'));
  expect(downtime, 'the measured guest downtime').toBeGreaterThan(0);
  await expect(page.getByTestId('failover-banner-headline')).toHaveText(new RegExp(`now runs on ${HOST_B.name}`));
  await expect(panel).toContainText('Detected by the secondary');
  // The way out: protect it again.
  await expect(ui.action('start')).toBeEnabled();
  await expect(ui.action('failover')).toBeDisabled();
  // Every screen says so.
  await expect(ui.alert()).toContainText(`${DEMO.name} is failed over`);
  await expect(ui.alert()).toContainText(`It runs on ${HOST_B.name}, unprotected.`);
  await ui.shot('fault-kill-primary');

  // The host that died is shown down, by name.
  await ui.go('hosts');
  await expect(page.getByTestId(`host-row-${HOST_A.id}`).getByTestId('host-status')).toHaveAttribute('data-status', 'down', { timeout: T.state });
  await expect(page.getByTestId(`host-row-${HOST_B.id}`).getByTestId('host-status')).toHaveAttribute('data-status', 'connected');

  const row = await ui.auditRow('sim.inject', 'kill-primary on');
  await expect(row).toContainText('ok');
  await expect(row).toContainText(DEMO.name);
});

test('kill-secondary: out of Protected for good, the guest kept running on A with its output held N ms', async ({ page, ui }) => {
  const states = await ui.recordBadgeStates();
  await ui.inject('kill-secondary');
  // The closed link is news at once (the service's own test bounds it); here: once out of Protected, the page
  // never shows Protected again on the way to its end state.
  await ui.expectState('Not protected: secondary lost', /^(unprotected|error)$/, T.detect);
  const seen = await states();
  expect(seen[0], `badge states seen: ${seen.join(' → ')}`).toBe('protected');
  expect(seen.slice(1), `badge states seen: ${seen.join(' → ')}`).not.toContain('protected');

  const panel = page.getByTestId('failover-panel');
  const headline = panel.getByTestId('failover-headline');
  await expect(headline).toHaveText(new RegExp(`^The guest kept running on ${HOST_A.name}; its output was held [\\d.,]+ (ms|s); it is now unprotected\\.$`));
  const held = await Console.msIn(panel.getByTestId('output-held'));
  expect(held, 'the output held while the secondary was failing').toBeGreaterThan(0);
  // The hypervisor's words are the detail, not the headline; no "guest downtime 0 ms" for a guest that kept running.
  await expect(headline).not.toContainText('Backup failed');
  await expect(panel.getByTestId('failover-detail')).toContainText(/resuming domain at primary/i);
  await expect(panel.getByTestId('guest-downtime')).toHaveCount(0);
  await expect(ui.runsOn()).toHaveText(`Runs on ${HOST_A.name}, unprotected`);
  await expect(ui.action('start')).toBeEnabled();
  await expect(ui.action('failover')).toBeDisabled();
  await expect(ui.alert()).toContainText(`${DEMO.name} is not protected`);
  await expect(ui.alert()).toContainText(`It runs on ${HOST_A.name}, unprotected.`);
  await ui.shot('fault-kill-secondary');

  // The dead secondary's host is down, by name.
  await ui.go('hosts');
  await expect(page.getByTestId(`host-row-${HOST_B.id}`).getByTestId('host-status')).toHaveAttribute('data-status', 'down', { timeout: T.state });
  await expect(page.getByTestId(`host-row-${HOST_A.id}`).getByTestId('host-status')).toHaveAttribute('data-status', 'connected');

  const row = await ui.auditRow('sim.inject', 'kill-secondary on');
  await expect(row).toContainText('ok');
});

test('cut-link: split brain at the top of the page, both hosts named, keep-A and keep-B offered', async ({ page, ui }) => {
  await ui.inject('cut-link');
  await ui.expectState('Split brain', 'error', T.detect);
  await expect(ui.badge()).toHaveAttribute('data-tone', 'bad');
  await expect(ui.runsOn()).toHaveText(`Runs on ${HOST_A.name} and ${HOST_B.name} — split brain`);
  const banner = ui.alarmBanner();
  await expect(banner).toHaveAttribute('data-kind', 'split-brain');
  await expect(banner.getByTestId('alarm-keep-primary')).toHaveText(`Keep the copy on ${HOST_A.name}…`);
  await expect(banner.getByTestId('alarm-keep-primary')).toBeEnabled();
  await expect(banner.getByTestId('alarm-keep-secondary')).toHaveText(`Keep the copy on ${HOST_B.name}…`);
  await expect(banner.getByTestId('alarm-keep-secondary')).toBeEnabled();
  // What is lost, from which checkpoint (the service's words).
  await expect(banner).toContainText(/writes since checkpoint \d+ are lost/);
  // No stale action text beside it.
  await expect(page.getByTestId('action-status')).not.toContainText(/Protection is starting|Failover requested/);
  await ui.shot('fault-cut-link');

  const row = await ui.auditRow('sim.inject', 'cut-link on');
  await expect(row).toContainText('ok');
});

for (const side of ['primary', 'secondary'] as const) {
  const kept = side === 'primary' ? HOST_A : HOST_B;
  const lost = side === 'primary' ? HOST_B : HOST_A;
  test(`split brain, keep the copy on ${kept.name}: the other is destroyed, named, confirmed and audited`, async ({ ui }) => {
    await ui.inject('cut-link');
    await ui.expectState('Split brain', 'error', T.detect);
    const button = ui.alarmBanner().getByTestId(`alarm-keep-${side}`);
    await expect(button).toBeEnabled();
    await button.click();
    const dialog = ui.dialog();
    await expect(dialog).toBeVisible();
    await expect(dialog.getByRole('heading', { name: `Keep the copy on ${kept.name}?` })).toBeVisible();
    const lostSide = dialog.getByRole('region', { name: `${side === 'primary' ? 'Secondary' : 'Primary'} side` });
    await expect(lostSide).toContainText(lost.name);
    await expect(lostSide).toContainText(/destroyed: every write it made since checkpoint #\d+ is lost/);
    await expect(dialog.getByTestId('confirm-submit')).toBeDisabled();
    await ui.shotOf(dialog, `confirm-keep-${side}`);
    await ui.confirmWithName();

    await ui.expectState(/^Not protected/, 'unprotected', T.state);
    await expect(ui.runsOn()).toHaveText(`Runs on ${kept.name}, unprotected`);
    await expect(ui.alarmBanner()).toHaveCount(0);
    await expect(ui.action('start')).toBeEnabled();

    const row = await ui.auditRow('pairs.keep', DEMO.name);
    await expect(row).toContainText('ok');
  });
}

test('stall-secondary: Guest frozen, red, the pause growing everywhere; Stop protection is the way out', async ({ page, ui }) => {
  await ui.inject('stall-secondary');
  await expect(ui.fault('stall-secondary')).toHaveAttribute('aria-pressed', 'true');
  // First overdue (out of Protected at once), then frozen past the threshold (5 s by default).
  await expect(ui.badge()).toHaveAttribute('data-state', 'degraded', { timeout: T.detect });
  await expect(ui.badge()).toHaveText('Guest frozen', { timeout: T.detect });
  await expect(ui.badge()).toHaveAttribute('data-tone', 'bad');
  await expect(ui.badge()).toHaveAttribute('data-alarm', 'guest-frozen');

  // The pause, still open, grows in the header, the banner and the chart; the max figure includes it.
  const header = page.getByTestId('header-pause');
  const first = await Console.msIn(header);
  expect(first).toBeGreaterThanOrEqual(4000);
  await expect.poll(() => Console.msIn(header), { timeout: T.state, message: 'the open pause to keep growing' }).toBeGreaterThan(first + 1500);
  await expect(ui.alarmBanner()).toHaveAttribute('data-kind', 'guest-frozen');
  await expect(ui.alarmBanner().getByTestId('alarm-pause')).toContainText(/paused [\d.,]+ (ms|s) in checkpoint #\d+/);
  await expect(page.getByTestId('chart-open-pause')).toContainText(/still open: primary paused [\d.,]+ (ms|s)/);
  expect(await Console.msIn(page.getByTestId('chart-pause-max'))).toBeGreaterThanOrEqual(first);
  await expect.poll(() => Console.msIn(page.getByTestId('metric-max')), { timeout: T.state, message: 'the max pause to include the open one' })
    .toBeGreaterThanOrEqual(first);
  // Fail over is refused with a reason; Stop is offered.
  await expect(ui.action('failover')).toBeDisabled();
  await expect(page.locator('#why-demo-failover')).not.toBeEmpty();
  await ui.shot('fault-stall-frozen');

  // Counted in trouble on the overview, with its pause there too.
  await ui.go('overview');
  await expect(page.getByText(/1 in trouble/)).toBeVisible();
  await expect(ui.pairRow().getByTestId('row-open-pause')).toContainText(/paused [\d.,]+ (ms|s), still open/);
  await ui.expectState('Guest frozen', 'degraded', T.state, ui.pairRow());
  await ui.openPair();

  // The way out: stop protection, saying what happens to each side.
  const stop = ui.alarmBanner().getByTestId('alarm-stop');
  await expect(stop).toBeEnabled();
  await stop.click();
  const dialog = ui.dialog();
  await expect(dialog.getByRole('region', { name: 'Primary side' })).toContainText(/Resumes the paused guest .*unprotected/);
  await expect(dialog.getByRole('region', { name: 'Secondary side' })).toContainText('destroyed');
  await expect(dialog).toContainText(/paused for [\d.]+ s/);
  // Each host's real status, by name.
  await expect(dialog.getByRole('definition').filter({ hasText: `${HOST_A.name}: connected` })).toHaveCount(1);
  await expect(dialog.getByRole('definition').filter({ hasText: `${HOST_B.name}: connected` })).toHaveCount(1);
  await ui.confirmWithName();
  await expect(ui.badge()).toHaveAttribute('data-state', /^(stopped|unprotected)$/, { timeout: T.state });
  await expect(ui.badge()).toHaveText(/^Not protected/);
  await expect(ui.runsOn()).toHaveText(`Runs on ${HOST_A.name}, unprotected`);
  await expect(page.getByTestId('header-pause')).toHaveCount(0);
  // The frozen checkpoint is on record as aborted, and the chart shows it apart from the committed ones.
  await expect(page.getByTestId('chart-outcomes')).toContainText(/[1-9]\d* aborted/, { timeout: T.state });
  expect(await Console.msIn(page.getByTestId('chart-pause-max'))).toBeGreaterThanOrEqual(first);
  // What the admin did on purpose needs no notice.
  await expect(ui.alert()).toHaveCount(0);

  await expect(await ui.auditRow('sim.inject', 'stall-secondary on')).toContainText('ok');
  await expect(await ui.auditRow('pairs.stop', DEMO.name)).toContainText('ok');
});

test('stall-secondary cleared: the frozen checkpoint completes and the pair is protected again', async ({ page, ui }) => {
  await ui.inject('stall-secondary');
  await expect(ui.badge()).toHaveText('Guest frozen', { timeout: T.detect });
  await expect(ui.alert()).toContainText(`Guest frozen: ${DEMO.name}`);
  await ui.inject('stall-secondary');
  await expect(ui.fault('stall-secondary')).toHaveAttribute('aria-pressed', 'false');
  await ui.expectState('Protected', 'protected', T.detect);
  await expect(ui.alarmBanner()).toHaveCount(0);
  // The notice clears with the fault.
  await expect(ui.alert()).toHaveCount(0);
  await expect(page.getByTestId('event-log')).toContainText('Fault cleared by');
  await expect(await ui.auditRow('sim.inject', 'stall-secondary off')).toContainText('ok');
});

test('slow-link: still replicating, with longer pauses', async ({ page, ui }) => {
  const p99 = page.getByTestId('metric-p99').locator('.value');
  await expect.poll(() => Console.msIn(p99), { timeout: T.cycles, message: 'a primary pause p99 to be shown' }).not.toBeNaN();
  const before = await Console.msIn(p99);
  await ui.inject('slow-link');
  await expect(ui.fault('slow-link')).toHaveAttribute('aria-pressed', 'true');
  // Loosely: the pair keeps checkpointing (protected, or degraded for slow checkpoints, never lost) and the
  // primary's pauses grow well past what they were.
  await expect.poll(() => Console.msIn(p99), { timeout: T.detect, message: `primary pause p99 to grow past ${before} ms` })
    .toBeGreaterThan(Math.max(250, 3 * before));
  await expect(ui.badge()).toHaveText(/^(Protected|Degraded: slow checkpoints)$/);
  await expect(ui.badge()).toHaveAttribute('data-state', /^(protected|degraded)$/);
  await expect(ui.alarmBanner()).toHaveCount(0);
  await expect(ui.runsOn()).toHaveText(new RegExp(`^Runs on ${HOST_A.name}, (protected by|protection by) ${HOST_B.name}`));
  await expect(ui.action('failover')).toBeEnabled();
  await ui.shot('fault-slow-link');
  await expect(await ui.auditRow('sim.inject', 'slow-link on')).toContainText('ok');
});

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
