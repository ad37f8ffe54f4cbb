// The xl emulator as a program (bundled, run as `xl` with its own state directory): output formats the console's
// parsers read, option checks and exit codes of `xl remus`, hostile domain names, concurrent callers, and a whole
// COLO run between two emulated hosts joined by a pipe instead of ssh (the lab's tests add real ssh).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { parseXlInfo, xenProbe } from '../backends/xen/xl-info.js';
import { parseXlList } from '../backends/xen/xl-list.js';
import { classifyXlLine, parseXlLine } from '../backends/xen/xl-log-line.js';
import { shellQuote } from '../ssh/shell-quote.js';
import { seededDomains, writeHostState } from './seed.js';
import { bundleXl, type XlBundle } from './xl-bundle.js';
import { DEFAULT_HOST, type EmuDomain } from './xl/state.js';

let dir: string;
let bundle: XlBundle;

interface Run { code: number; stdout: string; stderr: string }

function xl(stateDir: string, args: string[], timeoutMs = 20_000, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(bundle.xl, args, { env: { ...process.env, ...env, XL_EMU_DIR: stateDir }, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code !== 'number') reject(new Error(`xl ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
    });
  });
}

let hosts = 0;
function host(options: { xenMinor?: number; domains?: EmuDomain[]; coloPeriodMs?: number } = {}): string {
  const d = path.join(dir, `host${hosts++}`);
  const seeded = seededDomains('198.19.0.2');
  writeHostState(d, { ...DEFAULT_HOST, hostname: `emu-${hosts}`, xenMinor: options.xenMinor ?? 17, coloPeriodMs: options.coloPeriodMs ?? 100 }, {
    nextDomid: 100,
    domains: options.domains ?? seeded.domains,
  });
  return d;
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'colo-xl-emu-'));
  bundle = await bundleXl(path.join(dir, 'build'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('xl info / list output', () => {
  test('xl info: key : value lines with the key padded to 23, Xen 4.17 by default, 4.19 when the host says so', async () => {
    const r = await xl(host(), ['info']);
    assert.equal(r.code, 0);
    for (const line of r.stdout.trimEnd().split('\n')) assert.match(line, /^[a-z_]{1,23} *: /, line);
    assert.match(r.stdout, /^xen_major {14}: 4$/m);
    const info = parseXlInfo(r.stdout);
    assert.deepEqual([info.xenMajor, info.xenMinor, info.xenVersion], [4, 17, '4.17.0']);
    assert.ok(info.virtCaps.includes('hvm'));
    assert.deepEqual(xenProbe(info).warnings, []);
    const newer = parseXlInfo((await xl(host({ xenMinor: 19 }), ['info'])).stdout);
    assert.match(xenProbe(newer).warnings[0]!, /^Xen 4\.19\.0: since 4\.18/);
  });

  test('xl list: the six-column table with Domain-0 first and six-letter states', async () => {
    const r = await xl(host(), ['list']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Name                                        ID   Mem VCPUs      State   Time(s)');
    assert.match(lines[1]!, /^Domain-0 {32} {5}0 {2}4096 {5}4 {5}r----- +\d+\.\d$/);
    assert.match(lines[2]!, /^web01 {35} {5}1 {3}512 {5}2 {5}--p--- +\d+\.\d$/);
    assert.equal(lines.length, 5);
  });

  test('xl list -l: a JSON array the console parses, COLO keys on web01 only; one domain by name or by domid', async () => {
    const h = host();
    const all = parseXlList((await xl(h, ['list', '-l'])).stdout);
    assert.deepEqual(all.map((d) => [d.domid, d.name, d.type]), [[0, 'Domain-0', 'pv'], [1, 'web01', 'hvm'], [2, 'pv01', 'pv'], [3, 'plain01', 'hvm']]);
    assert.equal(all[1]!.maxMemKiB, 512 * 1024);
    assert.equal(all[1]!.vcpus, 2);
    assert.deepEqual(all.slice(1).map((d) => d.disks.every((x) => x.colo)), [true, false, false]);
    const one = parseXlList((await xl(h, ['list', '-l', 'web01'])).stdout);
    assert.deepEqual(one.map((d) => d.name), ['web01']);
    assert.deepEqual(parseXlList((await xl(h, ['list', '-l', '3'])).stdout).map((d) => d.name), ['plain01']);
    assert.deepEqual(parseXlList((await xl(h, ['list', '-l', '0'])).stdout).map((d) => d.name), ['Domain-0']);
    const dom0 = await xl(h, ['destroy', 'Domain-0']);
    assert.deepEqual([dom0.code, dom0.stderr], [1, 'Cannot destroy privileged domain 0.\n']);
    const missing = await xl(h, ['list', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'nosuch is an invalid domain identifier (rc=-6)\n');
  });
});

describe('xl remus option checks and exit codes', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['-c with -i', ['remus', '-c', '-i', '100', 'web01', 'b'], 255, /^option -c is conflict with -i, -d, -n or -b: Success$/m],
    ['-c with -n', ['remus', '-c', '-F', '-n', 'web01', 'b'], 255, /conflict/],
    ['-p without -c', ['remus', '-p', 'web01', 'b'], 255, /^Option -p must be used in conjunction with -c$/m],
    ['no host', ['remus', '-c', '-u', 'web01'], 2, /^Usage: xl \[-v\] remus/m],
    ['an unknown option', ['remus', '-x', 'web01', 'b'], 2, /invalid option -- 'x'/],
    ['a domain that does not exist', ['remus', '-c', '-u', 'nosuch', 'b'], 1, /^nosuch is an invalid domain identifier \(rc=-6\)$/m],
  ];
  for (const [what, args, code, message] of cases) {
    test(`${what} → exit ${code}`, async () => {
      const r = await xl(host(), args);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  test('COLO without -u: the compression notice; a receiver that never answers fails the preamble: exit 1, guest untouched', async () => {
    const h = host();
    const r = await xl(h, ['remus', '-c', '-s', '', '--', 'web01', 'true']);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      "COLO can't be used with memory compression. Disable memory checkpoint compression now...: Success",
      'libxl: error: libxl_utils.c:397:libxl_read_exactly: file/stream truncated reading banner from migration receiver stream',
    ]);
    assert.match((await xl(h, ['list', 'web01'])).stdout, /^web01 .* --p--- /m, 'still paused, as it was');
  });

  test('a receiver that answers with something else than the banner: the rune is named, exit 1', async () => {
    const r = await xl(host(), ['remus', '-c', '-u', '-s', '', '--', 'web01', 'head -c 64 /dev/zero']);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(r.stderr.trimEnd().split('\n'), [
      'migration receiver stream contained unexpected data instead of banner',
      '(command run was: exec head -c 64 /dev/zero )',
    ]);
  });

  test('COLO refuses a PV guest and a disk without COLO keys once the preamble is done', async () => {
    const h = host();
    const receiver = `env XL_EMU_DIR=${shellQuote(host({ domains: [] }))} ${shellQuote(bundle.xl)} migrate-receive --colo`;
    const pv = await xl(h, ['remus', '-c', '-u', '-s', '', '--', 'pv01', receiver]);
    assert.equal(pv.code, 1);
    assert.match(pv.stderr, /^Saving to migration stream new xl format \(info 0x3\/0x0\/\d+\)\n(.*\n)*.*Domain 2:COLO only supports hvm now\n/m);
    assert.match(pv.stderr, /^migration target: Domain creation failed \(code -3\)\.$/m, 'the receiver gets a stream that ends');
    const plain = await xl(h, ['remus', '-c', '-u', '-s', '', '--', 'plain01', receiver]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /Domain 3:device not handled by checkpoint \(device=vbd:768\)\n/);
    assert.match(plain.stderr, /^COLO: Backup failed\? resuming domain at primary\.$/m);
  });
});

describe('hostile domain names are names, nothing more', () => {
  const names = [`it's "quoted"`, 'with space', 'semi;colon', '$(touch PWNED)', '`touch PWNED`', 'new\nline', '-leading-dash'];

  test('listed, selected and destroyed by name, with `--` before a leading dash; nothing is executed', async () => {
    const domains = names.map((name, i): EmuDomain => ({
      domid: 10 + i, name, uuid: `00000000-0000-0000-0000-0000000000${10 + i}`, type: 'hvm', memoryMiB: 64, vcpus: 1, state: 'running', disks: [], nics: [], createdAt: Date.now(),
    }));
    const h = host({ domains });
    const listed = parseXlList((await xl(h, ['list', '-l'])).stdout).map((d) => d.name);
    assert.deepEqual(listed, ['Domain-0', ...names]);
    for (const name of names) {
      const one = parseXlList((await xl(h, ['list', '-l', '--', name])).stdout);
      assert.deepEqual(one.map((d) => d.name), [name]);
    }
    const dash = await xl(h, ['destroy', '-leading-dash']);
    assert.equal(dash.code, 2, 'without -- a leading dash is read as options, as xl getopt does');
    for (const name of names) assert.equal((await xl(h, ['destroy', '--', name])).code, 0, name);
    assert.deepEqual(parseXlList((await xl(h, ['list', '-l'])).stdout).map((d) => d.name), ['Domain-0']);
    assert.equal(existsSync(path.join(process.cwd(), 'PWNED')), false);
    assert.equal(existsSync(path.join(h, 'PWNED')), false);
  });

  test('an all-digit qualifier is a domid', async () => {
    const h = host();
    assert.equal((await xl(h, ['pause', '2'])).code, 0);
    assert.match((await xl(h, ['list', 'pv01'])).stdout, /^pv01 .* --p--- /m);
  });
});

test('concurrent xl processes keep the state whole (lock + atomic rename)', async () => {
  const h = host();
  const runs: Promise<Run>[] = [];
  for (let i = 0; i < 6; i++) {
    runs.push(xl(h, [i % 2 ? 'pause' : 'unpause', ['web01', 'pv01', 'plain01'][i % 3]!]));
    runs.push(xl(h, ['list', '-l']));
  }
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse(readFileSync(path.join(h, 'domains.json'), 'utf8')) as { domains: EmuDomain[] };
  assert.deepEqual(state.domains.map((d) => d.name), ['web01', 'pv01', 'plain01']);
  assert.equal(existsSync(path.join(h, 'domains.lock')), false);
});

test('remus -c over a pipe (sh -c, no ssh): the contract\'s lines in order, destroy → failover on the receiver, exit 0', async (t) => {
  const a = host({ coloPeriodMs: 100 });
  const b = host({ domains: [] });
  const receiver = `env XL_EMU_DIR=${shellQuote(b)} ${shellQuote(bundle.xl)} migrate-receive --colo`;
  const remus = xl(a, ['-vvv', 'remus', '-c', '-u', '-s', '', '--', 'web01', receiver], 30_000);
  t.after(async () => {
    await xl(a, ['destroy', 'web01']);
    await remus.catch(() => undefined);
  });
  // Wait until the receiver has applied a few checkpoints (its SVM's state flips on each).
  const uuid = parseXlList((await xl(a, ['list', '-l', 'web01'])).stdout)[0]!.uuid;
  for (let i = 0; ; i++) {
    const onB = parseXlList((await xl(b, ['list', '-l'])).stdout);
    if (onB.some((d) => d.name === 'web01--incoming')) {
      assert.equal(onB.find((d) => d.name === 'web01--incoming')!.uuid, uuid);
      break;
    }
    assert.ok(i < 100, 'the receiver never created web01--incoming');
    await delay(50);
  }
  await delay(600);
  assert.equal((await xl(a, ['destroy', 'web01'])).code, 0);
  const r = await remus;
  assert.equal(r.code, 0, r.stderr);
  const events = r.stderr.trimEnd().split('\n').map((l) => classifyXlLine(parseXlLine(l)).kind);
  const cycle = ['suspended', 'checkpointed', 'secondary-buffered', 'secondary-processed', 'record', 'record'];
  const first = events.indexOf('suspended');
  assert.ok(events.slice(0, first).includes('stream-started'));
  assert.ok(events.slice(0, first).includes('receiver-ready'));
  let cycles = 0;
  let i = first;
  while (events[i] === 'suspended' && events.slice(i, i + 6).join() === cycle.join()) {
    cycles++;
    i += 6;
  }
  assert.ok(cycles >= 3, `at least 3 whole cycles in order, got ${cycles}:\n${r.stderr}`);
  assert.deepEqual(events.slice(-5), ['primary-teardown', 'exit-reason', 'secondary-failover', 'secondary-teardown', 'takeover-complete']);
  // The receiver has exited once its lines are out; its guest runs under the name of the original.
  for (let n = 0; ; n++) {
    const onB = parseXlList((await xl(b, ['list', '-l'])).stdout);
    if (onB.some((d) => d.name === 'web01')) {
      assert.equal(onB.find((d) => d.name === 'web01')!.uuid, uuid);
      break;
    }
    assert.ok(n < 100, 'b never renamed web01--incoming');
    await delay(50);
  }
  assert.match((await xl(b, ['list', 'web01'])).stdout, /^web01 .* r----- /m);
  assert.equal((await xl(a, ['list', 'web01'])).code, 1, 'the destroyed PVM is gone from a');
});

/** Starts `xl <args> remus … web01` on a fresh host a with a receiver on a fresh host b, joined by a pipe. */
function pipePair(globals: string[], remusOptions: string[], receive = '--colo', env: NodeJS.ProcessEnv = {}): { a: string; b: string; remus: Promise<Run> } {
  const a = host({ coloPeriodMs: 100 });
  const b = host({ domains: [] });
  const receiver = `env XL_EMU_DIR=${shellQuote(b)} ${shellQuote(bundle.xl)} migrate-receive ${receive}`;
  return { a, b, remus: xl(a, [...globals, 'remus', ...remusOptions, '-s', '', '--', 'web01', receiver], 30_000, env) };
}

async function waitForName(stateDir: string, name: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (parseXlList((await xl(stateDir, ['list', '-l'])).stdout).some((d) => d.name === name)) return;
    assert.ok(i < 200, `${name} never appeared`);
    await delay(50);
  }
}

test('-T stamps libxl/xc lines (not xl\'s own); without -v no debug Record lines', async (t) => {
  const { a, b, remus } = pipePair(['-T'], ['-c', '-u']);
  t.after(async () => {
    await xl(a, ['destroy', 'web01']);
    await remus.catch(() => undefined);
  });
  await waitForName(b, 'web01--incoming');
  await delay(500);
  await xl(a, ['destroy', 'web01']);
  const r = await remus;
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  const own = lines.filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \[\d+\] (xc|libxl): /.test(l));
  assert.ok(own.some((l) => l.endsWith('xc: progress: Domain now suspended: 0/0 0%')));
  for (const l of own) {
    const p = parseXlLine(l);
    assert.ok(p.stamp !== undefined && p.pid !== undefined && p.context !== undefined, l);
  }
  assert.ok(lines.includes('COLO: Primary domain has been destroyed.'), 'xl\'s own lines carry no stamp');
  assert.equal(lines.filter((l) => l.includes('Record: 5, length 4')).length, 0);
  assert.ok(lines.filter((l) => l.endsWith('xc: info: All records processed')).length >= 2, 'the receiver logs at its default level');
});

