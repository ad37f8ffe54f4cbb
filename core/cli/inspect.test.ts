// `colo-console stream inspect` on good and bad files, run as a real child process. A stream recorded by the real
// checkpoint engine (a small guest, so the file is a few hundred KiB) is cut, bit-flipped and fuzzed; whatever the
// damage, the CLI must answer with exit status 1 and ONE line on stderr that names the problem and its byte
// offset, with no stack trace, and must never hang.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { RUN_TIMEOUT_MS, type Run, XL_MAGIC, checkEach, childEnv, repoRoot, runAll, runCli, show, stderrLines } from './test-support/run-cli.js';

const STACK_LINE = /^\s+at /m;

/** Exit 1, exactly one line on stderr containing every needle, no stack trace and no internal error. */
function assertFails(r: Run, needles: Array<string | RegExp>, label = ''): void {
  const what = `${label ? `${label}: ` : ''}${show(r)}`;
  assert.equal(r.timedOut, false, `hung (killed after ${RUN_TIMEOUT_MS} ms): ${what}`);
  assert.equal(r.code, 1, `expected exit status 1: ${what}`);
  const lines = stderrLines(r);
  assert.equal(lines.length, 1, `expected exactly one line on stderr, got ${lines.length}: ${what}`);
  const line = lines[0]!;
  assert.match(line, /^colo-console: /, what);
  assert.doesNotMatch(r.stderr, STACK_LINE, `stack trace on stderr: ${what}`);
  assert.doesNotMatch(line, /internal error|\bError:|\[object /, `internals leak into the message: ${what}`);
  for (const needle of needles) {
    if (typeof needle === 'string') assert.ok(line.includes(needle), `stderr should contain ${JSON.stringify(needle)}: ${what}`);
    else assert.match(line, needle, what);
  }
}

// ---- fixtures ----

let tmp = '';

interface Listed {
  kind: string;
  offset: number;
  name?: string;
  length?: number;
  layer?: string;
}

interface Fixture {
  file: string;
  bytes: Buffer;
  /** Cycles the engine reported while recording. */
  cycles: number;
  items: Listed[];
  /** Offsets of the libxl and libxc stream headers. */
  libxl: number;
  libxc: number;
  /** The first PAGE_DATA (initial copy), one from a later checkpoint, the first CHECKPOINT_STATE(NEW). */
  firstPages: Listed;
  laterPages: Listed;
  checkpointState: Listed;
}

// A small guest and a busy, diverging workload: the initial copy is 64 pages and a checkpoint follows every few
// milliseconds, so the file holds every record kind COLO sends in a few hundred KiB.
const RECORD_SCRIPT = `
import { closeSync, openSync } from 'node:fs';
import { SimPair } from './core/backends/sim/pair.ts';
const [file, want] = [process.argv[1], Number(process.argv[2])];
const fd = openSync(file, 'wx');
const pair = new SimPair({ name: 'fuzz-vm', pageCount: 64, recordFd: fd, seed: 7,
  workload: { dirtyPagesPerSec: 400, workingSetPages: 48, divergenceProbability: 0.05 } });
let cycles = 0;
pair.subscribe({ cycle: (r) => { if (r.outcome === 'committed') cycles++; } });
await pair.start();
const started = Date.now();
while (cycles < want && Date.now() - started < 10000) await new Promise((r) => setTimeout(r, 10));
await pair.dispose();
closeSync(fd);
process.stdout.write(JSON.stringify({ cycles }) + '\\n');
`;

/** Records a small stream with the real engine, in a child process so a hang cannot hold up this one. */
function recordSmallStream(file: string, cycles: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', RECORD_SCRIPT, file, String(cycles)], {
      cwd: repoRoot,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`recording the fixture stream failed (exit ${code} ${signal ?? ''}): ${stderr}`));
      else resolve((JSON.parse(stdout) as { cycles: number }).cycles);
    });
  });
}

let fixturePromise: Promise<Fixture> | undefined;

