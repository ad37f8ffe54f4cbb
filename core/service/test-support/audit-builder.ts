// Builds a large, valid audit log directly (no service, one transaction, the chain computed in a tight loop) with
// its anchor: for the no-freeze test and the audit-verify benchmark.

import path from 'node:path';
import Database from 'better-sqlite3';
import { ANCHOR_FILE, AUDIT_FILE, AuditLog, GENESIS_HASH, entryHash } from '../audit.js';
import { writeFileAtomic } from '../files.js';

export function buildAuditLog(dir: string, entries: number, at0 = 1_700_000_000_000): void {
  // Let AuditLog create the schema exactly as the service would.
  new AuditLog(dir, { report: () => {}, now: at0, clock: () => at0 }).close();
  const db = new Database(path.join(dir, AUDIT_FILE));
  db.pragma('journal_mode = WAL');
  const insert = db.prepare(`INSERT INTO audit (seq, at, actor, action, target, command, result, detail, prev_hash, hash)
    VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)`);
  let prev = GENESIS_HASH;
  db.transaction(() => {
    for (let seq = 1; seq <= entries; seq++) {
      const body = { seq, at: at0 + seq, actor: 'bench', action: 'pairs.checkpoint', target: 'pair demo (demo-vm)', result: 'ok' as const, detail: `request ${seq}` };
      const hash = entryHash(prev, body);
      insert.run(seq, body.at, body.actor, body.action, body.target, body.result, body.detail, prev, hash);
      prev = hash;
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileAtomic(path.join(dir, ANCHOR_FILE), `${JSON.stringify({ seq: entries, hash: prev, at: at0 + entries })}\n`);
}
