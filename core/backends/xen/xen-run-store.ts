// What the console must remember of each running `xl remus` to find it again after a restart or a dropped
// connection: where it runs (supervisor unit, pid, log), how far the log was read, and the cycle assembler's state
// at that byte, so that attaching resumes the tail without losing or counting a cycle twice.
//
// JsonFileRunStore keeps every run in one small JSON file, rewritten atomically. The file is read as untrusted
// input: a run that does not have the expected shape is left out (and the file's problem reported), never trusted.

import path from 'node:path';
import { type ProblemSink, quarantine, readJsonFile, writeFileAtomic } from '../../service/files.js';
import type { ProtectionState } from '../../colo/types.js';
import type { AssemblerState } from './cycle-assembler.js';

export interface XenRun {
  pairId: string;
  primaryHostId: string;
  secondaryHostId: string;
  domain: string;
  /** The guest's UUID as the primary listed it at start (PVM and SVM share it, xen-colo.md §3.4). */
  uuid?: string;
  unit: string;
  log: string;
  /** How xl remus was supervised: `systemd-run` or `setsid nohup`. */
  supervisor: 'systemd' | 'nohup';
  pid?: number;
  startedAt: number;
  /** Bytes of the log already read and assembled. */
  offset: number;
  assembler: AssemblerState;
  /** The last state reported, shown again on attach. */
  state?: ProtectionState;
}

export interface XenRunStore {
  get(pairId: string): XenRun | null;
  put(run: XenRun): void;
  remove(pairId: string): void;
}

export const RUN_STORE_FILE = 'xen-runs.json';

export class JsonFileRunStore implements XenRunStore {
  private readonly file: string;
  private runs = new Map<string, XenRun>();

  constructor(dir: string, private readonly report: ProblemSink = () => {}, private readonly clock: () => number = Date.now) {
    this.file = path.join(dir, RUN_STORE_FILE);
    this.load();
  }

  get(pairId: string): XenRun | null {
    const r = this.runs.get(pairId);
    return r === undefined ? null : structuredClone(r);
  }

  put(run: XenRun): void {
    this.runs.set(run.pairId, structuredClone(run));
    this.write();
  }

  remove(pairId: string): void {
    if (this.runs.delete(pairId)) this.write();
  }

  private write(): void {
    writeFileAtomic(this.file, `${JSON.stringify({ version: 1, runs: [...this.runs.values()] })}\n`);
  }

  private load(): void {
    const read = readJsonFile(this.file);
    if (read.kind === 'missing') return;
    if (read.kind === 'bad') {
      quarantine(this.file, `The Xen run file is unreadable (${read.message})`, this.clock(), this.report);
      return;
    }
    const doc = read.value as { version?: unknown; runs?: unknown };
    if (typeof doc !== 'object' || doc === null || doc.version !== 1 || !Array.isArray(doc.runs)) {
      quarantine(this.file, 'The Xen run file is not one this console wrote', this.clock(), this.report);
      return;
    }
    for (const r of doc.runs) {
      if (isRun(r)) this.runs.set(r.pairId, r);
    }
  }
}

function isRun(v: unknown): v is XenRun {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const str = (k: string): boolean => typeof r[k] === 'string' && (r[k]).length <= 4096;
  const a = r.assembler as Record<string, unknown> | null | undefined;
  return str('pairId') && str('primaryHostId') && str('secondaryHostId') && str('domain') && str('unit') && str('log')
    && (r.supervisor === 'systemd' || r.supervisor === 'nohup')
    && (r.pid === undefined || (Number.isSafeInteger(r.pid) && (r.pid as number) > 1))
    && Number.isSafeInteger(r.offset) && (r.offset as number) >= 0
    && typeof r.startedAt === 'number'
    && typeof a === 'object' && a !== null
    && (a.mode === 'colo' || a.mode === 'remus') && Number.isSafeInteger(a.nextSeq) && Array.isArray(a.errors);
}
