// The QEMU VMs running on a host, read from /proc over SSH: which processes are `qemu-system-*`, their whole argv,
// and from it each VM's name, QMP sockets and whether it waits for an incoming migration (a COLO secondary).
// Nothing in the listing is trusted: another user's process can put anything in its argv, and a listing can be
// cut short by the output bound, so every line is checked and a line that does not fit is counted and skipped.

import type { DomainSummary } from '../../service/backend.js';

/** At most this many processes are listed (the script stops there and says so). */
export const MAX_QEMU_PROCESSES = 1000;
/** A process whose argv holds a longer item is skipped: no QEMU option value is that long. */
export const MAX_ARGV_ITEM_BYTES = 64 * 1024;
/** A process with more argv items than this is skipped. */
const MAX_ARGV_ITEMS = 10_000;
/** The script reads at most this much of each /proc/<pid>/cmdline; a longer one arrives unterminated and is skipped. */
const MAX_CMDLINE_BYTES = 1024 * 1024;

const END = 'end';
const MORE = 'more';

/**
 * One fixed command, nothing of the user's in it. For each process whose argv[0] names a `qemu-system-*` binary it
 * prints `<pid> <base64 of /proc/<pid>/cmdline>` on one line (base64 keeps the NUL-separated argv, newlines and
 * all, intact), then `end`, or `more` when it stopped at MAX_QEMU_PROCESSES. `grep -z` picks the candidates in one
 * process (each argv item is a record, so any item may match); argv[0] is then checked per candidate, which also
 * drops this script and grep themselves. The comm name is not used: QEMU's `-name …,process=` changes it.
 */
export const LIST_QEMU_ARGV: readonly string[] = Object.freeze(['sh', '-c', [
  'LC_ALL=C; export LC_ALL; n=0',
  'for f in $(grep -lsz -e qemu-system- /proc/[0-9]*/cmdline); do',
  '  d=${f%/cmdline}',
  '  a0=$(head -c 4096 "$f" 2>/dev/null | tr "\\000" "\\n" | head -n 1)',
  '  case ${a0##*/} in qemu-system-*) ;; *) continue ;; esac',
  `  n=$((n + 1)); if [ "$n" -gt ${MAX_QEMU_PROCESSES} ]; then echo ${MORE}; exit 0; fi`,
  `  printf "%s " "\${d#/proc/}"; head -c ${MAX_CMDLINE_BYTES} "$f" 2>/dev/null | base64 | tr -d "\\n"; echo`,
  'done',
  `echo ${END}`,
].join('\n')]);

export interface QemuProcess {
  pid: number;
  /** argv[0], as the process was started. */
  binary: string;
  /** `-name`'s guest name. */
  name?: string;
  /** Listening unix sockets that speak QMP (`-qmp unix:…,server`, or a server chardev under `-mon …,mode=control`). */
  qmpSockets: string[];
  /** `-incoming`'s value: the process waits for a migration (a COLO secondary before it starts). */
  incoming?: string;
  /** `-m` in MiB and `-smp`'s CPU count, where the command line gives them plainly. */
  memoryMiB?: number;
  vcpus?: number;
  argv: string[];
}

export interface QemuList {
  processes: QemuProcess[];
  /** Lines that were not a well-formed process entry (truncated, garbled, oversized, repeated pids). */
  skipped: number;
  /** Whether the listing ended with its end marker; false when cut short or stopped at MAX_QEMU_PROCESSES. */
  complete: boolean;
}

/** The QEMU processes in LIST_QEMU_ARGV's output; anything malformed is skipped (see readQemuList). */
export function parseQemuList(stdout: string): QemuProcess[] {
  return readQemuList(stdout).processes;
}

const LINE = /^([1-9][0-9]{0,9}) ([A-Za-z0-9+/]*={0,2})$/;
/** Linux caps pids at 2^22. */
const MAX_PID = 4_194_304;