test('Remus (-i 100): checkpoints without secondary lines or Record lines; destroy ends it with exit 0', async (t) => {
  const { a, b, remus } = pipePair(['-vvv'], ['-i', '100'], '-r');
  t.after(async () => {
    await xl(a, ['destroy', 'web01']);
    await remus.catch(() => undefined);
  });
  await waitForName(b, 'web01--incoming');
  await delay(700);
  await xl(a, ['destroy', 'web01']);
  const r = await remus;
  assert.equal(r.code, 0, r.stderr);
  const kinds: string[] = r.stderr.trimEnd().split('\n').map((l) => classifyXlLine(parseXlLine(l)).kind);
  assert.ok(kinds.filter((k) => k === 'checkpointed').length >= 3, r.stderr);
  for (const k of ['secondary-buffered', 'secondary-processed', 'record', 'primary-teardown']) assert.ok(!kinds.includes(k), `${k} in a Remus log`);
  assert.match(r.stderr, /^Remus: Primary domain has been destroyed\.$/m);
  await waitForName(b, 'web01');
});

test('XL_EMU_TIMING_FILE (benchmarks): one `<domain> <seq> <ms>` line per committed COLO cycle, after its last line; xl\'s output unchanged', async (t) => {
  const timing = path.join(dir, `timing-${hosts}`);
  const from = performance.timeOrigin + performance.now();
  const { a, b, remus } = pipePair(['-vvv'], ['-c', '-u'], '--colo', { XL_EMU_TIMING_FILE: timing });
  t.after(async () => {
    await xl(a, ['destroy', 'web01']);
    await remus.catch(() => undefined);
  });
  await waitForName(b, 'web01--incoming');
  for (let i = 0; !existsSync(timing) || readFileSync(timing, 'utf8').split('\n').length < 4; i++) {
    assert.ok(i < 200, 'no three cycles noted in the timing file');
    await delay(50);
  }
  await xl(a, ['destroy', 'web01']);
  const r = await remus;
  const to = performance.timeOrigin + performance.now();
  assert.equal(r.code, 0, r.stderr);
  const noted = readFileSync(timing, 'utf8').trimEnd().split('\n').map((l) => {
    const m = /^web01 (\d+) (\d+\.\d{3})$/.exec(l);
    assert.ok(m, `a timing line: ${l}`);
    return { seq: Number(m[1]), at: Number(m[2]) };
  });
  assert.deepEqual(noted.map((n) => n.seq), noted.map((_, i) => i), 'every committed cycle from seq 0, in order');
  for (const [i, n] of noted.entries()) {
    assert.ok(n.at >= from && n.at <= to, `noted at a wall-clock time within the run: ${n.at}`);
    if (i > 0) assert.ok(n.at >= noted[i - 1]!.at, 'in time order');
  }
  const kinds = r.stderr.trimEnd().split('\n').map((l) => classifyXlLine(parseXlLine(l)).kind);
  // Each cycle ends with two Record lines; the file holds no more cycles than the log shows.
  assert.ok(kinds.filter((k) => k === 'record').length >= 2 * noted.length, r.stderr);
  assert.doesNotMatch(r.stderr, /^web01 \d+ /m, 'nothing of the timing file in the log');
});

