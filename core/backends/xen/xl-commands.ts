// The commands the console sends to a Xen dom0, as argv (quoted by core/ssh for the remote shell), and the names
// that go into them, validated the way xl reads them (tools/xl/xl_utils.c find_domain,
// libxl_domain_qualifier_to_domid): an all-digit qualifier is a domid, not a name, and xl's getopt would take an
// argument starting with '-' for an option. Quotes, spaces and the like are legal in xl names, and quoting makes
// them safe, so they are accepted.

import { shellCommand, shellQuote } from '../../ssh/shell-quote.js';
import { LOG_DIR } from '../host-command.js';

/** The SVM's name during COLO (xen-colo.md §3.4). */
export const INCOMING_SUFFIX = '--incoming';
/** Where the console's supervised `xl remus` writes its output on the primary. */

/** Why `name` cannot be used as an xl domain name, or null when it can. */
export function domainNameProblem(name: string): string | null {
  if (name === '') return 'a domain name cannot be empty';
  if (name.length > 128) return 'a domain name longer than 128 characters is not accepted here';
  if (/^\d+$/.test(name)) return `"${name}" is all digits: xl would read it as a domain id, not a name`;
  if (name.startsWith('-')) return `"${name.slice(0, 64)}" starts with '-': xl would read it as an option`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f\x7f]/.test(name)) return 'a domain name cannot contain control characters (newlines, escapes)';
  if (name.endsWith(INCOMING_SUFFIX)) return `names ending in "${INCOMING_SUFFIX}" are COLO secondaries, not guests to protect`;
  return null;
}

/** Why `host` cannot be the secondary's address in `xl remus`, or null. */
export function secondaryHostProblem(host: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._:%@[\]-]{0,252}$/.test(host)) return `"${host.slice(0, 64)}" is not a host name or address`;
  return null;
}

export interface RemusOptions {
  domain: string;
  secondary: string;
  mode: 'colo' | 'remus';
  /** COLO with QEMU's userspace proxy (-p). */
  userspaceProxy?: boolean;
  /** Remus checkpoint interval (-i); COLO refuses it. */
  intervalMs?: number;
  /** -s: the command run instead of ssh (it reaches `sh`); used to raise the secondary's verbosity. */
  sshCommand?: string;
}

/**
 * `xl -vvv remus …` as argv (xen-colo.md §3.1): -c and -i are exclusive; -u keeps COLO from complaining. The global
 * -vvv makes libxl log the back channel's `Record: 5, length 4` lines, which mark the end of each pause.
 */
export function remusArgv(o: RemusOptions): string[] {
  const bad = domainNameProblem(o.domain) ?? secondaryHostProblem(o.secondary);
  if (bad !== null) throw new Error(bad);
  const argv = ['xl', '-vvv', 'remus'];
  if (o.mode === 'colo') {
    if (o.intervalMs !== undefined) throw new Error('xl remus -c does not take an interval (-i)');
    argv.push('-c', ...(o.userspaceProxy ? ['-p'] : []), '-u');
  } else {
    if (o.userspaceProxy) throw new Error('-p works only with COLO (-c)');
    if (o.intervalMs !== undefined) {
      if (!Number.isInteger(o.intervalMs) || o.intervalMs < 1) throw new Error(`the Remus interval must be a whole number of ms, not ${o.intervalMs}`);
      argv.push('-i', String(o.intervalMs));
    }
  }
  if (o.sshCommand !== undefined) argv.push('-s', o.sshCommand);
  // '--' ends xl's options: nothing after it is read as one, whatever it looks like.
  argv.push('--', o.domain, o.secondary);
  return argv;
}

/**
 * The `-s` command that makes the secondary's xl verbose too, since xl remus does not forward -v (xen-colo.md
 * §3.1). xl runs `exec <this> <host> xl migrate-receive <flags>` through sh: here sh gets the host as $0 and
 * `xl migrate-receive <flags>` as its arguments, drops the `xl`, and runs ssh with `xl -vvv` and xl's own flags
 * (so -p's --userspace-colo-proxy is kept). Fixed text: nothing of the user's goes into it.
 */
export const VERBOSE_RECEIVER_SSH = `sh -c 'shift; exec ssh -o BatchMode=yes -- "$0" xl -vvv "$@"'`;

/** `xl destroy <dom>`. */
export function destroyArgv(domain: string): string[] {
  const bad = domainNameProblem(domain.endsWith(INCOMING_SUFFIX) ? domain.slice(0, -INCOMING_SUFFIX.length) : domain);
  if (bad !== null) throw new Error(bad);
  return ['xl', 'destroy', '--', domain];
}

/**
 * The command line that starts `argv` under a supervisor that outlives the SSH session, with its output appended
 * to <logDir>/<unit>.log: systemd-run where the host has systemd, else setsid + nohup in the background.
 * The text means the same to sh and bash (a login shell may be either): the mkdir is its own statement, so only
 * the supervised command goes to the background and `$!` is its pid. (`mkdir && setsid … &` would background the
 * whole list as a subshell: `$!` would be that subshell, which also keeps the session's stdout open.)
 */
export function supervisedCommand(argv: readonly string[], unit: string, systemd: boolean, logDir: string = LOG_DIR): { command: string; log: string } {
  if (!/^colo-console-[A-Za-z0-9._-]{1,100}$/.test(unit)) throw new Error(`"${unit}" is not a unit name this console makes`);
  const log = `${logDir}/${unit}.log`;
  const mkdir = `${shellCommand(['mkdir', '-p', '-m', '0750', logDir])} || exit 1; `;
  if (systemd) {
    const run = shellCommand([
      'systemd-run', `--unit=${unit}`, '--collect', '--quiet',
      '-p', `StandardOutput=append:${log}`, '-p', `StandardError=append:${log}`,
      '--', ...argv,
    ]);
    return { command: `${mkdir}${run}`, log };
  }
  // The redirections and '&' are fixed syntax; every word in them is quoted. A non-interactive shell has no job
  // control, so the background child is no process-group leader and setsid makes it a session leader in place
  // (no fork): the pid `$!` names is the one that execs nohup, then argv.
  return { command: `${mkdir}setsid nohup ${shellCommand(argv)} >>${shellQuote(log)} 2>&1 </dev/null & echo $!`, log };
}