export function readQemuList(stdout: string): QemuList {
  const processes: QemuProcess[] = [];
  const seen = new Set<number>();
  let skipped = 0;
  let complete = false;
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    if (line === END || line === MORE) {
      complete = line === END;
      break;
    }
    const m = LINE.exec(line);
    const pid = m === null ? NaN : Number(m[1]);
    const argv = m === null ? null : decodeCmdline(m[2]!);
    if (argv === null || !(pid <= MAX_PID) || seen.has(pid) || processes.length >= MAX_QEMU_PROCESSES) {
      skipped++;
      continue;
    }
    const p = describeArgv(pid, argv);
    if (p === null) {
      skipped++;
      continue;
    }
    seen.add(pid);
    processes.push(p);
  }
  return { processes, skipped, complete };
}

/** /proc/<pid>/cmdline: argv items each ended by a NUL. Null when the base64 or the framing is broken. */
function decodeCmdline(b64: string): string[] | null {
  if (b64.length % 4 !== 0 || b64.length === 0) return null;
  const raw = Buffer.from(b64, 'base64');
  // A cut-off read (the MAX_CMDLINE_BYTES bound, or a process rewriting its title) has no final NUL.
  if (raw.length === 0 || raw[raw.length - 1] !== 0) return null;
  const items: string[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0) continue;
    if (i - start > MAX_ARGV_ITEM_BYTES || items.length >= MAX_ARGV_ITEMS) return null;
    items.push(raw.toString('utf8', start, i));
    start = i + 1;
  }
  return items;
}

/**
 * QEMU's options that take no value (qemu-options.hx), so that the walk below does not take the next option for
 * their value. An option missing here would swallow the item after it; the ones a VM's command line carries are
 * all here.
 */
const FLAGS = new Set([
  'S', 's', 'h', 'help', 'version', 'daemonize', 'nodefaults', 'nographic', 'no-reboot', 'no-shutdown', 'snapshot',
  'enable-kvm', 'no-hpet', 'no-acpi', 'no-fd-bootchk', 'win2k-hack', 'no-user-config', 'nodefconfig', 'full-screen',
  'curses', 'sdl', 'portrait', 'alt-grab', 'ctrl-grab', 'no-frame', 'no-quit', 'enable-fips', 'only-migratable',
  'preconfig', 'usb', 'singlestep', 'semihosting', 'xen-attach', 'xen-domid-restrict', 'old-param', 'rtc-td-hack',
  'no-kvm', 'no-kvm-pit-reinjection', 'no-kvm-irqchip', 'enable-sync-profile', 'audio-help', 'mem-prealloc',
  'no-graphic', 'perfmap', 'jitdump',
]);

function describeArgv(pid: number, argv: string[]): QemuProcess | null {
  const binary = argv[0];
  if (binary === undefined || !/^qemu-system-/.test(binary.slice(binary.lastIndexOf('/') + 1))) return null;
  const options: Array<[string, string | undefined]> = [];
  for (let i = 1; i < argv.length; i++) {
    const item = argv[i]!;
    // A bare item is the legacy disk image; QEMU accepts both -opt and --opt.
    if (!item.startsWith('-') || item.length < 2) continue;
    const name = item.replace(/^--?/, '');
    if (FLAGS.has(name)) {
      options.push([name, undefined]);
    } else {
      options.push([name, argv[i + 1]]);
      i++;
    }
  }
  let name: string | undefined;
  let incoming: string | undefined;
  let memoryMiB: number | undefined;
  let vcpus: number | undefined;
  const qmpSockets: string[] = [];
  const serverSockets = new Map<string, string>();
  const controlMonitors: string[] = [];
  for (const [opt, value] of options) {
    if (value === undefined) continue;
    switch (opt) {
      case 'name': {
        const guest = parseOptions(value, 'guest').get('guest');
        if (guest !== undefined && guest !== '') name = guest;
        break;
      }
      case 'incoming':
        incoming = value;
        break;
      case 'm': {
        memoryMiB = memoryOf(parseOptions(value, 'size').get('size'));
        break;
      }
      case 'smp': {
        const cpus = parseOptions(value, 'cpus').get('cpus');
        vcpus = cpus !== undefined && /^\d{1,5}$/.test(cpus) ? Number(cpus) : undefined;
        break;
      }
      case 'qmp': {
        // The legacy chardev syntax: unix:<path>[,server=on][,wait=off]. Without server QEMU connects out to a
        // listener of someone else's, which the console cannot reach.
        if (!value.startsWith('unix:')) break;
        const o = parseOptions(value.slice('unix:'.length), 'path');
        const path = o.get('path');
        if (path !== undefined && path !== '' && truthy(o.get('server'))) qmpSockets.push(path);
        break;
      }
      case 'chardev': {
        const o = parseOptions(value, 'backend');
        const id = o.get('id');
        const path = o.get('path');
        if (o.get('backend') === 'socket' && id !== undefined && path !== undefined && path !== '' && truthy(o.get('server'))) {
          serverSockets.set(id, path);
        }
        break;
      }
      case 'mon': {
        // Only a monitor in control mode speaks QMP; the default mode is the human monitor (readline).
        const o = parseOptions(value, 'chardev');
        const chardev = o.get('chardev');
        if (chardev !== undefined && o.get('mode') === 'control') controlMonitors.push(chardev);
        break;
      }
    }
  }
  // -mon may name a chardev defined after it: chardevs are matched once all are known.
  for (const id of controlMonitors) {
    const path = serverSockets.get(id);
    if (path !== undefined) qmpSockets.push(path);
  }
  return {
    pid,
    binary,
    ...(name === undefined ? {} : { name }),
    qmpSockets,
    ...(incoming === undefined ? {} : { incoming }),
    ...(memoryMiB === undefined ? {} : { memoryMiB }),
    ...(vcpus === undefined ? {} : { vcpus }),
    argv,
  };
}

