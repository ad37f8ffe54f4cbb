import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAge, formatBytes, formatDuration, formatMs, formatRelative } from './format';

test('unknown values are a dash, never zero', () => {
  assert.equal(formatMs(null), '—');
  assert.equal(formatMs(NaN), '—');
  assert.equal(formatBytes(undefined), '—');
  assert.equal(formatAge(null, 0), '—');
});

test('milliseconds keep useful precision', () => {
  assert.equal(formatMs(0.1234), '0.123 ms');
  assert.equal(formatMs(4.5), '4.50 ms');
  assert.equal(formatMs(24.3), '24.3 ms');
  assert.equal(formatMs(600), '600 ms');
  assert.equal(formatMs(20_000), '20.0 s');
});

test('sizes, ages, durations, relative ticks', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.00 MiB');
  assert.equal(formatAge(1000, 1500), 'just now');
  assert.equal(formatAge(0, 12_000), '12 s ago');
  assert.equal(formatAge(0, 5 * 60_000), '5 min ago');
  assert.equal(formatDuration(412), '412 ms');
  assert.equal(formatDuration(12_400), '12.4 s');
  assert.equal(formatDuration(185_000), '3 min 5 s');
  assert.equal(formatRelative(0), 'now');
  assert.equal(formatRelative(-30_000), '−30 s');
  assert.equal(formatRelative(-5 * 60_000), '−5 min');
  assert.equal(formatRelative(-4 * 3600_000), '−4 h');
});
