// What Debian's QEMU 7.2 answers with, as recorded on this machine type (core/backends/qemu/fixtures/
// qmp-colo-qemu-7.2.jsonl): its version and package, its migration capabilities and parameters in the order its
// monitor lists them, and the classes and wording of the errors the emulator gives. The wording not in the recording is
// compared with a real QEMU 7.2's by errors-vs-qemu.test.ts.

import type { Json } from './wire.js';

export const VERSION = { qemu: { micro: 22, minor: 2, major: 7 }, package: 'Debian 1:7.2+dfsg-7+deb12u18+b3' };

/** The greeting's capabilities: 7.2 offers out-of-band execution on a socket monitor. */
export const GREETING_CAPABILITIES = ['oob'];

/** query-migrate-capabilities order of 7.2. */
export const MIGRATION_CAPABILITIES = [
  'xbzrle', 'rdma-pin-all', 'auto-converge', 'zero-blocks', 'compress', 'events', 'postcopy-ram', 'x-colo',
  'release-ram', 'block', 'return-path', 'pause-before-switchover', 'multifd', 'dirty-bitmaps', 'postcopy-blocktime',
  'late-block-activate', 'x-ignore-shared', 'validate-uuid', 'background-snapshot', 'zero-copy-send', 'postcopy-preempt',
] as const;

/** query-migrate-parameters of a fresh 7.2 (64 MiB guest), in its order; x-checkpoint-delay at its default. */
export function defaultMigrationParameters(): Record<string, number | string | boolean> {
  return {
    'cpu-throttle-tailslow': false,
    'xbzrle-cache-size': 67108864,
    'cpu-throttle-initial': 20,
    'announce-max': 550,
    'decompress-threads': 2,
    'compress-threads': 8,
    'compress-level': 1,
    'multifd-channels': 2,
    'multifd-zstd-level': 1,
    'announce-initial': 50,
    'block-incremental': false,
    'compress-wait-thread': true,
    'downtime-limit': 300,
    'tls-authz': '',
    'multifd-compression': 'none',
    'announce-rounds': 5,
    'announce-step': 100,
    'tls-creds': '',
    'multifd-zlib-level': 1,
    'max-cpu-throttle': 99,
    'max-postcopy-bandwidth': 0,
    'tls-hostname': '',
    'throttle-trigger-threshold': 50,
    'max-bandwidth': 134217728,
    // DEFAULT_MIGRATE_X_CHECKPOINT_DELAY (qemu-colo.md §1.4).
    'x-checkpoint-delay': 20000,
    'cpu-throttle-increment': 10,
  };
}

/** Parameters whose QAPI type is uint32 in 7.2 rather than the visitor's uint64 (range-checked separately). */
export const UINT32_PARAMETERS = new Set(['x-checkpoint-delay']);

/** Commands that may run out of band (allow-oob in 7.2's schema, of those the emulator knows). */
export const OOB_COMMANDS = new Set(['yank']);

/** In-band commands the monitor queues before it stops reading its socket (QMP_REQ_QUEUE_LEN_MAX). */
export const REQUEST_QUEUE_MAX = 8;

export interface QmpErrorBody {
  class: string;
  desc: string;
}

const generic = (desc: string): QmpErrorBody => ({ class: 'GenericError', desc });

/**
 * Error bodies; `recorded` ones appear in the transcript word for word, and the rest are checked against a real
 * QEMU 7.2 by core/lab/qmp/errors-vs-qemu.test.ts.
 */
export const errors = {
  /** recorded */
  commandNotFound: (name: string): QmpErrorBody => ({ class: 'CommandNotFound', desc: `The command ${name} has not been found` }),
  /** recorded */
  expectsType: (param: string, type: string): QmpErrorBody => generic(`Parameter '${param}' expects ${type}`),
  /** For strings, booleans, arrays and objects (integers use expectsType). */
  invalidType: (param: string, expected: string): QmpErrorBody => generic(`Invalid parameter type for '${param}', expected: ${expected}`),
  missing: (param: string): QmpErrorBody => generic(`Parameter '${param}' is missing`),
  unexpected: (param: string): QmpErrorBody => generic(`Parameter '${param}' is unexpected`),
  badEnum: (param: string, value: string): QmpErrorBody => generic(`Parameter '${param}' does not accept value '${value}'`),
  needCapabilities: (): QmpErrorBody => ({ class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" }),
  capabilitiesDone: (): QmpErrorBody => ({ class: 'CommandNotFound', desc: 'Capabilities negotiation is already complete, command ignored' }),
  notOob: (name: string): QmpErrorBody => generic(`The command ${name} does not support OOB`),
  oobNotEnabled: (): QmpErrorBody => generic("QMP input member 'exec-oob' is unexpected"),
  notObject: (): QmpErrorBody => generic('QMP input must be a JSON object'),
  noExecute: (): QmpErrorBody => generic("QMP input lacks member 'execute'"),
  memberUnexpected: (member: string): QmpErrorBody => generic(`QMP input member '${member}' is unexpected`),
  memberType: (member: string, what: string): QmpErrorBody => generic(`QMP input member '${member}' must be ${what}`),
  /** QEMU names the offending token; the emulator finds it only for a bare word (the common case). */
  parse: (token: string): QmpErrorBody => generic(`JSON parse error, invalid keyword '${token}'`),
  migrationActive: (): QmpErrorBody => generic("There's a migration process in progress"),
  featureDisabled: (feature: string): QmpErrorBody => generic(`The feature '${feature}' is not enabled`),
  /** Seen from a real 7.2 here (core/lab/qemu-pair.test.ts), also while its main loop was deadlocked. */
  yankNotFound: (): QmpErrorBody => ({ class: 'DeviceNotFound', desc: 'Instance not found' }),
};

export type ReplyBody = { return: Json } | { error: QmpErrorBody };
