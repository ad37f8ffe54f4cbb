// The sandbox warning, from the switch to what app.info reports: the words, when they appear, and that the real
// service hands them to the page through the contract. (The Electron binary is not needed; launch.test.ts checks
// the launcher's side, main.test.ts that the main process passes the warning on.)

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { consoleContract } from '../core/api/console-contract.js';
import { NO_SANDBOX_SWITCH, sandboxWarning } from './sandbox-note.js';
import { startConsoleService } from './service.js';

test('no warning while the sandbox is on', () => {
  assert.equal(sandboxWarning(['/usr/bin/electron', 'out/electron/main.cjs'], true), null);
  assert.equal(sandboxWarning([], false), null);
});

test('as root with --no-sandbox: says the sandbox is off, what still holds, and what to do', () => {
  const text = sandboxWarning(['/usr/bin/electron', NO_SANDBOX_SWITCH, 'main.cjs'], true);
  assert.equal(
    text,
    "The console is running as root, so it was started with --no-sandbox: Chromium's sandbox is off for every process of this app, " +
      'this window included. The page is still kept away from Node.js and the system (context isolation, no Node integration, ' +
      'a strict content policy), but a flaw in Chromium would no longer be contained and would run as root. ' +
      'Run the console as an ordinary user instead.',
  );
});

test('--no-sandbox without root: the same truth, and the other remedy', () => {
  const text = sandboxWarning([NO_SANDBOX_SWITCH], false) ?? '';
  assert.match(text, /^The console was started with --no-sandbox: Chromium's sandbox is off for every process of this app/);
  assert.match(text, /Start it without --no-sandbox\.$/);
  assert.doesNotMatch(text, /root/);
});

test('the service reports the warning through app.info, valid by the contract; none when there is none', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'colo-sandbox-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const warning = sandboxWarning([NO_SANDBOX_SWITCH], true)!;
  const quiet = (): undefined => undefined;
  for (const warnings of [[warning], []]) {
    const running = await startConsoleService({ dataDir: dir, demo: false, version: '1.2.3', onError: quiet, warnings });
    try {
      const info = await running.handlers.methods['app.info']({}, { signal: new AbortController().signal });
      const checked = consoleContract.methods['app.info'].response.parse(info);
      assert.deepEqual(checked, warnings.length > 0 ? { version: '1.2.3', transport: 'electron', warnings } : { version: '1.2.3', transport: 'electron' });
    } finally {
      await running.close();
    }
  }
});
