// `xl list -l`: a JSON array of { domid, config: libxl_domain_config } in which every field is optional
// (xen-colo.md §3.4). Parsed without trusting its size: the text is bounded before JSON.parse, and only the
// fields the console uses are read, each checked for its type.

import type { DomainSummary } from '../../service/backend.js';

export const MAX_LIST_BYTES = 32 * 1024 * 1024;
const MAX_DOMAINS = 4096;

export interface XlDomain {
  domid?: number;
  name?: string;
  uuid?: string;
  /** c_info.type: 'hvm', 'pv', 'pvh'. */
  type?: string;
  maxMemKiB?: number;
  vcpus?: number;
  disks: { target?: string; vdev?: string; backend?: string; colo: boolean }[];
  nics: { bridge?: string; mac?: string; coloKeys: number }[];
}

export class XlListError extends Error {
  override readonly name = 'XlListError';
}

export function parseXlList(text: string): XlDomain[] {
  if (text.length > MAX_LIST_BYTES) throw new XlListError(`xl list -l printed ${text.length} bytes, more than the ${MAX_LIST_BYTES} this console reads.`);
  const trimmed = text.trim();
  // xl prints nothing at all (not "[]") when there is no domain to list.
  if (trimmed === '') return [];
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    throw new XlListError(`xl list -l did not print valid JSON (${err instanceof Error ? err.message : String(err)}); it may have been cut off, or output_format in xl.conf is sxp.`);
  }
  if (!Array.isArray(doc)) throw new XlListError('xl list -l printed JSON that is not an array of domains.');
  if (doc.length > MAX_DOMAINS) throw new XlListError(`xl list -l listed ${doc.length} domains, more than the ${MAX_DOMAINS} this console reads.`);
  return doc.map(readDomain);
}

function readDomain(entry: unknown): XlDomain {
  const e = obj(entry);
  const config = obj(e.config);
  const cInfo = obj(config.c_info);
  const bInfo = obj(config.b_info);
  const d: XlDomain = {
    ...opt('domid', int(e.domid)),
    ...opt('name', str(cInfo.name)),
    ...opt('uuid', str(cInfo.uuid)),
    ...opt('type', str(cInfo.type)),
    ...opt('maxMemKiB', int(bInfo.max_memkb)),
    ...opt('vcpus', int(bInfo.max_vcpus)),
    disks: [],
    nics: [],
  };
  for (const disk of arr(config.disks)) {
    const o = obj(disk);
    d.disks.push({
      ...opt('target', str(o.pdev_path) ?? str(o.target)),
      ...opt('vdev', str(o.vdev)),
      ...opt('backend', str(o.backend)),
      colo: str(o.colo_host) !== undefined && o.colo_port !== undefined && str(o.colo_export) !== undefined && str(o.active_disk) !== undefined && str(o.hidden_disk) !== undefined,
    });
  }
  for (const nic of arr(config.nics)) {
    const o = obj(nic);
    d.nics.push({ ...opt('bridge', str(o.bridge)), ...opt('mac', str(o.mac)), coloKeys: Object.keys(o).filter((k) => k.startsWith('colo_')).length });
  }
  return d;
}

/** A domain as the console lists it; `<name>--incoming` is a COLO secondary (xen-colo.md §3.4). */
export function domainSummary(d: XlDomain, running: boolean | undefined): DomainSummary {
  const name = d.name ?? (d.domid === undefined ? '(unnamed)' : `domain ${d.domid}`);
  return {
    name,
    ...(d.domid === undefined ? {} : { id: String(d.domid) }),
    ...(d.uuid === undefined ? {} : { uuid: d.uuid }),
    state: running === undefined ? 'other' : running ? 'running' : 'paused',
    ...(d.maxMemKiB === undefined ? {} : { memoryMiB: Math.round(d.maxMemKiB / 1024) }),
    ...(d.vcpus === undefined ? {} : { vcpus: d.vcpus }),
    ...(name.endsWith('--incoming') ? { role: 'secondary' as const } : {}),
  };
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v.slice(0, 256) : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length <= 4096 ? v : undefined;
}
function int(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}
function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}
