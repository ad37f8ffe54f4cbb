// The ReplicationBackend for Xen dom0s over SSH (issue 8): `xl` run on the hosts through their shared links, its
// output parsed without trusting it, `xl -vvv remus` started under a supervisor that outlives the console, and its
// log followed from a saved byte offset (xen-colo.md §2.8, §3, §4). Every command sent is reported to the audit
// log exactly as quoted for the host's shell.

import type {
  BackendCapabilities,
  BackendContext,
  DomainSummary,
  HostLinks,
  HostProbe,
  PairEvents,
  PairHandle,
  PairSpec,
  PreflightCheck,
  ReplicationBackend,
} from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import type { SshHostLink } from '../../ssh/host-link.js';
import { type ProtectionState } from '../../colo/types.js';
import { initialAssemblerState } from './cycle-assembler.js';
import { HostCommandError, exitSummary, firstLine, runOnHost } from '../host-command.js';
import { XenPairHandle, type HandleTiming } from './xen-pair-handle.js';
import { type DiskFacts, type Fact, type PreflightFacts, preflightChecks } from './xen-preflight.js';
import type { XenRun, XenRunStore } from './xen-run-store.js';
import { MAX_INFO_BYTES, parseXlInfo, xenProbe, type XlInfo } from './xl-info.js';
import { MAX_LIST_BYTES, domainSummary, parseXlList, type XlDomain } from './xl-list.js';
import { VERBOSE_RECEIVER_SSH, domainNameProblem, remusArgv, secondaryHostProblem, supervisedCommand } from './xl-commands.js';

export interface XenBackendOptions {
  links: HostLinks;
  runStore: XenRunStore;
  clock?: () => number;
  /** Longest a one-shot command (xl info, xl list, xl destroy…) may take; default 20 s. */
  commandTimeoutMs?: number;
  /** Longest protect waits for the log to show the replication stream started; default 60 s. */
  startTimeoutMs?: number;
  /** Silence while protected before 'checkpoint-overdue'; default 15 s (three times xl's longest wait of 5 s). */
  overdueMs?: number;
  /** After xl remus ended, how long to wait for the secondary's takeover to show; default 15 s. */
  settleTimeoutMs?: number;
  persistEveryMs?: number;
  retryDelayMs?: number;
  maxBytesPerTail?: number;
}

/** The device model xl starts for HVM guests; COLO needs it built with block replication (xen-colo.md §4). */
export const DEVICE_MODEL = '/usr/lib/xen/bin/qemu-system-i386';

export class XenBackend implements ReplicationBackend {
  readonly kind = 'xen';
  readonly capabilities: BackendCapabilities = { checkpoints: 'observed', manualCheckpoint: false, modes: ['colo', 'remus'], attach: true, simulation: false };
  private readonly clock: () => number;
  private readonly timeoutMs: number;
  private readonly timing: HandleTiming;
  private readonly live = new Set<XenPairHandle>();

  constructor(private readonly o: XenBackendOptions) {
    this.clock = o.clock ?? Date.now;
    this.timeoutMs = o.commandTimeoutMs ?? 20_000;
    this.timing = {
      commandTimeoutMs: this.timeoutMs,
      overdueMs: o.overdueMs ?? 15_000,
      persistEveryMs: o.persistEveryMs ?? 1000,
      settleTimeoutMs: o.settleTimeoutMs ?? 15_000,
      settlePollMs: 300,
      retryDelayMs: o.retryDelayMs ?? 500,
      maxBytesPerTail: o.maxBytesPerTail ?? 8 * 1024 * 1024,
    };
  }

  async probe(host: HostRecord, ctx: BackendContext): Promise<HostProbe> {
    const info = await this.xlInfo(host, ctx);
    const probe = xenProbe(info);
    const systemd = await this.hasSystemd(host, ctx);
    return { ...probe, capabilities: [...probe.capabilities, systemd ? 'supervisor:systemd' : 'supervisor:setsid-nohup'] };
  }

  async inventory(host: HostRecord, ctx: BackendContext): Promise<DomainSummary[]> {
    const domains = await this.xlList(host, ctx);
    const states = await this.xlStates(host, ctx);
    return domains.map((d) => {
      const flags = d.name === undefined ? undefined : states.get(d.name);
      const summary = domainSummary(d, undefined);
      return flags === undefined ? summary : { ...summary, state: stateOf(flags) };
    });
  }

