// Shared by the Xen and QEMU benchmarks: a lab's hosts a and b added to a fresh ConsoleService and trusted, Xen
// pairs added and started, all through the console's API (the RPC contract over an in-process channel, as the
// desktop shell reaches it), and a plain SSH link to a host for the baselines.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { type ConsoleContract, consoleContract } from '../api/console-contract.js';
import { createMemoryChannelPair } from '../api/memory-channel.js';
import { type RpcClient, createClient, serve } from '../api/rpc.js';
import { type XenLab, labUnavailable } from '../lab/xen-lab.js';
import { ConsoleService, consoleHandlers } from '../service/console-service.js';
import { knownHostsCheck } from '../ssh/host-keys.js';
import { SshHostLink } from '../ssh/host-link.js';
import { parseKnownHosts } from '../ssh/known-hosts.js';

/** Why the Xen benchmarks cannot run here (the lab's own reasons: not root, no sshd, no mount namespaces), or null. */
export function xenBenchUnavailable(): string | null {
  const why = labUnavailable();
  return why === null ? null : `the Xen lab cannot run here: ${why}`;
}

/** What the rig needs of a lab (the Xen lab's or the QEMU lab's): two SSH hosts, a client key, their known_hosts. */
export interface BenchLab {
  a: BenchLabHost;
  b: BenchLabHost;
  clientKeyFile: string;
  knownHostsFile: string;
}

export interface BenchLabHost {
  address: string;
  port: number;
  hostKeySha256: string;
}

