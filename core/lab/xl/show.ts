// What `xl info`, `xl list` and `xl list -l` print (xen-colo.md §3.4): `key : value` lines; the six-column table;
// a JSON array of { domid, config } with libxl's field names.

import type { EmuDomain, HostConfig, HostState } from './state.js';

export function infoText(h: HostConfig, s: HostState): string {
  const used = s.domains.reduce((n, d) => n + d.memoryMiB, 0);
  const rows: [string, string | number][] = [
    ['host', h.hostname],
    ['release', '6.1.0-emulated'],
    ['version', '#1 SMP PREEMPT_DYNAMIC'],
    ['machine', 'x86_64'],
    ['nr_cpus', h.nrCpus],
    ['max_cpu_id', h.nrCpus - 1],
    ['nr_nodes', 1],
    ['cores_per_socket', h.nrCpus],
    ['threads_per_core', 1],
    ['cpu_mhz', '2394.454'],
    ['virt_caps', 'pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share'],
    ['total_memory', h.totalMemoryMiB],
    ['free_memory', Math.max(0, h.totalMemoryMiB - 4096 - used)],
    ['sharing_freed_memory', 0],
    ['sharing_used_memory', 0],
    ['outstanding_claims', 0],
    ['free_cpus', 0],
    ['xen_major', h.xenMajor],
    ['xen_minor', h.xenMinor],
    ['xen_extra', h.xenExtra],
    ['xen_version', `${h.xenMajor}.${h.xenMinor}${h.xenExtra}`],
    ['xen_caps', 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64'],
    ['xen_scheduler', 'credit2'],
    ['xen_pagesize', 4096],
    ['platform_params', 'virt_start=0xffff800000000000'],
    ['xen_changeset', ''],
    ['xen_commandline', 'placeholder dom0_mem=4096M,max:4096M'],
    ['cc_compiler', 'gcc (Debian 12.2.0-14) 12.2.0'],
    ['cc_compile_by', 'pkg-xen-devel'],
    ['cc_compile_domain', 'lists.alioth.debian.org'],
    ['cc_compile_date', 'Thu Jan  1 00:00:00 UTC 2026'],
    ['build_id', '5f0c3a0e2a1c6b9d8e7f60514233241506f7e8d9'],
    ['xend_config_format', 4],
  ];
  return rows.map(([k, v]) => `${k.padEnd(23)}: ${v}\n`).join('');
}

const DOM0 = { domid: 0, name: 'Domain-0', memoryMiB: 4096, vcpus: 4 };

function row(name: string, domid: number, mem: number, vcpus: number, state: string, secs: number): string {
  return `${name.padEnd(40)} ${String(domid).padStart(5)} ${String(mem).padStart(5)} ${String(vcpus).padStart(5)}     ${state}  ${secs.toFixed(1).padStart(8)}\n`;
}

/** `dom0` selects Domain-0 alone; undefined, every domain. */
export type ListSelection = EmuDomain | 'dom0' | undefined;

export function listTable(s: HostState, only?: ListSelection): string {
  let out = `${'Name'.padEnd(40)} ${'ID'.padStart(5)} ${'Mem'.padStart(5)} ${'VCPUs'.padStart(5)} ${'State'.padStart(10)} ${'Time(s)'.padStart(9)}\n`;
  if (only === undefined || only === 'dom0') out += row(DOM0.name, DOM0.domid, DOM0.memoryMiB, DOM0.vcpus, 'r-----', 1234.5);
  const now = Date.now();
  for (const d of only === undefined ? s.domains : only === 'dom0' ? [] : [only]) {
    out += row(d.name, d.domid, d.memoryMiB, d.vcpus, d.state === 'running' ? 'r-----' : '--p---', d.state === 'running' ? (now - d.createdAt) / 1000 : 0.1);
  }
  return out;
}

/** The libxl_domain_config of a domain, as `xl list -l` and the migration stream's xl header carry it. */
export function domainConfig(d: EmuDomain): Record<string, unknown> {
  return {
    c_info: { type: d.type, name: d.name, uuid: d.uuid, run_hotplug_scripts: 'True' },
    b_info: {
      max_vcpus: d.vcpus,
      avail_vcpus: Array.from({ length: d.vcpus }, (_, i) => i),
      max_memkb: d.memoryMiB * 1024,
      target_memkb: d.memoryMiB * 1024,
      shadow_memkb: 6144,
      sched_params: {},
      ...(d.type === 'hvm' ? { device_model_version: 'qemu_xen', type: { hvm: { vga: { kind: 'cirrus' }, vnc: { enable: 'False' } } } } : { type: { pv: { bootloader: 'pygrub' } } }),
      arch_arm: {},
    },
    disks: d.disks,
    nics: d.nics,
    on_reboot: 'restart',
    on_soft_reset: 'soft_reset',
  };
}

export function listLong(s: HostState, only?: ListSelection): string {
  const doms = only === undefined ? s.domains : only === 'dom0' ? [] : [only];
  const entries: unknown[] = only === undefined || only === 'dom0'
    ? [{ domid: 0, config: { c_info: { type: 'pv', name: 'Domain-0' }, b_info: { max_memkb: DOM0.memoryMiB * 1024, max_vcpus: DOM0.vcpus } } }]
    : [];
  for (const d of doms) entries.push({ domid: d.domid, config: domainConfig(d) });
  return `${JSON.stringify(entries, null, 4)}\n`;
}
