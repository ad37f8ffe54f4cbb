// What bench:ui reads from the page's heap over CDP: the JS heap in use (optionally after a forced GC), the DOM
// counters, and heap snapshots written to a file.

import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { CDPSession } from '@playwright/test';

export async function heapUsed(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const m = metrics.find((x) => x.name === 'JSHeapUsedSize');
  if (m === undefined) throw new Error('CDP Performance.getMetrics has no JSHeapUsedSize');
  return m.value;
}

export async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  return heapUsed(cdp);
}

export interface DomCounters {
  /** DOM nodes alive in the renderer, detached ones included (a leak of removed nodes shows here). */
  nodes: number;
  jsEventListeners: number;
  documents: number;
}

export async function domCounters(cdp: CDPSession): Promise<DomCounters> {
  const { nodes, jsEventListeners, documents } = await cdp.send('Memory.getDOMCounters');
  return { nodes, jsEventListeners, documents };
}

/**
 * Writes a heap snapshot (the format DevTools loads, and heap-diff.ts compares) to `file`, through a temporary
 * name so a crash never leaves a half-written snapshot under the real one. V8 collects garbage first.
 */
export async function writeHeapSnapshot(cdp: CDPSession, file: string): Promise<void> {
  const tmp = `${file}.partial`;
  const out = createWriteStream(tmp, { mode: 0o600 });
  const write: { failed: Error | null } = { failed: null };
  out.on('error', (err) => {
    write.failed = err;
  });
  const onChunk = (e: { chunk: string }): void => {
    if (write.failed === null) out.write(e.chunk);
  };
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk);
  try {
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    await new Promise<void>((resolve) => out.end(resolve));
    if (write.failed !== null) throw write.failed;
    await rename(tmp, file);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  } finally {
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk);
  }
}

/** Least-squares slope of ys over xs (0 with fewer than two distinct xs). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
