// QEMU's wire format as the emulator writes and reads it: spacing and member order of its JSON, "\r\n" line ends,
// µs timestamps, and commands that arrive split, joined, or with brackets inside strings.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonSplitter, qemuJson, qemuLine, qemuTimestamp } from './wire.js';

test('messages are written with QEMU\'s spacing, in member order, ended by CR LF', () => {
  assert.equal(qemuJson({ id: 3, error: { class: 'CommandNotFound', desc: 'x' } }), '{"id": 3, "error": {"class": "CommandNotFound", "desc": "x"}}');
  assert.equal(qemuLine({ return: [{ state: false, capability: 'xbzrle' }], id: 'a' }), '{"return": [{"state": false, "capability": "xbzrle"}], "id": "a"}\r\n');
  assert.equal(qemuJson({ return: {} }), '{"return": {}}');
});

test('timestamps split wall-clock microseconds into seconds and microseconds', () => {
  assert.deepEqual(qemuTimestamp(1795633913156407), { seconds: 1795633913, microseconds: 156407 });
  const now = qemuTimestamp();
  assert.ok(Math.abs(now.seconds - Date.now() / 1000) < 5);
});

test('the splitter yields whole JSON texts however the bytes arrive', () => {
  const s = new JsonSplitter();
  assert.deepEqual(s.push('{"execute": "a", "arguments": {"x": "}{\\"]"'), []);
  assert.deepEqual(s.push('}}\r\n{"execute"'), ['{"execute": "a", "arguments": {"x": "}{\\"]"}}']);
  assert.deepEqual(s.push(': "b"}{"execute": "c"}  [1, [2]]'), ['{"execute": "b"}', '{"execute": "c"}', '[1, [2]]']);
  assert.deepEqual(s.push(' "st'), []);
  assert.deepEqual(s.push('r" nope '), ['"str"', 'nope']);
});

test('a text that never ends is refused past the limit instead of growing', () => {
  const s = new JsonSplitter(1000);
  assert.deepEqual(s.push('{"execute": "'), []);
  assert.equal(s.push('a'.repeat(2000)), null);
});
