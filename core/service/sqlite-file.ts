// Opening one of the service's SQLite files: a file that is not a database, fails SQLite's quick integrity check,
// or carries a schema newer than this build knows is moved aside (with its -wal and -shm) and reported, and a
// fresh database is created. Schema changes are numbered migrations recorded in `PRAGMA user_version`, each
// applied in its own transaction, so a crash mid-upgrade leaves the previous version intact.
//
// An error that says nothing about the file's content (full disk, read-only mount, no permission, a directory in
// its place) is not corruption: the file is left exactly as it is and the open throws a DataFileIoError, which
// stops the start with one line naming the file and the errno.

import { R_OK, W_OK } from 'node:constants';
import { accessSync, chmodSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DataFileIoError, type ProblemSink, quarantine } from './files.js';

export type SqliteDatabase = Database.Database;

/** One schema step: migrations[i] takes the database from user_version i to i + 1. */
export type Migration = (db: SqliteDatabase) => void;

export interface OpenOptions {
  /** For messages: "The metrics history", "The audit log". */
  label: string;
  migrations: readonly Migration[];
  report: ProblemSink;
  now: number;
  /** 'FULL' where each commit must survive a power cut (the audit log); 'NORMAL' is enough under WAL otherwise. */
  synchronous: 'NORMAL' | 'FULL';
  /**
   * Why an empty (0-byte) file here means data was lost (say, "the audit log records 12 entries"), or null when an
   * empty file is just a first start. A lost file is reported and moved aside before a new one is made.
   */
  dataExisted?: () => string | null;
  /**
   * Run SQLite's quick_check (O(size): about a second per 200 MB) before use; default true. The audit log skips it
   * to keep the start fast at a million entries: its full verification, in the background, reads every page anyway.
   */
  quickCheck?: boolean;
}

const COMPANIONS = ['-wal', '-shm'] as const;

export function openDatabase(file: string, opts: OpenOptions): SqliteDatabase {
  checkAccess(file);
  if (existsSync(file)) {
    const empty = statSync(file).size === 0;
    const why = empty ? emptyReason(opts) : checkExisting(file, opts.migrations.length, opts.quickCheck ?? true);
    if (why !== null) quarantine(file, `${opts.label} (${file}) ${why}`, opts.now, opts.report, COMPANIONS);
  }
  let db: SqliteDatabase;
  try {
    db = new Database(file);
  } catch (err) {
    throw ioError(file, err);
  }
  try {
    // SQLite gives -wal and -shm the database file's mode, so 0600 here covers all three.
    if (process.platform !== 'win32') chmodSync(file, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma('busy_timeout = 2000');
    migrate(db, opts.migrations);
    if (process.platform !== 'win32') for (const s of COMPANIONS) if (existsSync(file + s)) chmodSync(file + s, 0o600);
    return db;
  } catch (err) {
    db.close();
    throw isCorruption(err) ? err : ioError(file, err);
  }
}

/** True for the errors that mean the content is bad; everything else is about reaching it. */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

/** True for errors a later retry may not hit: the disk is full, busy, read-only or failing. */
export function isIoError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|PERM)|E[A-Z]+$)/.test(code);
}

/** Fails early, with the real errno, where the OS will refuse us: reading or writing the file, or its directory. */
function checkAccess(file: string): void {
  const dir = path.dirname(file);
  try {
    accessSync(dir, R_OK | W_OK);
    if (existsSync(file)) {
      accessSync(file, R_OK | W_OK);
      if (statSync(file).isDirectory()) throw Object.assign(new Error('a directory is in its place'), { code: 'EISDIR' });
    }
  } catch (err) {
    throw ioError(file, err);
  }
}

function ioError(file: string, err: unknown): DataFileIoError {
  if (err instanceof DataFileIoError) return err;
  const code = (err as { code?: unknown }).code;
  return new DataFileIoError(file, typeof code === 'string' ? sqliteErrno(code) : 'EIO', (err as Error).message);
}

/** SQLite's code with the errno it stands for, where there is one. */
function sqliteErrno(code: string): string {
  if (code === 'SQLITE_FULL') return 'ENOSPC (SQLITE_FULL)';
  if (code.startsWith('SQLITE_READONLY')) return 'EROFS (SQLITE_READONLY)';
  if (code === 'SQLITE_PERM' || code.startsWith('SQLITE_CANTOPEN')) return `EACCES (${code})`;
  return code;
}

function emptyReason(opts: OpenOptions): string | null {
  const existed = opts.dataExisted?.() ?? null;
  return existed === null ? null : `is empty (0 bytes), yet ${existed}: its data was lost`;
}

/** Why an existing file cannot be used, or null if it can. Throws a DataFileIoError when it cannot be read at all. */
function checkExisting(file: string, knownVersion: number, quickCheck: boolean): string | null {
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    if (quickCheck) {
      // quick_check: the O(N) structural check without the index cross-checks of integrity_check.
      const rows = db.pragma('quick_check') as { quick_check: string }[];
      const bad = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
      if (bad.length > 0) return `failed its integrity check (${bad.slice(0, 3).join('; ').slice(0, 300)})`;
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > knownVersion) return `was written by a newer version of the console (schema ${version}, this build knows ${knownVersion})`;
    return null;
  } catch (err) {
    if (isCorruption(err)) return `is not a readable SQLite database (${(err as Error).message})`;
    throw ioError(file, err);
  } finally {
    db?.close();
  }
}

function migrate(db: SqliteDatabase, migrations: readonly Migration[]): void {
  const from = db.pragma('user_version', { simple: true }) as number;
  for (let v = from; v < migrations.length; v++) {
    db.transaction(() => {
      migrations[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
