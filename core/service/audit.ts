// The audit log: every admin action and every command sent to a host, with its result, append-only and
// hash-chained (console-anchors.md: Xen Orchestra's audit log "will be able to detect [an altered or deleted
// record] and tell you which one").
//
// Storage: its own SQLite file, dataDir/audit.sqlite, not a table in the history database and not a JSONL file.
// - Not in history.sqlite, because the history is pruned by retention and is moved aside when corrupt; neither may
//   ever touch the audit trail.
// - Not JSONL, because an append there can be torn by a crash, and a torn last line looks exactly like tampering;
//   a SQLite commit (synchronous=FULL) is all or nothing. SQLite also gives paging by seq without reading the file.
// Triggers refuse UPDATE and DELETE, which stops accidents, not an attacker with the file: the hash chain is what
// detects edits and deletions. Removing the newest entries leaves a valid shorter chain, which a chain alone cannot
// see; so the head (count and hash) is also written, atomically after each append, to a separate anchor file
// (dataDir/audit.anchor) that no truncation, deletion or replacement of audit.sqlite touches. The start compares
// the two cheaply (one indexed read); the full walk runs in slices that yield to the event loop, so verifying a
// million entries never stalls the service. What this does and does not detect is in the README.
//
// Each entry's hash = sha256(prevHash + canonical JSON of the entry's other fields), prevHash of the first = 64
// zeros. Secrets never go in: callers pass no credentials, and command/detail pass through redactSecrets() anyway.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { AuditEntry } from '../api/console-contract.js';
import { type ProblemSink, quarantine, readJsonFile, writeFileAtomic } from './files.js';
import { type Migration, type SqliteDatabase, openDatabase } from './sqlite-file.js';

export const AUDIT_FILE = 'audit.sqlite';
export const ANCHOR_FILE = 'audit.anchor';
export const GENESIS_HASH = '0'.repeat(64);
/** Rows hashed between two yields of verify(): a few ms of work. */
const VERIFY_SLICE_ROWS = 500;

