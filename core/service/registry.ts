// Hosts and protected pairs, persisted as one JSON file in the data directory. The file is the admin's
// configuration, so it is validated on load, written atomically, and a file that fails either check is moved
// aside and reported rather than replaced with defaults behind their back.
//
// The embedded simulator host and its demo pair always exist: they are re-added if missing, so a first start (or
// a start after a corrupt file) always shows a protected VM.

import path from 'node:path';
import { z } from 'zod';
import { simSettings } from '../api/console-contract.js';
import { PRESETS } from '../backends/sim/presets.js';
import { type ProblemSink, quarantine, readJsonFile, writeFileAtomic } from './files.js';

export const REGISTRY_FILE = 'registry.json';
const REGISTRY_VERSION = 1;

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'letters, digits, ".", "_" and "-" only');

/** How the console reaches an SSH host. Only references to credentials: secrets never go into this file. */
const sshAuth = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('agent') }),
  z.object({ kind: z.literal('key'), keyPath: z.string().min(1).max(4096) }),
  /** Asked each session, held in memory only. */
  z.object({ kind: z.literal('password') }),
]);

/** A ProxyJump hop, resolved when the host was added (OpenSSH's config read by `ssh -G`). */
const jumpHost = z.object({
  address: z.string().min(1).max(256),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1).max(64).optional(),
});

export const hostRecord = z.object({
  id,
  name: z.string().min(1).max(256),
  kind: z.enum(['sim', 'ssh']),
  hypervisor: z.enum(['sim', 'xen', 'qemu']),
  address: z.string().min(1).max(256).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).max(64).optional(),
  auth: sshAuth.optional(),
  /** The ~/.ssh/config alias the admin gave; address, port, user, key and jumps were resolved from it when added. */
  alias: z.string().min(1).max(253).optional(),
  /** ProxyJump hops, in order (the first is dialled directly). */
  jumps: z.array(jumpHost).max(8).optional(),
  /** The pinned host key (SHA-256 fingerprint, as OpenSSH prints it). */
  hostKeySha256: z.string().max(128).optional(),
});

/** A simulated pair's settings, minus the live fault switches (those belong to a running pair, not to the file). */
export const storedSimSettings = simSettings.omit({ faults: true });

export const pairRecord = z.object({
  id,
  name: z.string().min(1).max(128),
  backend: z.enum(['sim', 'xen', 'qemu']),
  mode: z.enum(['colo', 'remus']),
  /** Where the guest runs now; a failover swaps the two (the survivor becomes the primary of the next start). */
  primaryHostId: id,
  secondaryHostId: id,
  /** The domain's name on the primary (xl name, QEMU VM name); defaults to the pair's name. */
  domain: z.string().min(1).max(128).optional(),
  sim: storedSimSettings.optional(),
  /**
   * Backend-specific settings (a QEMU pair's QMP socket and NBD port, say), checked by the backend's preflight;
   * flat and scalar so that no secret-bearing structure can hide in here.
   */
  options: z.record(z.string().max(64), z.union([z.string().max(4096), z.number(), z.boolean()])).optional(),
});

const registryFile = z.object({
  version: z.literal(REGISTRY_VERSION),
  hosts: z.array(hostRecord).max(1000),
  pairs: z.array(pairRecord).max(1000),
}).superRefine((reg, ctx) => {
  const hostIds = new Set<string>();
  for (const h of reg.hosts) {
    if (hostIds.has(h.id)) ctx.addIssue({ code: 'custom', message: `duplicate host id ${h.id}` });
    hostIds.add(h.id);
  }
  const pairIds = new Set<string>();
  for (const p of reg.pairs) {
    if (pairIds.has(p.id)) ctx.addIssue({ code: 'custom', message: `duplicate pair id ${p.id}` });
    pairIds.add(p.id);
    for (const h of [p.primaryHostId, p.secondaryHostId]) {
      if (!hostIds.has(h)) ctx.addIssue({ code: 'custom', message: `pair ${p.id} names unknown host ${h}` });
    }
    if (p.backend === 'sim' && p.sim === undefined) ctx.addIssue({ code: 'custom', message: `simulated pair ${p.id} has no sim settings` });
  }
});

export type HostRecord = z.output<typeof hostRecord>;
export type HostAuth = z.output<typeof sshAuth>;
export type PairRecord = z.output<typeof pairRecord>;
export type StoredSimSettings = z.output<typeof storedSimSettings>;

export const DEMO_PAIR_ID = 'demo';

// The simulator plays two hosts, so that a demo shows sides the way real hosts have them: a failover moves the
// guest from A to B, a killed host is down while the other runs on, split brain has a copy on each.
export const SIM_HOST_A: HostRecord = { id: 'sim-a', name: 'Simulated host A', kind: 'sim', hypervisor: 'sim' };
export const SIM_HOST_B: HostRecord = { id: 'sim-b', name: 'Simulated host B', kind: 'sim', hypervisor: 'sim' };
export const SIM_HOSTS: readonly HostRecord[] = [SIM_HOST_A, SIM_HOST_B];
/** Registries written before there were two simulated hosts name this one for both sides. */
const LEGACY_SIM_HOST_ID = 'sim';

