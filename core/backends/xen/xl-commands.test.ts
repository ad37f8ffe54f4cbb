// xl's argv and the supervisor's command line, run through a real shell with a stand-in `xl` that prints its
// arguments: hostile names arrive intact, nothing else runs, and names xl would misread are refused.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { shellCommand } from '../../ssh/shell-quote.js';
import { VERBOSE_RECEIVER_SSH, destroyArgv, domainNameProblem, remusArgv, supervisedCommand } from './xl-commands.js';

const HOSTILE = ["it's", 'two words', 'semi;colon', '$(touch PWNED)', '`touch PWNED`', 'quo"te', 'ünï ✓'];

describe('xl commands', () => {
  test('xl remus for COLO, COLO with the userspace proxy, and Remus with an interval', () => {
    assert.deepEqual(remusArgv({ domain: 'web-01', secondary: 'dom0-b', mode: 'colo' }), ['xl', '-vvv', 'remus', '-c', '-u', '--', 'web-01', 'dom0-b']);
    assert.deepEqual(remusArgv({ domain: 'web-01', secondary: '10.0.0.2', mode: 'colo', userspaceProxy: true }), ['xl', '-vvv', 'remus', '-c', '-p', '-u', '--', 'web-01', '10.0.0.2']);
    assert.deepEqual(remusArgv({ domain: 'web-01', secondary: 'dom0-b', mode: 'remus', intervalMs: 100 }), ['xl', '-vvv', 'remus', '-i', '100', '--', 'web-01', 'dom0-b']);
    assert.throws(() => remusArgv({ domain: 'w', secondary: 'b', mode: 'colo', intervalMs: 100 }), /does not take an interval/);
    assert.throws(() => remusArgv({ domain: 'w', secondary: 'b', mode: 'remus', userspaceProxy: true }), /only with COLO/);
    assert.throws(() => remusArgv({ domain: 'w', secondary: 'b;reboot', mode: 'colo' }), /not a host name/);
  });

  test('names xl would misread are refused with the reason; names with quotes and spaces are fine', () => {
    assert.match(domainNameProblem('42')!, /all digits: xl would read it as a domain id/);
    assert.match(domainNameProblem('-rf')!, /starts with '-': xl would read it as an option/);
    assert.match(domainNameProblem('a\nb')!, /control characters/);
    assert.match(domainNameProblem('web--incoming')!, /COLO secondaries/);
    assert.match(domainNameProblem('')!, /empty/);
    for (const n of HOSTILE) assert.equal(domainNameProblem(n), null, n);
    assert.deepEqual(destroyArgv('web-01--incoming'), ['xl', 'destroy', '--', 'web-01--incoming']);
    assert.throws(() => destroyArgv('-x--incoming'), /option/);
  });

  test('through a real shell, hostile names reach xl intact, in both supervisors\' command lines, and nothing else runs', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'colo-xl-args-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // A stand-in xl that prints its arguments NUL-separated.
    writeFileSync(path.join(dir, 'xl'), '#!/bin/sh\nprintf "%s\\0" "$@"\n');
    chmodSync(path.join(dir, 'xl'), 0o755);
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
    for (const name of HOSTILE) {
      const argv = remusArgv({ domain: name, secondary: 'dom0-b', mode: 'colo' });
      const out = execFileSync('/bin/sh', ['-c', shellCommand(argv)], { cwd: dir, env, encoding: 'utf8' });
      assert.deepEqual(out.split('\0').slice(0, -1), argv.slice(1));
    }
    assert.equal(existsSync(path.join(dir, 'PWNED')), false);
    const sup = supervisedCommand(remusArgv({ domain: HOSTILE[3]!, secondary: 'dom0-b', mode: 'colo' }), 'colo-console-web', false);
    assert.match(sup.command, /^mkdir -p -m 0750 \/var\/log\/colo-console && setsid nohup xl -vvv remus -c -u -- '\$\(touch PWNED\)' dom0-b >>\/var\/log\/colo-console\/colo-console-web\.log 2>&1 <\/dev\/null & echo \$!$/);
    const unit = supervisedCommand(['xl', '-vvv', 'remus', '-c', '-u', '--', "it's", 'b'], 'colo-console-web', true);
    assert.equal(unit.command, `mkdir -p -m 0750 /var/log/colo-console && systemd-run --unit=colo-console-web --collect --quiet -p StandardOutput=append:/var/log/colo-console/colo-console-web.log -p StandardError=append:/var/log/colo-console/colo-console-web.log -- xl -vvv remus -c -u -- 'it'\\''s' b`);
    assert.throws(() => supervisedCommand(['xl'], 'evil; rm', true), /not a unit name/);
  });
});

describe('the verbose receiver command (-s)', () => {
  test('run the way xl runs it (exec <cmd> <host> xl migrate-receive <flags> through sh), ssh gets the host and xl -vvv with the flags', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xl-s-'));
    try {
      writeFileSync(path.join(dir, 'ssh'), '#!/bin/sh\nprintf "%s\\0" "$@"\n');
      chmodSync(path.join(dir, 'ssh'), 0o755);
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
      const out = execFileSync('/bin/sh', ['-c', `exec ${VERBOSE_RECEIVER_SSH} dom0-b xl migrate-receive --colo --userspace-colo-proxy`], { env, encoding: 'utf8' });
      assert.deepEqual(out.split('\0').slice(0, -1), ['-o', 'BatchMode=yes', '--', 'dom0-b', 'xl', '-vvv', 'migrate-receive', '--colo', '--userspace-colo-proxy']);
      assert.deepEqual(remusArgv({ domain: 'w', secondary: 'dom0-b', mode: 'colo', sshCommand: VERBOSE_RECEIVER_SSH }).slice(-5), ['-s', VERBOSE_RECEIVER_SSH, '--', 'w', 'dom0-b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
