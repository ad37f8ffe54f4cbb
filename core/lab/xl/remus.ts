// `xl remus [-c]` on the primary (xen-colo.md §3.1, §2.8): option checks, the receiver started over
// `sh -c "exec ssh <host> xl migrate-receive …"`, then the project's own checkpoint engine over that pipe, with
// the log lines of the per-cycle contract at the moments they describe.

import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ColoPrimary } from '../../colo/primary.js';
import { PeriodicTriggers, XL_REMUS_DEFAULT_INTERVAL_MS } from '../../colo/triggers.js';
import type { Parsed } from './getopt.js';
import { PeriodicMiscompare, emulatedGuest } from './guest.js';
import { LIBXL_AT, type XlLogger } from './logger.js';
import type { GlobalOptions } from './main.js';
import { domainConfig } from './show.js';
import { type EmuDisk, type EmuDomain, type StateStore, findDomain } from './state.js';

export interface RemusFlags {
  colo: boolean;
  userspaceProxy: boolean;
  intervalMs?: number;
  compression: boolean;
  blackhole: boolean;
  netbuf: boolean;
  diskbuf: boolean;
  unsafe: boolean;
  ssh: string;
  noDaemon: boolean;
  script?: string;
}

/** The flags of `xl remus`, or the exit code of a refusal (printed already). */
export function remusFlags(p: Parsed, raw: (line: string) => void): RemusFlags | number {
  const f: RemusFlags = { colo: false, userspaceProxy: false, compression: true, blackhole: false, netbuf: true, diskbuf: true, unsafe: false, ssh: 'ssh', noDaemon: false };
  for (const o of p.opts) {
    switch (o.flag) {
      case 'F': f.unsafe = true; break;
      case 'b': f.blackhole = true; break;
      case 'u': f.compression = false; break;
      case 'n': f.netbuf = false; break;
      case 'd': f.diskbuf = false; break;
      case 'i': f.intervalMs = Number.parseInt(o.arg!, 10); break;
      case 's': f.ssh = o.arg!; break;
      case 'N': f.script = o.arg!; break;
      case 'e': f.noDaemon = true; break;
      case 'c': f.colo = true; break;
      case 'p': f.userspaceProxy = true; break;
    }
  }
  // xl reports these with perror(), which appends the (irrelevant) errno text.
  if (f.colo) {
    if (f.intervalMs !== undefined || f.blackhole || !f.netbuf || !f.diskbuf) {
      raw('option -c is conflict with -i, -d, -n or -b: Success');
      return 255;
    }
    if (f.compression) {
      raw("COLO can't be used with memory compression. Disable memory checkpoint compression now...: Success");
      f.compression = false;
    }
  }
  if (f.userspaceProxy && !f.colo) {
    raw('Option -p must be used in conjunction with -c');
    return 255;
  }
  if ((f.blackhole || !f.netbuf || !f.diskbuf) && !f.unsafe) {
    raw('Remus: unsafe mode (-b, -n or -d) requires -F');
    return 255;
  }
  if (f.intervalMs !== undefined && !(f.intervalMs > 0)) {
    raw(`Invalid interval "${p.opts.find((o) => o.flag === 'i')?.arg ?? ''}"`);
    return 255;
  }
  return f;
}

/** The command xl hands to `sh -c` (main_remus): ssh (or -s) to the host, running the receiver there. */
export function receiverRune(f: RemusFlags, host: string): string {
  const receive = f.colo
    ? `xl migrate-receive --colo${f.script === undefined ? '' : ` --coloft-script ${f.script}`}${f.userspaceProxy ? ' --userspace-colo-proxy' : ''}`
    : 'xl migrate-receive -r';
  if (f.ssh === '') return `exec ${host}${f.noDaemon ? ' -e' : ''}`;
  return `exec ${f.ssh} ${host} ${receive}${f.noDaemon ? ' -e' : ''}`;
}

/** libxl's vbd device number of a virtual device name (hda → 768, xvda → 51712). */
function vbdNumber(vdev: string): number {
  const xvd = /^xvd([a-z])$/.exec(vdev);
  if (xvd) return (202 << 8) | ((xvd[1]!.charCodeAt(0) - 97) << 4);
  const hd = /^hd([a-d])$/.exec(vdev);
  if (hd) return ([3, 3, 22, 22][hd[1]!.charCodeAt(0) - 97]! << 8) | (((hd[1]!.charCodeAt(0) - 97) % 2) << 6);
  return 0;
}