test('extra guests (lab option extraGuests): COLO-ready HVM guests colo01… with their own NBD exports, listed by xl', async () => {
  const d = path.join(dir, `host${hosts++}`);
  writeHostState(d, DEFAULT_HOST, seededDomains('198.19.0.2', Date.now(), 3));
  const all = parseXlList((await xl(d, ['list', '-l'])).stdout);
  assert.deepEqual(all.map((x) => x.name), ['Domain-0', 'web01', 'pv01', 'plain01', 'colo01', 'colo02', 'colo03']);
  assert.deepEqual(all.slice(4).map((x) => x.domid), [4, 5, 6]);
  const extra = seededDomains('198.19.0.2', Date.now(), 3).domains.slice(3);
  assert.ok(extra.every((x) => x.type === 'hvm' && x.state === 'paused' && x.disks[0]!.colo_enable === 'True' && x.disks[0]!.colo_host === '198.19.0.2'));
  assert.equal(new Set(extra.map((x) => x.disks[0]!.colo_port)).size, 3, 'one NBD port each');
  assert.equal(seededDomains('198.19.0.2', Date.now(), 3).nextDomid, 7);
});

test('the SVM destroyed on b: the primary reads no more, resumes its guest, exit 1; b keeps nothing', async (t) => {
  const { a, b, remus } = pipePair(['-vvv'], ['-c', '-u']);
  t.after(async () => {
    await xl(a, ['destroy', 'web01']);
    await remus.catch(() => undefined);
  });
  await waitForName(b, 'web01--incoming');
  await delay(300);
  assert.equal((await xl(b, ['destroy', 'web01--incoming'])).code, 0);
  const r = await remus;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /Domain 1:(reading|sending) data fails\n/);
  assert.match(r.stderr, /COLO: Backup failed\? resuming domain at primary\.\n$/);
  assert.doesNotMatch(r.stderr, /COLO Failover/);
  assert.match((await xl(a, ['list', 'web01'])).stdout, /^web01 .* r----- /m);
  assert.deepEqual(parseXlList((await xl(b, ['list', '-l'])).stdout).map((d) => d.name), ['Domain-0']);
});

