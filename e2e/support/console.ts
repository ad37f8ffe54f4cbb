// What an admin sees and does, in one place: the screens, the badge, the actions with their typed confirmation,
// the demo panel's faults. Mode-agnostic: it only needs a Page, so the browser and Electron projects share it.
// Selectors follow the renderer's data-testids (renderer/src) and, where the UI offers them, roles and labels.

import type { Locator, Page, TestInfo } from '@playwright/test';
import { expect } from '@playwright/test';

export const DEMO = { id: 'demo', name: 'demo-vm' } as const;

export type Screen = 'overview' | 'hosts' | 'audit';
export type Fault = 'kill-primary' | 'kill-secondary' | 'cut-link' | 'slow-link' | 'stall-secondary';
export type Destructive = 'stop' | 'failover' | 'drill';

/** The simulator's two hosts: the demo pair starts with its primary on A and its secondary on B. */
export const HOST_A = { id: 'sim-a', name: 'Simulated host A' } as const;
export const HOST_B = { id: 'sim-b', name: 'Simulated host B' } as const;

/** Timeouts: state changes reach the page within a second; a failure detector may need the COLO wait (5 s). */
export const T = {
  /** The console loads and shows its first data. */
  load: 20_000,
  /** A state change the service makes at once (start, stop, failover, a fault it sees immediately). */
  state: 20_000,
  /** A fault the engine notices only by waiting (a dead secondary: up to the 5 s COLO wait plus a timeout). */
  detect: 30_000,
  /** Checkpoints keep arriving. */
  cycles: 20_000,
} as const;

export class Console {
  constructor(
    readonly page: Page,
    private readonly testInfo: TestInfo,
  ) {}

  // -- Screens ----------------------------------------------------------------------------------------------------

  /** The main navigation: by its test id (nav-overview, nav-hosts, nav-audit). */
  navLink(screen: Screen): Locator {
    return this.page.getByTestId(`nav-${screen}`);
  }

  async go(screen: Screen): Promise<void> {
    await this.navLink(screen).click();
    await expect(this.page.locator('#page-title')).toBeVisible({ timeout: T.load });
  }