export interface BenchConsole {
  service: ConsoleService;
  client: RpcClient<ConsoleContract>;
  hostIds: { a: string; b: string };
  dataDir: string;
  /** Closes the client, the service (its pairs stay protected on the hosts: a detach) and removes the data dir. */
  close(): Promise<void>;
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what()}`);
    await delay(50);
  }
}

/**
 * A ConsoleService on a fresh data directory (demo off), reached through the RPC layer. Its known_hosts list is
 * empty: hosts a and b are added (as `<hypervisor>-a`, `-b`) and their keys, checked against the lab's, trusted
 * through the API, as an admin does.
 * `dataDir` reuses a directory (a console restarted on its own data: it attaches to its running pairs).
 */
export async function startBenchConsole(lab: BenchLab, dataDir?: string, hypervisor: 'xen' | 'qemu' = 'xen'): Promise<BenchConsole> {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'colo-bench-xen-'));
  const service = new ConsoleService({
    dataDir: dir,
    autoStartDemo: false,
    owner: 'bench',
    ssh: { userKnownHosts: [], readyTimeoutMs: 10_000, backoff: { initialMs: 100, maxMs: 1000 } },
  });
  const [clientEnd, serverEnd] = createMemoryChannelPair();
  let server: { close(): void } | undefined;
  let client: RpcClient<ConsoleContract> | undefined;
  const close = async (): Promise<void> => {
    client?.close();
    server?.close();
    await service.close();
    if (dataDir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await service.start();
    server = serve(consoleContract, consoleHandlers(service, { transport: 'electron', actor: 'bench' }), serverEnd);
    // Starting a Xen pair waits for its preflight and its first sync: slow on a busy machine, so a patient client.
    client = createClient(consoleContract, clientEnd, { timeoutMs: 120_000 });
    const c = client;
    const ids: Partial<Record<'a' | 'b', string>> = {};
    const known = await c.call('hosts.list', {});
    for (const h of ['a', 'b'] as const) {
      const lh = lab[h];
      const existing = known.find((k) => k.name === `${hypervisor}-${h}`);
      const added = existing ?? await c.call('hosts.add', { name: `${hypervisor}-${h}`, address: lh.address, port: lh.port, user: 'root', auth: { kind: 'key', keyPath: lab.clientKeyFile }, hypervisor });
      ids[h] = added.id;
      // A restarted console knows the key (saved in its known_hosts): it connects by itself. A new one asks.
      let info = added;
      await until(async () => {
        info = (await c.call('hosts.list', {})).find((x) => x.id === added.id) ?? info;
        return info.status === 'connected' || info.hostKey?.status === 'unknown' || info.status === 'error';
      }, 20_000, () => `host ${h} to connect or show its key (is ${info.status}${info.statusReason ? `: ${info.statusReason}` : ''})`);
      if (info.status !== 'connected') {
        if (info.hostKey?.fingerprint !== lh.hostKeySha256) throw new Error(`host ${h} presented ${info.hostKey?.fingerprint ?? 'no key'} (${info.status}: ${info.statusReason ?? ''}), the lab says ${lh.hostKeySha256}`);
        await c.call('hosts.trustKey', { hostId: added.id, fingerprint: lh.hostKeySha256, save: true });
      }
    }
    const hostIds = { a: ids.a!, b: ids.b! };
    await until(async () => (await c.call('hosts.list', {})).filter((h) => h.id === hostIds.a || h.id === hostIds.b).every((h) => h.status === 'connected'), 20_000, () => 'hosts a and b to be connected');
    return { service, client: c, hostIds, dataDir: dir, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/** Adds and starts a COLO pair per domain of host a, and waits until every one is protected. */
export async function protectPairs(bc: BenchConsole, lab: XenLab, domains: readonly string[], timeoutMs = 60_000): Promise<string[]> {
  const c = bc.client;
  const ids: string[] = [];
  for (const domain of domains) {
    const pair = await c.call('pairs.add', {
      name: domain, backend: 'xen', domain, primaryHostId: bc.hostIds.a, secondaryHostId: bc.hostIds.b, mode: 'colo',
      options: { secondaryAddress: lab.b.replicationAddress ?? lab.b.address },
    });
    ids.push(pair.id);
    await c.call('pairs.start', { pairId: pair.id });
  }
  await untilProtected(bc, ids, timeoutMs);
  return ids;
}

/** Waits until every pair of `ids` is protected (a restarted console attaches to its running pairs by itself). */
export async function untilProtected(bc: BenchConsole, ids: readonly string[], timeoutMs = 60_000): Promise<void> {
  const c = bc.client;
  let states = '';
  await until(async () => {
    const all = await c.call('pairs.list', {});
    states = ids.map((id) => `${all.find((p) => p.id === id)?.name ?? id}: ${all.find((p) => p.id === id)?.state.state ?? 'missing'}`).join(', ');
    return ids.every((id) => all.find((p) => p.id === id)?.state.state === 'protected');
  }, timeoutMs, () => `pairs to be protected (${states})`);
}

/** Stops each pair (typed confirmation is the domain name), so no `xl remus` outlives the benchmark's lab. */
export async function stopPairs(bc: BenchConsole, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const p = await bc.client.call('pairs.get', { pairId: id });
    if (p.state.state === 'protected' || p.state.state === 'syncing') await bc.client.call('pairs.stop', { pairId: id, confirmName: p.name }).catch(() => {});
  }
}

/** A plain SSH link to host `h` of the lab with its client key and known_hosts (for the baselines). */
export function plainLink(lab: BenchLab, h: 'a' | 'b'): SshHostLink {
  const entries = parseKnownHosts(readFileSync(lab.knownHostsFile, 'utf8'), lab.knownHostsFile).entries;
  const key = readFileSync(lab.clientKeyFile);
  const lh = lab[h];
  return new SshHostLink({
    target: { host: lh.address, port: lh.port, user: 'root' },
    auth: () => ({ kind: 'key', privateKey: key }),
    connect: { checkHostKey: knownHostsCheck(lh.address, lh.port, { entries }), readyTimeoutMs: 10_000, keepaliveMs: 2000 },
    backoff: { initialMs: 100, maxMs: 500 },
  });
}

/** Lines of a stream's chunks, partial lines carried over: the plain splitting any tail does. */
export class LineSplitter {
  private rest = '';

  push(chunk: Buffer, onLine: (line: string) => void): void {
    const t = this.rest + chunk.toString('utf8');
    let at = 0;
    for (;;) {
      const nl = t.indexOf('\n', at);
      if (nl < 0) break;
      onLine(t.slice(at, nl));
      at = nl + 1;
    }
    this.rest = t.slice(at);
  }
}

/** The q-quantile (0…1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** A command on the host whose stdout is split into lines as it arrives, until stop() (the CPU and latency baselines). */
export function followLines(link: SshHostLink, argv: readonly string[], onLine: (line: string) => void): { stop(): Promise<void> } {
  const abort = new AbortController();
  const split = new LineSplitter();
  const running = link.exec(argv, {
    timeoutMs: 3_600_000,
    signal: abort.signal,
    maxOutputBytes: 64 * 1024 * 1024,
    onStdout: (chunk) => split.push(chunk, onLine),
  }).then(
    (r) => {
      if (!abort.signal.aborted) throw new Error(`${argv.join(' ')} ended early: exit ${r.code ?? r.signal}: ${r.stderr.slice(0, 500)}`);
    },
    (err: unknown) => {
      if (!abort.signal.aborted) throw err;
    },
  );
  // A failure before stop() is reported by stop(); until then it must not count as unhandled.
  running.catch(() => {});
  return {
    stop: async () => {
      abort.abort();
      await running;
    },
  };
}
