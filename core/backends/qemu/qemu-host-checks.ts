// What a launch needs of each host beyond QEMU itself, checked before anything starts: the TCP ports its QEMUs will
// listen on are free (a QEMU left over from an earlier launch holds them, and a new one then fails to bind), and for
// a bridged guest, the bridge exists and qemu-bridge-helper's ACL lets the guest join it (without that the helper
// refuses, "access denied by acl file", and QEMU does not start). Each finding is one preflight check naming the
// host, the value and the fix. The hosts' own files are read as they are: /proc/net/tcp{,6} and bridge.conf.

import type { PreflightCheck } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';
import type { ExecResult } from '../../ssh/connection.js';
import { exitSummary } from '../host-command.js';
import type { LaunchPlan, PlannedListener } from './qemu-launch.js';

/** Where distribution builds of qemu-bridge-helper read their ACL (CONFIG_QEMU_CONFDIR/bridge.conf). */
const BRIDGE_ACL_FILE = '/etc/qemu/bridge.conf';

export interface TcpListener {
  /** IPv4 dotted, or IPv6 in its canonical short form; '0.0.0.0' and '::' for any address. */
  address: string;
  port: number;
}

const LISTEN = '0A';

/** IPv6 text in one canonical form, so that two spellings of an address compare equal. */
function canonicalIpv6(address: string): string {
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
}

/** /proc/net/tcp's address: 8 hex digits (IPv4) or 32 (IPv6), each 32-bit word in the host's (little-endian) order. */
function procAddress(hex: string): string | undefined {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].map((b) => parseInt(b, 16)));
  if (bytes.some((b) => Number.isNaN(b))) return undefined;
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return undefined;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/** The listening sockets in the text of /proc/net/tcp and /proc/net/tcp6 (one after the other, headers and all). */
export function tcpListeners(text: string): TcpListener[] {
  const out: TcpListener[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] !== LISTEN) continue;
    const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(f[1] ?? '');
    if (m === null) continue;
    const address = procAddress(m[1]!);
    if (address !== undefined) out.push({ address, port: parseInt(m[2]!, 16) });
  }
  return out;
}

const ANY = new Set(['0.0.0.0', '::']);
const isIpLiteral = (a: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(a) || a.includes(':');

/**
 * The listeners in the way of `planned`: same port, and the same address or either side bound to any address.
 * `certain` is false when the planned address is a host name, which the console does not resolve as the host would.
 */
export function blockers(planned: PlannedListener, listening: readonly TcpListener[]): { found: TcpListener[]; certain: boolean } {
  const literal = isIpLiteral(planned.address);
  const mine = planned.address.includes(':') ? canonicalIpv6(planned.address) : planned.address;
  const found = listening.filter((l) => l.port === planned.port && (!literal || ANY.has(l.address) || ANY.has(mine) || l.address === mine));
  return { found, certain: literal };
}

export interface BridgeAcl {
  rules: { allow: boolean; name: string }[];
  includes: string[];
  /** Lines qemu-bridge-helper would refuse, with their numbers. */
  unknown: string[];
}

/** One ACL file as qemu-bridge-helper reads it: `allow NAME`, `deny NAME` (NAME `all` for every bridge), `include FILE`, `#` comments. */
export function parseBridgeAcl(text: string): BridgeAcl {
  const acl: BridgeAcl = { rules: [], includes: [], unknown: [] };
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(allow|deny|include)\s+(\S+)$/.exec(line);
    if (m === null) acl.unknown.push(`line ${i + 1}: ${line.slice(0, 80)}`);
    else if (m[1] === 'include') acl.includes.push(m[2]!);
    else acl.rules.push({ allow: m[1] === 'allow', name: m[2]! });
  });
  return acl;
}

/** The helper's verdict: a matching deny wins over any allow; no matching allow is a deny. */
export function bridgeAllowed(rules: BridgeAcl['rules'], bridge: string): boolean {
  const matches = rules.filter((r) => r.name === 'all' || r.name === bridge);
  return matches.some((r) => r.allow) && !matches.some((r) => !r.allow);
}

export type RunOn = (host: HostRecord, argv: string[], okCodes?: readonly number[]) => Promise<ExecResult>;

type Side = 'primary' | 'secondary';