  /** The overview is what the console opens on; waits until the pairs have loaded. */
  async overviewLoaded(): Promise<void> {
    await expect(this.page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible({ timeout: T.load });
    await expect(this.pairRow()).toBeVisible({ timeout: T.load });
  }

  pairRow(id: string = DEMO.id): Locator {
    return this.page.getByTestId(`pair-row-${id}`);
  }

  /** From the overview, open a pair by its name, as an admin would (the row's link). */
  async openPair(name: string = DEMO.name): Promise<void> {
    await this.page.getByRole('link', { name, exact: true }).click();
    await expect(this.page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible({ timeout: T.load });
  }

  /** The badge in the pair view's heading (or in the overview row). */
  badge(scope: Locator | Page = this.page): Locator {
    return scope.getByTestId('protection-badge').first();
  }

  /** The pair view's full sentence under the heading: the state's reason. */
  detail(): Locator {
    return this.page.getByTestId('protection-detail');
  }

  async expectState(label: string | RegExp, state: string | RegExp, timeout: number = T.state, scope?: Locator): Promise<void> {
    const badge = this.badge(scope ?? this.page);
    await expect(badge).toHaveAttribute('data-state', state, { timeout });
    await expect(badge).toHaveText(label, { timeout });
  }

  /** "#12" in a "last checkpoint" cell or metric: the sequence number of the newest checkpoint. */
  static seqOf(text: string | null): number {
    const m = /#(\d+)/.exec(text ?? '');
    return m === null ? -1 : Number(m[1]);
  }

  /** Waits until the checkpoint number shown in `where` has grown past `after`; returns the new number. */
  async expectSeqAbove(where: Locator, after: number, timeout: number = T.cycles): Promise<number> {
    let seen = -1;
    await expect
      .poll(async () => {
        seen = Console.seqOf(await where.textContent());
        return seen;
      }, { timeout, message: `the checkpoint number in ${where.toString()} to pass #${after}` })
      .toBeGreaterThan(after);
    return seen;
  }

  // -- Actions ----------------------------------------------------------------------------------------------------

  action(name: 'start' | Destructive | 'checkpoint'): Locator {
    return this.page.getByTestId(`action-${name}`);
  }

  dialog(): Locator {
    return this.page.getByTestId('confirm-dialog');
  }

  /** Opens the typed confirmation for a destructive action and checks that a wrong name keeps it shut. */
  async openConfirm(action: Destructive, vmName: string = DEMO.name): Promise<Locator> {
    await expect(this.action(action)).toBeEnabled({ timeout: T.state });
    await this.action(action).click();
    const dialog = this.dialog();
    await expect(dialog).toBeVisible();
    const input = dialog.getByTestId('confirm-name');
    const submit = dialog.getByTestId('confirm-submit');
    await expect(input).toBeFocused();
    await expect(submit).toBeDisabled();
    // Wrong names: another word, the right one in the wrong case, the right one with a trailing space.
    for (const wrong of ['other-vm', vmName.toUpperCase(), `${vmName} `]) {
      await input.fill(wrong);
      await expect(submit).toBeDisabled();
    }
    await input.fill('');
    return dialog;
  }

  /** Types the VM's name as a keyboard user would and presses Enter; the dialog closes. */
  async confirmWithName(vmName: string = DEMO.name): Promise<void> {
    const dialog = this.dialog();
    const input = dialog.getByTestId('confirm-name');
    await input.pressSequentially(vmName);
    await expect(dialog.getByTestId('confirm-submit')).toBeEnabled();
    await input.press('Enter');
    await expect(dialog).toBeHidden({ timeout: T.state });
  }

  async confirm(action: Destructive, vmName: string = DEMO.name): Promise<void> {
    await this.openConfirm(action, vmName);
    await this.confirmWithName(vmName);
  }

  // -- Faults: what the pair view says about them ----------------------------------------------------------------

  /** The alarm banner at the top of the pair view (guest frozen, split brain). */
  alarmBanner(): Locator {
    return this.page.getByTestId('alarm-banner');
  }

  /** "Runs on X, protected by Y" and its kin, under the pair's heading. */
  runsOn(): Locator {
    return this.page.getByTestId('runs-on');
  }

  /** The alert bar every screen shows for pairs that left Protected. */
  alert(pairId: string = DEMO.id): Locator {
    return this.page.getByTestId(`alert-${pairId}`);
  }

  /** A milliseconds figure shown in `where` ("412 ms", "3.60 ms", "12.3 s"), in ms; NaN when there is none. */
  static async msIn(where: Locator): Promise<number> {
    const text = (await where.textContent()) ?? '';
    const m = /([\d.,]+)\s*(ms|s)\b/.exec(text);
    if (m === null) return Number.NaN;
    const n = Number(m[1]!.replace(/,/g, ''));
    return m[2] === 's' ? n * 1000 : n;
  }

  /**
   * The audit log as the Audit screen shows it: waits for a row with this action whose text matches `text`, and
   * returns it. Leaves the page on the Audit screen.
   */
  async auditRow(action: string, text: string | RegExp): Promise<Locator> {
    await this.go('audit');
    const row = this.page.getByTestId('audit-table').getByRole('row').filter({ hasText: action }).filter({ hasText: text }).first();
    await expect(row).toBeVisible({ timeout: T.load });
    return row;
  }

  // -- Demo panel -------------------------------------------------------------------------------------------------

  demoPanel(): Locator {
    return this.page.getByTestId('demo-panel');
  }

  fault(name: Fault): Locator {
    return this.page.getByTestId(`fault-${name}`);
  }

  async inject(name: Fault): Promise<void> {
    await expect(this.fault(name)).toBeEnabled({ timeout: T.state });
    await this.fault(name).click();
  }

  // -- Evidence ---------------------------------------------------------------------------------------------------

  /** A screenshot of the screen as it is now, kept under test-results/ and attached to the test. */
  async shot(name: string): Promise<void> {
    const file = this.testInfo.outputPath(`${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    await this.testInfo.attach(name, { path: file, contentType: 'image/png' });
  }

  /** A screenshot of one part of the screen (a panel, a dialog). */
  async shotOf(part: Locator, name: string): Promise<void> {
    const file = this.testInfo.outputPath(`${name}.png`);
    await part.scrollIntoViewIfNeeded();
    await part.screenshot({ path: file });
    await this.testInfo.attach(name, { path: file, contentType: 'image/png' });
  }

  /**
   * Records every state the pair's badge shows from now on (a MutationObserver in the page), so a state that
   * lasts only a moment, the initial copy of a small guest, is seen without polling at the right instant.
   */
  async recordBadgeStates(): Promise<() => Promise<string[]>> {
    await this.page.evaluate(() => {
      const w = window as unknown as { __badgeStates?: string[]; __badgeObserver?: MutationObserver };
      w.__badgeObserver?.disconnect();
      const seen: string[] = [];
      w.__badgeStates = seen;
      const note = (): void => {
        for (const el of document.querySelectorAll('[data-testid="protection-badge"]')) {
          const s = el.getAttribute('data-state');
          if (s !== null && seen[seen.length - 1] !== s) seen.push(s);
        }
      };
      note();
      const observer = new MutationObserver(note);
      observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'], characterData: true });
      w.__badgeObserver = observer;
    });
    return () => this.page.evaluate(() => [...((window as unknown as { __badgeStates?: string[] }).__badgeStates ?? [])]);
  }
}
