// Command-line parsing shared by every command: strict options, one clear message for a wrong argument, and a
// hint when an option looks like a misspelling of a real one.

import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

export function parse<O extends Options>(command: string, argv: string[], options: O, maxPositionals = 0): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (positionals.length > maxPositionals) {
      throw new UsageError(`${command}: unexpected argument '${positionals[maxPositionals]}'; see 'colo-console ${command} --help'`);
    }
    return { values, positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message);
    if (unknown) {
      const given = unknown[1]!;
      const hint = closest(given.replace(/^-+/, ''), Object.keys(options));
      const suggestion = hint ? `; did you mean --${hint}?` : '';
      throw new UsageError(`${command}: unknown option ${given}${suggestion} (see 'colo-console ${command} --help')`);
    }
    throw new UsageError(`${command}: ${message.replace(/\s*To specify.*$/s, '').replace(/\s*\n\s*/g, ' ')} (see 'colo-console ${command} --help')`);
  }
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "2m", "1h" (a bare number is seconds) → milliseconds. */
export function parseDuration(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${option}: '${text}' is not a duration (examples: 500ms, 30s, 2m, 1h)`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (ms <= 0 || ms > 7 * 24 * 3_600_000) throw new UsageError(`--${option}: ${text} is out of range (more than 0, at most a week)`);
  return ms;
}

export function parseChoice<T extends string>(option: string, text: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`--${option}: '${text}' is not one of ${choices.join(', ')}`);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1e6,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1e9,
};

/** "100MiB", "1.5GiB", "500k", "2GB" (K/M/G and KiB/MiB/GiB are binary, KB/MB/GB decimal, a bare number is bytes) → bytes. */
export function parseSize(option: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`--${option}: '${text}' is not a size (examples: 100MiB, 1.5GiB, 500KiB)`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 64 * 1024 || bytes > 2 ** 50) throw new UsageError(`--${option}: ${text} is out of range (64 KiB to 1 PiB)`);
  return bytes;
}

/** Bytes as people read them in this project: MiB (binary), like the UI. */
export function formatMiB(bytes: number): string {
  const mib = bytes / 1024 ** 2;
  return `${mib >= 100 ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
}
