// The commands one emulated monitor understands, each with its argument schema (checked the way QEMU's QAPI input
// visitor does, with its error words) and what it does to the shared pair state.

import { type ColoPair, type Side } from './pair.js';
import { MIGRATION_CAPABILITIES, type QmpErrorBody, type ReplyBody, UINT32_PARAMETERS, VERSION, errors } from './qemu-7.2.js';
import type { Json } from './wire.js';

type ArgType = 'str' | 'bool' | 'uint64' | 'array' | 'any';

interface Command {
  /** Argument name → [type, required]; `null` accepts any member (checked by the handler). */
  args: Record<string, [ArgType, boolean]> | null;
  /** Returns the reply, or undefined when it calls `reply` itself (a reply that goes out mid-way through events). */
  run(ctx: { side: Side; pair: ColoPair; args: Record<string, Json>; reply: (body: ReplyBody) => void }): ReplyBody | undefined;
}

const ok = (value: Json = {}): ReplyBody => ({ return: value });
const fail = (error: QmpErrorBody): ReplyBody => ({ error });

function checkType(name: string, type: ArgType, v: Json): QmpErrorBody | null {
  switch (type) {
    case 'str':
      return typeof v === 'string' ? null : errors.invalidType(name, 'string');
    case 'bool':
      return typeof v === 'boolean' ? null : errors.invalidType(name, 'boolean');
    case 'uint64':
      // A negative integer passes QEMU's uint64 visitor (as its two's complement); range checks catch it later.
      return typeof v === 'number' && Number.isInteger(v) ? null : errors.expectsType(name, 'uint64');
    case 'array':
      return Array.isArray(v) ? null : errors.invalidType(name, 'array');
    case 'any':
      return null;
  }
}

