// npm start: the desktop app with the demo pair running, or, where Electron cannot run (no binary and no way to
// fetch one, or no display), browser mode: `colo-console serve --open`, which prints the URL and opens a browser
// if there is one. Arguments go to whichever starts: `npm start -- --no-demo` works in both; serve's other
// options (--port, --data-dir) mean something in browser mode only.
//
// Run with tsx (`tsx electron/start.ts`); it never imports 'electron' itself.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildElectron } from './build.js';
import { launchDesktop } from './launch.js';

const ROOT = path.join(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'out');
const args = process.argv.slice(2);

/** Browser mode, as its own process: the same Node and loader flags (tsx) as this one. */
function browserMode(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(ROOT, 'core', 'cli', 'main.ts'), 'serve', '--open', ...args], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    // Ctrl-C reaches the child through the terminal's process group; a TERM sent to us alone is passed on.
    const onTerm = (): void => {
      child.kill('SIGTERM');
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', () => undefined);
    child.once('error', (err) => {
      process.off('SIGTERM', onTerm);
      process.stderr.write(`colo-console: could not start browser mode: ${err.message}\n`);
      resolve(1);
    });
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
    });
  });
}

const code = await launchDesktop({
  mainScript: path.join(OUT, 'electron', 'main.cjs'),
  requiredFiles: [
    { path: path.join(OUT, 'electron', 'preload.cjs'), buildWith: 'npm run build:electron' },
    { path: path.join(OUT, 'renderer', 'index.html'), buildWith: 'the renderer build (vite)' },
  ],
  args,
  // esbuild takes a fraction of a second, so the bundles are always rebuilt from the current sources.
  prepare: async () => {
    await buildElectron();
  },
  fallback: () => browserMode(),
});
process.exitCode = code;
