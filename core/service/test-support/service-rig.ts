// Shared by the service tests: temp data directories, small simulated guests, bounded waiting.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SimPairOptions } from '../../backends/sim/pair.js';
import { ConsoleService, type ConsoleServiceOptions } from '../console-service.js';

/** A small guest on an unpaced link: protected within tens of ms, a checkpoint at least every 200 ms. */
export const SMALL_SIM: Partial<SimPairOptions> = { pageCount: 1024, link: 'unlimited', maxWaitMs: 200, stopCost: false };

type TestContext = { after(fn: () => Promise<void> | void): void };

/**
 * A temp data directory for one test, removed when the test ends, after every service started on it through
 * this rig has closed (so no database is deleted under an open handle).
 */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'colo-service-'));
  t.after(async () => {
    for (const s of open.get(dir) ?? []) await s.close();
    open.delete(dir);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const open = new Map<string, ConsoleService[]>();

/** Polls `condition` every 5 ms; rejects with `what` (evaluated then) after `ms`. */
export async function waitFor(condition: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await delay(5);
  }
}

export interface Started {
  service: ConsoleService;
  errors: { err: unknown; where: string }[];
}

/** Starts a service on `dir` (from tempDir) with small guests; it is closed when the test ends (close() is idempotent). */
export async function startService(
  dir: string,
  opts: Partial<ConsoleServiceOptions> = {},
): Promise<Started> {
  const errors: Started['errors'] = [];
  const service = new ConsoleService({
    dataDir: dir,
    simOverrides: SMALL_SIM,
    onError: (err, where) => errors.push({ err, where }),
    ...opts,
  });
  open.set(dir, [...(open.get(dir) ?? []), service]);
  await service.start();
  return { service, errors };
}

export async function untilState(service: ConsoleService, pairId: string, state: string, ms = 10_000): Promise<void> {
  await waitFor(() => service.pair(pairId).state.state === state, ms, () => {
    const s = service.pair(pairId).state;
    return `${pairId} to be ${state} (is ${s.state}${s.reason ? `: ${s.reason}` : ''})`;
  });
}

/** Asserts that `promise` rejects with an RpcError of `code`, and returns its message. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<string> {
  try {
    await promise;
  } catch (err) {
    const c = (err as { code?: unknown }).code;
    if (c !== code) throw new Error(`expected an RpcError '${code}', got ${String(c)}: ${(err as Error).message}`, { cause: err });
    return (err as Error).message;
  }
  throw new Error(`expected an RpcError '${code}', but it resolved`);
}