function fixture(): Promise<Fixture> {
  fixturePromise ??= (async () => {
    const file = path.join(tmp, 'small.xl');
    const cycles = await recordSmallStream(file, 6);
    const listing = await runCli(['stream', 'inspect', '--records', '--json', file]);
    assert.equal(listing.code, 0, `the intact recording must inspect cleanly: ${show(listing)}`);
    const items = listing.stdout.trim().split('\n').map((l) => JSON.parse(l) as Listed);
    const find = (label: string, pred: (it: Listed) => boolean): Listed => {
      const it = items.find(pred);
      assert.ok(it, `fixture has no ${label}: ${show(listing)}`);
      return it;
    };
    const firstCheckpointEnd = find('CHECKPOINT_END', (it) => it.name === 'CHECKPOINT_END');
    return {
      file,
      bytes: readFileSync(file),
      cycles,
      items,
      libxl: find('libxl header', (it) => it.kind === 'libxl-header').offset,
      libxc: find('libxc header', (it) => it.kind === 'libxc-header').offset,
      firstPages: find('PAGE_DATA', (it) => it.name === 'PAGE_DATA'),
      laterPages: find('PAGE_DATA after checkpoint 0', (it) => it.name === 'PAGE_DATA' && it.offset > firstCheckpointEnd.offset),
      checkpointState: find('CHECKPOINT_STATE', (it) => it.name === 'CHECKPOINT_STATE'),
    };
  })();
  return fixturePromise;
}

let fileCounter = 0;
function writeCase(bytes: Uint8Array, name = 'case'): string {
  const file = path.join(tmp, `${name}-${fileCounter++}.bin`);
  writeFileSync(file, bytes);
  return file;
}

function mutate(bytes: Buffer, edit: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(bytes);
  edit(copy);
  return copy;
}

