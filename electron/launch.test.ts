import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FALLBACK_NOTE_SUFFIX, fetchElectron, findElectronBinary, launchDesktop, locateElectronPackage } from './launch.js';
import { ROOT_LAUNCH_NOTE } from './sandbox-note.js';

/** The stand-in Electron binaries are shell scripts with a #! line, which Windows cannot execute. */
const NEEDS_POSIX: string | false = process.platform === 'win32' ? 'the stand-in Electron binary is a shell script, which Windows cannot run' : false;

let base: string;
let counter = 0;

before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'colo-launch-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A fake binary: records its arguments and ELECTRON_RUN_AS_NODE in $RECORD, then exits with $EXIT_CODE. */
const FAKE_BINARY = '#!/bin/sh\n{ printf "%s\\n" "$@"; echo "run-as-node=${ELECTRON_RUN_AS_NODE:-unset}"; } > "$RECORD"\nexit "${EXIT_CODE:-0}"\n';

async function fakePackage(layout: { pathTxt?: string; binary?: boolean; installer?: 'fail' | 'succeed' | 'hang' }): Promise<string> {
  const dir = path.join(base, `electron-${counter++}`);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), '{"name":"electron","version":"41.7.1"}');
  if (layout.pathTxt !== undefined) await writeFile(path.join(dir, 'path.txt'), layout.pathTxt);
  if (layout.binary === true) await writeBinary(path.join(dir, 'dist', layout.pathTxt ?? 'electron'));
  if (layout.installer === 'fail') {
    await writeFile(path.join(dir, 'install.js'), "console.error('RequestError: getaddrinfo ENOTFOUND github.com');\nconsole.error('    at ClientRequest.<anonymous> (got/index.js:970:111)');\nprocess.exit(1);\n");
  } else if (layout.installer === 'succeed') {
    await writeFile(
      path.join(dir, 'install.js'),
      `const fs = require('fs'); const path = require('path');
       fs.mkdirSync(path.join(__dirname, 'dist'), { recursive: true });
       fs.writeFileSync(path.join(__dirname, 'dist', 'electron'), ${JSON.stringify(FAKE_BINARY)}, { mode: 0o755 });
       fs.writeFileSync(path.join(__dirname, 'path.txt'), 'electron');\n`,
    );
  } else if (layout.installer === 'hang') {
    await writeFile(path.join(dir, 'install.js'), 'setInterval(() => undefined, 1000);\n');
  }
  return dir;
}

async function writeBinary(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, FAKE_BINARY);
  await chmod(file, 0o755);
}

async function builtApp(): Promise<{ main: string; preload: string }> {
  const dir = path.join(base, `out-${counter++}`);
  await mkdir(dir, { recursive: true });
  const main = path.join(dir, 'main.cjs');
  const preload = path.join(dir, 'preload.cjs');
  await writeFile(main, '');
  await writeFile(preload, '');
  return { main, preload };
}

describe('findElectronBinary', () => {
  test('no package at all', () => {
    assert.deepEqual(findElectronBinary(null, {}), { ok: false, reason: 'the electron package is not installed' });
  });

  test('a package whose binary was never downloaded (no path.txt), as with ELECTRON_SKIP_BINARY_DOWNLOAD', async () => {
    const dir = await fakePackage({});
    assert.deepEqual(findElectronBinary(dir, {}), { ok: false, reason: 'its binary was never downloaded' });
  });

  test('path.txt naming a file that is not there', async () => {
    const dir = await fakePackage({ pathTxt: 'electron' });
    const found = findElectronBinary(dir, {});
    assert.equal(found.ok, false);
    assert.match(found.ok ? '' : found.reason, /dist[/\\]electron is missing$/);
  });

  test('the binary where path.txt says, as on macOS too', async () => {
    const linux = await fakePackage({ pathTxt: 'electron', binary: true });
    assert.deepEqual(findElectronBinary(linux, {}), { ok: true, executable: path.join(linux, 'dist', 'electron') });
    const mac = await fakePackage({ pathTxt: 'Electron.app/Contents/MacOS/Electron', binary: true });
    assert.deepEqual(findElectronBinary(mac, {}), { ok: true, executable: path.join(mac, 'dist', 'Electron.app', 'Contents', 'MacOS', 'Electron') });
  });

  test('a path.txt that climbs out of dist/ is not trusted', async () => {
    const dir = await fakePackage({ pathTxt: '../../../bin/sh' });
    assert.deepEqual(findElectronBinary(dir, {}), { ok: false, reason: 'its path.txt is not valid' });
  });

  test('ELECTRON_OVERRIDE_DIST_PATH names another directory, as electron/index.js honours it', async () => {
    const dir = await fakePackage({});
    const elsewhere = path.join(base, `dist-${counter++}`);
    await writeBinary(path.join(elsewhere, 'electron'));
    assert.deepEqual(findElectronBinary(dir, { ELECTRON_OVERRIDE_DIST_PATH: elsewhere }), { ok: true, executable: path.join(elsewhere, 'electron') });
  });

  test('finds the real electron package of this project without loading it', () => {
    const dir = locateElectronPackage();
    assert.ok(dir !== null && dir.endsWith(path.join('node_modules', 'electron')), String(dir));
  });
});

