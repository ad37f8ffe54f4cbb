// Escaping text from outside before it reaches a terminal: every control character becomes a visible escape,
// the escapes read back unambiguously, and JSON lines stay JSON with the same value.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { escapeControls, jsonLine } from './terminal-text.js';

void test('escapeControls: C0, DEL, C1, line separators and bidi overrides become escapes; other text stays', () => {
  assert.equal(escapeControls('\x1b]0;title\x07\x1b[2J\r\nnext'), '\\x1b]0;title\\x07\\x1b[2J\\r\\nnext');
  assert.equal(escapeControls('a\x00b\tc\x7fd\u0085e\u009bf'), 'a\\x00b\\tc\\x7fd\\u0085e\\u009bf');
  assert.equal(escapeControls('x\u2028y\u202ez\u2067'), 'x\\u2028y\\u202ez\\u2067');
  assert.equal(escapeControls('C:\\vm\\x1b'), 'C:\\\\vm\\\\x1b', 'a backslash is escaped, so a name cannot pose as an escape');
  assert.equal(escapeControls('guest-ü → 東京 🙂'), 'guest-ü → 東京 🙂', 'printable Unicode is left alone');
});

void test('jsonLine: no raw DEL, C1 or bidi characters, and the value parses back unchanged', () => {
  const value = { name: 'vm\x1b[2J\u009b31m\x7f\u202e\u2028ü', n: 1 };
  const line = jsonLine(value);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  assert.deepEqual(JSON.parse(line), value);
});
