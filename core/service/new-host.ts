// Turns the admin's "Add host" request into a HostRecord: an ssh-config alias is resolved by OpenSSH itself
// (`ssh -G`, so Include, Match and defaults mean what they mean in the admin's terminal), ProxyJump hops with it,
// and the key file is settled now, so that the link later needs nothing but the record.

import { existsSync } from 'node:fs';
import type { HostAdd } from '../api/console-contract.js';
import { RpcError } from '../api/errors.js';
import { type ResolvedHost, resolveHostAlias } from '../ssh/ssh-config.js';
import type { HostRecord } from './registry.js';

export interface NewHostOptions {
  /** `ssh -F` for alias resolution (tests); default the user's ~/.ssh/config. */
  sshConfigFile?: string;
  existing: readonly HostRecord[];
}

export async function newHostRecord(req: HostAdd, o: NewHostOptions): Promise<HostRecord> {
  let address: string;
  let port = req.port;
  let user = req.user;
  let keyPath = req.auth.kind === 'key' ? req.auth.keyPath : undefined;
  let jumps: HostRecord['jumps'];
  if (req.alias !== undefined) {
    const r = await resolve(req.alias, o);
    address = r.hostname;
    port ??= r.port;
    if (r.user !== '') user ??= r.user;
    if (req.auth.kind === 'key' && keyPath === undefined) {
      keyPath = r.identityFiles.find((f) => existsSync(f));
      if (keyPath === undefined) throw new RpcError('bad-request', `No key file for ${req.alias}: none of its IdentityFile entries exists (${r.identityFiles.join(', ') || 'none'}). Give the key file's path.`);
    }
    if (r.proxyJump.length > 0) jumps = await Promise.all(r.proxyJump.map((hop) => resolveHop(hop, o)));
  } else {
    address = req.address!;
  }
  if (req.auth.kind === 'key' && keyPath === undefined) throw new RpcError('bad-request', 'Give the path of the private key file.');
  const finalPort = port ?? 22;
  const same = o.existing.find((h) => h.kind === 'ssh' && h.address === address && (h.port ?? 22) === finalPort && (user === undefined || h.user === user));
  if (same !== undefined) throw new RpcError('bad-request', `${address} port ${finalPort} is already the host "${same.name}".`);
  const auth: NonNullable<HostRecord['auth']> = req.auth.kind === 'key' ? { kind: 'key', keyPath: keyPath! } : { kind: req.auth.kind };
  return {
    id: uniqueId(req.name, o.existing.map((h) => h.id)),
    name: req.name,
    kind: 'ssh',
    hypervisor: req.hypervisor,
    address,
    port: finalPort,
    ...(user === undefined ? {} : { user }),
    auth,
    ...(req.alias === undefined ? {} : { alias: req.alias }),
    ...(jumps === undefined ? {} : { jumps }),
  };
}

async function resolve(alias: string, o: NewHostOptions): Promise<ResolvedHost> {
  try {
    return await resolveHostAlias(alias, o.sshConfigFile === undefined ? {} : { configFile: o.sshConfigFile });
  } catch (err) {
    throw new RpcError('bad-request', err instanceof Error ? err.message : String(err));
  }
}

/** A ProxyJump hop as written (`[user@]host[:port]`), its host part itself resolved through the config, as ssh does. */
async function resolveHop(hop: string, o: NewHostOptions): Promise<NonNullable<HostRecord['jumps']>[number]> {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop);
  if (m === null) throw new RpcError('bad-request', `The ProxyJump hop "${hop.slice(0, 100)}" is not [user@]host[:port].`);
  const name = m[2]!.replace(/^\[|\]$/g, '');
  const r = await resolve(name, o);
  const user = m[1] ?? (r.user === '' ? undefined : r.user);
  return { address: r.hostname, port: m[3] !== undefined ? Number(m[3]) : r.port, ...(user === undefined ? {} : { user }) };
}

/** An id from the name: lower case, letters, digits and '-', made unique with a number. */
export function uniqueId(name: string, taken: readonly string[]): string {
  const base = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'host';
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}
