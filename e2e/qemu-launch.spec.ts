// A QEMU COLO pair the console launches itself, with real QEMU (TCG) started over real SSH: the QEMU lab's two
// sshds stand for the hosts (its emulated pair behind them is not used). Add both hosts, Protect a VM → QEMU →
// Launch with a user-mode network behind COLO's packet comparison, read the two command lines the preflight shows,
// add, start, see both monitors answer in COLO, then stop protection: the secondary's QEMU goes, the primary's
// runs on, as the host's VM list shows. Whatever QEMU the test launched is found by its sockets and killed after it.

import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Page } from '@playwright/test';
import { LOG_DIR } from '../core/backends/host-command.js';
import { type QemuLab, type QemuLabHost, qemuLabUnavailable, startQemuLab } from '../core/lab/qemu-lab.js';
import { freePort, freePortRun } from '../core/test-support/ports.js';
import type { Console } from './support/console.js';
import { addSshHost } from './support/ssh-host.js';
import { T, expect, test } from './support/test.js';

test.use({ demo: false });
// Two sshds, two TCG QEMUs and a browser: one test at a time keeps the two cores for them.
test.describe.configure({ mode: 'default' });

const NAMES = { a: 'QEMU A', b: 'QEMU B' } as const;
/** QEMU 7.2 here deadlocks at its first periodic checkpoints (qemu-colo.md §3): a long delay keeps the test clear of them. */
const CHECKPOINT_DELAY_MS = 60_000;

/** What one test launched and must remove, also when it failed half way. */
interface Owned {
  dir: string;
  vm: string;
  sockets: string[];
  lab: QemuLab | null;
}

let owned: Owned | null = null;

/** The QEMU processes on this machine whose command line names one of `paths` (the sshd sessions that ran them are not QEMU). */
function qemusHolding(paths: readonly string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!path.basename(argv[0] ?? '').startsWith('qemu-system')) continue;
    if (argv.some((arg) => paths.some((p) => arg.includes(p)))) pids.push(Number(entry));
  }
  return pids;
}

/** Gone, or a zombie nobody has reaped yet (a daemonized QEMU's parent is init). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function killQemus(paths: readonly string[]): Promise<void> {
  const pids = qemusHolding(paths);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some((p) => !gone(p)) && Date.now() < deadline) await delay(50);
}

/** IPv4 `a.b.c.d:port` as /proc/net/tcp writes it (the address's bytes in host order, little-endian here). */
function procTcpAddress(address: string, port: number): string {
  const bytes = address.split('.').map(Number).reverse();
  return `${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/** The TCP sockets on this machine at `address:port`: listening there, and connected to it. */
function tcpAt(address: string, port: number): { listening: boolean; connectedTo: number } {
  const at = procTcpAddress(address, port);
  let listening = false;
  let connectedTo = 0;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (local === at && state === '0A') listening = true;
    if (remote === at && state === '01') connectedTo++;
  }
  return { listening, connectedTo };
}

test.afterEach(async () => {
  const o = owned;
  owned = null;
  if (o === null) return;
  // Every step runs even when one before it failed.
  const errors: unknown[] = [];
  const step = async (fn: () => Promise<void> | void): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  };
  await step(() => killQemus(o.sockets));
  await step(() => {
    if (!existsSync(LOG_DIR)) return;
    for (const f of readdirSync(LOG_DIR)) if (f.startsWith(`qemu-${o.vm}-`)) rmSync(path.join(LOG_DIR, f), { force: true });
  });
  await step(() => rmSync(o.dir, { recursive: true, force: true }));
  if (o.lab !== null) await step(() => o.lab!.stop());
  if (errors.length > 0) throw new Error(`cleaning up after the launch test: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
});

function addHost(page: Page, ui: Console, lab: QemuLab, host: QemuLabHost, name: string): Promise<string> {
  return addSshHost(page, ui, { name, address: host.address, port: host.port, user: host.user, keyFile: lab.clientKeyFile, hypervisor: 'qemu', hostKeySha256: host.hostKeySha256, version: /^QEMU \d+\.\d+\.\d+/ });
}

