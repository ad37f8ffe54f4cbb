// `xl migrate-receive --colo|-r` on the secondary (xen-colo.md §1.1, §2.5, §2.8): the banner, then the project's
// own checkpoint engine on stdin/stdout, the SVM as `<name>--incoming` in the host's state, and on a broken
// stream the takeover: the SVM renamed to `<name>` and left running.

import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { StallableDomain } from '../../backends/sim/stallable-domain.js';
import type { Domain } from '../../colo/domain.js';
import { ColoSecondary } from '../../colo/secondary.js';
import { INCOMING_SUFFIX } from '../../backends/xen/xl-commands.js';
import type { Parsed } from './getopt.js';
import { emulatedGuest } from './guest.js';
import { LIBXL_AT, type XlLogger } from './logger.js';
import type { GlobalOptions } from './main.js';
import { type EmuDisk, type EmuDomain, type EmuNic, STALL_FLAG, type StateStore } from './state.js';

/** How long the receiver lets its log lines lead the answer that follows them (see beforeReady). */
export const RECEIVER_LINE_GAP_MS = 5;

interface IncomingConfig {
  name: string;
  uuid: string;
  type: EmuDomain['type'];
  memoryMiB: number;
  vcpus: number;
  disks: EmuDisk[];
  nics: EmuNic[];
}

function readConfig(json: string | undefined): IncomingConfig {
  const c = JSON.parse((json ?? '{}').replace(/\0$/, '')) as {
    c_info?: { name?: string; uuid?: string; type?: string };
    b_info?: { max_memkb?: number; max_vcpus?: number };
    disks?: EmuDisk[];
    nics?: EmuNic[];
  };
  return {
    name: c.c_info?.name ?? 'unnamed',
    uuid: c.c_info?.uuid ?? '00000000-0000-0000-0000-000000000000',
    type: (c.c_info?.type as EmuDomain['type'] | undefined) ?? 'hvm',
    memoryMiB: Math.round((c.b_info?.max_memkb ?? 0) / 1024),
    vcpus: c.b_info?.max_vcpus ?? 1,
    disks: c.disks ?? [],
    nics: c.nics ?? [],
  };
}

/** The SVM; it freezes its whole process at suspend while the host's stall flag is set. */
class FreezableDomain extends StallableDomain {
  constructor(inner: Domain, private readonly flag: string) {
    super(inner);
  }

  override async suspend(): Promise<void> {
    await super.suspend();
    if (existsSync(this.flag)) process.kill(process.pid, 'SIGSTOP');
  }
}

export async function runMigrateReceive(p: Parsed, g: GlobalOptions, log: XlLogger, store: StateStore): Promise<number> {
  const has = (f: string): boolean => p.opts.some((o) => o.flag === f);
  const colo = has('colo');
  if (!colo && !has('r')) {
    log.raw('migration target: plain migration is not emulated by the lab (use --colo or -r)');
    return 1;
  }
  const mode = colo ? 'colo' : 'remus';
  log.raw('migration target: Ready to receive domain.');
  const forward = new net.Socket({ fd: 0, readable: true, writable: false });
  const back = new net.Socket({ fd: 1, readable: false, writable: true });
  forward.on('error', () => {});
  back.on('error', () => {});
  const guest = emulatedGuest('incoming', false, false);
  let domid: number | undefined;
  let name = '';
  const update = (change: (d: EmuDomain) => void): void => {
    store.update((s) => {
      const d = s.domains.find((x) => x.domid === domid);
      if (d !== undefined) change(d);
    });
  };
  const secondary = new ColoSecondary({
    mode,
    domain: new FreezableDomain(guest.domain, path.join(store.dir, STALL_FLAG)),
    forward,
    back,
    // sshd reads a session's stdout before its stderr when both are ready at once, so an answer written right
    // after a log line could overtake it; a short pause lets sshd forward the line first (the pause is part of
    // the SVM's load time, as the lines' own writing is on real xl).
    beforeReady: () => delay(RECEIVER_LINE_GAP_MS),
    events: {
      header: (item) => {
        if (item.kind === 'xl-header') {
          const c = readConfig(item.header.config);
          name = c.name;
          // optional data: u32 length, then the JSON with its NUL.
          const n = 4 + Buffer.byteLength((item.header.config ?? '').replace(/\0$/, '')) + 1;
          log.raw(`Loading new save file <incoming migration stream> (new xl fmt info 0x${item.header.mandatoryFlags.toString(16)}/0x${item.header.optionalFlags.toString(16)}/${n})`);
          log.raw(' Savefile contains xl domain config in JSON format');
          domid = store.update((s) => {
            const id = s.nextDomid++;
            s.domains.push({
              domid: id, name: `${c.name}${INCOMING_SUFFIX}`, uuid: c.uuid, type: c.type, memoryMiB: c.memoryMiB, vcpus: c.vcpus,
              state: 'paused', disks: c.disks, nics: c.nics, createdAt: Date.now(), owner: { pid: process.pid, role: 'incoming' },
            });
            return id;
          });
        } else if (item.kind === 'libxc-header') {
          log.log('xc', 'info', `Found x86 ${item.header.domainType === 2 ? 'HVM' : 'PV'} domain from Xen ${item.header.xenMajor}.${item.header.xenMinor}`);
          log.log('xc', 'info', 'Restoring domain');
        }
      },
      checkpointLoaded: (_seq, stage) => log.log('xc', 'info', stage === 'buffered' ? 'All records buffered' : 'All records processed'),
      status: (s) => {
        if (s === 'suspended') update((d) => { d.state = 'paused'; });
        else if (s === 'resumed') update((d) => { d.state = 'running'; });
      },
    },
  });
  let destroyed = false;
  process.on('SIGUSR1', () => {
    destroyed = true;
    secondary.destroy();
  });
  process.on('SIGUSR2', () => {});
  guest.workload.start();
  const exit = await secondary.run();
  guest.workload.stop();
  if (exit.kind === 'took-over' && !destroyed) {
    const id = domid ?? 0;
    if (colo) {
      log.log('xc', 'info', 'COLO Failover');
      log.libxl('info', LIBXL_AT.coloRestoreTeardown, id, 'failover');
    }
    log.raw(`migration target: ${colo ? 'COLO' : 'Remus'} Failover for domain ${id}`);
    const renamed = store.update((s) => {
      const d = s.domains.find((x) => x.domid === id);
      if (d === undefined) return false;
      delete d.owner;
      d.state = 'running';
      if (s.domains.some((x) => x !== d && x.name === name)) return false;
      d.name = name;
      return true;
    });
    if (renamed) return 0;
    // libxl's ERROR_DOMAIN_EXISTS is -6 (name taken); COLO then exits with -ERROR_FAIL (3), the guest running.
    log.raw(`migration target (${colo ? 'COLO' : 'Remus'}): Failed to rename domain from ${name}${INCOMING_SUFFIX} to ${name}:-6`);
    return colo ? 3 : 0;
  }
  // The initial copy never completed, or the SVM was destroyed under us: no domain is left.
  if (domid !== undefined) store.update((s) => { s.domains = s.domains.filter((x) => x.domid !== domid); });
  if (colo && !destroyed) log.libxl('error', LIBXL_AT.coloRestoreTeardown, domid, 'migration fails');
  log.raw('migration target: Domain creation failed (code -3).');
  void g;
  return 1;
}
