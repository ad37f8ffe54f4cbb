// `xl info`: plain `key : value` lines, memory in MiB (xen-colo.md §3.4). Parsed without trusting its size: at
// most MAX_INFO_BYTES are read and at most MAX_KEYS keys kept; a value that should be a number and is not is
// simply absent.

import type { HostProbe } from '../../service/backend.js';

export const MAX_INFO_BYTES = 256 * 1024;
const MAX_KEYS = 200;

export interface XlInfo {
  host?: string;
  xenVersion?: string;
  xenMajor?: number;
  xenMinor?: number;
  virtCaps: string[];
  totalMemoryMiB?: number;
  freeMemoryMiB?: number;
  nrCpus?: number;
  /** Every key as written, for the detail view. */
  raw: Record<string, string>;
}

export function parseXlInfo(text: string): XlInfo {
  const raw: Record<string, string> = {};
  let keys = 0;
  for (const line of text.slice(0, MAX_INFO_BYTES).split('\n')) {
    const m = /^([a-z_][a-z0-9_]{0,63})\s*:\s?(.*)$/.exec(line.trimEnd());
    if (m === null || keys >= MAX_KEYS) continue;
    if (!(m[1]! in raw)) keys++;
    raw[m[1]!] = m[2]!.slice(0, 1024);
  }
  const int = (k: string): number | undefined => {
    const v = raw[k];
    return v !== undefined && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : undefined;
  };
  const major = int('xen_major');
  const minor = int('xen_minor');
  const info: XlInfo = { virtCaps: (raw.virt_caps ?? '').split(/\s+/).filter(Boolean), raw };
  if (raw.host !== undefined) info.host = raw.host;
  if (major !== undefined) info.xenMajor = major;
  if (minor !== undefined) info.xenMinor = minor;
  const version = raw.xen_version ?? (major !== undefined && minor !== undefined ? `${major}.${minor}${raw.xen_extra ?? ''}` : undefined);
  if (version !== undefined) info.xenVersion = version;
  const total = int('total_memory');
  const free = int('free_memory');
  const cpus = int('nr_cpus');
  if (total !== undefined) info.totalMemoryMiB = total;
  if (free !== undefined) info.freeMemoryMiB = free;
  if (cpus !== undefined) info.nrCpus = cpus;
  return info;
}

/** What a probe reports of a Xen host, with the warnings an admin must see before protecting on it. */
export function xenProbe(info: XlInfo): HostProbe {
  const warnings: string[] = [];
  if (info.xenMajor === undefined || info.xenMinor === undefined) {
    warnings.push('xl info gave no Xen version: COLO support cannot be judged.');
  } else if (info.xenMajor > 4 || (info.xenMajor === 4 && info.xenMinor >= 18)) {
    warnings.push(`Xen ${info.xenVersion ?? `${info.xenMajor}.${info.xenMinor}`}: since 4.18 the secondary writes its dirty-page list with a 16-byte header where the primary reads 8, so COLO probably breaks at the first checkpoint (an inference from the code; no upstream report). Test before relying on it.`);
  } else if (info.xenMajor === 4 && info.xenMinor < 7) {
    warnings.push(`Xen ${info.xenVersion ?? `${info.xenMajor}.${info.xenMinor}`} predates COLO (merged in 4.7).`);
  }
  if (!info.virtCaps.includes('hvm')) warnings.push('This host cannot run HVM guests (virt_caps has no "hvm"): COLO needs HVM.');
  return {
    hypervisor: 'xen',
    ...(info.xenVersion === undefined ? {} : { version: `Xen ${info.xenVersion}` }),
    capabilities: info.virtCaps,
    warnings,
  };
}