describe('fetchElectron', () => {
  test("reports the installer's first line when the download fails", async () => {
    const dir = await fakePackage({ installer: 'fail' });
    assert.deepEqual(await fetchElectron(dir, 10_000, {}), { ok: false, reason: 'downloading it failed: RequestError: getaddrinfo ENOTFOUND github.com' });
  });

  test('gives up after its timeout', async () => {
    const dir = await fakePackage({ installer: 'hang' });
    assert.deepEqual(await fetchElectron(dir, 300, {}), { ok: false, reason: 'downloading it failed: timed out after 0 s' });
  });
});

describe('launchDesktop', () => {
  const display = { DISPLAY: ':99' };

  async function fallbackRun(options: Partial<Parameters<typeof launchDesktop>[0]> & { electronPackageDir: string | null }) {
    const notes: string[] = [];
    const reasons: string[] = [];
    const app = await builtApp();
    const code = await launchDesktop({
      mainScript: app.main,
      env: display,
      platform: 'linux',
      fetchNoticeAfterMs: 60_000,
      note: (line) => notes.push(line),
      fallback: (reason) => {
        reasons.push(reason);
        return 42;
      },
      ...options,
    });
    return { code, notes, reasons };
  }

  test('without a binary: exactly one line, then browser mode', async () => {
    const dir = await fakePackage({});
    const { code, notes, reasons } = await fallbackRun({ electronPackageDir: dir, fetch: false });
    assert.equal(code, 42);
    assert.deepEqual(notes, [`Electron is not installed here (its binary was never downloaded); ${FALLBACK_NOTE_SUFFIX}`]);
    assert.deepEqual(reasons, notes);
  });

  test('without the package: the same one line', async () => {
    const { notes } = await fallbackRun({ electronPackageDir: null });
    assert.deepEqual(notes, [`Electron is not installed here (the electron package is not installed); ${FALLBACK_NOTE_SUFFIX}`]);
  });

  test('tries to fetch the binary once, and says why that failed in the same one line', async () => {
    const dir = await fakePackage({ installer: 'fail' });
    const { notes } = await fallbackRun({ electronPackageDir: dir });
    assert.deepEqual(notes, [
      `Electron is not installed here (its binary was never downloaded; downloading it failed: RequestError: getaddrinfo ENOTFOUND github.com); ${FALLBACK_NOTE_SUFFIX}`,
    ]);
  });

  test('does not try to fetch when ELECTRON_SKIP_BINARY_DOWNLOAD is set', async () => {
    const dir = await fakePackage({ installer: 'succeed' });
    const { notes } = await fallbackRun({ electronPackageDir: dir, env: { ...display, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /^Electron is not installed here \(its binary was never downloaded\); /);
  });

  test('on Linux without a display: one line, then browser mode', async () => {
    const dir = await fakePackage({ pathTxt: 'electron', binary: true });
    const { code, notes } = await fallbackRun({ electronPackageDir: dir, env: {} });
    assert.equal(code, 42);
    assert.deepEqual(notes, [`Electron cannot open a window here (neither DISPLAY nor WAYLAND_DISPLAY is set); ${FALLBACK_NOTE_SUFFIX}`]);
  });

  test('with the app not built: one line naming the missing file and what builds it', async () => {
    const dir = await fakePackage({ pathTxt: 'electron', binary: true });
    const { notes } = await fallbackRun({ electronPackageDir: dir, mainScript: path.join(base, 'nowhere', 'main.cjs') });
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /^The desktop app is not built \(.*nowhere[/\\]main\.cjs is missing; npm run build:electron makes it\); starting the console in browser mode$/);
  });

  test('a failing prepare step (the bundle build) falls back too', async () => {
    const dir = await fakePackage({ pathTxt: 'electron', binary: true });
    const { notes } = await fallbackRun({
      electronPackageDir: dir,
      prepare: () => {
        throw new Error('Could not resolve "../core/service/index.js"\nmore');
      },
    });
    assert.deepEqual(notes, [`The desktop app could not be built (Could not resolve "../core/service/index.js"); ${FALLBACK_NOTE_SUFFIX}`]);
  });

  test('runs the binary with the main script and its arguments, and returns its exit status', { skip: NEEDS_POSIX }, async () => {
    const dir = await fakePackage({ pathTxt: 'electron', binary: true });
    const app = await builtApp();
    const record = path.join(base, `record-${counter++}`);
    let prepared = 0;
    const notes: string[] = [];
    const before = process.listenerCount('SIGINT');
    const code = await launchDesktop({
      mainScript: app.main,
      requiredFiles: [{ path: app.preload, buildWith: 'npm run build:electron' }],
      args: ['--demo'],
      env: { ...display, RECORD: record, EXIT_CODE: '3', ELECTRON_RUN_AS_NODE: '1' },
      platform: 'linux',
      isRoot: false,
      electronPackageDir: dir,
      prepare: () => {
        prepared++;
      },
      note: (line) => notes.push(line),
      fallback: () => assert.fail('must not fall back'),
    });
    assert.equal(code, 3);
    assert.equal(prepared, 1);
    assert.deepEqual(notes, []);
    // ELECTRON_RUN_AS_NODE would make the binary plain Node: it is never passed on.
    assert.deepEqual((await readFile(record, 'utf8')).trim().split('\n'), [app.main, '--demo', 'run-as-node=unset']);
    assert.equal(process.listenerCount('SIGINT'), before, 'signal forwarding is removed once the app has exited');
  });

  test('as root on Linux, adds --no-sandbox and says so', { skip: NEEDS_POSIX }, async () => {
    const dir = await fakePackage({ pathTxt: 'electron', binary: true });
    const app = await builtApp();
    const record = path.join(base, `record-${counter++}`);
    const notes: string[] = [];
    const code = await launchDesktop({
      mainScript: app.main,
      env: { ...display, RECORD: record },
      platform: 'linux',
      isRoot: true,
      electronPackageDir: dir,
      note: (line) => notes.push(line),
      fallback: () => assert.fail('must not fall back'),
    });
    assert.equal(code, 0);
    assert.deepEqual((await readFile(record, 'utf8')).trim().split('\n'), ['--no-sandbox', app.main, 'run-as-node=unset']);
    // The terminal hears the truth: the switch turns Chromium's sandbox off for the whole app, window included.
    assert.deepEqual(notes, [ROOT_LAUNCH_NOTE]);
    assert.match(ROOT_LAUNCH_NOTE, /--no-sandbox/);
    assert.match(ROOT_LAUNCH_NOTE, /sandbox is then off for every process of the app, the window included/);
    assert.doesNotMatch(ROOT_LAUNCH_NOTE, /still applies/);
  });

  test('not as root, or not on Linux: no --no-sandbox', { skip: NEEDS_POSIX }, async () => {
    for (const [platform, isRoot] of [['linux', false], ['darwin', true]] as const) {
      const dir = await fakePackage({ pathTxt: 'electron', binary: true });
      const app = await builtApp();
      const record = path.join(base, `record-${counter++}`);
      const code = await launchDesktop({
        mainScript: app.main,
        env: { ...display, RECORD: record },
        platform,
        isRoot,
        electronPackageDir: dir,
        note: (line) => assert.fail(`unexpected note: ${line}`),
        fallback: () => assert.fail('must not fall back'),
      });
      assert.equal(code, 0);
      assert.ok(!(await readFile(record, 'utf8')).split('\n').includes('--no-sandbox'), `${platform}, root: ${isRoot}`);
    }
  });

  test('a successful fetch is followed by the launch', { skip: NEEDS_POSIX }, async () => {
    const dir = await fakePackage({ installer: 'succeed' });
    const app = await builtApp();
    const record = path.join(base, `record-${counter++}`);
    const code = await launchDesktop({
      mainScript: app.main,
      env: { ...display, RECORD: record, EXIT_CODE: '0' },
      platform: 'linux',
      isRoot: false,
      electronPackageDir: dir,
      fetchNoticeAfterMs: 60_000,
      note: (line) => assert.fail(`unexpected note: ${line}`),
      fallback: () => assert.fail('must not fall back'),
    });
    assert.equal(code, 0);
    assert.equal((await readFile(record, 'utf8')).split('\n')[0], app.main);
  });

  test('a binary that cannot be executed falls back', { skip: NEEDS_POSIX }, async () => {
    const dir = await fakePackage({ pathTxt: 'electron', binary: true });
    await chmod(path.join(dir, 'dist', 'electron'), 0o644);
    const { code, notes } = await fallbackRun({ electronPackageDir: dir, isRoot: false });
    assert.equal(code, 42);
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /^Electron could not be started \(.*EACCES.*\); starting the console in browser mode$/);
  });
});
