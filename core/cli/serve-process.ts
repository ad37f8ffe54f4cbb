// The real browser-mode server, as an admin starts it: `colo-console serve`, in a child process, on a free port,
// with a data directory of its own. The end-to-end suite and the UI benchmark both drive the console this way.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const RENDERER_INDEX = path.join(ROOT, 'out', 'renderer', 'index.html');

const URL_LINE = /COLO Console \(browser mode\) is at (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** Kept of the server's output for the report when something fails. */
const MAX_LOG = 64 * 1024;

export interface ServeOptions {
  /** Start protecting the demo pair (default), or pass --no-demo. */
  demo?: boolean;
  /** The data directory: an existing one (a restart), or one a test seeded; default: a fresh one. */
  dataDir?: string;
  /** Extra environment for the server. */
  env?: NodeJS.ProcessEnv;
}

export interface RunningServer {
  /** The page URL with the per-launch token in its fragment. */
  readonly url: string;
  /** http://127.0.0.1:PORT, no token. */
  readonly origin: string;
  /** The per-launch token, for clients that are not a browser page (they offer it as a WebSocket subprotocol). */
  readonly token: string;
  /** The server process, to watch its memory. */
  readonly pid: number;
  readonly dataDir: string;
  /** Everything the server printed (stdout and stderr, interleaved), bounded. */
  log(): string;
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds. */
  stop(): Promise<void>;
}

export function freshDataDir(label = 'data'): string {
  return mkdtempSync(path.join(tmpdir(), `colo-${label}-`));
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  if (!existsSync(RENDERER_INDEX)) {
    throw new Error(`The UI is not built (${RENDERER_INDEX} is missing): run 'npx vite build --config renderer/vite.config.mjs' first.`);
  }
  const dataDir = options.dataDir ?? freshDataDir();
  const args = ['--import', 'tsx', path.join(ROOT, 'core', 'cli', 'main.ts'), 'serve', '--port', '0', '--data-dir', dataDir];
  if (options.demo === false) args.push('--no-demo');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: string): void => {
    output = (output + chunk).slice(-MAX_LOG);
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', append);

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      let pending = '';
      const timer = setTimeout(() => reject(new Error(`serve printed no URL within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      child.stdout.on('data', (chunk: string) => {
        append(chunk);
        pending += chunk;
        const m = URL_LINE.exec(pending);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`serve exited before printing its URL (${signal ?? `status ${code}`})`));
      });
    });
  } catch (err) {
    await kill(child, exited);
    throw new Error(`${(err as Error).message}\n--- server output ---\n${output}`, { cause: err });
  }

  return {
    url,
    origin: new URL(url).origin,
    token: new URL(url).hash.replace(/^#token=/, ''),
    pid: child.pid!,
    dataDir,
    log: () => output,
    stop: () => kill(child, exited),
  };
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
  });
  const how = await Promise.race([exited.then(() => 'exited' as const), grace]);
  clearTimeout(timer);
  if (how === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