async function portCheck(side: Side, host: HostRecord, planned: readonly PlannedListener[], run: RunOn): Promise<PreflightCheck> {
  const id = `ports-${side}`;
  const label = `The ports the ${side}'s QEMU listens on, on ${host.name}`;
  // tcp6 is missing where IPv6 is off: cat then exits 1 having printed tcp.
  const r = await run(host, ['cat', '/proc/net/tcp', '/proc/net/tcp6'], [0, 1]);
  if (!/^\s*sl\s+local_address/m.test(r.stdout)) {
    return { id, label, status: 'warn', detail: `/proc/net/tcp could not be read there (${exitSummary(r)}), so whether ${planned.map((p) => p.port).join(', ')} are free is unknown.` };
  }
  const listening = tcpListeners(r.stdout);
  const taken: string[] = [];
  let certain = true;
  for (const p of planned) {
    const b = blockers(p, listening);
    if (b.found.length === 0) continue;
    certain &&= b.certain;
    const holders = b.found.map((l) => `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`).join(', ');
    taken.push(`port ${p.port} (${p.use}, at ${p.address}) is taken: something listens on ${holders}. Fix: end what holds it (a QEMU left from an earlier launch?), or set ${p.option}.`);
  }
  if (taken.length === 0) return { id, label, status: 'pass', detail: `Free: ${planned.map((p) => `${p.port} (${p.use})`).join(', ')}.` };
  return { id, label, status: certain ? 'fail' : 'warn', detail: taken.join(' ') };
}

async function bridgeChecks(side: Side, host: HostRecord, bridge: string, run: RunOn): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const exists = await run(host, ['test', '-d', `/sys/class/net/${bridge}/bridge`], [0, 1]);
  checks.push(exists.code === 0
    ? { id: `bridge-${side}`, label: `Bridge ${bridge} on ${host.name}`, status: 'pass' }
    : { id: `bridge-${side}`, label: `Bridge ${bridge} on ${host.name}`, status: 'fail', detail: `${host.name} has no bridge named ${bridge}. Fix: create it there (ip link add ${bridge} type bridge, then add the uplink and set it up), or name the bridge the guests use.` });

  const id = `bridge-acl-${side}`;
  const label = `qemu-bridge-helper lets the guest join ${bridge} on ${host.name}`;
  const fix = `Fix: add the line "allow ${bridge}" to ${BRIDGE_ACL_FILE} there.`;
  const main = await run(host, ['cat', '--', BRIDGE_ACL_FILE], [0, 1]);
  if (main.code !== 0) {
    checks.push({ id, label, status: 'fail', detail: `${BRIDGE_ACL_FILE} cannot be read there (${exitSummary(main)}), and the helper denies every bridge without it. ${fix}` });
    return checks;
  }
  const acl = parseBridgeAcl(main.stdout);
  const rules = [...acl.rules];
  const unknown = acl.unknown.map((u) => `${BRIDGE_ACL_FILE} ${u}`);
  const notFollowed: string[] = [];
  if (acl.includes.length > 0) {
    // One level, as far as the console reads: an included file's own includes are named, not followed.
    const inc = await run(host, ['cat', '--', ...acl.includes], [0, 1]);
    if (inc.code !== 0) {
      checks.push({ id, label, status: 'fail', detail: `${BRIDGE_ACL_FILE} includes ${acl.includes.join(', ')}, which cannot be read there (${exitSummary(inc)}); the helper refuses the whole ACL then. ${fix}` });
      return checks;
    }
    const included = parseBridgeAcl(inc.stdout);
    rules.push(...included.rules);
    unknown.push(...included.unknown.map((u) => `an included file's ${u}`));
    notFollowed.push(...included.includes);
  }
  if (unknown.length > 0) {
    checks.push({ id, label, status: 'fail', detail: `The helper refuses an ACL with a line it does not know: ${unknown.join('; ')}. Fix: make every line allow NAME, deny NAME or include FILE.` });
  } else if (!bridgeAllowed(rules, bridge)) {
    const denied = rules.some((r) => !r.allow && (r.name === 'all' || r.name === bridge));
    checks.push({ id, label, status: 'fail', detail: `${BRIDGE_ACL_FILE} ${denied ? `denies ${bridge} (a deny line wins over any allow)` : `has no "allow ${bridge}" or "allow all"`}. ${fix}` });
  } else if (notFollowed.length > 0) {
    checks.push({ id, label, status: 'warn', detail: `Allowed by what the console read; nested includes it did not follow (${notFollowed.join(', ')}) could still deny it.` });
  } else {
    checks.push({ id, label, status: 'pass', detail: `${BRIDGE_ACL_FILE} allows it.` });
  }
  return checks;
}

/**
 * The host checks of a launch, for the sides it will start (a side whose QEMU already runs is left out: its ports
 * are its own). `bridge` is set for a bridged guest.
 */
export async function launchHostChecks(plan: LaunchPlan, sides: { side: Side; host: HostRecord }[], bridge: string | undefined, run: RunOn): Promise<PreflightCheck[]> {
  const perSide = await Promise.all(sides.map(async ({ side, host }) => {
    const checks: PreflightCheck[] = [];
    try {
      const planned = plan.listeners[side];
      if (planned.length > 0) checks.push(await portCheck(side, host, planned, run));
      if (bridge !== undefined) checks.push(...await bridgeChecks(side, host, bridge, run));
    } catch (err) {
      checks.push({ id: `host-${side}`, label: `What the ${side}'s QEMU needs of ${host.name}`, status: 'fail', detail: err instanceof Error ? err.message : String(err) });
    }
    return checks;
  }));
  return perSide.flat();
}