/** QEMU's boolean option words; a key given bare (`server`) means on. */
function truthy(v: string | undefined): boolean {
  return v === 'on' || v === 'yes' || v === 'true' || v === 'y';
}

/**
 * A QEMU option value `a=b,c=d,flag`: `,,` is a literal comma; a first item with no `=` is the value of `implied`
 * (`-name foo`, `-chardev socket,…`); any other item with no `=` is a flag set to on. Later keys win, as in QEMU.
 */
/** `-m`'s size in MiB: a plain number is MiB; a suffix (K, M, G, T) says otherwise. */
function memoryOf(size: string | undefined): number | undefined {
  const m = size === undefined ? null : /^(\d{1,12})([KMGT]?)[Bb]?$/i.exec(size);
  if (m === null) return undefined;
  const n = Number(m[1]);
  const mib = { '': n, K: n / 1024, M: n, G: n * 1024, T: n * 1024 * 1024 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
  return Number.isFinite(mib) && mib >= 0 ? mib : undefined;
}

export function parseOptions(value: string, implied?: string): Map<string, string> {
  const items: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === ',' && value[i + 1] === ',') {
      current += ',';
      i++;
    } else if (c === ',') {
      items.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  items.push(current);
  const out = new Map<string, string>();
  items.forEach((item, index) => {
    const eq = item.indexOf('=');
    if (eq >= 0) out.set(item.slice(0, eq), item.slice(eq + 1));
    else if (index === 0 && implied !== undefined) out.set(implied, item);
    else if (item !== '') out.set(item, 'on');
  });
  return out;
}

/** The contract's bounds on a domain summary's strings. */
const MAX_NAME = 256;
const MAX_SOCKET = 4096;

/**
 * A QEMU process as the console lists VMs. The state is always 'running': /proc shows a live process but not
 * whether its guest is paused (that takes the monitor's query-status), so the listing does not guess. The role is
 * the command line's: a secondary that took over after a failover still carries its -incoming; only the
 * monitor's query-colo-status (last-mode) tells that apart.
 */
export function qemuDomainSummary(p: QemuProcess): DomainSummary {
  const name = p.name !== undefined && p.name.length <= MAX_NAME ? p.name : `qemu-${p.pid}`;
  const qmpSocket = p.qmpSockets.find((s) => s.length <= MAX_SOCKET);
  return {
    name,
    id: String(p.pid),
    state: 'running',
    ...(p.incoming === undefined ? {} : { role: 'secondary' as const }),
    ...(qmpSocket === undefined ? {} : { qmpSocket }),
    ...(p.memoryMiB === undefined ? {} : { memoryMiB: p.memoryMiB }),
    ...(p.vcpus === undefined ? {} : { vcpus: p.vcpus }),
  };
}
