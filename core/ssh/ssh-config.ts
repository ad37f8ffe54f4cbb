// Host aliases from ~/.ssh/config, resolved by OpenSSH itself: `ssh -G <alias>` prints the configuration ssh
// would use, after Include, Match, wildcards and defaults, so an alias means here exactly what it means in the
// admin's terminal. (A parser of our own, or a library's, would drift from OpenSSH on exactly those rules.)
// ssh is run without a shell; the alias is validated first, so it can never be read as an option.

import { execFile } from 'node:child_process';
import { homedir } from 'node:os';

export interface ResolvedHost {
  alias: string;
  hostname: string;
  port: number;
  user: string;
  /** Key files named for this host, `~` expanded; OpenSSH lists its defaults when none is configured. */
  identityFiles: string[];
  /** Jump hosts in order, each as written (`[user@]host[:port]` or another alias); empty when none. */
  proxyJump: string[];
  userKnownHostsFiles: string[];
}

export interface ResolveOptions {
  /** `ssh -F FILE` (tests); default: the user's ~/.ssh/config. */
  configFile?: string;
  /** The ssh client to ask; default `ssh` on PATH. */
  ssh?: string;
  timeoutMs?: number;
}

/** What ssh accepts as a destination name, minus a leading '-' (which it would read as an option). */
const ALIAS = /^[A-Za-z0-9_][A-Za-z0-9._%+:@-]{0,252}$/;

export function resolveHostAlias(alias: string, options: ResolveOptions = {}): Promise<ResolvedHost> {
  if (!ALIAS.test(alias)) {
    return Promise.reject(new Error(`"${alias.slice(0, 64)}" is not a host name or ~/.ssh/config alias (letters, digits and . _ % + : @ - only, not starting with -).`));
  }
  const args = [...(options.configFile ? ['-F', options.configFile] : []), '-G', alias];
  return new Promise((resolve, reject) => {
    execFile(options.ssh ?? 'ssh', args, { timeout: options.timeoutMs ?? 5000, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'the OpenSSH client (ssh) is not installed on this machine; enter the address, port and user instead'
          : (stderr.trim().split('\n')[0] || err.message);
        reject(new Error(`Cannot resolve the SSH alias "${alias}": ${why}`));
        return;
      }
      resolve(parseSshG(alias, stdout));
    });
  });
}

/** `ssh -G` output: one `keyword value…` per line, keywords in lower case. */
export function parseSshG(alias: string, text: string): ResolvedHost {
  const values = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m === null) continue;
    const key = m[1]!.toLowerCase();
    values.set(key, [...(values.get(key) ?? []), m[2]!]);
  }
  const one = (k: string): string | undefined => values.get(k)?.[0];
  const port = Number(one('port') ?? '22');
  const jump = one('proxyjump');
  return {
    alias,
    hostname: one('hostname') ?? alias,
    port: Number.isInteger(port) && port > 0 && port < 65536 ? port : 22,
    user: one('user') ?? '',
    identityFiles: (values.get('identityfile') ?? []).map(expandHome),
    proxyJump: jump === undefined || jump === 'none' ? [] : jump.split(',').map((h) => h.trim()).filter(Boolean),
    userKnownHostsFiles: (one('userknownhostsfile') ?? '').split(/\s+/).filter(Boolean).map(expandHome),
  };
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? homedir() + p.slice(1) : p;
}
