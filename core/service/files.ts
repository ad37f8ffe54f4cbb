// The service's files in the user's data directory: written atomically, read as untrusted input, and never thrown
// away. A file that cannot be read back is renamed to `<name>.corrupt-<timestamp>` and reported as a Problem, so
// the admin learns that (say) their pairs were reset and can still recover the old file by hand (DESIGN.md:
// "files are untrusted ... nothing written half"; the issue: "reported and moved aside, never silently reset").

import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DataFileProblem } from '../api/console-contract.js';

/** Something wrong with a data file that the admin must hear about; its shape is the contract's (app.problems). */
export type Problem = DataFileProblem;

/** Collects problems as they are found; the service exposes the list (and audits each one). */
export type ProblemSink = (problem: Problem) => void;

/** Largest JSON file we read: registry and settings are small; anything bigger is not ours. */
export const MAX_JSON_FILE_BYTES = 8 * 1024 * 1024;

/**
 * Writes `text` so that a crash leaves either the old file or the new one, never half of either: a temp file in the
 * same directory, fsync, rename over the target, then fsync the directory so the rename itself is durable.
 */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}${TEMP_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (err) {
    throw asIoError(file, err);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw asIoError(file, err);
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw asIoError(file, err);
  }
  fsyncDirectory(path.dirname(file));
}

/** A write's errno error (ENOSPC from writeSync names no file) as one that names the file it was for. */
function asIoError(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? new DataFileIoError(file, code, (err as Error).message) : err;
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open or fsync a directory; the rename is still atomic there, just not yet durable.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What writeFileAtomic puts between a file's name and the writer's pid in its temp file's name. */
const TEMP_INFIX = '.tmp-';
const TEMP_NAME = /\.tmp-\d+-[0-9a-f]{8}$/;

/**
 * Deletes the temp files a crash left behind in `dir` (writeFileAtomic's, never anything else) and returns their
 * names. Only safe while this process holds the data directory's lock: then no other writer can own one.
 */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!TEMP_NAME.test(name)) continue;
    rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Owner-only modes: the directory 0700, `files` (those that exist) 0600, whatever the umask made of them. */
export function restrictModes(dir: string, files: readonly string[]): void {
  if (process.platform === 'win32') return;
  chmodSync(dir, 0o700);
  for (const f of files) {
    try {
      chmodSync(f, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * An error reaching a data file (full disk, read-only mount, no permission): not a fault of the file, so the file
 * is left exactly as it is and the start stops with one line naming the file and the errno.
 */
export class DataFileIoError extends Error {
  override readonly name = 'DataFileIoError';
  constructor(readonly file: string, readonly code: string, detail: string) {
    super(`cannot use ${file}: ${code} (${detail}); nothing was changed`);
  }
}

/** `2025-01-31T12-00-00-000Z`: an ISO time that is also a valid file name on every platform. */
export function fileTimestamp(at: number): string {
  return new Date(at).toISOString().replace(/[:.]/g, '-');
}

/**
 * Renames `file` to `<file>.corrupt-<timestamp>` (with `-2`, `-3`… if taken) and returns the new path. `companions`
 * are suffixes of sibling files that belong to it (SQLite's `-wal`, `-shm`): they follow it under the new name, so
 * the moved-aside database still opens with its journal.
 */
export function moveAside(file: string, at: number, companions: readonly string[] = []): string {
  const base = `${file}.corrupt-${fileTimestamp(at)}`;
  let target = base;
  for (let n = 2; existsSync(target); n++) target = `${base}-${n}`;
  renameSync(file, target);
  for (const suffix of companions) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}

export type JsonRead =
  | { kind: 'missing' }
  | { kind: 'ok'; value: unknown }
  | { kind: 'bad'; message: string };

/**
 * Reads and parses a JSON file without trusting it: bounded size, parse errors returned rather than thrown. An error
 * reading it (EACCES, EIO…) throws a DataFileIoError: that says nothing about the content.
 */
export function readJsonFile(file: string): JsonRead {
  let text: string;
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(MAX_JSON_FILE_BYTES + 1);
      let len = 0;
      for (;;) {
        // Read in a loop up to one byte past the limit, so a huge file is refused without being read whole.
        const n = readSync(fd, buf, len, buf.length - len, null);
        if (n === 0) break;
        len += n;
        if (len > MAX_JSON_FILE_BYTES) return { kind: 'bad', message: `larger than ${MAX_JSON_FILE_BYTES} bytes` };
      }
      text = buf.subarray(0, len).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    // Permission, I/O, a directory in its place: the file may be fine, so it is not ours to move aside.
    throw new DataFileIoError(file, code ?? 'EIO', (err as Error).message);
  }
  try {
    return { kind: 'ok', value: JSON.parse(text) as unknown };
  } catch (err) {
    return { kind: 'bad', message: `not valid JSON: ${(err as Error).message}` };
  }
}

/** Moves a bad file aside and reports it; if even the rename fails, reports that instead and leaves it in place. */
export function quarantine(file: string, why: string, at: number, report: ProblemSink, companions: readonly string[] = []): void {
  try {
    const movedTo = moveAside(file, at, companions);
    report({ at, file, message: `${why}; moved aside to ${path.basename(movedTo)} and started afresh`, movedTo });
  } catch (err) {
    report({ at, file, message: `${why}; could not move it aside (${(err as Error).message})` });
    throw err;
  }
}
