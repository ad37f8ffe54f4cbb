import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dismissNotice, pushNotice, useConsole } from './store';

test('a warning (the sandbox off, say) stays: later notices do not push it out, only dismissing removes it', () => {
  pushNotice('warning', 'sandbox off');
  for (let i = 0; i < 8; i++) pushNotice('error', `failure ${i}`);
  const notices = useConsole.getState().notices;
  assert.equal(notices.length, 5);
  assert.deepEqual(notices.map((n) => n.text), ['sandbox off', 'failure 4', 'failure 5', 'failure 6', 'failure 7']);
  const warning = notices.find((n) => n.kind === 'warning');
  assert.ok(warning);
  dismissNotice(warning.id);
  assert.equal(useConsole.getState().notices.some((n) => n.kind === 'warning'), false);
});
