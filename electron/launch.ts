// What `npm start` runs first: the desktop app if this machine can run it, browser mode otherwise.
//
// Plain Node, and it never imports 'electron': that package's index.js throws when its binary was not downloaded
// (ELECTRON_SKIP_BINARY_DOWNLOAD, an offline install, npm's allowScripts keeping its postinstall from running).
// The binary is found the way index.js finds it — path.txt names the executable under dist/, or
// ELECTRON_OVERRIDE_DIST_PATH names another directory — but by looking at files rather than by requiring it.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { NO_SANDBOX_SWITCH, ROOT_LAUNCH_NOTE } from './sandbox-note.js';

export type ElectronBinary = { readonly ok: true; readonly executable: string } | { readonly ok: false; readonly reason: string };

/** The electron npm package's directory, or null when it is not installed at all. */
export function locateElectronPackage(fromDir: string = import.meta.dirname): string | null {
  try {
    return path.dirname(createRequire(path.join(fromDir, 'noop.js')).resolve('electron/package.json'));
  } catch {
    return null;
  }
}

export function findElectronBinary(packageDir: string | null, env: NodeJS.ProcessEnv = process.env): ElectronBinary {
  if (packageDir === null) return { ok: false, reason: 'the electron package is not installed' };
  let name: string | undefined;
  try {
    name = readFileSync(path.join(packageDir, 'path.txt'), 'utf8').trim();
  } catch {
    name = undefined;
  }
  const override = env.ELECTRON_OVERRIDE_DIST_PATH;
  let executable: string;
  if (override !== undefined && override !== '') {
    executable = path.join(override, name || 'electron');
  } else if (name) {
    executable = path.join(packageDir, 'dist', name);
  } else {
    return { ok: false, reason: 'its binary was never downloaded' };
  }
  // path.txt names a file inside dist/; a path that climbs out of it is not one electron's installer wrote.
  if (override === undefined || override === '') {
    const rel = path.relative(path.join(packageDir, 'dist'), executable);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return { ok: false, reason: 'its path.txt is not valid' };
  }
  try {
    if (!statSync(executable).isFile()) return { ok: false, reason: `${executable} is not a file` };
  } catch {
    return { ok: false, reason: `${executable} is missing` };
  }
  return { ok: true, executable };
}

/**
 * Tries once to download the binary with electron's own installer, quietly. Resolves with a short reason on
 * failure (the installer's first line: "getaddrinfo ENOTFOUND github.com", say).
 */
