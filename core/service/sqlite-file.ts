// Opening one of the service's SQLite files: a file that is not a database, fails SQLite's quick integrity check,
// or carries a schema newer than this build knows is moved aside (with its -wal and -shm) and reported, and a
// fresh database is created. Schema changes are numbered migrations recorded in `PRAGMA user_version`, each
// applied in its own transaction, so a crash mid-upgrade leaves the previous version intact.

import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { type ProblemSink, quarantine } from './files.js';

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
}

const COMPANIONS = ['-wal', '-shm'] as const;

export function openDatabase(file: string, opts: OpenOptions): SqliteDatabase {
  if (existsSync(file)) {
    const why = checkExisting(file, opts.migrations.length);
    if (why !== null) quarantine(file, `${opts.label} (${file}) ${why}`, opts.now, opts.report, COMPANIONS);
  }
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma('busy_timeout = 2000');
    migrate(db, opts.migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Why an existing file cannot be used, or null if it can. */
function checkExisting(file: string, knownVersion: number): string | null {
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    // quick_check: the O(N) structural check without the index cross-checks of integrity_check.
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const bad = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    if (bad.length > 0) return `failed its integrity check (${bad.slice(0, 3).join('; ').slice(0, 300)})`;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > knownVersion) return `was written by a newer version of the console (schema ${version}, this build knows ${knownVersion})`;
    return null;
  } catch (err) {
    return `is not a readable SQLite database (${(err as Error).message})`;
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
