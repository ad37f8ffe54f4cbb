// One process per data directory. Two consoles on one directory would interleave audit sequence numbers (the
// second one's appends fail on `UNIQUE constraint failed: audit.seq`, so its actions go unaudited) and write one
// history from two places. The first process to start holds `console.lock`; any other one is told who holds it
// and stops.
//
// The lock is a file created with O_EXCL holding the owner's pid, start time and what it is. A lock whose pid is
// no longer alive was left by a crash and is taken over; the takeover itself is guarded by a second O_EXCL file,
// so two starts racing for a stale lock cannot both win. A live pid that is not ours any more (pid reuse after a
// crash) errs on the safe side: the start stops, and the message names the pid and the file to remove.
//
// Why not proper-lockfile (npm): it locks with mkdir and keeps the lock fresh by touching its mtime on a timer,
// judging staleness by age; a paused or suspended process (a laptop lid, a debugger) then loses its lock while
// alive. It also records no owner, and naming the owner is what the admin needs. A pid check needs neither.

import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DataFileIoError } from './files.js';

export const LOCK_FILE = 'console.lock';
const TAKEOVER_FILE = 'console.lock.takeover';
/** A takeover guard older than this was left by a process that died mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

export interface LockOwner {
  pid: number;
  startedAt: number;
  /** What holds it, for people: "colo-console serve", "COLO Console (desktop app)". */
  what: string;
  host: string;
}

/** Thrown when another live process holds the directory; `message` is the one line to show. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  readonly code = 'ELOCKED';
  constructor(readonly dir: string, readonly owner: LockOwner | null, readonly lockFile: string) {
    super(owner === null
      ? `the data directory ${dir} is in use by another COLO Console (${lockFile} exists but cannot be read); stop it first, or use another data directory`
      : `the data directory ${dir} is in use by ${owner.what} (pid ${owner.pid}${owner.host === hostname() ? '' : ` on ${owner.host}`}, started ${new Date(owner.startedAt).toISOString()}); stop it first, or use another data directory (if that process is not a console, delete ${lockFile})`);
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** Takes the lock on `dir` for this process, or throws DataDirLockedError naming who holds it. */
export function acquireDataDirLock(dir: string, what: string, now: number = Date.now()): DataDirLock {
  const file = path.join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, startedAt: now, what, host: hostname() };
  const text = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let created: boolean;
    try {
      created = tryCreate(file, text);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new DataFileIoError(file, code, (err as Error).message);
    }
    if (created) return held(file, text);
    const owner = readOwner(file);
    if (owner === 'gone') continue;
    if (owner !== null && isAlive(owner)) throw new DataDirLockedError(dir, owner, file);
    // Unreadable (a crash mid-write) or dead: take it over, under the guard.
    if (owner === null && !olderThan(file, TAKEOVER_STALE_MS)) throw new DataDirLockedError(dir, null, file);
    takeOver(dir, file, owner);
  }
  throw new DataDirLockedError(dir, null, file);
}

function held(file: string, text: string): DataDirLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      if (readFileSync(file, 'utf8') === text) rmSync(file, { force: true });
    } catch {
      // Already gone: nothing to release.
    }
  };
  // A process that ends without closing the service (an uncaught error) still leaves the directory free.
  process.on('exit', release);
  return { file, release };
}

function tryCreate(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, text);
  } catch (err) {
    // A full disk: leave no empty lock behind that would look like a crashed owner to the next start.
    closeSync(fd);
    rmSync(file, { force: true });
    throw err;
  }
  closeSync(fd);
  return true;
}

/** The owner recorded in the lock, null if unreadable, 'gone' if the file vanished meanwhile. */
function readOwner(file: string): LockOwner | null | 'gone' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0 && typeof o.startedAt === 'number') {
      return { pid: o.pid, startedAt: o.startedAt, what: typeof o.what === 'string' ? o.what.slice(0, 200) : 'a COLO Console', host: typeof o.host === 'string' ? o.host.slice(0, 200) : hostname() };
    }
  } catch {
    // Fall through: unreadable.
  }
  return null;
}

function isAlive(owner: LockOwner): boolean {
  // Another machine's pid (a data directory on a network share) cannot be checked from here: assume it is alive.
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > ms;
  } catch {
    return true;
  }
}

/**
 * Removes a stale lock, but only while holding the takeover guard and only if the lock still names the dead owner
 * it was judged by: a racing start that already replaced it keeps its lock.
 */
function takeOver(dir: string, file: string, stale: LockOwner | null): void {
  const guard = path.join(dir, TAKEOVER_FILE);
  if (!tryCreate(guard, `${process.pid}\n`)) {
    if (olderThan(guard, TAKEOVER_STALE_MS)) rmSync(guard, { force: true });
    return;
  }
  try {
    const now = readOwner(file);
    const same = now === 'gone' || (now === null ? stale === null : stale !== null && now.pid === stale.pid && now.startedAt === stale.startedAt);
    if (same) rmSync(file, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
}