/** mulberry32: a small seeded PRNG, so a failing fuzz case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'colo-inspect-test-'));
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- tests ----

void describe('stream inspect on a recorded stream', () => {
  void test('the intact recording: exit 0, headers, and every cycle the engine reported as a complete checkpoint', async () => {
    const fx = await fixture();
    const [text, json] = await runAll([
      ['stream', 'inspect', fx.file],
      ['stream', 'inspect', '--json', fx.file],
    ]);
    for (const r of [text!, json!]) {
      assert.equal(r.timedOut, false, show(r));
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stderr, '', show(r));
    }
    assert.match(text!.stdout, /^xl save-file header: .*\(domain fuzz-vm\)$/m, show(text!));
    assert.match(text!.stdout, /^libxl stream v2/m, show(text!));
    assert.match(text!.stdout, /^libxc stream v3: x86 HVM domain, page shift 12/m, show(text!));
    assert.match(text!.stdout, /^checkpoint 0 \(initial copy\) /m, show(text!));

    const lines = json!.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1)!;
    assert.equal(summary.kind, 'summary', show(json!));
    assert.equal(summary.stream, 'xl');
    assert.equal(summary.bytes, fx.bytes.length, 'the summary accounts for every byte of the file');
    const checkpoints = summary.checkpoints as number;
    // The recorder stops at any point; a checkpoint whose last byte was written but whose cycle was not yet
    // reported (the secondary's answer was still on its way) is the only allowed difference.
    assert.ok(checkpoints >= fx.cycles && checkpoints <= fx.cycles + 1,
      `${checkpoints} complete checkpoints in the file, ${fx.cycles} cycles reported while recording`);
    assert.equal(lines.filter((l) => l.kind === 'checkpoint').length, checkpoints);
    assert.match(text!.stdout, new RegExp(`, ${checkpoints} complete checkpoints, `), show(text!));
  });

  void test('a truncated file: one line naming what was cut and its byte offset, exit 1', async () => {
    const fx = await fixture();
    const b = fx.bytes;
    const cases: Array<{ label: string; bytes: Buffer; needles: Array<string | RegExp> }> = [
      { label: 'inside the xl magic', bytes: b.subarray(0, 20), needles: ['xl save-file header', 'at byte 0'] },
      { label: 'inside the xl config', bytes: b.subarray(0, fx.libxl - 10), needles: ['xl save-file header', 'at byte 0'] },
      { label: 'inside the libxl header', bytes: b.subarray(0, fx.libxl + 5), needles: ['libxl', `at byte ${fx.libxl}`] },
      { label: 'inside the libxc headers', bytes: b.subarray(0, fx.libxc + 7), needles: ['libxc', `at byte ${fx.libxc}`] },
      {
        label: 'inside a record header',
        bytes: b.subarray(0, fx.firstPages.offset + 3),
        needles: ['record header', `at byte ${fx.firstPages.offset}`],
      },
      {
        label: 'inside the initial copy\'s PAGE_DATA body',
        bytes: b.subarray(0, fx.firstPages.offset + 8 + 2 * 4096 + 100),
        needles: ['PAGE_DATA', `at byte ${fx.firstPages.offset}`],
      },
      {
        label: 'inside a later checkpoint\'s PAGE_DATA body',
        bytes: b.subarray(0, fx.laterPages.offset + 20),
        needles: ['PAGE_DATA', `at byte ${fx.laterPages.offset}`],
      },
      {
        label: 'inside a record\'s padding',
        bytes: b.subarray(0, fx.checkpointState.offset + 13),
        needles: ['CHECKPOINT_STATE', `at byte ${fx.checkpointState.offset}`],
      },
    ];
    const runs = await runAll(cases.map((c) => ['stream', 'inspect', writeCase(c.bytes, 'truncated')]));
    checkEach(cases, runs, (c, r) => assertFails(r, c.needles, c.label));
  });

  void test('flipped bits in the headers: one line naming the field and its byte offset, exit 1', async () => {
    const fx = await fixture();
    const b = fx.bytes;
    const pd = fx.firstPages.offset;
    const cs = fx.checkpointState.offset;
    const cases: Array<{ label: string; edit: (b: Buffer) => void; needles: Array<string | RegExp> }> = [
      { label: 'xl magic', edit: (x) => (x[3]! ^= 0x20), needles: ['not a Xen migration stream', 'at byte 0'] },
      { label: 'xl byte-order mark', edit: (x) => (x[32]! ^= 0xff), needles: ['byte-order', 'at byte 32'] },
      { label: 'xl STREAMv2 flag cleared', edit: (x) => (x[36]! ^= 0x02), needles: ['STREAMv2', 'at byte 36'] },
      { label: 'xl unknown mandatory flag', edit: (x) => (x[36]! ^= 0x10), needles: ['mandatory flags', 'at byte 36'] },
      { label: 'xl optional-data length', edit: (x) => (x[47]! ^= 0x80), needles: ['at byte 44'] },
      { label: 'xl config length', edit: (x) => (x[51]! ^= 0x01), needles: ['config length', 'at byte 48'] },
      { label: 'libxl ident', edit: (x) => (x[fx.libxl + 1]! ^= 0x01), needles: ['LibxlFmt', `at byte ${fx.libxl}`] },
      { label: 'libxl version', edit: (x) => (x[fx.libxl + 11]! ^= 0x04), needles: ['version', `at byte ${fx.libxl + 8}`] },
      { label: 'libxl big-endian option', edit: (x) => (x[fx.libxl + 15]! ^= 0x01), needles: ['big-endian', `at byte ${fx.libxl + 12}`] },
      { label: 'libxc marker', edit: (x) => (x[fx.libxc]! ^= 0x80), needles: ['marker', `at byte ${fx.libxc}`] },
      { label: 'libxc domain type', edit: (x) => (x[fx.libxc + 24] = 7), needles: ['domain type', `at byte ${fx.libxc + 24}`] },
      { label: 'libxc page shift', edit: (x) => (x[fx.libxc + 28]! ^= 0x01), needles: ['page shift', `at byte ${fx.libxc + 28}`] },
      { label: 'PAGE_DATA type', edit: (x) => x.writeUInt32LE(0x7e, pd), needles: ['unknown', `at byte ${pd}`] },
      { label: 'PAGE_DATA length over the limit', edit: (x) => (x[pd + 7]! ^= 0x40), needles: ['limit', `at byte ${pd + 4}`] },
      {
        // under the limit but past the end of the file: the reader waits for the bytes, then says where it stopped
        label: 'PAGE_DATA length past the end of the file',
        edit: (x) => x.writeUInt32LE(100 * 1024 * 1024, pd + 4),
        needles: ['PAGE_DATA', `at byte ${pd}`],
      },
      { label: 'PAGE_DATA pfn count', edit: (x) => x.writeUInt32LE(1_000_000, pd + 8), needles: ['PAGE_DATA', /at byte \d+/] },
      { label: 'CHECKPOINT_STATE padding', edit: (x) => (x[cs + 13] = 0x5a), needles: ['padding', `at byte ${cs + 13}`] },
      { label: 'CHECKPOINT_STATE id', edit: (x) => x.writeUInt32LE(2, cs + 8), needles: ['CHECKPOINT_STATE', `at byte ${cs}`] },
    ];
    const runs = await runAll(cases.map((c) => ['stream', 'inspect', writeCase(mutate(b, c.edit), 'flipped')]));
    checkEach(cases, runs, (c, r) => assertFails(r, c.needles, c.label));
  });

  void test('files that are not streams at all: garbage, an empty file, a missing path, a directory', async () => {
    const random = prng(0xc0102);
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(random() * 256);
    const magicThenGarbage = Buffer.concat([XL_MAGIC, garbage.subarray(0, 4096)]);
    const dir = path.join(tmp, 'a-directory');
    mkdirSync(dir);
    const missing = path.join(tmp, 'no-such-file.xl');
    const cases: Array<{ label: string; file: string; needles: Array<string | RegExp> }> = [
      { label: 'random garbage', file: writeCase(garbage, 'garbage'), needles: ['not a Xen migration stream', 'at byte 0'] },
      { label: 'xl magic, then garbage', file: writeCase(magicThenGarbage, 'magic-garbage'), needles: [/at byte \d+/] },
      { label: 'a text file', file: writeCase(Buffer.from('hello, world\n'), 'text'), needles: ['not a Xen migration stream', 'at byte 0'] },
      { label: 'an empty file', file: writeCase(Buffer.alloc(0), 'empty'), needles: ['empty', 'at byte 0'] },
      { label: 'a missing path', file: missing, needles: ['no such file', missing] },
      { label: 'a directory', file: dir, needles: [/directory/i] },
    ];
    const runs = await runAll(cases.map((c) => ['stream', 'inspect', c.file]));
    checkEach(cases, runs, (c, r) => assertFails(r, c.needles, c.label));
  });

  void test('fuzz: 30 random mutations of the recording each end in exit 0 or 1 with at most one stderr line', async () => {
    const fx = await fixture();
    const seed = Number(process.env.COLO_FUZZ_SEED ?? 20240611);
    const random = prng(seed);
    const int = (n: number): number => Math.floor(random() * n);
    const records = fx.items.filter((it) => it.kind === 'record');
    const headerEnd = fx.libxc + 40;
    const interesting = [0, 1, 7, 8, 0x7fffffff, 0x80000000, 0xffffffff, 0x80000001, 0x0f, 0x10, 0x12, 0x13];
    type Mutation = { label: string; apply: (b: Buffer) => Buffer };
    const kinds: Array<() => Mutation> = [
      () => {
        const n = 1 + int(4);
        const at = Array.from({ length: n }, () => int(fx.bytes.length));
        return { label: `flip bits at ${at.join(',')}`, apply: (b) => mutate(b, (x) => at.forEach((i) => (x[i]! ^= 1 << int(8)))) };
      },
      () => {
        const i = int(headerEnd);
        const v = int(256);
        return { label: `header byte ${i} = ${v}`, apply: (b) => mutate(b, (x) => (x[i] = v)) };
      },
      () => {
        const r = records[int(records.length)]!;
        const field = int(2) * 4;
        const v = random() < 0.5 ? interesting[int(interesting.length)]! : int(0x100000000);
        return { label: `${r.name}@${r.offset} ${field ? 'length' : 'type'} = 0x${v.toString(16)}`, apply: (b) => mutate(b, (x) => x.writeUInt32LE(v, r.offset + field)) };
      },
      () => {
        const n = int(fx.bytes.length);
        return { label: `truncate to ${n}`, apply: (b) => b.subarray(0, n) };
      },
      () => {
        const at = int(fx.bytes.length);
        const extra = Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)));
        return { label: `insert ${extra.length} bytes at ${at}`, apply: (b) => Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]) };
      },
      () => {
        const at = int(fx.bytes.length);
        const n = 1 + int(64);
        return { label: `delete ${n} bytes at ${at}`, apply: (b) => Buffer.concat([b.subarray(0, at), b.subarray(at + n)]) };
      },
      () => {
        const i = 1 + int(records.length - 1);
        const r = records[i]!;
        const end = i + 1 < records.length ? records[i + 1]!.offset : fx.bytes.length;
        return { label: `repeat ${r.name}@${r.offset}`, apply: (b) => Buffer.concat([b.subarray(0, end), b.subarray(r.offset, end), b.subarray(end)]) };
      },
      () => {
        const at = int(fx.bytes.length);
        const n = 1 + int(512);
        return { label: `zero ${n} bytes at ${at}`, apply: (b) => mutate(b, (x) => x.fill(0, at, at + n)) };
      },
    ];
    const mutations = Array.from({ length: 30 }, (_, i) => kinds[i % kinds.length]!());
    const flags = [[], ['--json'], ['--records'], ['--records', '--json']];
    const cases = mutations.map((m, i) => {
      const bytes = m.apply(fx.bytes);
      return { label: `seed ${seed}, mutation ${i}: ${m.label}`, size: bytes.length, args: ['stream', 'inspect', ...flags[i % flags.length]!, writeCase(bytes, 'fuzz')] };
    });
    const runs = await runAll(cases.map((c) => c.args));
    checkEach(cases, runs, (c, r) => {
      const what = `${c.label}: ${show(r)}`;
      assert.equal(r.timedOut, false, `hung: ${what}`);
      assert.ok(r.code === 0 || r.code === 1, `exit status must be 0 or 1: ${what}`);
      assert.ok(stderrLines(r).length <= 1, `more than one line on stderr: ${what}`);
      assert.doesNotMatch(r.stderr, STACK_LINE, `stack trace: ${what}`);
      assert.doesNotMatch(r.stderr, /internal error/, what);
      if (r.args.includes('--json')) {
        for (const line of r.stdout.split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `stdout line is not JSON: ${line}`);
      }
      if (r.code === 1) {
        assertFails(r, [], c.label);
        const at = /at byte (\d+)/.exec(r.stderr);
        assert.ok(at, `the message should give a byte offset: ${what}`);
        assert.ok(Number(at[1]) <= c.size, `offset ${at[1]} lies beyond the ${c.size}-byte file: ${what}`);
      } else {
        assert.equal(r.stderr, '', what);
        const last = r.stdout.trim().split('\n').at(-1) ?? '';
        assert.ok(last.startsWith('xl stream, ') || last.includes('"kind":"summary"'), `a successful run ends with the summary: ${what}`);
      }
    });
  });

  void test('output piped into a reader that stops early (`| head`) ends quietly, without a stack trace', async () => {
    const fx = await fixture();
    const r = await runCli(['stream', 'inspect', '--records', fx.file], { closeStdout: true });
    assert.equal(r.timedOut, false, show(r));
    assert.ok(stderrLines(r).length <= 1, `at most one line on stderr: ${show(r)}`);
    assert.doesNotMatch(r.stderr, STACK_LINE, `stack trace when stdout is closed early: ${show(r)}`);
    assert.doesNotMatch(r.stderr, /Unhandled 'error' event/, show(r));
  });
});
