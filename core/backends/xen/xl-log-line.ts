// One line of `xl remus -c` output (its own stderr, libxl's and libxc's log, and the secondary's, which reaches the
// primary's terminal through ssh), split into its parts and classified into what a monitor can act on
// (xen-colo.md §3.2, §3.3). Lines nobody knows are kept as 'unknown', never fatal: the caller counts them.
//
// Format: [YYYY-MM-DD HH:MM:SS TZ ][[pid] ]<context>: <level>: <message>[: <strerror>]; libxl messages are
// <file>:<line>:<func>: [Domain <domid>:]<text>. xl's own lines (and the receiver's "migration target: …") have no
// context or level. Line numbers in libxl's file:line vary by version, so nothing here depends on them.

export type XlLevel = 'debug' | 'verbose' | 'detail' | 'progress' | 'info' | 'notice' | 'warning' | 'error' | 'critical';

const LEVELS: ReadonlySet<string> = new Set(['debug', 'verbose', 'detail', 'progress', 'info', 'notice', 'warning', 'error', 'critical']);

/** Longer lines are cut before parsing: no xl message is near this long, and the host is untrusted. */
export const MAX_XL_LINE = 4096;

export interface XlLine {
  /** The `-T` timestamp as written (1 s resolution: for display only), when present. */
  stamp?: string;
  pid?: number;
  /** 'libxl', 'xc', … ; absent for xl's own lines. */
  context?: string;
  level?: XlLevel;
  /** libxl's function name, when the line came from libxl. */
  func?: string;
  domid?: number;
  text: string;
}

export type XlEvent =
  | { kind: 'stream-started' }
  | { kind: 'receiver-ready' }
  | { kind: 'live-progress'; iteration: number; done: number; total: number }
  | { kind: 'suspended' }
  | { kind: 'checkpointed'; pages: number }
  | { kind: 'secondary-buffered' }
  | { kind: 'secondary-processed' }
  | { kind: 'secondary-failover' }
  | { kind: 'secondary-teardown'; failover: boolean }
  | { kind: 'takeover-complete'; domid: number }
  | { kind: 'primary-teardown'; rc: number }
  | { kind: 'exit-reason'; reason: 'backup-failed' | 'primary-destroyed' | 'suspend-failed' }
  | { kind: 'record'; type: number; length: number }
  | { kind: 'error'; text: string }
  | { kind: 'other'; level?: XlLevel }
  | { kind: 'unknown' };

// dotAll: a stray CR or U+2028 inside a line is part of the text, not the end of it.
const HEAD = /^(?:\[?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Z][A-Za-z0-9+-]{0,5})?)\]? )?(?:\[(\d{1,10})\] )?(?:([a-z][a-z0-9_-]{0,31}): (debug|verbose|detail|progress|info|notice|warning|error|critical): )?(.*)$/s;
const LIBXL_TEXT = /^[A-Za-z0-9_.-]+\.c:\d+:([A-Za-z0-9_]+): (?:Domain (\d+):)?(.*)$/s;

export function parseXlLine(raw: string): XlLine {
  const line = raw.length > MAX_XL_LINE ? raw.slice(0, MAX_XL_LINE) : raw;
  const m = HEAD.exec(line.replace(/\r$/, ''))!;
  const out: XlLine = { text: m[5]! };
  if (m[1] !== undefined) out.stamp = m[1];
  if (m[2] !== undefined) out.pid = Number(m[2]);
  if (m[3] !== undefined && LEVELS.has(m[4]!)) {
    out.context = m[3];
    out.level = m[4] as XlLevel;
    if (m[3] === 'libxl') {
      const l = LIBXL_TEXT.exec(out.text);
      if (l !== null) {
        out.func = l[1]!;
        if (l[2] !== undefined) out.domid = Number(l[2]);
        out.text = l[3]!;
      }
    }
  }
  return out;
}

export function classifyXlLine(l: XlLine): XlEvent {
  const t = l.text;
  if (l.context === undefined) {
    if (t.startsWith('Saving to migration stream new xl format')) return { kind: 'stream-started' };
    if (t.startsWith('migration target: Ready to receive domain.')) return { kind: 'receiver-ready' };
    const took = /^migration target: COLO Failover for domain (\d+)/.exec(t);
    if (took !== null) return { kind: 'takeover-complete', domid: Number(took[1]) };
    // xl prefixes these with the mode it ran in: "COLO" or "Remus".
    if (/^(?:COLO|Remus): Backup failed\? resuming domain at primary/.test(t)) return { kind: 'exit-reason', reason: 'backup-failed' };
    if (/^(?:COLO|Remus): Primary domain has been destroyed/.test(t)) return { kind: 'exit-reason', reason: 'primary-destroyed' };
    if (t.startsWith('Failed to suspend domain at primary')) return { kind: 'exit-reason', reason: 'suspend-failed' };
    return { kind: 'unknown' };
  }
  if (l.context === 'xc') {
    if (l.level === 'progress' || l.level === 'detail') {
      const it = /^Frames iteration (\d+): (\d+)\/(\d+)/.exec(t);
      if (it !== null) return { kind: 'live-progress', iteration: Number(it[1]), done: Number(it[2]), total: Number(it[3]) };
      if (t.startsWith('Domain now suspended')) return { kind: 'suspended' };
      const cp = /^Checkpointed save: (\d+)\/\d+/.exec(t);
      if (cp !== null) return { kind: 'checkpointed', pages: Number(cp[1]) };
    }
    if (t === 'All records buffered') return { kind: 'secondary-buffered' };
    if (t === 'All records processed') return { kind: 'secondary-processed' };
    if (t === 'COLO Failover') return { kind: 'secondary-failover' };
  }
  if (l.context === 'libxl') {
    if (l.func === 'libxl__colo_restore_teardown' && (t === 'failover' || t === 'colo fails')) return { kind: 'secondary-teardown', failover: t === 'failover' };
    const td = /^COLO: Domain suspend terminated with rc (-?\d+)/.exec(t);
    if (td !== null) return { kind: 'primary-teardown', rc: Number(td[1]) };
    const rec = /^Record: (\d+), length (\d+)/.exec(t);
    if (rec !== null) return { kind: 'record', type: Number(rec[1]), length: Number(rec[2]) };
  }
  if (l.level === 'error' || l.level === 'critical') return { kind: 'error', text: t };
  return { kind: 'other', ...(l.level === undefined ? {} : { level: l.level }) };
}
