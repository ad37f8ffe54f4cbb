// The emulated hypervisor's state on one host: its domains, in one JSON file that every `xl` process reads and
// changes under a lock (several run at once: a long `xl remus`, the console's `xl list`, an admin's `xl destroy`).
// The file outlives every xl process, as a hypervisor outlives its toolstack.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** Where the state lives unless XL_EMU_DIR says otherwise; the lab bind-mounts a per-host directory here. */
export const DEFAULT_STATE_DIR = '/var/lib/xl-emu';

export interface EmuDisk {
  pdev_path: string;
  vdev: string;
  backend: string;
  format: string;
  readwrite: number;
  colo_enable?: string;
  colo_host?: string;
  colo_port?: number;
  colo_export?: string;
  active_disk?: string;
  hidden_disk?: string;
}

export interface EmuNic {
  mac: string;
  bridge: string;
  [coloKey: string]: string | number;
}

export interface EmuDomain {
  domid: number;
  name: string;
  uuid: string;
  type: 'hvm' | 'pv' | 'pvh';
  memoryMiB: number;
  vcpus: number;
  state: 'running' | 'paused';
  disks: EmuDisk[];
  nics: EmuNic[];
  /** Wall-clock ms of creation, for the Time(s) column. */
  createdAt: number;
  /** The xl process replicating this domain (remus on the primary, migrate-receive on the secondary). */
  owner?: { pid: number; role: 'remus' | 'incoming' };
}

export interface HostConfig {
  hostname: string;
  xenMajor: number;
  xenMinor: number;
  xenExtra: string;
  totalMemoryMiB: number;
  nrCpus: number;
  /** The emulated colo-compare's miscompare period: one checkpoint this often (Xen's 5 s longest wait holds). */
  coloPeriodMs: number;
}

export interface HostState {
  nextDomid: number;
  domains: EmuDomain[];
}

export const DEFAULT_HOST: HostConfig = {
  hostname: 'localhost', xenMajor: 4, xenMinor: 17, xenExtra: '.0', totalMemoryMiB: 32617, nrCpus: 8, coloPeriodMs: 200,
};

const LOCK_WAIT_MS = 10_000;

/**
 * The file (in the state directory) whose presence makes a receiver of this host stop itself (SIGSTOP) when its
 * next checkpoint suspends the SVM: a hung SVM, at the one moment that leaves the primary waiting for
 * SVM_SUSPENDED with its guest paused.
 */
export const STALL_FLAG = 'stall-receivers';

export class StateStore {
  readonly dir: string;
  private readonly file: string;
  private readonly lock: string;

  constructor(dir = process.env.XL_EMU_DIR || DEFAULT_STATE_DIR) {
    this.dir = dir;
    this.file = path.join(dir, 'domains.json');
    this.lock = path.join(dir, 'domains.lock');
  }

  host(): HostConfig {
    const f = path.join(this.dir, 'host.json');
    if (!existsSync(f)) return DEFAULT_HOST;
    return { ...DEFAULT_HOST, ...(JSON.parse(readFileSync(f, 'utf8')) as Partial<HostConfig>) };
  }

  read(): HostState {
    if (!existsSync(this.file)) return { nextDomid: 1, domains: [] };
    let s: unknown;
    try {
      s = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new Error(`the emulated hypervisor's state ${this.file} is unreadable (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    const state = s as Partial<HostState> | null;
    if (typeof state !== 'object' || state === null || !Array.isArray(state.domains) || typeof state.nextDomid !== 'number') {
      throw new Error(`the emulated hypervisor's state ${this.file} has the wrong shape (no domains list)`);
    }
    return state as HostState;
  }

  /** Runs `change` on the current state under the lock and writes the result atomically (rename). */
  update<T>(change: (s: HostState) => T): T {
    this.acquire();
    try {
      const s = this.read();
      const out = change(s);
      const tmp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(s, null, 1));
      renameSync(tmp, this.file);
      return out;
    } finally {
      rmSync(this.lock, { force: true });
    }
  }

  private acquire(): void {
    mkdirSync(this.dir, { recursive: true });
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = openSync(this.lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A holder killed mid-update (SIGKILL, a killed host) leaves its lock behind: free it once its pid is gone.
      let holder: number;
      try {
        holder = Number(readFileSync(this.lock, 'utf8'));
      } catch {
        continue;
      }
      if (Number.isInteger(holder) && holder > 0 && !alive(holder) && Date.now() - mtime(this.lock) > 100) {
        rmSync(this.lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`xl: the domain state lock ${this.lock} is held by pid ${holder} for over ${LOCK_WAIT_MS / 1000} s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mtime(f: string): number {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return 0;
  }
}

/** xl's find_domain: an all-digit qualifier is a domid, anything else a name. */
export function findDomain(s: HostState, qualifier: string): EmuDomain | undefined {
  if (/^\d+$/.test(qualifier)) return s.domains.find((d) => d.domid === Number(qualifier));
  return s.domains.find((d) => d.name === qualifier);
}

/** Whether `pid` is a live xl emulator process (not a pid reused by something else since). */
export function isXlProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('xl');
  } catch {
    return false;
  }
}