function coloDisk(d: EmuDisk): boolean {
  return d.backend === 'qdisk' && d.colo_enable === 'True' && !!d.colo_host && d.colo_port !== undefined && !!d.colo_export && !!d.active_disk && !!d.hidden_disk;
}

/**
 * Test-only (the lab's latency benchmark): once the cycle's last log line is written, appends `<domain> <seq>
 * <wall-clock ms, µs resolution, when that write began>` to the file XL_EMU_TIMING_FILE names. Never part of xl's
 * output.
 */
function noteCycleWritten(file: string, domain: string, seq: number, at: number): void {
  try {
    appendFileSync(file, `${domain} ${seq} ${at.toFixed(3)}\n`);
  } catch {
    // A benchmark's file gone: xl carries on.
  }
}

export async function runRemus(p: Parsed, g: GlobalOptions, log: XlLogger, store: StateStore): Promise<number> {
  const raw = (line: string): void => log.raw(line);
  const flags = remusFlags(p, raw);
  if (typeof flags === 'number') return flags;
  if (p.operands.length !== 2) {
    process.stderr.write('Usage: xl [-v] remus [options] <Domain> [<host>]\n\n');
    return 2;
  }
  const [qualifier, host] = p.operands as [string, string];
  const found = findDomain(store.read(), qualifier);
  if (found === undefined) {
    raw(`${qualifier} is an invalid domain identifier (rc=-6)`);
    return 1;
  }
  if (flags.blackhole) {
    raw('Remus: blackhole mode is not emulated by the lab');
    return 1;
  }
  const d: EmuDomain = found;
  const label = flags.colo ? 'COLO' : 'Remus';
  const hostConfig = store.host();
  const timingFile = process.env.XL_EMU_TIMING_FILE || undefined;
  const child = spawn('/bin/sh', ['-c', receiverRune(flags, host)], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.on('error', () => {});
  child.stdout.on('error', () => {});
  child.on('error', () => {});
  const setOwner = (owned: boolean): void => {
    store.update((s) => {
      const cur = s.domains.find((x) => x.domid === d.domid);
      if (cur === undefined) return;
      if (owned) cur.owner = { pid: process.pid, role: 'remus' };
      else delete cur.owner;
    });
  };
  const setRunState = (state: 'running' | 'paused'): void => {
    store.update((s) => {
      const cur = s.domains.find((x) => x.domid === d.domid);
      if (cur !== undefined) cur.state = state;
    });
  };
  const backupFailed = (): number => {
    raw(`${label}: Backup failed? resuming domain at primary.`);
    setRunState('running');
    setOwner(false);
    child.stdin.destroy();
    child.stdout.destroy();
    child.unref();
    return 1;
  };
  // What libxl's COLO setup refuses, it refuses once the preamble is done (banner read, xl header written):
  // the stream then just ends.
  const unhandled = d.disks.find((disk) => !coloDisk(disk));
  const refuse = !flags.colo ? undefined : d.type !== 'hvm'
    ? (): void => log.libxl('error', LIBXL_AT.coloSave, d.domid, 'COLO only supports hvm now')
    : unhandled === undefined ? undefined : (): void => {
      log.libxl('error', LIBXL_AT.checkpointDevice, d.domid, `device not handled by checkpoint (device=vbd:${vbdNumber(unhandled.vdev)})`);
      log.libxl('error', LIBXL_AT.coloSave, d.domid, 'COLO: failed to setup device for guest');
    };
  let refused = false;
  setOwner(true);

  const config = domainConfig({ ...d, domid: 0 });
  const configBytes = Buffer.byteLength(JSON.stringify(config)) + 1;
  const guest = emulatedGuest(d.name, d.state === 'running', true);
  guest.workload.start();
  let started = false;
  let checkpointedSeq = -1;
  let lastProgress = '';
  let destroyed = false;
  let waiting = false;
  // libxl learns that the domain is gone when it next tries to suspend it, so a destroy takes effect between
  // checkpoints: a checkpoint in flight finishes first, and no line of it follows the exit lines.
  const finishDestroy = (): void => {
    if (flags.colo) log.libxl('warning', LIBXL_AT.coloSaveTeardown, d.domid, 'COLO: Domain suspend terminated with rc -3, teardown COLO devices...');
    raw(`${label}: Primary domain has been destroyed.`);
    guest.workload.stop();
    primary.kill();
  };
  const primary = new ColoPrimary({
    mode: flags.colo ? 'colo' : 'remus',
    domain: guest.domain,
    forward: child.stdin,
    back: child.stdout,
    triggers: flags.colo ? new PeriodicMiscompare(hostConfig.coloPeriodMs) : new PeriodicTriggers(flags.intervalMs ?? XL_REMUS_DEFAULT_INTERVAL_MS),
    domainConfig: config,
    xenVersion: { major: hostConfig.xenMajor, minor: hostConfig.xenMinor },
    // The watchdog's verdicts are the console's business; xl itself never gives up on a silent peer.
    stallAfterMs: 3_600_000,
    slowPauseMs: 3_600_000,
    events: {
      checkpointStarted: () => {
        waiting = false;
        setRunState('paused');
        log.log('xc', 'progress', 'Domain now suspended: 0/0 0%');
      },
      phase: ({ seq, phase, pagesSent }) => {
        if (phase === 'wait') {
          waiting = true;
          if (destroyed) finishDestroy();
          return;
        }
        if (!started && phase === 'transfer') {
          started = true;
          raw(`Saving to migration stream new xl format (info 0x3/0x0/${configBytes + 4})`);
          if (refuse !== undefined) {
            refused = true;
            refuse();
            primary.stop();
            return;
          }
          log.log('xc', 'info', `Saving domain ${d.domid}, type x86 ${d.type === 'hvm' ? 'HVM' : 'PV'}`);
        }
        if ((phase === 'device' || phase === 'resume') && checkpointedSeq < seq) {
          checkpointedSeq = seq;
          const n = pagesSent ?? 0;
          log.log('xc', 'progress', `Checkpointed save: ${n}/${n}  100%`);
        }
        if (phase === 'resume') {
          // COLO: SVM_READY was just read (libxl logs each CHECKPOINT_STATE record header at -vvv).
          if (flags.colo) log.libxl('debug', LIBXL_AT.recordHeader, d.domid, 'Record: 5, length 4');
          setRunState('running');
        }
      },
      cycle: (r) => {
        if (flags.colo && r.outcome === 'committed') {
          // Taken as the write begins: the line may be read on the other end before this process runs again.
          const writing = performance.timeOrigin + performance.now();
          log.libxl('debug', LIBXL_AT.recordHeader, d.domid, 'Record: 5, length 4');
          if (timingFile !== undefined) noteCycleWritten(timingFile, d.name, r.seq, writing);
        }
      },
      state: (s) => {
        if (s.state !== 'syncing' || s.progress === undefined) return;
        const { iteration, pagesDone, pagesTotal } = s.progress;
        const pct = pagesTotal === 0 ? 100 : Math.floor((pagesDone * 100) / pagesTotal);
        const line = `Frames iteration ${iteration}: ${pagesDone}/${pagesTotal}  ${pct}%`;
        // xtl suppresses a repeat of the same percentage.
        const key = `${iteration}:${pct}`;
        if (key === lastProgress) return;
        lastProgress = key;
        log.log('xc', 'progress', line);
      },
    },
  });
  process.on('SIGUSR1', () => {
    // `xl destroy` of this domain. xl says so before the stream closes, so these lines precede anything the
    // secondary prints about its takeover.
    if (destroyed) return;
    destroyed = true;
    if (waiting) finishDestroy();
  });
  process.on('SIGUSR2', () => {});
  const exit = await primary.run();
  guest.workload.stop();
  child.unref();
  if (destroyed || exit.kind === 'killed') {
    if (!destroyed) finishDestroy();
    return 0;
  }
  if (refused) return backupFailed();
  const reason = exit.kind === 'secondary-lost' ? exit.reason : '';
  if (!started) {
    // The preamble failed: no banner from the receiver (xl_migrate.c migrate_read_fixedmessage). libxl was never
    // asked to save anything, so there is nothing to tear down or resume.
    if (/does not start with xl's receiver banner/.test(reason)) {
      raw('migration receiver stream contained unexpected data instead of banner');
      raw(`(command run was: ${receiverRune(flags, host)} )`);
    } else {
      log.libxl('error', LIBXL_AT.readExactly, undefined, 'file/stream truncated reading banner from migration receiver stream');
    }
    setOwner(false);
    child.unref();
    return 1;
  }
  const sending = /write|EPIPE|ECONNRESET|destroyed/i.test(reason) && !/back channel/.test(reason);
  if (flags.colo) {
    log.libxl('error', sending ? LIBXL_AT.coloSaveWrite : LIBXL_AT.coloSaveRead, d.domid, sending ? 'sending data fails' : 'reading data fails');
    log.libxl('warning', LIBXL_AT.coloSaveTeardown, d.domid, 'COLO: Domain suspend terminated with rc -3, teardown COLO devices...');
  }
  void g;
  return backupFailed();
}
