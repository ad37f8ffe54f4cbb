// Persistent history of checkpoint cycles and pair events, in SQLite (dataDir/history.sqlite). The live ring
// buffers cover the last minutes; this covers the chart windows beyond them (1 h, 24 h) and survives restarts.
//
// Writes are batched: cycles and events queue in memory and go in one transaction every FLUSH_MS or every
// FLUSH_ROWS rows, because a simulated Remus pair can commit tens of checkpoints a second and one transaction per
// row would spend the disk's sync budget on bookkeeping. Reads flush first, so a caller always sees its writes.
//
// better-sqlite3 is synchronous: every statement here blocks the event loop for its duration, so the long ones
// (retention deletes) run in chunks that yield between them.

import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { z } from 'zod';
import { cycleRecord, type DrillRecord, failoverEvent, type PairEvent, type RunSettings, type RunSummary } from '../api/console-contract.js';
import type { CycleRecord, FailoverEvent, PhaseTiming } from '../colo/types.js';
import type { ProblemSink } from './files.js';
import type { HeldHistogram } from './held-histogram.js';
import { type DrillInput, RUNS_AND_DRILLS_MIGRATION, RunHistory } from './run-history.js';
import { type Migration, type SqliteDatabase, isIoError, openDatabase } from './sqlite-file.js';

export const HISTORY_FILE = 'history.sqlite';
export const FLUSH_MS = 250;
export const FLUSH_ROWS = 500;
/** Rows held while the database refuses writes; beyond this the oldest are dropped and counted. */
const MAX_PENDING_ROWS = 50_000;
const DELETE_CHUNK_ROWS = 5000;
const DAY_MS = 86_400_000;

const MIGRATIONS: readonly Migration[] = [
  (db) => {
    db.exec(`
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        pair_id TEXT NOT NULL,
        started_at REAL NOT NULL,
        mode TEXT NOT NULL
      );
      -- One row per checkpoint. seq restarts at 0 with every protection run (each run is a new initial sync),
      -- so rows are told apart by run_id; the hot fields are columns so charts and exports need no JSON parsing.
      CREATE TABLE cycles (
        id INTEGER PRIMARY KEY,
        pair_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        started_at REAL NOT NULL,
        mode TEXT NOT NULL,
        trigger TEXT NOT NULL,
        primary_pause_ms REAL NOT NULL,
        secondary_pause_ms REAL,
        dirty_pages INTEGER NOT NULL,
        secondary_dirty_pages INTEGER,
        pages_sent INTEGER NOT NULL,
        bytes_sent INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        provenance TEXT NOT NULL,
        phases TEXT NOT NULL
      );
      -- Covers the chart query (range scan by time, max pause per bucket) without touching the table.
      CREATE INDEX cycles_pair_time ON cycles (pair_id, started_at, primary_pause_ms);
      CREATE INDEX cycles_time ON cycles (started_at);
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        pair_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT
      );
      CREATE INDEX events_pair ON events (pair_id, id);
      CREATE INDEX events_time ON events (at);
    `);
  },
  RUNS_AND_DRILLS_MIGRATION,
];

export interface StoredEvent extends PairEvent {
  /** Structured detail: the FailoverEvent of a 'failover' event, the DrillReport of a 'drill' event. */
  data?: unknown;
}

interface PendingCycle {
  pairId: string;
  runId: number;
  record: CycleRecord;
}

export interface CycleQuery {
  since: number;
  until?: number;
  limit: number;
}

export interface HistoryOptions {
  report: ProblemSink;
  now: number;
  /** Write failures (each flush that fails, rows skipped): the service makes them problems the UI shows. */
  onError?: (err: unknown, where: string) => void;
  /** Why a 0-byte history file means data was lost, or null when it is a first start (sqlite-file.ts). */
  dataExisted?: () => string | null;
}

interface CycleRow {
  seq: number;
  started_at: number;
  mode: string;
  trigger: string;
  primary_pause_ms: number;
  secondary_pause_ms: number | null;
  dirty_pages: number;
  secondary_dirty_pages: number | null;
  pages_sent: number;
  bytes_sent: number;
  outcome: string;
  provenance: string;
  phases: string;
}

const CYCLE_COLUMNS = 'seq, started_at, mode, trigger, primary_pause_ms, secondary_pause_ms, dirty_pages, secondary_dirty_pages, pages_sent, bytes_sent, outcome, provenance, phases';