test('QEMU launch: the console starts both QEMUs over SSH with a user-mode network, reaches COLO, and a stop leaves the primary running', async ({ page, ui }) => {
  test.setTimeout(300_000);
  const why = qemuLabUnavailable('real');
  test.skip(why !== null, `real QEMU over the lab's sshds cannot run here: ${why ?? ''}`);

  const dir = mkdtempSync(path.join(tmpdir(), 'colo-e2e-launch-'));
  // The QEMUs run as the sshds' user (root); the test reads its own directory back.
  chmodSync(dir, 0o755);
  const vm = `launch-e2e-${process.pid}`;
  const primaryQmp = path.join(dir, 'p', 'primary.qmp');
  const secondaryQmp = path.join(dir, 's', 'secondary.qmp');
  owned = { dir, vm, sockets: [primaryQmp, secondaryQmp], lab: null };
  // The lab only for its two hosts: the emulated pair it also starts is not what this test protects.
  const lab = await startQemuLab({ kind: 'emulated' });
  owned.lab = lab;
  // The secondary's -incoming listens on host b's address; the primary's COLO proxy on host a's.
  const migrationPort = await freePort(lab.b.address);
  const proxyBasePort = await freePortRun(4);

  await page.waitForLoadState('domcontentloaded');
  await addHost(page, ui, lab, lab.a, NAMES.a);
  await addHost(page, ui, lab, lab.b, NAMES.b);

  await ui.go('hosts');
  await page.getByRole('button', { name: 'Protect a VM' }).click();
  const wizard = page.getByRole('form', { name: 'Protect a VM' });
  await wizard.getByTestId('protect-hypervisor').getByRole('radio', { name: 'QEMU' }).check();
  await wizard.getByRole('radio', { name: 'Launch both QEMUs' }).check();
  await wizard.getByLabel('Primary host').selectOption({ label: NAMES.a });
  await wizard.getByLabel('Secondary host').selectOption({ label: NAMES.b });
  await wizard.getByTestId('protect-vm').fill(vm);
  await wizard.getByTestId('qemu-primaryQmp').fill(primaryQmp);
  await wizard.getByTestId('qemu-secondaryQmp').fill(secondaryQmp);
  await expect(wizard.getByTestId('qemu-incomingUri'), 'a launch derives the incoming URI').toHaveCount(0);
  await wizard.getByTestId('qemu-checkpointDelayMs').fill(String(CHECKPOINT_DELAY_MS));
  await wizard.getByTestId('qemu-accel').selectOption('tcg');
  await wizard.getByTestId('qemu-machine').fill('pc');
  await wizard.getByTestId('qemu-memoryMiB').fill('64');
  await wizard.getByTestId('qemu-migrationPort').fill(String(migrationPort));

  // The network: none by default, with no proxy fields; bridge asks for its bridge, and refuses a name no
  // interface can have beside the field; user needs nothing from the hosts.
  const network = wizard.getByTestId('qemu-network');
  await expect(network).toHaveValue('none');
  await expect(wizard.getByTestId('qemu-network-text')).toHaveText(/^No NIC/);
  await expect(wizard.getByTestId('qemu-proxyBasePort')).toHaveCount(0);
  await network.selectOption('bridge');
  await expect(wizard.getByTestId('qemu-network-text')).toContainText('/etc/qemu/bridge.conf');
  await wizard.getByTestId('qemu-bridge').fill('br 0');
  await expect(wizard.getByTestId('qemu-bridge')).toHaveAttribute('aria-invalid', 'true');
  await expect(wizard.getByRole('alert').filter({ hasText: 'an interface name' })).toBeVisible();
  await network.selectOption('user');
  await expect(wizard.getByTestId('qemu-bridge')).toHaveCount(0);
  await expect(wizard.getByTestId('qemu-network-text')).toContainText('user-mode network');
  await expect(wizard.getByTestId('qemu-primaryReplicationAddress')).toHaveAttribute('placeholder', 'the primary host\'s address');
  await wizard.getByTestId('qemu-proxyBasePort').fill(String(proxyBasePort));
  await wizard.getByTestId('qemu-primaryReplicationAddress').fill(lab.a.address);
  await wizard.getByTestId('qemu-macAddress').fill('52:54:00:12:34:56');
  await expect(wizard.locator('[aria-invalid="true"]')).toHaveCount(0);
  await ui.shotOf(wizard, 'qemu-launch-fields');

  // A migration port something on host b already listens on (as a QEMU left from an earlier launch would): the
  // preflight fails on it, naming the port, the holder and the option, and the pair cannot be added.
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, lab.b.address, resolve));
  const heldPort = (holder.address() as net.AddressInfo).port;
  const checklist = wizard.getByRole('region', { name: 'Preflight checklist' });
  try {
    await wizard.getByTestId('qemu-migrationPort').fill(String(heldPort));
    await wizard.getByRole('button', { name: 'Run preflight' }).click();
    await expect(checklist.getByRole('status')).toHaveText('1 check failed: fix it and run the preflight again.', { timeout: T.detect });
    const ports = checklist.getByTestId('check-ports-secondary');
    await expect(ports).toHaveAttribute('data-status', 'fail');
    await expect(ports).toContainText(`The ports the secondary's QEMU listens on, on ${NAMES.b}`);
    await expect(ports).toContainText(`port ${heldPort} (the incoming migration, at ${lab.b.address}) is taken: something listens on ${lab.b.address}:${heldPort}. Fix: end what holds it (a QEMU left from an earlier launch?), or set migrationPort.`);
    await expect(wizard.getByRole('button', { name: 'Add pair' })).toBeDisabled();
  } finally {
    holder.close();
  }
  await wizard.getByTestId('qemu-migrationPort').fill(String(migrationPort));
  await wizard.getByRole('button', { name: 'Run preflight' }).click();

  // 7.2's checkpoint deadlock is a warning, not a failure.
  await expect(checklist.getByRole('status')).toHaveText(/^(All \d+ checks passed\.|Ready, with \d+ warnings?\.)$/, { timeout: T.detect });
  for (const status of await checklist.getByRole('listitem').evaluateAll((items) => items.map((i) => i.getAttribute('data-status')))) expect(['pass', 'warn']).toContain(status);
  // A fresh guest: no QEMU at either socket yet.
  await expect(checklist.getByTestId('check-primary-running')).toHaveCount(0);
  await expect(checklist.getByTestId('check-secondary-free')).toHaveCount(0);

  // Both command lines, whole, each under the host it runs on.
  const secondaryBlock = checklist.getByTestId('command-command-line-secondary');
  const primaryBlock = checklist.getByTestId('command-command-line-primary');
  await expect(secondaryBlock.locator('figcaption')).toContainText(`The console will run this on ${NAMES.b}`);
  await expect(primaryBlock.locator('figcaption')).toContainText(`The console will run this on ${NAMES.a}`);
  await expect(secondaryBlock.getByRole('button', { name: 'Copy' })).toBeVisible();
  const secondaryLine = (await secondaryBlock.locator('pre').textContent()) ?? '';
  const primaryLine = (await primaryBlock.locator('pre').textContent()) ?? '';
  for (const line of [secondaryLine, primaryLine]) {
    expect(line).toContain(`-name guest=${vm} `);
    expect(line).toContain('-accel tcg');
    expect(line).toContain('-m 64 ');
    expect(line).toContain('-netdev user,');
    expect(line).toContain('mac=52:54:00:12:34:56');
  }
  expect(secondaryLine).toContain(`-incoming tcp:${lab.b.address}:${migrationPort}`);
  expect(secondaryLine).toContain(secondaryQmp);
  // The secondary's proxy connects to the primary's, on the address typed.
  expect(secondaryLine).toContain(`host=${lab.a.address},port=${proxyBasePort + 1}`);
  expect(primaryLine).toContain('colo-compare');
  expect(primaryLine).toContain(`host=${lab.a.address},port=${proxyBasePort},server=on`);
  expect(primaryLine).toContain(primaryQmp);
  expect(primaryLine).not.toContain('-incoming');
  await ui.shotOf(wizard, 'qemu-launch-preflight');

  await wizard.getByRole('button', { name: 'Add pair' }).click();
  await expect(wizard.getByRole('status').filter({ hasText: 'added' })).toHaveText(`Pair ${vm} added. Start protection now, or later from its page.`, { timeout: T.state });
  await wizard.getByRole('button', { name: `Start protecting ${vm}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: vm, exact: true })).toBeVisible({ timeout: T.state });

  // Both QEMUs launched over SSH and in COLO: protected, both monitors answering, each side in its COLO mode.
  await ui.expectState('Protected', 'protected', 90_000);
  await expect(ui.runsOn()).toHaveText(`Runs on ${NAMES.a}, protected by ${NAMES.b}`);
  const panel = page.getByTestId('qemu-panel');
  await expect(panel.getByTestId('qemu-monitor-primary')).toHaveText('connected', { timeout: T.state });
  await expect(panel.getByTestId('qemu-monitor-secondary')).toHaveText('connected', { timeout: T.state });
  await expect(panel.getByTestId('qemu-colomode-primary')).toHaveText('primary');
  await expect(panel.getByTestId('qemu-colomode-secondary')).toHaveText('secondary');
  await expect(panel.getByTestId('qemu-checkpoint-delay')).toHaveText(`${CHECKPOINT_DELAY_MS} ms`);
  expect(qemusHolding([primaryQmp]), 'one primary QEMU on this machine').toHaveLength(1);
  expect(qemusHolding([secondaryQmp]), 'one secondary QEMU on this machine').toHaveLength(1);
  // COLO's proxy on the primary's replication address, as typed: the primary listens on the base port and the one
  // after it, and the secondary's filter-redirectors are connected to both.
  for (const port of [proxyBasePort, proxyBasePort + 1]) {
    await expect.poll(() => tcpAt(lab.a.address, port), { message: `the COLO proxy at ${lab.a.address}:${port}`, timeout: T.state }).toEqual({ listening: true, connectedTo: 1 });
  }
  await ui.shot('qemu-launch-protected');

  // Stop protection: the secondary's QEMU is discarded, the primary's runs the guest on alone.
  await ui.confirm('stop', vm);
  await ui.expectState(/^Not protected/, 'stopped');
  // Its COLO proxy taken down as QEMU's failover steps do, so its output no longer waits in colo-compare.
  await expect(ui.detail()).toContainText(`Taken down on ${NAMES.a}, as QEMU's COLO failover steps do: object-del comp0, object-del iothread1, object-del m0, object-del redire0, object-del redire1.`);
  const primaryPid = qemusHolding([primaryQmp]);
  expect(primaryPid, 'the primary QEMU runs on').toHaveLength(1);
  expect(qemusHolding([secondaryQmp]), 'the secondary QEMU is gone').toHaveLength(0);
  await ui.shot('qemu-launch-stopped');

  // Host a's VM list says the same, QEMU by QEMU with its QMP socket.
  await ui.go('hosts');
  await page.getByRole('link', { name: NAMES.a, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: NAMES.a })).toBeVisible({ timeout: T.load });
  const domains = page.getByTestId('domains-table');
  const primaryRow = domains.getByRole('row').filter({ hasText: primaryQmp });
  await expect(primaryRow).toHaveCount(1, { timeout: T.state });
  await expect(primaryRow.getByRole('cell').first()).toHaveText(vm);
  // The guest runs on in it (COLO left, the primary resumed), not paused.
  await expect(primaryRow.getByRole('cell').nth(1)).toHaveText('running');
  // Its size, from its command line (-m 64 -smp 1).
  await expect(primaryRow.getByRole('cell').nth(2)).toHaveText('64 MiB');
  await expect(primaryRow.getByRole('cell').nth(3)).toHaveText('1');
  await expect(primaryRow.getByTestId('domain-role')).toHaveText('—');
  await expect(domains.getByRole('row').filter({ hasText: secondaryQmp })).toHaveCount(0);
  await ui.shotOf(domains, 'qemu-launch-host-vms');
});
