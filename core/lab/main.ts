// `npm run lab -- xen` / `npm run lab -- qemu`: brings up the Xen lab or the QEMU lab and prints how to add its
// hosts (and pair) to the console, then waits; Ctrl-C (or SIGTERM, SIGHUP) takes everything down again.

import { readFileSync } from 'node:fs';
import { CHECKPOINT_DELAY_MAX_MS, CHECKPOINT_DELAY_MIN_MS } from '../backends/qemu/qemu-options.js';
import { INCOMING_SUFFIX } from '../backends/xen/xl-commands.js';
import { describeQemuLab } from './qemu-lab-describe.js';
import { startQemuLab } from './qemu-lab.js';
import { type XenLab, startXenLab } from './xen-lab.js';

const USAGE = [
  'usage: npm run lab -- xen [--colo-period-ms N] [--xen-minor-b N] [--loopback]',
  '       npm run lab -- qemu [--emulated] [--checkpoint-delay-ms N]',
  '',
  '  xen   two emulated Xen dom0s and a bastion behind real sshds',
  '  qemu  two QEMU hosts (real sshds) with a real TCG QEMU 7.2 COLO pair behind them, or with --emulated the QMP',
  `        emulator (checkpoints that go on); --checkpoint-delay-ms is the pair option to suggest (${CHECKPOINT_DELAY_MIN_MS}…${CHECKPOINT_DELAY_MAX_MS}, default 200)`,
  '',
].join('\n');

function usage(why?: string): never {
  process.stderr.write(`${why === undefined ? '' : `lab: ${why}\n`}${USAGE}`);
  process.exit(2);
}

/** The checkpoint delay suggested for the console's pair option (qemu-colo.md §3 used 200 ms). */
const DEFAULT_CHECKPOINT_DELAY_MS = 200;

function describe(lab: XenLab): string {
  const host = (h: 'a' | 'b' | 'bastion'): string => {
    const x = lab[h];
    return [
      `  ${h === 'bastion' ? 'bastion' : `xen-${h}`}: ${x.user}@${x.address} port ${x.port}`,
      `    host key ${x.hostKeyType} ${x.hostKeySha256}`,
      ...(x.replicationAddress !== undefined ? [`    replication address (the other host reaches it here): ${x.replicationAddress}`] : []),
    ].join('\n');
  };
  return [
    `Xen lab up (${lab.mode}): ${lab.note}`,
    '',
    'Hosts:',
    host('a'),
    host('b'),
    host('bastion'),
    '',
    `Private key (root on every host accepts it): ${lab.clientKeyFile}`,
    `known_hosts for the console: ${lab.knownHostsFile}`,
    readFileSync(lab.knownHostsFile, 'utf8').trimEnd().split('\n').map((l) => `  ${l}`).join('\n'),
    `ssh config with the aliases xen-a, xen-b (ProxyJump bastion) and bastion: ${lab.sshConfigFile}`,
    `  try: ssh -F ${lab.sshConfigFile} xen-a xl list`,
    '',
    'In the console: add both hosts (address, user root, the key above, trust the fingerprints above), then a pair',
    `web01 from xen-a to xen-b with the option secondaryAddress = ${lab.b.replicationAddress ?? lab.b.address}.`,
    `Seeded on xen-a: web01 (HVM, COLO disks, paused), pv01 (PV), plain01 (HVM, no COLO disk keys); the secondary`,
    `shows up on xen-b as web01${INCOMING_SUFFIX} while protected.`,
    '',
    'Ctrl-C stops the lab and removes everything it created.',
  ].join('\n');
}

/** Starts a lab, prints it, and keeps the process (the lab's owner) alive until a signal stops the lab. */
async function hold<L extends { stop(): Promise<void> }>(start: () => Promise<L>, describeLab: (lab: L) => string): Promise<void> {
  let lab: L | null = null;
  let signalled: string | null = null;
  let stopping = false;
  const stop = (signal: string): void => {
    signalled ??= signal;
    // A signal during start-up is acted on once the lab is up (start-up removes a half-built lab itself on failure).
    if (lab === null || stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the lab…\n`);
    lab.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`stopping the lab failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => stop(s));
  lab = await start();
  if (signalled !== null) return stop(signalled);
  process.stdout.write(`${describeLab(lab)}\n`);
  setInterval(() => {}, 1 << 30);
}

function xen(rest: string[]): Promise<void> {
  let coloPeriodMs: number | undefined;
  let xenMinorB: number | undefined;
  let forceLoopback = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const num = (): number => {
      const n = Number(rest[++i]);
      if (!Number.isInteger(n) || n < 0) usage(`${a} takes a whole number, not ${rest[i] ?? 'nothing'}`);
      return n;
    };
    if (a === '--colo-period-ms') coloPeriodMs = num();
    else if (a === '--xen-minor-b') xenMinorB = num();
    else if (a === '--loopback') forceLoopback = true;
    else usage(`unknown option for xen: ${a}`);
  }
  return hold(
    () => startXenLab({ ...(coloPeriodMs === undefined ? {} : { coloPeriodMs }), ...(xenMinorB === undefined ? {} : { xenMinor: { b: xenMinorB } }), forceLoopback }),
    describe,
  );
}

function qemu(rest: string[]): Promise<void> {
  let emulated = false;
  let checkpointDelayMs = DEFAULT_CHECKPOINT_DELAY_MS;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--emulated') emulated = true;
    else if (a === '--checkpoint-delay-ms') {
      const v = rest[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < CHECKPOINT_DELAY_MIN_MS || n > CHECKPOINT_DELAY_MAX_MS) {
        usage(`--checkpoint-delay-ms takes a whole number of ms ${CHECKPOINT_DELAY_MIN_MS}…${CHECKPOINT_DELAY_MAX_MS}, not ${v ?? 'nothing'}`);
      }
      checkpointDelayMs = n;
    } else usage(`unknown option for qemu: ${a}`);
  }
  // The emulated primary starts with that delay too; a real QEMU keeps its own until the console sets it.
  return hold(
    () => startQemuLab(emulated ? { kind: 'emulated', checkpointDelayMs } : { kind: 'real' }),
    (lab) => describeQemuLab(lab, checkpointDelayMs),
  );
}

function main(argv: string[]): Promise<void> {
  const [what, ...rest] = argv;
  if (what === 'xen') return xen(rest);
  if (what === 'qemu') return qemu(rest);
  if (what === '--help' || what === '-h') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  usage(what === undefined ? 'which lab?' : `unknown lab: ${what}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