  async preflight(pair: PairSpec, ctx: BackendContext): Promise<PreflightCheck[]> {
    const nameProblem = domainNameProblem(pair.domain);
    if (nameProblem !== null) return [{ id: 'domain', label: `Domain ${pair.domain}`, status: 'fail', detail: `${nameProblem}. Fix: rename the pair's domain.` }];
    const options = readOptions(pair);
    if (typeof options === 'string') return [{ id: 'options', label: 'Pair options', status: 'fail', detail: options }];
    const fact = async <T>(fn: () => Promise<T>): Promise<Fact<T>> => {
      try {
        return { ok: true, value: await fn() };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    };
    const [primaryInfo, primaryDomains, secondaryInfo, secondaryDomains] = await Promise.all([
      fact(() => this.xlInfo(pair.primary, ctx)),
      fact(() => this.xlList(pair.primary, ctx)),
      fact(() => this.xlInfo(pair.secondary, ctx)),
      fact(() => this.xlList(pair.secondary, ctx)),
    ]);
    const secondaryReachable = await fact(async (): Promise<true> => {
      const argv = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '--', options.secondaryAddress, 'true'];
      const r = await runOnHost(this.link(pair.primary), pair.primary, argv, ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: 64 * 1024 });
      if (r.code !== 0) throw new Error(`ssh from ${pair.primary.name} to ${options.secondaryAddress} failed (${exitSummary(r)}).`);
      return true;
    });
    const replicationDriver = await fact(async () => {
      const r = await runOnHost(this.link(pair.primary), pair.primary, [DEVICE_MODEL, '-drive', 'format=help'], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: 1024 * 1024 });
      if (r.code !== 0) throw new Error(`${pair.primary.name}: ${DEVICE_MODEL} -drive format=help failed (${exitSummary(r)}).`);
      return /(^|[\s:,])replication([\s,]|$)/m.test(r.stdout);
    });
    const facts: PreflightFacts = {
      domain: pair.domain,
      primaryName: pair.primary.name,
      secondaryName: pair.secondary.name,
      secondaryAddress: options.secondaryAddress,
      userspaceProxy: options.userspaceProxy,
      primaryInfo, primaryDomains, secondaryInfo, secondaryDomains, secondaryReachable, replicationDriver,
    };
    const guest = primaryDomains.ok ? primaryDomains.value.find((d) => d.name === pair.domain) : undefined;
    if (guest !== undefined) facts.disks = await this.diskFacts(pair, guest, options.checksumDisks, ctx);
    return preflightChecks(facts);
  }

  async protect(pair: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle> {
    const options = readOptions(pair);
    if (typeof options === 'string') throw new Error(options);
    if (pair.mode === 'colo' && options.remusIntervalMs !== undefined) throw new Error('remusIntervalMs applies to Remus only: xl remus -c takes no interval.');
    const argv = remusArgv({
      domain: pair.domain,
      secondary: options.secondaryAddress,
      mode: pair.mode,
      ...(options.userspaceProxy ? { userspaceProxy: true } : {}),
      ...(options.remusIntervalMs === undefined ? {} : { intervalMs: options.remusIntervalMs }),
      ...(options.secondaryVerbose ? { sshCommand: VERBOSE_RECEIVER_SSH } : {}),
    });
    const primary = this.link(pair.primary);
    const guest = (await this.xlList(pair.primary, ctx)).find((d) => d.name === pair.domain);
    if (guest === undefined) throw new Error(`${pair.primary.name}: no domain named ${pair.domain} (xl list -l).`);
    const systemd = await this.hasSystemd(pair.primary, ctx);
    const startedAt = this.clock();
    const unit = `colo-console-${pair.id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}-${startedAt.toString(36)}`;
    const sup = supervisedCommand(argv, unit, systemd);
    const started = await runOnHost(primary, pair.primary, ['sh', '-c', sup.command], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: 64 * 1024 });
    if (started.code !== 0) throw new Error(`${pair.primary.name}: starting xl remus failed (${exitSummary(started)}).`);
    const pid = systemd ? await this.mainPid(pair.primary, unit, ctx) : Number(firstLine(started.stdout));
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`${pair.primary.name}: the supervisor gave no process id for xl remus (printed ${JSON.stringify(started.stdout.slice(0, 80))}).`);
    const state: ProtectionState = { state: 'starting', since: startedAt, reason: `xl remus started on ${pair.primary.name} (${systemd ? `unit ${unit}` : `pid ${pid}`}); waiting for the replication stream.` };
    const run: XenRun = {
      pairId: pair.id,
      primaryHostId: pair.primary.id,
      secondaryHostId: pair.secondary.id,
      domain: pair.domain,
      ...(guest.uuid === undefined ? {} : { uuid: guest.uuid }),
      unit,
      log: sup.log,
      supervisor: systemd ? 'systemd' : 'nohup',
      pid,
      startedAt,
      offset: 0,
      // The console always runs `xl -vvv`, so Record lines mark each pause's end.
      assembler: initialAssemblerState(pair.mode, true),
      state,
    };
    this.o.runStore.put(run);
    events.state(state);
    const handle = this.handle(pair, run, events, ctx, state);
    const { started: streaming } = handle.follow();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${pair.primary.name}: the log ${sup.log} showed no replication stream within ${(this.o.startTimeoutMs ?? 60_000) / 1000} s.`)), this.o.startTimeoutMs ?? 60_000);
    });
    let timedOut = false;
    try {
      await Promise.race([streaming, timeout.catch((err: unknown) => {
        timedOut = true;
        throw err;
      })]);
    } catch (err) {
      await handle.detach();
      // Still running but showing nothing: stop it rather than leave an unwatched xl remus behind.
      if (timedOut) await runOnHost(primary, pair.primary, ['kill', '--', String(pid)], ctx, { timeoutMs: this.timeoutMs, okCodes: [0, 1] }).catch(() => {});
      // A run that never got going is not left behind for an attach to find.
      this.o.runStore.remove(pair.id);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return handle;
  }

  async attach(pair: PairSpec, events: PairEvents, ctx: BackendContext): Promise<PairHandle | null> {
    const run = this.o.runStore.get(pair.id);
    if (run === null) return null;
    if (run.primaryHostId !== pair.primary.id || run.domain !== pair.domain || run.pid === undefined) {
      this.o.runStore.remove(pair.id);
      return null;
    }
    const argv = run.supervisor === 'systemd' ? ['systemctl', 'is-active', '--quiet', '--', run.unit] : ['kill', '-0', '--', String(run.pid)];
    const alive = await runOnHost(this.link(pair.primary), pair.primary, argv, ctx, { timeoutMs: this.timeoutMs, okCodes: [0, 1, 3] });
    if (alive.code !== 0) {
      this.o.runStore.remove(pair.id);
      return null;
    }
    const state: ProtectionState = run.state ?? { state: 'starting', since: run.startedAt };
    events.state(state);
    const open = run.assembler.open;
    if (open !== null) events.checkpointStarted?.({ seq: open.seq, trigger: open.trigger, startedAt: open.startedAt });
    const handle = this.handle(pair, run, events, ctx, state);
    handle.follow();
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.live].map((h) => h.detach()));
  }

  private handle(pair: PairSpec, run: XenRun, events: PairEvents, ctx: BackendContext, state: ProtectionState): XenPairHandle {
    const handle: XenPairHandle = new XenPairHandle(pair, run, events, { primary: this.link(pair.primary), secondary: this.link(pair.secondary) }, this.o.runStore, ctx, this.clock, this.timing, state, () => this.live.delete(handle));
    this.live.add(handle);
    void handle.ended.then(() => this.live.delete(handle));
    return handle;
  }

  private link(host: HostRecord): SshHostLink {
    return this.o.links.link(host);
  }

  private async xlInfo(host: HostRecord, ctx: BackendContext): Promise<XlInfo> {
    const r = await runOnHost(this.link(host), host, ['xl', 'info'], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: MAX_INFO_BYTES });
    if (r.code !== 0) throw new HostCommandError(host.id, r.command, `${host.name}: xl info failed (${exitSummary(r)}).`);
    return parseXlInfo(r.stdout);
  }

  private async xlList(host: HostRecord, ctx: BackendContext): Promise<XlDomain[]> {
    const r = await runOnHost(this.link(host), host, ['xl', 'list', '-l'], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: MAX_LIST_BYTES });
    if (r.code !== 0) throw new HostCommandError(host.id, r.command, `${host.name}: xl list -l failed (${exitSummary(r)}).`);
    try {
      return parseXlList(r.stdout);
    } catch (err) {
      throw new HostCommandError(host.id, r.command, `${host.name}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }

  /** `xl list`'s state column by name (xl list -l has none); empty when it cannot be read. */
  private async xlStates(host: HostRecord, ctx: BackendContext): Promise<Map<string, string>> {
    try {
      const r = await runOnHost(this.link(host), host, ['xl', 'list'], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: MAX_LIST_BYTES });
      return r.code === 0 ? parseXlListStates(r.stdout) : new Map();
    } catch {
      return new Map();
    }
  }

  private async hasSystemd(host: HostRecord, ctx: BackendContext): Promise<boolean> {
    const r = await runOnHost(this.link(host), host, ['test', '-d', '/run/systemd/system'], ctx, { timeoutMs: this.timeoutMs, okCodes: [0, 1] });
    return r.code === 0;
  }

  private async mainPid(host: HostRecord, unit: string, ctx: BackendContext): Promise<number> {
    const r = await runOnHost(this.link(host), host, ['systemctl', 'show', '--property=MainPID', '--value', '--', unit], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: 4096 });
    return Number(firstLine(r.stdout));
  }

  private async diskFacts(pair: PairSpec, guest: XlDomain, checksum: boolean, ctx: BackendContext): Promise<DiskFacts[]> {
    const out: DiskFacts[] = [];
    for (const d of guest.disks) {
      if (d.target === undefined || !d.target.startsWith('/')) continue;
      const path = d.target;
      const size = async (host: HostRecord): Promise<Fact<number>> => {
        try {
          const r = await runOnHost(this.link(host), host, ['stat', '-c', '%s', '--', path], ctx, { timeoutMs: this.timeoutMs, maxOutputBytes: 4096 });
          const n = Number(firstLine(r.stdout));
          return r.code === 0 && Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, error: `${host.name}: ${path} cannot be read (${exitSummary(r)})` };
        } catch (err) {
          return { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      };
      const sum = async (host: HostRecord): Promise<Fact<string>> => {
        try {
          // Hashing a disk image takes a while: minutes, not the usual command timeout.
          const r = await runOnHost(this.link(host), host, ['sha256sum', '--', path], ctx, { timeoutMs: Math.max(this.timeoutMs, 3_600_000), maxOutputBytes: 64 * 1024 });
          const m = /^([0-9a-f]{64})\b/.exec(r.stdout);
          return r.code === 0 && m !== null ? { ok: true, value: m[1]! } : { ok: false, error: `${host.name}: sha256sum ${path} failed (${exitSummary(r)})` };
        } catch (err) {
          return { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      };
      const [primarySize, secondarySize] = await Promise.all([size(pair.primary), size(pair.secondary)]);
      const facts: DiskFacts = { path, primarySize, secondarySize };
      if (checksum) [facts.primarySum, facts.secondarySum] = await Promise.all([sum(pair.primary), sum(pair.secondary)]);
      out.push(facts);
    }
    return out;
  }
}

interface XenPairOptions {
  secondaryAddress: string;
  userspaceProxy: boolean;
  remusIntervalMs?: number;
  secondaryVerbose: boolean;
  checksumDisks: boolean;
}

/** PairRecord.options for Xen (flat scalars), checked; a string says what is wrong. */
function readOptions(pair: PairSpec): XenPairOptions | string {
  const o = pair.options ?? {};
  const address = o.secondaryAddress ?? pair.secondary.address;
  if (typeof address !== 'string' || address === '') return `The pair has no secondaryAddress and ${pair.secondary.name} has no address: the primary needs one to reach it over ssh.`;
  const bad = secondaryHostProblem(address);
  if (bad !== null) return `secondaryAddress: ${bad}`;
  const bool = (k: string): boolean | string => (o[k] === undefined ? false : typeof o[k] === 'boolean' ? o[k] : `option ${k} must be true or false`);
  const userspaceProxy = bool('userspaceProxy');
  const secondaryVerbose = bool('secondaryVerbose');
  const checksumDisks = bool('checksumDisks');
  for (const v of [userspaceProxy, secondaryVerbose, checksumDisks]) if (typeof v === 'string') return v;
  const interval = o.remusIntervalMs;
  if (interval !== undefined && (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1)) return 'option remusIntervalMs must be a whole number of milliseconds';
  return {
    secondaryAddress: address,
    userspaceProxy: userspaceProxy as boolean,
    secondaryVerbose: secondaryVerbose as boolean,
    checksumDisks: checksumDisks as boolean,
    ...(interval === undefined ? {} : { remusIntervalMs: interval }),
  };
}

/** `xl list`: Name ID Mem VCPUs State Time(s); names may hold spaces, so the columns are read from the right. */
export function parseXlListStates(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.slice(0, MAX_LIST_BYTES).split('\n').slice(1, 4097)) {
    const m = /^(.+?)\s+\d+\s+\d+\s+\d+\s+([-rbpscd]{6})\s+\d+(?:\.\d+)?\s*$/.exec(line);
    if (m !== null) out.set(m[1]!, m[2]!);
  }
  return out;
}

function stateOf(flags: string): DomainSummary['state'] {
  if (flags.includes('p')) return 'paused';
  if (flags.includes('r') || flags.includes('b')) return 'running';
  if (flags.includes('s') || flags.includes('c') || flags.includes('d')) return 'shutdown';
  // No flag at all: neither running nor blocked, paused nor shut down (a COLO secondary between checkpoints).
  return 'suspended';
}
