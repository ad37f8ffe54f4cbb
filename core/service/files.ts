// The service's files in the user's data directory: written atomically, read as untrusted input, and never thrown
// away. A file that cannot be read back is renamed to `<name>.corrupt-<timestamp>` and reported as a Problem, so
// the admin learns that (say) their pairs were reset and can still recover the old file by hand (DESIGN.md:
// "files are untrusted ... nothing written half"; the issue: "reported and moved aside, never silently reset").

import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
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
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirectory(path.dirname(file));
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

/** Reads and parses a JSON file without trusting it: bounded size, parse errors returned rather than thrown. */
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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'bad', message: `unreadable: ${(err as Error).message}` };
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
