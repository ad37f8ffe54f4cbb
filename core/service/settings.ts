// The console's settings: a small JSON file, validated against the contract's schema. A missing file or a missing
// key means "default" (a file from an older version that did not have the key yet); a value of the wrong shape, or
// a file that is not JSON at all, means the file is corrupt: it is moved aside and reported, and the defaults apply.

import path from 'node:path';
import { z } from 'zod';
import { type Settings as SettingsValue, settings as settingsSchema } from '../api/console-contract.js';
import { type ProblemSink, quarantine, readJsonFile, writeFileAtomic } from './files.js';

export const SETTINGS_FILE = 'settings.json';

export const DEFAULT_SETTINGS: Readonly<SettingsValue> = Object.freeze({
  // A week: at Remus's fastest (40 checkpoints/s) that is ~24 M rows; at COLO's usual ~1/s, 600 k.
  historyRetentionDays: 7,
  theme: 'system',
  // The default: 5 s with the guest paused is an emergency on any pair (a healthy COLO pause is ms).
  frozenThresholdMs: 5000,
});

// Every key optional (older files), unknown keys ignored (newer files), known keys strictly typed.
const settingsFile = settingsSchema.partial();

export class SettingsStore {
  private current: SettingsValue;

  private constructor(private readonly file: string, value: SettingsValue) {
    this.current = value;
  }

  static load(dataDir: string, report: ProblemSink, now: number): SettingsStore {
    const file = path.join(dataDir, SETTINGS_FILE);
    const read = readJsonFile(file);
    if (read.kind === 'ok') {
      const parsed = settingsFile.safeParse(read.value);
      if (parsed.success) return new SettingsStore(file, { ...DEFAULT_SETTINGS, ...stripUndefined(parsed.data) });
      quarantine(file, `The settings file is invalid (${z.prettifyError(parsed.error).replace(/\n/g, ' ').slice(0, 500)}); defaults apply`, now, report);
    } else if (read.kind === 'bad') {
      quarantine(file, `The settings file is ${read.message}; defaults apply`, now, report);
    }
    const store = new SettingsStore(file, { ...DEFAULT_SETTINGS });
    // Write the defaults out only where there was a bad file to replace; a missing file stays missing until the
    // admin changes something, so "never configured" remains visible.
    if (read.kind === 'bad' || read.kind === 'ok') store.save();
    return store;
  }

  get(): SettingsValue {
    return { ...this.current };
  }

  /**
   * Applies a validated partial change and persists it; throws a ZodError on an invalid value, or the write's error
   * (ENOSPC, EROFS…). Memory changes only once the file holds the new value, so a failed write changes nothing.
   */
  set(change: Partial<SettingsValue>): SettingsValue {
    const next = settingsSchema.parse({ ...this.current, ...stripUndefined(change) });
    this.write(next);
    this.current = next;
    return this.get();
  }

  private save(): void {
    this.write(this.current);
  }

  private write(value: SettingsValue): void {
    writeFileAtomic(this.file, `${JSON.stringify(value, null, 2)}\n`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
