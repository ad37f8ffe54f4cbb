// Number and time formatting shared by every screen. Unknown values render as an em dash, never as 0.

export const DASH = '—';

export function formatMs(ms: number | null | undefined, digits?: number): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms > 0 && ms < 0.001 && digits === undefined) return '< 0.001 ms';
  const d = digits ?? (ms < 1 ? 3 : ms < 10 ? 2 : ms < 100 ? 1 : 0);
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${ms.toFixed(d)} ms`;
}

/** Compact, for axis ticks: "0 ms", "2.5 ms", "150 ms", "1.5 s". */
export function formatAxisMs(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  if (ms === 0) return '0';
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(3))} s`;
  return `${Number(ms.toPrecision(3))} ms`;
}

/** Exact, for tooltips: three decimals, always in ms. */
export function formatMsExact(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  return `${ms.toFixed(3)} ms`;
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

const countFormats = new Map<number, Intl.NumberFormat>();

/** Grouped thousands ("12,345"); one cached Intl formatter per precision (toLocaleString makes one per call). */
export function formatCount(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  let f = countFormats.get(digits);
  if (f === undefined) {
    f = new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
    countFormats.set(digits, f);
  }
  return f.format(n);
}

/** "just now", "12 s ago", "4 min ago", "3 h ago", "2 d ago"; a future time (clock skew) reads as "just now". */
export function formatAge(thenMs: number | null | undefined, nowMs: number): string {
  if (thenMs === null || thenMs === undefined || !Number.isFinite(thenMs)) return DASH;
  const s = (nowMs - thenMs) / 1000;
  if (s < 1) return 'just now';
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A duration in words: "850 ms", "12.4 s", "3 min 5 s", "2 h 10 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** A guest's downtime: milliseconds with their precision up to 10 s ("3.60 ms", "412 ms"), then words. */
export function formatDowntime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  return ms < 10_000 ? formatMs(ms) : formatDuration(ms);
}

/** Local wall-clock time with milliseconds: 14:03:27.512. */
export function formatClock(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return DASH;
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local date and time: 2026-03-09 14:03:27. */
export function formatDateTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined || !Number.isFinite(epochMs)) return DASH;
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Axis label for a time relative to now: "now", "−30 s", "−5 min", "−2 h". */
export function formatRelative(deltaMs: number): string {
  const s = Math.round(deltaMs / 1000);
  if (s >= 0) return 'now';
  const a = -s;
  if (a < 60) return `−${a} s`;
  if (a < 3600) return `−${Math.round(a / 60)} min`;
  return `−${(a / 3600).toFixed(a % 3600 === 0 ? 0 : 1)} h`;
}
