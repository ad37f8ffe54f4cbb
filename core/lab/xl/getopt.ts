// POSIX getopt as xl uses it: short options, clustered (-vvv, -cu), option arguments attached or next (-i100,
// -i 100), `--` ends options, and with `stopAtOperand` (xl's global "+" getopt) the first operand ends them too.
// xl's subcommand parsing permutes like glibc: options may follow operands unless `--` came first.

export interface Parsed {
  opts: { flag: string; arg?: string }[];
  operands: string[];
}

export class GetoptError extends Error {}

export function getopt(argv: readonly string[], spec: string, long: Record<string, boolean> = {}, stopAtOperand = false): Parsed {
  const takesArg = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === ':') continue;
    takesArg.set(c, spec[i + 1] === ':');
  }
  const out: Parsed = { opts: [], operands: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.operands.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const name = a.slice(2);
      if (!(name in long)) throw new GetoptError(`unrecognized option '${a}'`);
      if (long[name]) {
        if (i + 1 >= argv.length) throw new GetoptError(`option '${a}' requires an argument`);
        out.opts.push({ flag: name, arg: argv[++i]! });
      } else {
        out.opts.push({ flag: name });
      }
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      if (stopAtOperand) {
        out.operands.push(...argv.slice(i));
        break;
      }
      out.operands.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const needs = takesArg.get(c);
      if (needs === undefined) throw new GetoptError(`invalid option -- '${c}'`);
      if (!needs) {
        out.opts.push({ flag: c });
        continue;
      }
      if (j + 1 < a.length) out.opts.push({ flag: c, arg: a.slice(j + 1) });
      else if (i + 1 < argv.length) out.opts.push({ flag: c, arg: argv[++i]! });
      else throw new GetoptError(`option requires an argument -- '${c}'`);
      break;
    }
  }
  return out;
}
