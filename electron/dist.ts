// npm run dist [-- electron-builder options]: packages the desktop app into release/ for this platform (or the
// ones named: `npm run dist -- --linux`, `-- --win`, `-- --mac`), following electron-builder.yml.
//
// It needs the network (Electron's zip, electron-builder's toolsets, Electron builds of native modules), so it
// is not part of CI. Steps:
//   1. the renderer build (`npm run build:renderer`, if the project has that script) and the Electron bundles;
//   2. native modules rebuilt for Electron's ABI (`electron-builder install-app-deps`);
//   3. electron-builder;
//   4. always, even after a failure: native modules rebuilt for Node again, so tests and the CLI keep working.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { buildElectron } from './build.js';

const ROOT = path.join(import.meta.dirname, '..');
/** Native dependencies that must match the runtime's ABI. */
const NATIVE = ['better-sqlite3'];

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(args[0] ?? command)} ${args.slice(1).join(' ')} failed (${signal ?? `exit status ${code ?? '?'}`})`));
    });
  });
}

/** npm as the running npm (npm_execpath), so this works on Windows too, without a shell. */
function npm(args: readonly string[]): Promise<void> {
  const npmCli = process.env.npm_execpath;
  return npmCli ? run(process.execPath, [npmCli, ...args]) : run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args);
}

function electronBuilder(args: readonly string[]): Promise<void> {
  const cli = createRequire(path.join(ROOT, 'package.json')).resolve('electron-builder/cli.js');
  return run(process.execPath, [cli, ...args]);
}

async function dist(passThrough: readonly string[]): Promise<void> {
  await npm(['run', '--if-present', 'build:renderer']);
  await buildElectron();
  if (!existsSync(path.join(ROOT, 'out', 'renderer', 'index.html'))) throw new Error('out/renderer/index.html is missing: build the renderer first');
  const natives = NATIVE.filter((name) => existsSync(path.join(ROOT, 'node_modules', name)));
  try {
    if (natives.length > 0) await electronBuilder(['install-app-deps']);
    await electronBuilder(['--publish', 'never', ...passThrough]);
  } finally {
    if (natives.length > 0) await npm(['rebuild', ...natives]).catch((err: unknown) => {
      console.error(`dist: could not rebuild ${natives.join(', ')} for Node (${err instanceof Error ? err.message : String(err)}); run npm rebuild ${natives.join(' ')}`);
    });
  }
}

dist(process.argv.slice(2)).then(
  () => console.log('dist: packages are in release/'),
  (err: unknown) => {
    console.error(`dist: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