export class History {
  private readonly db: SqliteDatabase;
  private pendingCycles: PendingCycle[] = [];
  private pendingEvents: StoredEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private droppedRows = 0;
  private skippedRows = 0;
  private closed = false;
  private readonly insertCycle;
  private readonly insertEvent;
  private readonly onError: (err: unknown, where: string) => void;
  private runHistoryQueries: RunHistory | undefined;
  private runSettingsOf: (pairId: string) => RunSettings | null = () => null;
  private readonly currentRuns = new Map<string, number>();

  constructor(dataDir: string, opts: HistoryOptions) {
    this.db = openDatabase(path.join(dataDir, HISTORY_FILE), {
      label: 'The metrics history',
      migrations: MIGRATIONS,
      report: opts.report,
      now: opts.now,
      synchronous: 'NORMAL',
      ...(opts.dataExisted === undefined ? {} : { dataExisted: opts.dataExisted }),
    });
    this.onError = opts.onError ?? (() => {});
    this.insertCycle = this.db.prepare(`INSERT INTO cycles (pair_id, run_id, ${CYCLE_COLUMNS})
      VALUES (@pairId, @runId, @seq, @startedAt, @mode, @trigger, @primaryPauseMs, @secondaryPauseMs, @dirtyPages,
              @secondaryDirtyPages, @pagesSent, @bytesSent, @outcome, @provenance, @phases)`);
    this.insertEvent = this.db.prepare('INSERT INTO events (pair_id, seq, at, kind, message, data) VALUES (?, ?, ?, ?, ?, ?)');
  }

  /** Rows lost because the database refused writes for too long (reported, never silent). */
  get dropped(): number {
    return this.droppedRows;
  }

  /** Records the start of a protection run and returns its id (written at once: runs are rare). */
  beginRun(pairId: string, at: number, mode: string): number {
    const info = this.db.prepare('INSERT INTO runs (pair_id, started_at, mode) VALUES (?, ?, ?)').run(pairId, at, mode);
    const runId = Number(info.lastInsertRowid);
    this.runStarted(pairId, runId);
    return runId;
  }

  /**
   * Takes up the pair's latest run again (protection that went on on its hosts while the console was away) and
   * returns it with the highest checkpoint seq stored for it, so that nothing already stored is stored twice.
   * Null when the pair has no run.
   */
  resumeLatestRun(pairId: string): { runId: number; lastSeq: number | null } | null {
    this.flush();
    const run = this.db.prepare('SELECT id FROM runs WHERE pair_id = ? ORDER BY id DESC LIMIT 1').get(pairId) as { id: number } | undefined;
    if (run === undefined) return null;
    const seq = this.db.prepare('SELECT MAX(seq) AS seq FROM cycles WHERE run_id = ?').get(run.id) as { seq: number | null };
    this.currentRuns.set(pairId, run.id);
    return { runId: run.id, lastSeq: seq.seq };
  }

  // -------------------------------------------------------------------------------------------------------------
  // The demo's results (run-history.ts): run settings and figures, drills, true cycle counts.

  /** Where beginRun takes a new run's settings from: the pair's current ones (the service knows them). */
  describeRunsWith(settingsOf: (pairId: string) => RunSettings | null): void {
    this.runSettingsOf = settingsOf;
  }

  /** The run this process began last for the pair, or null. */
  currentRun(pairId: string): number | null {
    return this.currentRuns.get(pairId) ?? null;
  }

  /** The pair's settings changed while its current run goes on: its figures now mix two settings. */
  runSettingsChanged(pairId: string, at: number): void {
    const runId = this.currentRuns.get(pairId);
    if (runId !== undefined) this.runHistory.settingsChanged(runId, at);
  }

  saveRunOutput(runId: number, held: HeldHistogram, at: number): void {
    this.runHistory.saveOutput(runId, held, at);
  }

  /** The pair's most recent runs, newest first, with their figures. */
  runs(pairId: string, limit: number): RunSummary[] {
    this.flush();
    return this.runHistory.runs(pairId, limit);
  }

  addDrill(drill: DrillInput): number {
    return this.runHistory.addDrill(drill);
  }

  /** The pair's most recent drills, newest first. */
  drills(pairId: string, limit: number): DrillRecord[] {
    return this.runHistory.drills(pairId, limit);
  }

  /** How many cycles of the pair started in [since, until]. */
  cycleCount(pairId: string, since: number, until = Number.MAX_VALUE): number {
    this.flush();
    return this.runHistory.cycleCount(pairId, since, until);
  }