test('a corrupt or cut state file: one clear error naming the file, exit 1', async () => {
  const h = host();
  const file = path.join(h, 'domains.json');
  writeFileSync(file, readFileSync(file, 'utf8').slice(0, 40));
  const cut = await xl(h, ['list']);
  assert.equal(cut.code, 1);
  assert.equal(cut.stderr.split('\n').filter(Boolean).length, 1);
  assert.match(cut.stderr, new RegExp(`^xl: the emulated hypervisor's state ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is unreadable`));
  writeFileSync(file, '{"domains": 3}');
  assert.match((await xl(h, ['destroy', 'web01'])).stderr, /has the wrong shape/);
});

test('-t: progress lines are written for a terminal (CR, no level), other lines as usual', async (t) => {
  const { a, b, remus } = pipePair(['-t'], ['-c', '-u']);
  t.after(async () => {
    await xl(a, ['destroy', 'web01']);
    await remus.catch(() => undefined);
  });
  await waitForName(b, 'web01--incoming');
  await delay(400);
  await xl(a, ['destroy', 'web01']);
  const r = await remus;
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /xc: progress: /);
  assert.match(r.stderr, /^xc: Domain now suspended: 0\/0 0%$/m);
  assert.match(r.stderr, /^xc: Checkpointed save: (\d+)\/\1 {2}100%$/m);
  assert.match(r.stderr, /^xc: info: All records processed$/m);
});
