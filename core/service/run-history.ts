// The demo's results, kept with the history: each protection run's settings and per-run figures (cycles by
// outcome, primary pause quantiles, how long the guest's output was held), and every failover drill with its
// downtime and re-protect time. History owns the database; these are its queries for runs and drills, in their
// own module so history.ts keeps to storage of cycles and events.

import { z } from 'zod';
import { drillRecord, failoverEvent, protectionState, runSettings, type DrillRecord, type RunSettings, type RunSummary } from '../api/console-contract.js';
import { quantile } from '../colo/stats.js';
import type { PhaseTiming } from '../colo/types.js';
import type { Migration, SqliteDatabase } from './sqlite-file.js';
import { HeldHistogram } from './held-histogram.js';

/** Schema step: run settings, per-run output summaries, drills; an index to summarise a run without a scan. */
export const RUNS_AND_DRILLS_MIGRATION: Migration = (db) => {
  db.exec(`
    -- The settings a run started with (JSON, simulated pairs), and when they were first changed during it.
    ALTER TABLE runs ADD COLUMN settings TEXT;
    ALTER TABLE runs ADD COLUMN settings_changed_at REAL;
    CREATE INDEX runs_pair ON runs (pair_id, id);
    CREATE INDEX cycles_run ON cycles (run_id, started_at);
    -- How long the guest's output was held during a run: a histogram of every released packet, rewritten every
    -- few seconds while the run goes on (a per-packet row would outnumber the cycles a hundred to one).
    CREATE TABLE run_output (
      run_id INTEGER PRIMARY KEY,
      packets INTEGER NOT NULL,
      max_ms REAL NOT NULL,
      histogram TEXT NOT NULL,
      updated_at REAL NOT NULL
    );
    CREATE TABLE drills (
      id INTEGER PRIMARY KEY,
      pair_id TEXT NOT NULL,
      at REAL NOT NULL,
      mode TEXT NOT NULL,
      ok INTEGER NOT NULL,
      guest_downtime_ms REAL,
      reprotect_ms REAL,
      failover TEXT,
      final_state TEXT,
      error TEXT
    );
    CREATE INDEX drills_pair ON drills (pair_id, id);
  `);
};

export interface DrillInput {
  pairId: string;
  /** When the drill started (wall clock). */
  at: number;
  mode: 'colo' | 'remus';
  ok: boolean;
  guestDowntimeMs?: number;
  timeToReprotectMs?: number;
  failover?: unknown;
  finalState?: unknown;
  error?: string;
}

interface RunRow {
  id: number;
  pair_id: string;
  started_at: number;
  mode: string;
  settings: string | null;
  settings_changed_at: number | null;
}

interface DrillRow {
  id: number;
  pair_id: string;
  at: number;
  mode: string;
  ok: number;
  guest_downtime_ms: number | null;
  reprotect_ms: number | null;
  failover: string | null;
  final_state: string | null;
  error: string | null;
}

export class RunHistory {
  /** Summaries of runs that a newer run of the same pair has ended: they no longer change. */
  private readonly finished = new Map<number, RunSummary>();

  constructor(private readonly db: SqliteDatabase) {}

  setSettings(runId: number, settings: RunSettings | null): void {
    this.db.prepare('UPDATE runs SET settings = ? WHERE id = ?').run(settings === null ? null : JSON.stringify(settings), runId);
  }

  /** Marks the run's settings as changed at `at` (the first change is kept). */
  settingsChanged(runId: number, at: number): void {
    this.db.prepare('UPDATE runs SET settings_changed_at = coalesce(settings_changed_at, ?) WHERE id = ?').run(at, runId);
  }

  saveOutput(runId: number, hist: HeldHistogram, at: number): void {
    this.db
      .prepare(`INSERT INTO run_output (run_id, packets, max_ms, histogram, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (run_id) DO UPDATE SET packets = excluded.packets, max_ms = excluded.max_ms, histogram = excluded.histogram, updated_at = excluded.updated_at`)
      .run(runId, hist.count, hist.max, hist.toJson(), at);
  }

  /** The pair's most recent `limit` runs, newest first. */
  runs(pairId: string, limit: number): RunSummary[] {
    const rows = this.db
      .prepare('SELECT id, pair_id, started_at, mode, settings, settings_changed_at FROM runs WHERE pair_id = ? ORDER BY id DESC LIMIT ?')
      .all(pairId, limit) as RunRow[];
    return rows.map((row, i) => {
      const cached = this.finished.get(row.id);
      if (cached !== undefined) return cached;
      const summary = this.summarise(row);
      // rows[0] is the newest: every older one has ended.
      if (i > 0) this.finished.set(row.id, summary);
      return summary;
    });
  }