const MIGRATIONS: readonly Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        command TEXT,
        result TEXT NOT NULL,
        detail TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `);
  },
];

/** What a caller supplies; seq, time and hashes are the log's. */
export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  command?: string;
  result: 'ok' | 'error';
  detail?: string;
}

export interface AuditVerdict {
  ok: boolean;
  entries: number;
  firstBadSeq?: number;
  reason?: string;
}

// The contract's bounds, applied before hashing so that what is stored is exactly what is hashed and served.
const LIMITS = { actor: 128, action: 128, target: 256, command: 4000, detail: 2000 } as const;

interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  command: string | null;
  result: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/** The head as last written: how many entries there were and the newest one's hash. */
interface Anchor {
  seq: number;
  hash: string;
  at: number;
}

export interface AuditLogOptions {
  report: ProblemSink;
  now: number;
  clock: () => number;
  /** An append that reached the log but not its anchor (say the disk filled between the two). */
  onAnchorError?: (err: unknown) => void;
}

export class AuditLog {
  private readonly db: SqliteDatabase;
  private head: { seq: number; hash: string };
  private readonly insert;
  private readonly listeners = new Set<(e: AuditEntry) => void>();
  private readonly clock: () => number;
  private readonly anchorFile: string;
  private readonly onAnchorError: (err: unknown) => void;
  private closed = false;
  /** What the anchor said at start, against what the log held: found once, reported by every verify() of this run. */
  readonly startFinding: AuditVerdict | null;
  /** Entries the anchor recorded when this process started (0 without an anchor): "there was data here". */
  readonly anchoredEntries: number;

  constructor(dataDir: string, opts: AuditLogOptions) {
    this.anchorFile = path.join(dataDir, ANCHOR_FILE);
    this.onAnchorError = opts.onAnchorError ?? (() => {});
    const anchor = readAnchor(this.anchorFile, opts);
    this.anchoredEntries = anchor?.seq ?? 0;
    this.db = openDatabase(path.join(dataDir, AUDIT_FILE), {
      label: 'The audit log',
      migrations: MIGRATIONS,
      report: opts.report,
      now: opts.now,
      synchronous: 'FULL',
      // The background verify reads every entry: damage is found there, and the log, being evidence, stays put.
      quickCheck: false,
    });
    this.clock = opts.clock;
    const last = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    this.head = last ?? { seq: 0, hash: GENESIS_HASH };
    this.insert = this.db.prepare(`INSERT INTO audit (seq, at, actor, action, target, command, result, detail, prev_hash, hash)
      VALUES (@seq, @at, @actor, @action, @target, @command, @result, @detail, @prevHash, @hash)`);
    this.startFinding = anchor === null ? null : this.compareWithAnchor(anchor);
    if (this.startFinding !== null) {
      // The old anchor is the evidence: it stays, moved aside, before a new one is written for the log as it is.
      quarantine(this.anchorFile, `The audit log (${path.join(dataDir, AUDIT_FILE)}) does not match its anchor: ${this.startFinding.reason}`, opts.now, opts.report);
    }
    if (anchor === null || this.startFinding !== null || anchor.seq !== this.head.seq) this.writeAnchor();
  }

  /** Appends one entry (its own durable transaction), then its anchor, and returns it as stored. */
  append(input: AuditInput): AuditEntry {
    const body: AuditBody = {
      seq: this.head.seq + 1,
      at: this.clock(),
      actor: bound(input.actor, LIMITS.actor),
      action: bound(input.action, LIMITS.action),
      target: bound(input.target, LIMITS.target),
      ...(input.command === undefined ? {} : { command: bound(redactSecrets(input.command), LIMITS.command) }),
      result: input.result,
      ...(input.detail === undefined ? {} : { detail: bound(redactSecrets(input.detail), LIMITS.detail) }),
    };
    const prevHash = this.head.hash;
    const entry: AuditEntry = { ...body, prevHash, hash: entryHash(prevHash, body) };
    this.insert.run({ ...entry, command: entry.command ?? null, detail: entry.detail ?? null });
    this.head = { seq: entry.seq, hash: entry.hash };
    this.writeAnchor();
    for (const l of this.listeners) {
      try {
        l(entry);
      } catch {
        // A failing subscriber must not make an action look unaudited.
      }
    }
    return entry;
  }

  /**
   * A lagging anchor is safe (the next start sees more entries than anchored, which is fine); a missing write is
   * reported, not thrown: the entry itself is durable by now.
   */
  private writeAnchor(): void {
    try {
      const anchor: Anchor = { seq: this.head.seq, hash: this.head.hash, at: this.clock() };
      writeFileAtomic(this.anchorFile, `${JSON.stringify(anchor)}\n`);
    } catch (err) {
      this.onAnchorError(err);
    }
  }

  /** The anchor against the log: one indexed read, cheap enough for every start. */
  private compareWithAnchor(anchor: Anchor): AuditVerdict | null {
    const when = new Date(anchor.at).toISOString();
    if (this.head.seq < anchor.seq) {
      const lost = anchor.seq - this.head.seq;
      return {
        ok: false,
        entries: this.head.seq,
        firstBadSeq: this.head.seq + 1,
        reason: this.head.seq === 0
          ? `the log is empty, but its anchor (written ${when}) records ${anchor.seq} entries: the file was emptied, deleted or replaced`
          : `the log ends at entry ${this.head.seq}, but its anchor (written ${when}) records ${anchor.seq}: the newest ${lost === 1 ? 'entry was' : `${lost} entries were`} removed`,
      };
    }
    if (anchor.seq === 0) return null;
    const row = this.db.prepare('SELECT hash FROM audit WHERE seq = ?').get(anchor.seq) as { hash: string } | undefined;
    if (row?.hash !== anchor.hash) {
      return { ok: false, entries: this.head.seq, firstBadSeq: anchor.seq, reason: `entry ${anchor.seq} is not the one its anchor (written ${when}) recorded: the log was replaced or rewritten` };
    }
    return null;
  }

  /** Entries newest first, those with seq < beforeSeq when given. */
  list(limit: number, beforeSeq?: number): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?')
      .all(beforeSeq ?? Number.MAX_SAFE_INTEGER, limit) as AuditRow[];
    return rows.map(rowToEntry);
  }

  /**
   * Walks the whole chain from the first entry up to the head as it is now, in slices that yield to the event loop
   * (other calls are answered meanwhile), and reports the first entry that is missing, altered or unlinked; then
   * whether the log holds as many entries as its anchor recorded.
   */
  async verify(): Promise<AuditVerdict> {
    const upTo = this.head.seq;
    const slice = this.db.prepare('SELECT * FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    let expectedSeq = 1;
    let prev = GENESIS_HASH;
    let entries = 0;
    for (;;) {
      const rows = slice.all(expectedSeq - 1, upTo, VERIFY_SLICE_ROWS) as AuditRow[];
      for (const row of rows) {
        entries++;
        if (row.seq !== expectedSeq) {
          return { ok: false, entries, firstBadSeq: expectedSeq, reason: `entry ${expectedSeq} is missing (the next stored entry is ${row.seq})` };
        }
        if (row.prev_hash !== prev) {
          return { ok: false, entries, firstBadSeq: row.seq, reason: `entry ${row.seq} does not link to entry ${row.seq - 1} (an entry was altered, inserted or removed)` };
        }
        const entry = rowToEntry(row);
        if (!isValidBody(row) || entryHash(entry.prevHash, bodyOf(entry)) !== row.hash) {
          return { ok: false, entries, firstBadSeq: row.seq, reason: `entry ${row.seq} was altered after it was written` };
        }
        prev = row.hash;
        expectedSeq++;
      }
      if (rows.length < VERIFY_SLICE_ROWS) break;
      await yieldToLoop();
      if (this.closed) throw new Error('the audit log was closed during its verification');
    }
    if (entries < upTo) {
      return { ok: false, entries, firstBadSeq: entries + 1, reason: `the log ends at entry ${entries}, but ${upTo} were written: the newest entries were removed while the console ran` };
    }
    if (this.startFinding !== null) return { ...this.startFinding, entries };
    return { ok: true, entries };
  }

  get length(): number {
    return this.head.seq;
  }

  onAppend(listener: (e: AuditEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }
}

type AuditBody = Omit<AuditEntry, 'hash' | 'prevHash'>;

function bodyOf(e: AuditEntry): AuditBody {
  const { hash: _h, prevHash: _p, ...body } = e;
  return body;
}

export function entryHash(prevHash: string, body: AuditBody): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(body)).digest('hex');
}

/** JSON with object keys sorted and undefined members left out: one byte string per value, whatever built it. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function rowToEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    ...(row.command === null ? {} : { command: row.command }),
    result: row.result as AuditEntry['result'],
    ...(row.detail === null ? {} : { detail: row.detail }),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function isValidBody(row: AuditRow): boolean {
  return (row.result === 'ok' || row.result === 'error')
    && typeof row.actor === 'string' && typeof row.action === 'string' && typeof row.target === 'string'
    && typeof row.at === 'number' && /^[0-9a-f]{64}$/.test(row.hash);
}

/** The anchor file, or null when there is none (a first start, or a log from before anchors); a bad one is reported. */
function readAnchor(file: string, opts: AuditLogOptions): Anchor | null {
  const read = readJsonFile(file);
  if (read.kind === 'missing') return null;
  if (read.kind === 'ok') {
    const a = read.value as Partial<Anchor> | null;
    if (a !== null && typeof a === 'object' && Number.isInteger(a.seq) && a.seq! >= 0 && typeof a.hash === 'string' && /^[0-9a-f]{64}$/.test(a.hash) && typeof a.at === 'number') {
      return { seq: a.seq!, hash: a.hash, at: a.at };
    }
  }
  const why = read.kind === 'bad' ? read.message : 'not an anchor';
  quarantine(file, `The audit log's anchor (${file}) is ${why}; truncation before this start cannot be checked`, opts.now, opts.report);
  return null;
}

function bound(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A last line of defence: masks anything that looks like a credential (key=value secrets, URL passwords, private
 * key blocks) in text bound for the log. Callers must not pass secrets in the first place.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[private key redacted]')
    .replace(/\b(authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+)?[^\s"',;]+/gi, (_m, key: string, scheme?: string) => `${key}${scheme ?? ''}***`)
    .replace(/(--?(?:password|passwd|passphrase|secret|token|api[_-]?key)[ =])(\S+)/gi, '$1***')
    .replace(/\b(password|passwd|passphrase|secret|token|api[_-]?key)(["']?\s*[=:]\s*["']?)([^\s"',;&]+)/gi, '$1$2***')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+@/gi, '$1***@');
}
