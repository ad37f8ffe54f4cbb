// `tsx core/lab/qmp/main.ts [options]`: runs an emulated QEMU 7.2 COLO pair until Ctrl-C and prints its two QMP
// sockets, for trying the console (or socat/qmp-shell) against checkpoints that go on. Meant to be reached later
// as `npm run lab -- qemu --emulated`; runQmpLab is the entry for that.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startQmpPair } from './index.js';

const USAGE = 'usage: qmp-lab [--checkpoint-delay-ms N] [--pause-ms N] [--qemu72-deadlock] [--dir DIR]\n';

export interface QmpLabArgs {
  checkpointDelayMs?: number;
  pauseMs?: number;
  qemu72Deadlock: boolean;
  dir?: string;
}

/** Parses the options; throws with the usage text on anything unknown. */
export function parseQmpLabArgs(argv: string[]): QmpLabArgs {
  const out: QmpLabArgs = { qemu72Deadlock: false };
  for (let i = 0; i < argv.length; i++) {
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(USAGE);
      return n;
    };
    const a = argv[i];
    if (a === '--checkpoint-delay-ms') out.checkpointDelayMs = num();
    else if (a === '--pause-ms') out.pauseMs = num();
    else if (a === '--qemu72-deadlock') out.qemu72Deadlock = true;
    else if (a === '--dir' && argv[i + 1] !== undefined) out.dir = argv[++i];
    else throw new Error(USAGE);
  }
  return out;
}

/** Starts the pair, prints how to reach it, and resolves once a signal has stopped it again. */
export async function runQmpLab(argv: string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const args = parseQmpLabArgs(argv);
  const ownDir = args.dir === undefined;
  const dir = args.dir ?? mkdtempSync(path.join(tmpdir(), 'colo-qmp-lab-'));
  const pair = await startQmpPair({
    dir,
    ...(args.checkpointDelayMs === undefined ? {} : { checkpointDelayMs: args.checkpointDelayMs }),
    ...(args.pauseMs === undefined ? {} : { timings: { checkpointPauseMs: args.pauseMs } }),
    qemu72Deadlock: args.qemu72Deadlock,
  });
  out.write([
    'Emulated QEMU 7.2 COLO pair (QMP only: no guest, no disks, no network).',
    `  primary QMP:   ${pair.primarySocket}`,
    `  secondary QMP: ${pair.secondarySocket}`,
    `  migrate to:    ${pair.incomingUri}`,
    args.qemu72Deadlock ? '  the first periodic checkpoint hangs the primary, as Debian\'s 7.2 does' : '  checkpoints run at x-checkpoint-delay once COLO is started',
    'Start COLO: migrate-set-capabilities x-colo (+events) on both, migrate-set-parameters x-checkpoint-delay, migrate.',
    'Ctrl-C stops it.',
    '',
  ].join('\n'));
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop);
  });
  await pair.stop();
  if (ownDir) rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runQmpLab(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(err instanceof Error ? err.message : String(err));
      process.exit(2);
    },
  );
}
