// End-to-end tests: the real UI against the real service (e2e/). Two projects run the same specs:
//   browser   browser mode (`colo-console serve`) in Debian's Chromium at /usr/bin/chromium
//   electron  the desktop app through Playwright's _electron, skipped with its reason where the binary is missing
// Every test starts its own console with a fresh data directory, so no test depends on another.

import { defineConfig } from '@playwright/test';
import type { ConsoleTestOptions, ConsoleWorkerOptions } from './e2e/support/test.js';

const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig<ConsoleTestOptions, ConsoleWorkerOptions>({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  outputDir: './test-results',
  // Two cores: each test runs a simulated COLO pair (two guests, a checkpoint engine) next to a browser.
  workers: 2,
  fullyParallel: true,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  // No HTML report: screenshots and failure attachments stay under test-results/. Skip reasons are printed at the end.
  reporter: [['list'], ['./e2e/support/skip-reporter.ts']],
  timeout: 90_000,
  expect: { timeout: 15_000 },
  use: {
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects: [
    {
      name: 'browser',
      use: {
        shell: 'browser',
        launchOptions: {
          executablePath: CHROMIUM,
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        },
      },
    },
    {
      name: 'electron',
      use: { shell: 'electron' },
    },
  ],
});