  addDrill(d: DrillInput): number {
    const info = this.db
      .prepare(`INSERT INTO drills (pair_id, at, mode, ok, guest_downtime_ms, reprotect_ms, failover, final_state, error)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        d.pairId,
        d.at,
        d.mode,
        d.ok ? 1 : 0,
        d.guestDowntimeMs ?? null,
        d.timeToReprotectMs ?? null,
        d.failover === undefined ? null : JSON.stringify(d.failover),
        d.finalState === undefined ? null : JSON.stringify(d.finalState),
        d.error === undefined ? null : d.error.slice(0, 2000),
      );
    return Number(info.lastInsertRowid);
  }

  /** The pair's most recent `limit` drills, newest first; rows that no longer read back are left out. */
  drills(pairId: string, limit: number): DrillRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM drills WHERE pair_id = ? ORDER BY id DESC LIMIT ?')
      .all(pairId, limit) as DrillRow[];
    const out: DrillRecord[] = [];
    for (const r of rows) {
      const failover = r.failover === null ? null : failoverEvent.safeParse(safeJson(r.failover));
      const finalState = r.final_state === null ? null : protectionState.safeParse(safeJson(r.final_state));
      const parsed = drillRecord.safeParse({
        id: r.id,
        pairId: r.pair_id,
        at: r.at,
        mode: r.mode,
        ok: r.ok === 1,
        guestDowntimeMs: r.guest_downtime_ms,
        timeToReprotectMs: r.reprotect_ms,
        failover: failover?.success ? failover.data : null,
        finalState: finalState?.success ? finalState.data : null,
        ...(r.error === null ? {} : { error: r.error }),
      });
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  /** How many cycles of a pair started in [since, until]: a count over the covering time index. */
  cycleCount(pairId: string, since: number, until: number): number {
    const row = this.db
      .prepare('SELECT count(*) AS n FROM cycles WHERE pair_id = ? AND started_at >= ? AND started_at <= ?')
      .get(pairId, since, until) as { n: number };
    return row.n;
  }

  private summarise(row: RunRow): RunSummary {
    const cycles = this.db
      .prepare('SELECT trigger, outcome, primary_pause_ms AS pause FROM cycles WHERE run_id = ?')
      .all(row.id) as { trigger: string; outcome: string; pause: number }[];
    const counts = { committed: 0, failed: 0, aborted: 0 };
    // As the live figures: the initial copy is a migration, not a checkpoint, so it is not a pause.
    const pauses: number[] = [];
    for (const c of cycles) {
      if (c.outcome === 'committed' || c.outcome === 'failed' || c.outcome === 'aborted') counts[c.outcome]++;
      if (c.trigger !== 'initial') pauses.push(c.pause);
    }
    const last = this.db
      .prepare('SELECT started_at, primary_pause_ms, phases FROM cycles WHERE run_id = ? ORDER BY started_at DESC LIMIT 1')
      .get(row.id) as { started_at: number; primary_pause_ms: number; phases: string } | undefined;
    const out = this.db.prepare('SELECT packets, max_ms, histogram FROM run_output WHERE run_id = ?').get(row.id) as
      | { packets: number; max_ms: number; histogram: string }
      | undefined;
    const hist = out === undefined ? null : HeldHistogram.fromJson(out.histogram, out.max_ms);
    const settings = row.settings === null ? null : runSettings.safeParse(safeJson(row.settings));
    let max = 0;
    for (const p of pauses) max = Math.max(max, p);
    return {
      id: row.id,
      pairId: row.pair_id,
      startedAt: row.started_at,
      endedAt: last === undefined ? null : cycleEndOf(last.started_at, last.primary_pause_ms, last.phases),
      mode: row.mode === 'remus' ? 'remus' : 'colo',
      settings: settings?.success ? settings.data : null,
      settingsChangedAt: row.settings_changed_at,
      cycles: counts,
      pausePrimary: pauses.length === 0 ? null : { p50Ms: quantile(pauses, 0.5), p99Ms: quantile(pauses, 0.99), maxMs: max },
      outputHeld: hist === null || hist.count === 0
        ? null
        : { packets: hist.count, p50Ms: hist.quantile(0.5), p99Ms: hist.quantile(0.99), maxMs: hist.max },
    };
  }
}

/** As live.ts cycleEnd: the start plus the end of the last phase (the wait for a trigger comes first). */
function cycleEndOf(startedAt: number, pauseMs: number, phasesJson: string): number {
  const phases = z.array(z.object({ startMs: z.number(), durationMs: z.number() })).safeParse(safeJson(phasesJson));
  let end = pauseMs;
  if (phases.success) for (const p of phases.data as Pick<PhaseTiming, 'startMs' | 'durationMs'>[]) end = Math.max(end, p.startMs + p.durationMs);
  return startedAt + end;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
