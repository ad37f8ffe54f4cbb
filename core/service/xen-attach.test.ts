// Xen protection outlives the console, through the lab (two emulated Xen dom0s behind real sshds): hosts and a
// pair added through the service, protection started, the service closed while xl remus runs on; a new service on
// the same data directory follows the run again, its cycles continuing the stored ones with no gap and no
// duplicate; stop then destroys the secondary's incoming copy before anything touches the primary.

import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { labUnavailable } from '../lab/xen-lab.js';
import type { ConsoleService } from './console-service.js';
import { startService, tempDir, untilState, waitFor } from './test-support/service-rig.js';
import { ACTOR, DOMAIN, addLabHosts, addWeb01Pair, lab, labServiceOptions, xlState } from './test-support/xen-lab-service.js';

/** Every stored cycle's seq, oldest first (a limit far above the count, so nothing is decimated). */
function storedSeqs(s: ConsoleService, pairId: string): number[] {
  return s.cycles(pairId, { since: 0, limit: 100_000 }).map((c) => c.seq);
}

function lastSeq(s: ConsoleService, pairId: string): number {
  return s.pair(pairId).stats.lastSeq ?? -1;
}

/** The seqs as runs of consecutive numbers, for messages: "0-12, 14-20". */
function runsOf(seqs: readonly number[]): string {
  const out: string[] = [];
  let start = seqs[0];
  for (let i = 1; i <= seqs.length; i++) {
    if (i === seqs.length || seqs[i] !== seqs[i - 1]! + 1) {
      out.push(start === seqs[i - 1] ? `${start}` : `${start}-${seqs[i - 1]}`);
      start = seqs[i];
    }
  }
  return out.join(', ');
}

describe('Xen protection across a console restart', { skip: labUnavailable() ?? false }, () => {
  void test('closed while protecting: xl remus runs on; the next service follows it again with no seq gap or duplicate; stop destroys web01--incoming on b first', async (t) => {
    const l = await lab(t);
    const dir = tempDir(t);

    // -- The first console: hosts, pair, protection.
    const { service: first, errors: firstErrors } = await startService(dir, labServiceOptions(l));
    const hosts = await addLabHosts(first, l);
    const pair = await addWeb01Pair(first, l, hosts);
    await first.startPair(pair.id, ACTOR);
    await untilState(first, pair.id, 'protected', 60_000);
    await waitFor(() => lastSeq(first, pair.id) >= 5, 30_000, () => `5 checkpoints (at #${lastSeq(first, pair.id)})`);
    await first.close();

    // -- Without a console: the protection goes on on the hosts.
    // Paused while it loads a checkpoint, running in between: either way it is there.
    assert.match((await xlState(l, 'b', `${DOMAIN}--incoming`)) ?? 'gone', /^(r-----|--p---)$/, 'the secondary copy is still on b');
    assert.match((await xlState(l, 'a', DOMAIN)) ?? 'gone', /^(r-----|--p---)$/, 'the guest still runs on a (or is paused in a checkpoint)');
    // Checkpoints the console misses, to be read from the log when it is back.
    await delay(1500);

    // -- The second console, same data directory.
    const { service: second, errors: secondErrors } = await startService(dir, labServiceOptions(l));
    const storedAtStart = storedSeqs(second, pair.id);
    assert.ok(storedAtStart.length >= 6, `the first console's cycles are stored (${runsOf(storedAtStart)})`);
    const lastBefore = storedAtStart.at(-1)!;
    await waitFor(
      () => second.events(pair.id, 200).some((e) => e.message === `Following the protection of ${DOMAIN} that ran on Xen A while the console was away.`),
      30_000,
      () => `the event "Following the protection…" (events: ${second.events(pair.id, 200).map((e) => e.message).join(' | ')})`,
    );
    await untilState(second, pair.id, 'protected', 30_000);
    await waitFor(() => lastSeq(second, pair.id) >= lastBefore + 10, 30_000, () => `checkpoints past #${lastBefore + 10} (at #${lastSeq(second, pair.id)})`);

    const seqs = storedSeqs(second, pair.id);
    // One run, seq 0 (the initial copy) onwards, each checkpoint once: the ones made while no console watched
    // were read from xl's log, and none the first console had stored came again.
    assert.equal(seqs[0], 0, runsOf(seqs));
    assert.deepEqual(seqs, seqs.map((_, i) => i), `stored seqs ${runsOf(seqs)}`);
    assert.equal(second.runs(pair.id, 10).length, 1, 'the restart continued the run, it did not begin another');

    // -- Stop: the incoming copy on b goes first; the guest runs on on a alone.
    const auditFrom = Math.max(...second.auditList(1000).map((e) => e.seq));
    const stopped = await second.stopPair(pair.id, DOMAIN, ACTOR);
    if (stopped.state.state !== 'stopped') await untilState(second, pair.id, 'stopped', 30_000);
    assert.equal(second.pair(pair.id).state.reasonCode, 'stopped-by-admin', second.pair(pair.id).state.reason);
    assert.equal(await xlState(l, 'b', `${DOMAIN}--incoming`), undefined, 'no incoming copy left on b');
    assert.equal(await xlState(l, 'b', DOMAIN), undefined, 'b did not take over');
    assert.equal(await xlState(l, 'a', DOMAIN), 'r-----', 'the guest runs on a');

    const entries = second.auditList(1000).filter((e) => e.seq > auditFrom).sort((x, y) => x.seq - y.seq);
    const lines = entries.map((e) => `${e.seq} ${e.action} ${e.target} ${e.result} ${e.command ?? ''}`);
    const requested = entries.findIndex((e) => e.action === 'pairs.stop.requested');
    assert.ok(requested >= 0, lines.join('\n'));
    const destroys = entries.filter((e) => e.action === 'host.command' && /\bxl destroy\b/.test(e.command ?? ''));
    assert.deepEqual(destroys.map((e) => [e.target, e.command, e.result]), [[`host ${hosts.b}`, `xl destroy -- ${DOMAIN}--incoming`, 'ok']], lines.join('\n'));
    assert.ok(entries.indexOf(destroys[0]!) > requested, `the destroy follows the request:\n${lines.join('\n')}`);
    // Nothing about the guest was sent to a between the request and the destroy on b (read-only probes such as
    // `test -d /run/systemd/system` may run at any time).
    const onA = entries.slice(requested, entries.indexOf(destroys[0]!)).filter((e) => e.target === `host ${hosts.a}` && (e.command ?? '').includes(DOMAIN));
    assert.deepEqual(onA.map((e) => e.command), [], lines.join('\n'));
    const done = entries.findIndex((e) => e.action === 'pairs.stop' && e.result === 'ok');
    assert.ok(done > entries.indexOf(destroys[0]!), lines.join('\n'));

    assert.deepEqual([...firstErrors, ...secondErrors].map((e) => `${e.where}: ${String(e.err)}`), []);
  });
});