export function fetchElectron(packageDir: string, timeoutMs = 300_000, env: NodeJS.ProcessEnv = process.env): Promise<{ ok: true } | { ok: false; reason: string }> {
  const installer = path.join(packageDir, 'install.js');
  if (!existsSync(installer)) return Promise.resolve({ ok: false, reason: 'the electron package has no installer' });
  return new Promise((resolve) => {
    const childEnv: NodeJS.ProcessEnv = { ...env };
    delete childEnv.ELECTRON_RUN_AS_NODE;
    const child = spawn(process.execPath, [installer], {
      cwd: packageDir,
      env: childEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `could not run its installer: ${err.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true });
      const first = stderr.split('\n').map((l) => l.trim()).find((l) => l !== '');
      const why = signal !== null ? `timed out after ${Math.round(timeoutMs / 1000)} s` : (first ?? `exit status ${code ?? '?'}`);
      resolve({ ok: false, reason: `downloading it failed: ${why.slice(0, 200)}` });
    });
  });
}

export interface LaunchOptions {
  /** The built main process: out/electron/main.cjs. */
  readonly mainScript: string;
  /** Files the desktop app cannot do without (the preload, the renderer's index.html) and what builds each. */
  readonly requiredFiles?: readonly RequiredFile[];
  /** Runs once the binary is known to be there, before the files are checked: build the bundles, say. */
  readonly prepare?: () => Promise<void> | void;
  /** Extra arguments for the app. */
  readonly args?: readonly string[];
  /** Browser mode: prints the URL and opens a browser if there is one; resolves with the exit status. */
  readonly fallback: (reason: string) => Promise<number> | number;
  /** Where the one line about falling back goes; stderr by default. */
  readonly note?: (line: string) => void;
  /** Try electron's installer once when the binary is missing (skipped when ELECTRON_SKIP_BINARY_DOWNLOAD is set). */
  readonly fetch?: boolean;
  readonly fetchTimeoutMs?: number;
  /** Said once if fetching takes long enough to notice, so a download is not mistaken for a hang. */
  readonly fetchNoticeAfterMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  /** For tests: which electron package to look in (default: the one Node would resolve), or null for none. */
  readonly electronPackageDir?: string | null;
  /** For tests: how to start the binary. */
  readonly spawnElectron?: (executable: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcess;
  /** For tests: who is running this (uid 0 on Linux needs --no-sandbox). */
  readonly isRoot?: boolean;
}

export interface RequiredFile {
  readonly path: string;
  /** The command that makes it: 'npm run build:electron'. */
  readonly buildWith: string;
}

export const FALLBACK_NOTE_SUFFIX = 'starting the console in browser mode';

/**
 * Runs the desktop app and resolves with its exit status, or says in one line why it cannot and resolves with
 * what `fallback` resolves with.
 */
export async function launchDesktop(options: LaunchOptions): Promise<number> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const note = options.note ?? ((line: string) => process.stderr.write(line + '\n'));
  const fallBack = async (line: string): Promise<number> => {
    note(line);
    return options.fallback(line);
  };

  const packageDir = options.electronPackageDir === undefined ? locateElectronPackage() : options.electronPackageDir;
  let binary = findElectronBinary(packageDir, env);
  if (!binary.ok && packageDir !== null && (options.fetch ?? true) && !skipDownload(env)) {
    const fetched = await withNotice(
      fetchElectron(packageDir, options.fetchTimeoutMs, env),
      options.fetchNoticeAfterMs ?? 2000,
      () => note('Downloading the Electron binary (first run)…'),
    );
    binary = fetched.ok ? findElectronBinary(packageDir, env) : { ok: false, reason: `${binary.reason}; ${fetched.reason}` };
  }
  if (!binary.ok) return fallBack(`Electron is not installed here (${binary.reason}); ${FALLBACK_NOTE_SUFFIX}`);

  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) {
    return fallBack(`Electron cannot open a window here (neither DISPLAY nor WAYLAND_DISPLAY is set); ${FALLBACK_NOTE_SUFFIX}`);
  }
  if (options.prepare !== undefined) {
    try {
      await options.prepare();
    } catch (err) {
      return fallBack(`The desktop app could not be built (${oneLine(err)}); ${FALLBACK_NOTE_SUFFIX}`);
    }
  }
  const required: RequiredFile[] = [{ path: options.mainScript, buildWith: 'npm run build:electron' }, ...(options.requiredFiles ?? [])];
  const missing = required.find((file) => !existsSync(file.path));
  if (missing !== undefined) {
    return fallBack(`The desktop app is not built (${missing.path} is missing; ${missing.buildWith} makes it); ${FALLBACK_NOTE_SUFFIX}`);
  }

  const args = [options.mainScript, ...(options.args ?? [])];
  // Chromium refuses to start as root with its sandbox on. --no-sandbox turns the OS sandbox off for every process,
  // the renderer's included: webPreferences' `sandbox: true` then only keeps Node.js and Electron's APIs out of the
  // page, it no longer confines the process. The main process sees the switch and says so on screen
  // (sandbox-note.ts); here the terminal hears it first.
  const isRoot = options.isRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  if (platform === 'linux' && isRoot) {
    args.unshift(NO_SANDBOX_SWITCH);
    note(ROOT_LAUNCH_NOTE);
  }
  // ELECTRON_RUN_AS_NODE would turn the binary into plain Node and run main.cjs without Electron's APIs.
  const childEnv: NodeJS.ProcessEnv = { ...env };
  delete childEnv.ELECTRON_RUN_AS_NODE;
  const start = options.spawnElectron ?? ((exe, argv, e) => spawn(exe, argv, { stdio: 'inherit', env: e }));

  return new Promise<number>((resolve) => {
    let child: ChildProcess;
    try {
      child = start(binary.executable, args, childEnv);
    } catch (err) {
      resolve(fallBack(`Electron could not be started (${err instanceof Error ? err.message : String(err)}); ${FALLBACK_NOTE_SUFFIX}`));
      return;
    }
    const forward = (signal: NodeJS.Signals) => (): void => {
      child.kill(signal);
    };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => {
      const handler = forward(signal);
      process.on(signal, handler);
      return () => process.off(signal, handler);
    });
    const done = (): void => {
      for (const off of handlers) off();
    };
    let spawned = false;
    child.once('spawn', () => {
      spawned = true;
    });
    child.once('error', (err) => {
      done();
      // Only a binary that never started is a reason to fall back; a running app's errors are its own.
      if (!spawned) resolve(fallBack(`Electron could not be started (${err.message}); ${FALLBACK_NOTE_SUFFIX}`));
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 0 : 1));
    });
  });
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim().slice(0, 300);
}

/** Electron's installer does nothing when this is set to anything at all; neither do we. */
function skipDownload(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.ELECTRON_SKIP_BINARY_DOWNLOAD);
}

async function withNotice<T>(work: Promise<T>, afterMs: number, notice: () => void): Promise<T> {
  const timer = setTimeout(notice, afterMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}
