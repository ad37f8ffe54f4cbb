// The one `test` every spec imports. It hides which shell the console runs in: in the `browser` project each test
// gets its own `colo-console serve` (fresh data directory) and a Chromium page on its URL; in the `electron`
// project each test gets the desktop app (fresh data directory) and its first window. Specs only see `page` and
// `consoleApp`, so the same flows run in both.

import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type ElectronApplication, type Page, type TestInfo, test as base, expect } from '@playwright/test';
import { Console } from './console.js';
import { electronBinary, electronNotBuilt, launchElectron } from './electron.js';
import { freshDataDir, startServer } from '../../core/cli/serve-process.js';

export type ShellMode = 'browser' | 'electron';

export interface ConsoleApp {
  readonly mode: ShellMode;
  readonly page: Page;
  readonly dataDir: string;
  /** Reloads the window, as an admin pressing F5 would. The service keeps running. */
  reload(): Promise<void>;
  /** What the server (browser mode) or the main process (Electron) printed so far. */
  log(): string;
  /** The console's address with its token (browser mode), for a second tab; null in Electron. */
  readonly url: string | null;
  /** Ends the service under the open page (browser mode: the `serve` process), as a crash or a stop would. */
  stopService(): Promise<void>;
}

export interface ConsoleTestOptions {
  /** Start protecting the demo pair when the console starts (default); false passes --no-demo. */
  demo: boolean;
  /** Files written into the fresh data directory before the console starts (name → contents). */
  dataFiles: Readonly<Record<string, string>>;
}

interface TestFixtures {
  consoleApp: ConsoleApp;
  /** The console's screens and actions on `page` (support/console.ts). */
  ui: Console;
}

export interface ConsoleWorkerOptions {
  shell: ShellMode;
}

interface WorkerFixtures {
  /** Chromium for the browser project, launched with the project's launchOptions; null in the Electron project. */
  adminBrowser: Browser | null;
}

const VIEWPORT = { width: 1366, height: 860 };

export const test = base.extend<ConsoleTestOptions & TestFixtures, ConsoleWorkerOptions & WorkerFixtures>({
  shell: ['browser', { option: true, scope: 'worker' }],
  demo: [true, { option: true }],
  dataFiles: [{}, { option: true }],

  adminBrowser: [
    async ({ shell, playwright, launchOptions }, use) => {
      if (shell !== 'browser') {
        await use(null);
        return;
      }
      const browser = await playwright.chromium.launch(launchOptions);
      await use(browser);
      await browser.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],

  consoleApp: async ({ shell, demo, dataFiles, adminBrowser }, use, testInfo) => {
    const seed = (dir: string): string => {
      for (const [name, contents] of Object.entries(dataFiles)) writeFileSync(path.join(dir, name), contents);
      return dir;
    };
    if (shell === 'electron') {
      const binary = electronBinary();
      test.skip(!binary.ok, `Electron binary not installed here: ${binary.ok ? '' : binary.reason}`);
      test.skip(process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY,
        'Electron cannot open a window here: neither DISPLAY nor WAYLAND_DISPLAY is set (run under xvfb-run)');
      const notBuilt = electronNotBuilt();
      if (notBuilt !== null) throw new Error(`The desktop app is not built: ${notBuilt}`);
      if (!demo) throw new Error('The Electron shell always starts the demo pair; this test needs browser mode.');
      if (!binary.ok) return;
      const dataDir = seed(freshDataDir('electron'));
      let output = '';
      const app: ElectronApplication = await launchElectron(binary.executable, dataDir);
      app.process().stdout?.on('data', (c: Buffer) => (output += c.toString()));
      app.process().stderr?.on('data', (c: Buffer) => (output += c.toString()));
      const page = await app.firstWindow();
      await page.setViewportSize(VIEWPORT).catch(() => undefined);
      await sandboxWarningShown(app, page);
      try {
        await use({
          mode: 'electron',
          page,
          dataDir,
          reload: async () => void (await page.reload()),
          log: () => output,
          url: null,
          stopService: () => Promise.reject(new Error('the Electron shell runs the service in its own main process; stopping it closes the window')),
        });
      } finally {
        await afterTest(page, () => output, testInfo);
        await app.close().catch(() => undefined);
        if (testInfo.status === testInfo.expectedStatus) rmSync(dataDir, { recursive: true, force: true });
      }
      return;
    }

    const server = await startServer({ demo, dataDir: seed(freshDataDir('browser')) });
    const context = await adminBrowser!.newContext({ viewport: VIEWPORT, acceptDownloads: true, colorScheme: 'light' });
    const page = await context.newPage();
    try {
      await page.goto(server.url);
      await use({
        mode: 'browser',
        page,
        dataDir: server.dataDir,
        reload: async () => void (await page.reload()),
        log: () => server.log(),
        url: server.url,
        stopService: () => server.stop(),
      });
    } finally {
      await afterTest(page, () => server.log(), testInfo);
      await context.close().catch(() => undefined);
      await server.stop();
      if (testInfo.status === testInfo.expectedStatus) rmSync(server.dataDir, { recursive: true, force: true });
    }
  },

  page: async ({ consoleApp }, use) => {
    await use(consoleApp.page);
  },

  ui: async ({ page }, use, testInfo) => {
    await use(new Console(page, testInfo));
  },
});

/**
 * Started with --no-sandbox (as root, Playwright passes it), the app must say on screen that Chromium's sandbox is
 * off (electron/sandbox-note.ts); without it, no such warning. The warning is then dismissed so it covers nothing.
 */
async function sandboxWarningShown(app: ElectronApplication, page: Page): Promise<void> {
  const noSandbox = await app.evaluate(() => process.argv.includes('--no-sandbox'));
  const warning = page.getByTestId('notice-warning');
  if (!noSandbox) {
    await expect(page.getByTestId('connection-status')).toHaveAttribute('data-phase', 'open', { timeout: 20_000 });
    await expect(warning).toHaveCount(0);
    return;
  }
  await expect(warning).toContainText("Chromium's sandbox is off for every process of this app", { timeout: 20_000 });
  await warning.getByRole('button', { name: 'Dismiss' }).click();
  await expect(warning).toHaveCount(0);
}

/** On a failure: the page as it was, and what the service printed, both attached to the test. */
async function afterTest(page: Page, log: () => string, testInfo: TestInfo): Promise<void> {
  if (testInfo.status === testInfo.expectedStatus) return;
  const shot = await page.screenshot({ fullPage: true }).catch(() => null);
  if (shot !== null) await testInfo.attach('page-at-failure.png', { body: shot, contentType: 'image/png' });
  await testInfo.attach('service-output.txt', { body: log() || '(nothing printed)', contentType: 'text/plain' });
}

export { expect };
export { DEMO, T } from './console.js';
