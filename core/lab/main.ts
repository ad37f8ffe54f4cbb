// `npm run lab -- xen`: brings up the Xen lab and prints how to add its hosts to the console, then waits; Ctrl-C
// (or SIGTERM) takes everything down again.

import { readFileSync } from 'node:fs';
import { INCOMING_SUFFIX } from '../backends/xen/xl-commands.js';
import { type XenLab, startXenLab } from './xen-lab.js';

function usage(): never {
  process.stderr.write('usage: npm run lab -- xen [--colo-period-ms N] [--xen-minor-b N] [--loopback]\n');
  process.exit(2);
}

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

async function main(argv: string[]): Promise<void> {
  const [what, ...rest] = argv;
  if (what !== 'xen') usage();
  let coloPeriodMs: number | undefined;
  let xenMinorB: number | undefined;
  let forceLoopback = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const num = (): number => {
      const n = Number(rest[++i]);
      if (!Number.isInteger(n) || n < 0) usage();
      return n;
    };
    if (a === '--colo-period-ms') coloPeriodMs = num();
    else if (a === '--xen-minor-b') xenMinorB = num();
    else if (a === '--loopback') forceLoopback = true;
    else usage();
  }
  const lab = await startXenLab({ ...(coloPeriodMs === undefined ? {} : { coloPeriodMs }), ...(xenMinorB === undefined ? {} : { xenMinor: { b: xenMinorB } }), forceLoopback });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
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
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  process.stdout.write(`${describe(lab)}\n`);
  // Keep the process (the lab's owner) alive until a signal comes.
  setInterval(() => {}, 1 << 30);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`lab: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