const commands: Record<string, Command> = {
  'query-version': { args: {}, run: () => ok(structuredClone(VERSION)) },

  'query-status': {
    args: {},
    run: ({ side, pair }) => {
      const state = pair.sides[side].runState;
      return ok({ status: state, singlestep: false, running: state === 'running' });
    },
  },

  'query-migrate-capabilities': {
    args: {},
    run: ({ side, pair }) => ok(MIGRATION_CAPABILITIES.map((c) => ({ state: pair.sides[side].capabilities.get(c) ?? false, capability: c }))),
  },

  'migrate-set-capabilities': {
    args: { capabilities: ['array', true] },
    run: ({ side, pair, args }) => {
      const s = pair.sides[side];
      const wanted = new Map<string, boolean>();
      for (const [i, item] of (args.capabilities as Json[]).entries()) {
        const at = `capabilities[${i}]`;
        if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(errors.invalidType(at, 'object'));
        // QEMU's visitor: members in schema order (capability, state), then anything left over.
        if (item.capability === undefined) return fail(errors.missing(`${at}.capability`));
        if (typeof item.capability !== 'string') return fail(errors.invalidType(`${at}.capability`, 'string'));
        if (!s.capabilities.has(item.capability)) return fail(errors.badEnum('capability', item.capability));
        if (item.state === undefined) return fail(errors.missing(`${at}.state`));
        if (typeof item.state !== 'boolean') return fail(errors.invalidType(`${at}.state`, 'boolean'));
        for (const k of Object.keys(item)) if (k !== 'capability' && k !== 'state') return fail(errors.unexpected(`${at}.${k}`));
        wanted.set(item.capability, item.state);
      }
      if (pair.hasMigrationYank(side)) return fail(errors.migrationActive());
      for (const [c, v] of wanted) s.capabilities.set(c, v);
      return ok();
    },
  },

  'migrate-set-parameters': {
    args: null,
    run: ({ side, pair, args }) => {
      const params = pair.sides[side].parameters;
      for (const [k, v] of Object.entries(args)) {
        if (!(k in params)) return fail(errors.unexpected(k));
        const current = params[k];
        const err = checkType(k, typeof current === 'number' ? 'uint64' : typeof current === 'boolean' ? 'bool' : 'str', v);
        if (err) return fail(err);
        if (typeof v === 'number' && (v < 0 || (UINT32_PARAMETERS.has(k) && v > 0xffffffff))) return fail(errors.expectsType(k, UINT32_PARAMETERS.has(k) ? 'uint32_t' : 'uint64'));
      }
      Object.assign(params, args);
      if ('x-checkpoint-delay' in args && side === 'primary') pair.armCheckpointTimer();
      return ok();
    },
  },

  'query-migrate-parameters': { args: {}, run: ({ side, pair }) => ok({ ...pair.sides[side].parameters }) },

  migrate: {
    args: { uri: ['str', true], blk: ['bool', false], inc: ['bool', false], detach: ['bool', false], resume: ['bool', false] },
    run: ({ side, pair, args }) => {
      if (pair.hasMigrationYank(side) || pair.sides[side].runState === 'inmigrate') return fail(errors.migrationActive());
      pair.migrate(args.uri as string);
      return ok();
    },
  },

  // The status while migrating (the recording shows no more for setup and colo), and the primary's RAM counters
  // during the initial copy, in a real 7.2's shape.
  'query-migrate': {
    args: {},
    run: ({ side, pair }) => {
      const { migration: m, migrationError } = pair.sides[side];
      if (m === 'failed' && migrationError !== undefined) return ok({ status: m, 'error-desc': migrationError });
      if (m === 'active' && side === 'primary') {
        const elapsed = Date.now() - pair.migrationStartedAt;
        return ok({ 'expected-downtime': 300, status: m, 'setup-time': 0, 'total-time': elapsed, ram: pair.initialCopyRam() });
      }
      return ok(m === 'none' ? {} : { status: m });
    },
  },

  'query-colo-status': { args: {}, run: ({ side, pair }) => ok(pair.coloStatus(side)) },

  // The reply goes out first, then SHUTDOWN, then the process is gone (a real 7.2's order).
  quit: {
    args: {},
    run: ({ side, pair, reply }) => {
      reply(ok());
      pair.quit(side);
      return undefined;
    },
  },

  'x-colo-lost-heartbeat': {
    args: {},
    run: ({ side, pair, reply }) => {
      const s = pair.sides[side];
      if (s.mode === 'none') return fail(errors.featureDisabled('colo'));
      pair.failover(side, () => reply(ok()));
      return undefined;
    },
  },

  yank: {
    args: { instances: ['array', true] },
    run: ({ side, pair, args }) => {
      const wanted: string[] = [];
      for (const [i, item] of (args.instances as Json[]).entries()) {
        const at = `instances[${i}]`;
        if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(errors.invalidType(at, 'object'));
        if (item.type === undefined) return fail(errors.missing(`${at}.type`));
        if (typeof item.type !== 'string') return fail(errors.invalidType(`${at}.type`, 'string'));
        if (!['block-node', 'chardev', 'migration'].includes(item.type)) return fail(errors.badEnum('type', item.type));
        const extra = item.type === 'chardev' ? 'id' : item.type === 'block-node' ? 'node-name' : null;
        if (extra !== null && item[extra] === undefined) return fail(errors.missing(`${at}.${extra}`));
        if (extra !== null && typeof item[extra] !== 'string') return fail(errors.invalidType(`${at}.${extra}`, 'string'));
        for (const k of Object.keys(item)) if (k !== 'type' && k !== extra) return fail(errors.unexpected(`${at}.${k}`));
        wanted.push(item.type);
      }
      // Every instance must exist before any is yanked.
      if (wanted.some((type) => type !== 'migration' || !pair.hasMigrationYank(side))) return fail(errors.yankNotFound());
      pair.yankMigration(side);
      return ok();
    },
  },
};

/** Runs `name` for `side`; unknown commands and bad arguments give QEMU's errors. */
export function runCommand(pair: ColoPair, side: Side, name: string, args: Record<string, Json> | undefined, reply: (body: ReplyBody) => void): void {
  const cmd = commands[name];
  if (cmd === undefined) return reply(fail(errors.commandNotFound(name)));
  const a = args ?? {};
  if (cmd.args !== null) {
    for (const k of Object.keys(a)) if (!(k in cmd.args)) return reply(fail(errors.unexpected(k)));
    for (const [k, [type, required]] of Object.entries(cmd.args)) {
      if (a[k] === undefined) {
        if (required) return reply(fail(errors.missing(k)));
        continue;
      }
      const err = checkType(k, type, a[k]);
      if (err) return reply(fail(err));
    }
  }
  const body = cmd.run({ side, pair, args: a, reply });
  if (body !== undefined) reply(body);
}

export function isCommand(name: string): boolean {
  return name in commands;
}
