// The quoting is checked against a real shell: each hostile argument goes through `sh -c` and must come out
// byte for byte as one argument, with nothing executed.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { shellCommand, shellQuote } from './shell-quote.js';

const HOSTILE = [
  'plain-name',
  "it's",
  'two words',
  'semi;colon',
  'a && b',
  '$(touch PWNED)',
  '`touch PWNED`',
  '${HOME}',
  'new\nline',
  'tab\there',
  '-leading-dash',
  '--',
  '"double"',
  "'''",
  'back\\slash',
  '*',
  '~root',
  '',
  'ünïcödé ✓',
  '|pipe>redirect<',
  '#comment',
];

describe('shellQuote', () => {
  test('every hostile argument reaches the program unchanged, as one argument, and runs nothing', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'colo-quote-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // printf prints each argument followed by NUL: splitting shows both the bytes and the argument count.
    const out = execFileSync('/bin/sh', ['-c', shellCommand(['printf', '%s\\0', ...HOSTILE])], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual(out.split('\0').slice(0, -1), HOSTILE);
    assert.equal(existsSync(path.join(dir, 'PWNED')), false, 'no command substitution ran');
  });

  test('safe words stay bare; the rest are single-quoted; NUL is refused', () => {
    assert.equal(shellQuote('xl'), 'xl');
    assert.equal(shellQuote('/var/log/colo-console/x.log'), '/var/log/colo-console/x.log');
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote(''), `''`);
    assert.throws(() => shellQuote('a\0b'), /NUL/);
    assert.throws(() => shellCommand([]), /empty/);
  });
});
