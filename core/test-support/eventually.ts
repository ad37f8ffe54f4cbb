// Waiting in tests for something a real process does in its own time: `probe` is asked until it gives a value
// (anything but undefined or false), which is returned; past `ms` the wait fails naming what it waited for.

import { setTimeout as delay } from 'node:timers/promises';

export async function eventually<T>(what: string, ms: number, probe: () => T | undefined | false | Promise<T | undefined | false>, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(everyMs);
  }
}