export const DEMO_PAIR: PairRecord = {
  id: DEMO_PAIR_ID,
  name: 'demo-vm',
  backend: 'sim',
  mode: 'colo',
  primaryHostId: SIM_HOST_A.id,
  secondaryHostId: SIM_HOST_B.id,
  sim: {
    preset: 'web-server',
    link: '10gbe',
    remusIntervalMs: 200,
    divergenceProbability: PRESETS['web-server'].divergenceProbability,
  },
};

export class Registry {
  private hostList: HostRecord[];
  private pairList: PairRecord[];

  private constructor(private readonly file: string, hosts: HostRecord[], pairs: PairRecord[]) {
    this.hostList = hosts;
    this.pairList = pairs;
  }

  /**
   * Loads `registry.json` from `dataDir`. Missing: a fresh registry. Unreadable or invalid: moved aside, reported
   * through `report`, and a fresh registry is written in its place. Either way the sim host and demo pair exist.
   */
  static load(dataDir: string, report: ProblemSink, now: number): Registry {
    const file = path.join(dataDir, REGISTRY_FILE);
    const read = readJsonFile(file);
    let hosts: HostRecord[] = [];
    let pairs: PairRecord[] = [];
    let dirty = true;
    if (read.kind === 'ok') {
      const parsed = registryFile.safeParse(read.value);
      if (parsed.success) {
        hosts = parsed.data.hosts;
        pairs = parsed.data.pairs;
        dirty = false;
      } else {
        quarantine(file, `The registry of hosts and pairs is invalid (${z.prettifyError(parsed.error).replace(/\n/g, ' ').slice(0, 500)})`, now, report);
      }
    } else if (read.kind === 'bad') {
      quarantine(file, `The registry of hosts and pairs is ${read.message}`, now, report);
    }
    const reg = new Registry(file, hosts, pairs);
    if (reg.ensureBuiltIns()) dirty = true;
    if (dirty) reg.save();
    return reg;
  }

  hosts(): readonly HostRecord[] {
    return this.hostList;
  }

  pairs(): readonly PairRecord[] {
    return this.pairList;
  }

  host(id: string): HostRecord | undefined {
    return this.hostList.find((h) => h.id === id);
  }

  pair(id: string): PairRecord | undefined {
    return this.pairList.find((p) => p.id === id);
  }

  /** Adds a host (validated) and persists the registry. */
  addHost(host: HostRecord): HostRecord {
    if (this.host(host.id) !== undefined) throw new Error(`a host with id ${host.id} exists`);
    this.persist([...this.hostList, hostRecord.parse(host)], this.pairList);
    return this.host(host.id)!;
  }

  removeHost(id: string): void {
    this.persist(this.hostList.filter((h) => h.id !== id), this.pairList);
  }

  addPair(pair: PairRecord): PairRecord {
    if (this.pair(pair.id) !== undefined) throw new Error(`a pair with id ${pair.id} exists`);
    this.persist(this.hostList, [...this.pairList, pairRecord.parse(pair)]);
    return this.pair(pair.id)!;
  }

  removePair(id: string): void {
    this.persist(this.hostList, this.pairList.filter((p) => p.id !== id));
  }

  /** Replaces one pair's record (validated) and persists the registry. */
  updatePair(id: string, change: (p: PairRecord) => PairRecord): PairRecord {
    const i = this.pairList.findIndex((p) => p.id === id);
    if (i < 0) throw new Error(`no pair ${id}`);
    const next = pairRecord.parse(change(this.pairList[i]!));
    if (next.id !== id) throw new Error('a pair cannot change its id');
    const list = [...this.pairList];
    list[i] = next;
    this.persist(this.hostList, list);
    return next;
  }

  private save(): void {
    this.persist(this.hostList, this.pairList);
  }

  /** Validates the whole registry before writing, so a bug cannot leave a file the next start would reject. */
  private persist(hosts: HostRecord[], pairs: PairRecord[]): void {
    const data = registryFile.parse({ version: REGISTRY_VERSION, hosts, pairs });
    writeFileAtomic(this.file, `${JSON.stringify(data, null, 2)}\n`);
    this.hostList = data.hosts;
    this.pairList = data.pairs;
  }

  /**
   * Re-adds the simulated hosts and the demo pair if missing, and moves simulated pairs off the single legacy
   * simulator host; true if it changed anything.
   */
  private ensureBuiltIns(): boolean {
    let changed = false;
    const missing = SIM_HOSTS.filter((s) => !this.hostList.some((h) => h.id === s.id));
    if (missing.length > 0) {
      this.hostList = [...missing, ...this.hostList];
      changed = true;
    }
    if (this.hostList.some((h) => h.id === LEGACY_SIM_HOST_ID && h.kind === 'sim')) {
      this.pairList = this.pairList.map((p) => (p.primaryHostId === LEGACY_SIM_HOST_ID || p.secondaryHostId === LEGACY_SIM_HOST_ID
        ? { ...p, primaryHostId: SIM_HOST_A.id, secondaryHostId: SIM_HOST_B.id }
        : p));
      this.hostList = this.hostList.filter((h) => h.id !== LEGACY_SIM_HOST_ID);
      changed = true;
    }
    if (!this.pairList.some((p) => p.id === DEMO_PAIR_ID)) {
      this.pairList = [DEMO_PAIR, ...this.pairList];
      changed = true;
    }
    return changed;
  }
}
