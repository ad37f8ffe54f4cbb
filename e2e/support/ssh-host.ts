// Adding an SSH host as an admin does: Hosts → Add host, the host's page at the host-key step, the fingerprint
// compared with what the lab printed, saved to the console's known_hosts, connected and probed.

import type { Page } from '@playwright/test';
import type { Console } from './console.js';
import { T, expect } from './test.js';

export interface SshHostInput {
  name: string;
  address: string;
  port: number;
  user: string;
  keyFile: string;
  hypervisor: 'xen' | 'qemu';
  /** `SHA256:…` as ssh prints it. */
  hostKeySha256: string;
  /** What the probe shows as the host's version. */
  version: RegExp;
}

/** Returns the new host's id. */
export async function addSshHost(page: Page, ui: Console, host: SshHostInput): Promise<string> {
  await ui.go('hosts');
  await page.getByRole('button', { name: 'Add host', exact: true }).click();
  const form = page.getByRole('form', { name: 'Add host' });
  await form.getByRole('textbox', { name: 'Address' }).fill(host.address);
  await form.getByRole('textbox', { name: 'Port' }).fill(String(host.port));
  await form.getByRole('textbox', { name: 'User' }).fill(host.user);
  await form.getByRole('textbox', { name: 'Name' }).fill(host.name);
  await form.getByLabel('Authentication').selectOption('key');
  await form.getByRole('textbox', { name: 'Key file' }).fill(host.keyFile);
  // Xen is the form's default.
  if (host.hypervisor === 'xen') await expect(form.getByLabel('Hypervisor')).toHaveValue('xen');
  else await form.getByLabel('Hypervisor').selectOption(host.hypervisor);
  await form.getByRole('button', { name: 'Add host' }).click();

  await expect(page.getByRole('heading', { level: 1, name: host.name })).toBeVisible({ timeout: T.load });
  const id = /#\/host\/([^/?#]+)/.exec(page.url())?.[1];
  expect(id, `the host page's address (${page.url()})`).toBeTruthy();
  // The fingerprint exactly as ssh prints it for this host's key.
  const step = page.getByRole('group', { name: 'Host key' });
  await expect(step.getByTestId('host-key-fingerprint')).toHaveText(`ED25519 key fingerprint is ${host.hostKeySha256}.`, { timeout: T.state });
  // The host as ssh names it in known_hosts: the bare address on port 22, else [address]:port.
  const presented = host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
  await expect(step).toContainText(`The authenticity of host ${presented} can't be established.`);
  await step.getByRole('button', { name: "Save to the console's known_hosts" }).click();
  await expect(page.getByTestId('host-status').first()).toHaveAttribute('data-status', 'connected', { timeout: T.state });
  await expect(page.getByTestId('host-status').first()).toHaveText('connected');
  await expect(page.getByTestId('host-version')).toHaveText(host.version, { timeout: T.state });
  return id!;
}