  private runStarted(pairId: string, runId: number): void {
    this.currentRuns.set(pairId, runId);
    this.runHistory.setSettings(runId, this.runSettingsOf(pairId));
  }

  addCycle(pairId: string, runId: number, record: CycleRecord): void {
    if (this.closed) return;
    this.pendingCycles.push({ pairId, runId, record });
    this.afterAdd();
  }

  addEvent(event: StoredEvent): void {
    if (this.closed) return;
    this.pendingEvents.push(event);
    this.afterAdd();
  }

  /**
   * Writes what is queued, one transaction per table. A failed batch is retried row by row: a row the database
   * refuses for itself (a corrupt page under it, a constraint) is skipped and counted, so one bad spot cannot stop
   * every later row; rows refused because the disk is full, read-only or failing stay queued for the next attempt.
   */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.pendingCycles.length === 0 && this.pendingEvents.length === 0) return;
    const cycles = this.pendingCycles;
    const events = this.pendingEvents;
    this.pendingCycles = [];
    this.pendingEvents = [];
    this.pendingCycles = this.writeRows('cycles', cycles, (c) => this.insertCycle.run(cycleParams(c)));
    this.pendingEvents = this.writeRows('events', events, (e) => {
      this.insertEvent.run(e.pairId, e.seq, e.at, e.kind, e.message, e.data === undefined ? null : JSON.stringify(e.data));
    });
    if (this.pendingCycles.length + this.pendingEvents.length > 0) {
      this.trimPending();
      this.schedule();
    }
  }

  /** Rows skipped because the database refused them (never silent: reported through onError as well). */
  get skipped(): number {
    return this.skippedRows;
  }

  /** Writes `rows` into `table`; returns those to try again later. */
  private writeRows<T>(table: string, rows: T[], insert: (row: T) => void): T[] {
    if (rows.length === 0) return rows;
    try {
      this.db.transaction(() => {
        for (const r of rows) insert(r);
      })();
      return [];
    } catch (err) {
      if (isIoError(err)) {
        this.onError(err, `history flush (${table})`);
        return rows;
      }
    }
    // The batch failed on its content: find the rows that cannot be written, keep the rest.
    const retry: T[] = [];
    let skipped = 0;
    let lastError: unknown;
    for (let i = 0; i < rows.length; i++) {
      try {
        insert(rows[i]!);
      } catch (err) {
        if (isIoError(err)) {
          this.onError(err, `history flush (${table})`);
          retry.push(...rows.slice(i));
          break;
        }
        skipped++;
        lastError = err;
      }
    }
    if (skipped > 0) {
      this.skippedRows += skipped;
      this.onError(new Error(`${skipped} ${table} row${skipped === 1 ? '' : 's'} could not be stored and were skipped (${(lastError as Error).message}); ${this.skippedRows} skipped in all`, { cause: lastError }), `history flush (${table})`);
    }
    return retry;
  }

  /**
   * Cycles of one pair with `since <= startedAt <= until`, oldest first, at most `limit`. When more rows match, the
   * time span they cover is cut into `limit` equal intervals and from each the row with the largest primary pause
   * is kept: a chart of the result still shows every spike, which taking every n-th row would miss, and a stretch
   * without checkpoints stays a gap instead of being stretched over.
   */
  cycles(pairId: string, q: CycleQuery): CycleRecord[] {
    this.flush();
    const until = q.until ?? Number.MAX_VALUE;
    const span = this.db
      .prepare('SELECT count(*) AS n, min(started_at) AS lo, max(started_at) AS hi FROM cycles WHERE pair_id = ? AND started_at >= ? AND started_at <= ?')
      .get(pairId, q.since, until) as { n: number; lo: number | null; hi: number | null };
    let rows: CycleRow[];
    if (span.n <= q.limit) {
      rows = this.db
        .prepare(`SELECT ${CYCLE_COLUMNS} FROM cycles WHERE pair_id = ? AND started_at >= ? AND started_at <= ? ORDER BY started_at, id`)
        .all(pairId, q.since, until) as CycleRow[];
    } else if (span.hi! > span.lo!) {
      // One pass over the covering index. SQLite documents that with a single max() the bare column (id) comes
      // from the row holding the maximum. ~0.4 s per million rows in range on a laptop.
      const picked = this.db.prepare(`
        SELECT id, max(primary_pause_ms) FROM cycles
        WHERE pair_id = @pairId AND started_at >= @since AND started_at <= @until
        GROUP BY min(@last, CAST((started_at - @lo) / @width AS INTEGER))`)
        .all({ pairId, since: q.since, until, last: q.limit - 1, lo: span.lo, width: (span.hi! - span.lo!) / q.limit }) as { id: number }[];
      rows = this.rowsById(picked.map((r) => r.id));
    } else {
      // Every row at one instant: no time to divide; keep the largest pauses.
      const picked = this.db
        .prepare('SELECT id FROM cycles WHERE pair_id = ? AND started_at = ? ORDER BY primary_pause_ms DESC, id LIMIT ?')
        .all(pairId, span.lo, q.limit) as { id: number }[];
      rows = this.rowsById(picked.map((r) => r.id));
    }
    const out: CycleRecord[] = [];
    for (const row of rows) {
      const record = rowToCycle(row);
      if (record !== null) out.push(record);
    }
    return out;
  }

  /** Full rows for `ids`, oldest first; ids go in as one JSON array parameter, however many there are. */
  private rowsById(ids: number[]): CycleRow[] {
    return this.db
      .prepare(`SELECT ${CYCLE_COLUMNS} FROM cycles WHERE id IN (SELECT value FROM json_each(?)) ORDER BY started_at, id`)
      .all(JSON.stringify(ids)) as CycleRow[];
  }

  /** The most recent `limit` cycles of a pair since `since`, oldest first, undecimated (exports). */
  recentCycles(pairId: string, since: number, limit: number): CycleRecord[] {
    this.flush();
    const rows = this.db
      .prepare(`SELECT * FROM (SELECT id, ${CYCLE_COLUMNS} FROM cycles WHERE pair_id = ? AND started_at >= ? ORDER BY started_at DESC, id DESC LIMIT ?) ORDER BY started_at, id`)
      .all(pairId, since, limit) as CycleRow[];
    return rows.map(rowToCycle).filter((r): r is CycleRecord => r !== null);
  }

  /** Like recentCycles, with the protection run each cycle belongs to (exports: seq restarts with every run). */
  recentCyclesWithRun(pairId: string, since: number, limit: number): { run: number; cycle: CycleRecord }[] {
    this.flush();
    const rows = this.db
      .prepare(`SELECT * FROM (SELECT id, run_id, ${CYCLE_COLUMNS} FROM cycles WHERE pair_id = ? AND started_at >= ? ORDER BY started_at DESC, id DESC LIMIT ?) ORDER BY started_at, id`)
      .all(pairId, since, limit) as (CycleRow & { run_id: number })[];
    const out: { run: number; cycle: CycleRecord }[] = [];
    for (const row of rows) {
      const cycle = rowToCycle(row);
      if (cycle !== null) out.push({ run: row.run_id, cycle });
    }
    return out;
  }

  /** The most recent `limit` events of a pair, oldest first. */
  events(pairId: string, limit: number): StoredEvent[] {
    this.flush();
    const rows = this.db
      .prepare('SELECT * FROM (SELECT id, pair_id, seq, at, kind, message, data FROM events WHERE pair_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id')
      .all(pairId, limit) as EventRow[];
    return rows.map(rowToEvent).filter((e): e is StoredEvent => e !== null);
  }

  /** The highest event seq stored for a pair, so numbering continues across restarts. */
  lastEventSeq(pairId: string): number | null {
    this.flush();
    const row = this.db.prepare('SELECT max(seq) AS s FROM events WHERE pair_id = ?').get(pairId) as { s: number | null };
    return row.s;
  }

  /** The pair's most recent failover, from its stored event, or null. */
  lastFailover(pairId: string): FailoverEvent | null {
    this.flush();
    const rows = this.db
      .prepare("SELECT data FROM events WHERE pair_id = ? AND kind = 'failover' AND data IS NOT NULL ORDER BY id DESC LIMIT 1")
      .all(pairId) as { data: string }[];
    const data = rows[0]?.data;
    if (data === undefined) return null;
    const parsed = failoverEvent.safeParse(safeJson(data));
    return parsed.success ? parsed.data : null;
  }

  /**
   * Deletes cycles, events and runs older than `retentionDays` before `now`, in chunks that yield to the event
   * loop (a week of fast Remus is millions of rows). Returns how many rows went.
   */
  async prune(now: number, retentionDays: number): Promise<number> {
    this.flush();
    const cutoff = now - retentionDays * DAY_MS;
    let deleted = 0;
    const steps = [
      this.db.prepare(`DELETE FROM cycles WHERE id IN (SELECT id FROM cycles WHERE started_at < ? LIMIT ${DELETE_CHUNK_ROWS})`),
      this.db.prepare(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? LIMIT ${DELETE_CHUNK_ROWS})`),
      this.db.prepare(`DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE started_at < ? AND NOT EXISTS (SELECT 1 FROM cycles WHERE cycles.run_id = runs.id) LIMIT ${DELETE_CHUNK_ROWS})`),
      // The held-output summaries of the runs just deleted (drills are kept: a few rows, and the record of a test).
      this.db.prepare(`DELETE FROM run_output WHERE run_id IN (SELECT run_id FROM run_output WHERE updated_at < ? AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = run_output.run_id) LIMIT ${DELETE_CHUNK_ROWS})`),
    ];
    for (const stmt of steps) {
      for (;;) {
        if (this.closed) return deleted;
        const { changes } = stmt.run(cutoff);
        deleted += changes;
        if (changes < DELETE_CHUNK_ROWS) break;
        await yieldToLoop();
      }
    }
    return deleted;
  }

  /** Flushes what is queued and closes the database; later adds are ignored. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.onError(err, 'history checkpoint');
    }
    this.db.close();
  }

  private get runHistory(): RunHistory {
    this.runHistoryQueries ??= new RunHistory(this.db);
    return this.runHistoryQueries;
  }

  /** For tests and maintenance: the raw database. */
  get database(): SqliteDatabase {
    return this.db;
  }

  private afterAdd(): void {
    if (this.pendingCycles.length + this.pendingEvents.length >= FLUSH_ROWS) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, FLUSH_MS);
    // A pending flush must not keep a CLI process alive; close() flushes whatever is left.
    this.timer.unref();
  }

  private trimPending(): void {
    const over = this.pendingCycles.length + this.pendingEvents.length - MAX_PENDING_ROWS;
    if (over > 0) {
      // Cycles go first: events are rare and carry state changes and failovers.
      const fromCycles = Math.min(over, this.pendingCycles.length);
      this.pendingCycles.splice(0, fromCycles);
      this.pendingEvents.splice(0, over - fromCycles);
      this.droppedRows += over;
    }
  }
}

function cycleParams(c: PendingCycle): Record<string, unknown> {
  const r = c.record;
  return {
    pairId: c.pairId,
    runId: c.runId,
    seq: r.seq,
    startedAt: r.startedAt,
    mode: r.mode,
    trigger: r.trigger,
    primaryPauseMs: r.primaryPauseMs,
    secondaryPauseMs: r.secondaryPauseMs ?? null,
    dirtyPages: r.dirtyPages,
    secondaryDirtyPages: r.secondaryDirtyPages ?? null,
    pagesSent: r.pagesSent,
    bytesSent: r.bytesSent,
    outcome: r.outcome,
    provenance: r.provenance,
    phases: JSON.stringify(r.phases),
  };
}

/** A stored row back to a record, checked against the contract: the file is as untrusted as any input. */
function rowToCycle(row: CycleRow): CycleRecord | null {
  const candidate = {
    seq: row.seq,
    mode: row.mode,
    trigger: row.trigger,
    startedAt: row.started_at,
    phases: safeJson(row.phases) as PhaseTiming[],
    primaryPauseMs: row.primary_pause_ms,
    ...(row.secondary_pause_ms === null ? {} : { secondaryPauseMs: row.secondary_pause_ms }),
    dirtyPages: row.dirty_pages,
    ...(row.secondary_dirty_pages === null ? {} : { secondaryDirtyPages: row.secondary_dirty_pages }),
    pagesSent: row.pages_sent,
    bytesSent: row.bytes_sent,
    outcome: row.outcome,
    provenance: row.provenance,
  };
  const parsed = cycleRecord.safeParse(candidate);
  return parsed.success ? parsed.data : null;
}

interface EventRow {
  pair_id: string;
  seq: number;
  at: number;
  kind: string;
  message: string;
  data: string | null;
}

const storedEventShape = z.object({
  pairId: z.string().min(1).max(128),
  seq: z.number().int().nonnegative(),
  at: z.number().finite().nonnegative(),
  kind: z.enum(['state', 'failover', 'action', 'fault', 'drill']),
  message: z.string().max(2000),
});

function rowToEvent(row: EventRow): StoredEvent | null {
  const parsed = storedEventShape.safeParse({ pairId: row.pair_id, seq: row.seq, at: row.at, kind: row.kind, message: row.message });
  if (!parsed.success) return null;
  return row.data === null ? parsed.data : { ...parsed.data, data: safeJson(row.data) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
