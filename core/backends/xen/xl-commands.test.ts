// xl's argv and the supervisor's command line, run through a real shell with a stand-in `xl` that prints its
// arguments: hostile names arrive intact, nothing else runs, and names xl would misread are refused.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.match(sup.command, /^mkdir -p -m 0750 \/var\/log\/colo-console \|\| exit 1; setsid nohup xl -vvv remus -c -u -- '\$\(touch PWNED\)' dom0-b >>\/var\/log\/colo-console\/colo-console-web\.log 2>&1 <\/dev\/null & echo \$!$/);
    const unit = supervisedCommand(['xl', '-vvv', 'remus', '-c', '-u', '--', "it's", 'b'], 'colo-console-web', true);
    assert.equal(unit.command, `mkdir -p -m 0750 /var/log/colo-console || exit 1; systemd-run --unit=colo-console-web --collect --quiet -p StandardOutput=append:/var/log/colo-console/colo-console-web.log -p StandardError=append:/var/log/colo-console/colo-console-web.log -- xl -vvv remus -c -u -- 'it'\\''s' b`);
    assert.throws(() => supervisedCommand(['xl'], 'evil; rm', true), /not a unit name/);
  });
});

describe('the setsid + nohup supervisor under sh and bash', () => {
  /**
   * The pid's command line; undefined once it is gone or a zombie. It reads '' for a moment inside each exec
   * (the new image's arguments are not in place yet), which is why '' is no sign of an exit.
   */
  const cmdline = (pid: number): string | undefined => {
    try {
      if (/^Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, ''))) return undefined;
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      return undefined;
    }
  };
  /** Field 6 of /proc/<pid>/stat: the session id (after the command name in parentheses). */
  const sessionOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[3]);

  for (const shell of ['sh', 'bash']) {
    test(`${shell} -c: the shell returns at once, printing the pid of the supervised process, in its own session`, async (t) => {
      if (!existsSync(`/bin/${shell}`)) {
        t.skip(`/bin/${shell} is not installed`);
        return;
      }
      const dir = mkdtempSync(path.join(tmpdir(), 'colo-sup-'));
      const pids: number[] = [];
      t.after(() => {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        rmSync(dir, { recursive: true, force: true });
      });
      const logDir = path.join(dir, 'log');
      const sup = supervisedCommand(['sleep', '30'], 'colo-console-suptest', false, logDir);
      // Were the session's stdout held by a background subshell, this would wait for the sleep (30 s): the
      // timeout only keeps a regression from hanging the run, and fails the test.
      const out = execFileSync(`/bin/${shell}`, ['-c', sup.command], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const pid = Number(out.trim());
      assert.ok(Number.isSafeInteger(pid) && pid > 1, `printed ${JSON.stringify(out)}`);
      pids.push(pid);
      assert.equal(out, `${pid}\n`, 'only the pid is printed');
      // setsid and nohup exec in turn; wait until the pid runs the argv (or is gone, which fails below).
      for (let i = 0; i < 500; i++) {
        const now = cmdline(pid);
        if (now === 'sleep 30' || now === undefined) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(cmdline(pid), 'sleep 30', `pid ${pid} is the sleeping process`);
      assert.equal(sessionOf(pid), pid, 'it leads its own session, outliving the SSH session');
      assert.equal(sup.log, `${logDir}/colo-console-suptest.log`);
      assert.ok(existsSync(sup.log), 'the log file is created');
    });
  }

  test('a log directory that cannot be made stops the command before anything starts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'colo-sup-'));
    try {
      writeFileSync(path.join(dir, 'file'), '');
      const sup = supervisedCommand(['sleep', '30'], 'colo-console-suptest', false, path.join(dir, 'file', 'log'));
      for (const shell of ['sh', 'bash'].filter((s) => existsSync(`/bin/${s}`))) {
        const r = spawnSync(`/bin/${shell}`, ['-c', sup.command], { encoding: 'utf8', timeout: 10_000 });
        assert.equal(r.status, 1, shell);
        assert.equal(r.stdout, '', `${shell}: no pid printed`);
        assert.match(r.stderr, /mkdir/, shell);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
