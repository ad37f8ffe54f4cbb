// The `xl` emulator of the lab: the xl command line, output formats, exit codes and log lines of xen-colo.md §3,
// over an emulated hypervisor (state.ts). Bundled into one file at lab start so each call starts fast.

import { GetoptError, getopt } from './getopt.js';
import { XlLogger } from './logger.js';
import { runMigrateReceive } from './receive.js';
import { runRemus } from './remus.js';
import { infoText, listLong, listTable } from './show.js';
import { StateStore, findDomain, isXlProcess } from './state.js';

export interface GlobalOptions {
  verbose: number;
  timestamps: boolean;
  progressCr: boolean;
  dryRun: boolean;
  force: boolean;
}

const USAGE: Record<string, string> = {
  info: 'xl [-v] info [-n]',
  list: 'xl [-v] list [options] [Domain]',
  destroy: 'xl [-v] destroy [options] <Domain>',
  pause: 'xl [-v] pause <Domain>',
  unpause: 'xl [-v] unpause <Domain>',
  remus: 'xl [-v] remus [options] <Domain> [<host>]',
  'migrate-receive': 'xl [-v] migrate-receive [-F] [-e] [-p] [-r] [--colo] [--coloft-script <script>] [--userspace-colo-proxy]',
};

export function usage(cmd: string): number {
  process.stderr.write(`Usage: ${USAGE[cmd] ?? `xl [-vfNtT] <subcommand> [args]`}\n\n`);
  return 2;
}

function invalidDomain(q: string): number {
  process.stderr.write(`${q} is an invalid domain identifier (rc=-6)\n`);
  return 1;
}

export async function main(argv: readonly string[]): Promise<number> {
  let g;
  try {
    g = getopt(argv, 'vftNT', {}, true);
  } catch (err) {
    process.stderr.write(`xl: ${(err as Error).message}\n`);
    return usage('');
  }
  const global: GlobalOptions = { verbose: 0, timestamps: false, progressCr: false, dryRun: false, force: false };
  for (const o of g.opts) {
    if (o.flag === 'v') global.verbose++;
    else if (o.flag === 'T') global.timestamps = true;
    else if (o.flag === 't') global.progressCr = true;
    else if (o.flag === 'N') global.dryRun = true;
    else if (o.flag === 'f') global.force = true;
  }
  const [cmd, ...rest] = g.operands;
  if (cmd === undefined) return usage('');
  const log = new XlLogger({ verbose: global.verbose, timestamps: global.timestamps, progressCr: global.progressCr });
  const store = new StateStore();
  const parse = (spec: string, long: Record<string, boolean> = {}): ReturnType<typeof getopt> | number => {
    try {
      return getopt(rest, spec, long);
    } catch (err) {
      if (err instanceof GetoptError) {
        process.stderr.write(`xl: ${err.message}\n`);
        return usage(cmd);
      }
      throw err;
    }
  };
  switch (cmd) {
    case 'info': {
      const p = parse('n');
      if (typeof p === 'number') return p;
      process.stdout.write(infoText(store.host(), store.read()));
      return 0;
    }
    case 'list': {
      const p = parse('lvZcnx', { long: false, verbose: false });
      if (typeof p === 'number') return p;
      const long = p.opts.some((o) => o.flag === 'l' || o.flag === 'long');
      if (p.operands.length > 1) return usage(cmd);
      const s = store.read();
      let only;
      if (p.operands.length === 1) {
        const q = p.operands[0]!;
        if (q === '0' || q === 'Domain-0') only = 'dom0' as const;
        else only = findDomain(s, q);
        if (only === undefined) return invalidDomain(q);
      }
      process.stdout.write(long ? listLong(s, only) : listTable(s, only));
      return 0;
    }
    case 'destroy':
    case 'pause':
    case 'unpause': {
      const p = parse(cmd === 'destroy' ? 'f' : '');
      if (typeof p === 'number') return p;
      if (p.operands.length !== 1) return usage(cmd);
      const q = p.operands[0]!;
      if (q === '0' || q === 'Domain-0') {
        if (cmd !== 'destroy' || !p.opts.some((o) => o.flag === 'f')) {
          process.stderr.write(cmd === 'destroy' ? 'Cannot destroy privileged domain 0.\n' : `${q}: the lab does not ${cmd} Domain-0\n`);
          return 1;
        }
        return 0;
      }
      if (global.dryRun) return 0;
      const result = store.update((s) => {
        const d = findDomain(s, q);
        if (d === undefined) return undefined;
        if (cmd === 'destroy') s.domains = s.domains.filter((x) => x !== d);
        else d.state = cmd === 'pause' ? 'paused' : 'running';
        return d;
      });
      if (result === undefined) return invalidDomain(q);
      // The toolstack replicating this domain learns of its end as libxl would: its next suspend finds it gone.
      if (result.owner !== undefined && isXlProcess(result.owner.pid)) {
        try {
          process.kill(result.owner.pid, cmd === 'destroy' ? 'SIGUSR1' : 'SIGUSR2');
        } catch {
          // Gone in the meantime.
        }
      }
      return 0;
    }
    case 'remus': {
      const p = parse('Fbundi:s:N:ecp');
      if (typeof p === 'number') return p;
      return runRemus(p, global, log, store);
    }
    case 'migrate-receive': {
      const p = parse('Fedrp', { colo: false, 'coloft-script': true, 'userspace-colo-proxy': false });
      if (typeof p === 'number') return p;
      return runMigrateReceive(p, global, log, store);
    }
    default:
      process.stderr.write(`command not implemented\n`);
      return usage('');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`xl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
