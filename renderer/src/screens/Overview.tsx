// Every protected pair at a glance: protection badge (an alarm outranks the state), last checkpoint age, primary
// pause p50/p99 over the last minute with a pause still open growing beside it, checkpoints per minute, and both
// hosts. While the console is disconnected every state reads "unknown".

import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import { ProtectionBadge } from '../components/ProtectionBadge';
import { formatAge, formatCount, formatMs } from '../lib/format';
import { disconnectedText, pairBadge, visiblePauseMs } from '../lib/alarm';
import { qemuFigures } from '../lib/qemu';
import { hrefFor } from '../lib/route';
import { useAlerts } from '../store/alerts';
import { useConsole } from '../store/store';

function HostCell({ host, disconnected }: { host: HostInfo | undefined; disconnected: string | null }) {
  if (host === undefined) return <span className="muted">unlisted host</span>;
  if (disconnected !== null) {
    return (
      <span>
        {host.name}
        <span className="small muted"> ({disconnected})</span>
      </span>
    );
  }
  return (
    <span title={host.statusReason ?? host.status}>
      <span className={`conn-dot ${host.status === 'connected' ? 'open' : host.status === 'connecting' ? 'connecting' : ''}`} style={{ display: 'inline-block', marginRight: '0.35rem' }} aria-hidden="true" />
      {host.name}
      {host.status !== 'connected' && <span className="small muted"> ({host.status})</span>}
    </span>
  );
}

function PairRow({ pair, hosts, now, disconnected }: { pair: PairInfo; hosts: readonly HostInfo[]; now: number; disconnected: string | null }) {
  const st = pair.stats;
  const pause = disconnected === null ? visiblePauseMs(pair, now) : null;
  const href = hrefFor({ name: 'pair', id: pair.id });
  return (
    <tr data-testid={`pair-row-${pair.id}`} onClick={(e) => {
      if ((e.target as HTMLElement).closest('a,button') === null) location.hash = href;
    }} style={{ cursor: 'pointer' }}>
      <td>
        <a href={href} className="pair-name">
          {pair.name}
        </a>
        <div className="small muted">
          {pair.mode === 'colo' ? 'COLO' : 'Remus'} · {pair.qemu !== undefined ? qemuFigures(pair.qemu) : pair.backend}
          {pair.sim !== undefined && (
            <>
              {' '}
              <span className="tag sim">sim</span>
            </>
          )}
        </div>
      </td>
      <td>
        <ProtectionBadge state={pair.state} lastFailover={pair.lastFailover} alarm={pair.alarm} />
      </td>
      <td>
        {st.lastCheckpointAt === null ? <span className="muted">none yet</span> : formatAge(st.lastCheckpointAt, now)}
        {st.lastSeq !== null && <div className="small muted">#{st.lastSeq}</div>}
      </td>
      <td className="num">
        {formatMs(st.pausePrimaryP50Ms)} / {formatMs(st.pausePrimaryP99Ms)}
        {pause !== null && (
          <div className="small error-text" data-testid="row-open-pause">
            paused {formatMs(pause)}, still open
          </div>
        )}
      </td>
      <td className="num">{formatCount(st.checkpointsPerMinute, st.checkpointsPerMinute < 10 ? 1 : 0)}</td>
      <td>
        <HostCell host={hosts.find((h) => h.id === pair.primaryHostId)} disconnected={disconnected} />
      </td>
      <td>
        <HostCell host={hosts.find((h) => h.id === pair.secondaryHostId)} disconnected={disconnected} />
      </td>
    </tr>
  );
}

export function Overview() {
  const order = useConsole((s) => s.pairOrder);
  const pairs = useConsole((s) => s.pairs);
  const hosts = useConsole((s) => s.hosts);
  const loaded = useConsole((s) => s.pairsLoaded);
  const now = useConsole((s) => s.clock);
  const since = useAlerts((s) => s.disconnectedSince);
  const disconnected = since === null ? null : disconnectedText(since);
  const list = order.map((id) => pairs[id]).filter((p): p is PairInfo => p !== undefined);
  const counts = { ok: 0, warn: 0, bad: 0, other: 0 };
  for (const p of list) {
    const tone = pairBadge(p, null).tone;
    if (tone === 'ok') counts.ok++;
    else if (tone === 'bad') counts.bad++;
    else if (tone === 'warn') counts.warn++;
    else counts.other++;
  }

  return (
    <>
      <div className="page-head">
        <div>
          <h1 id="page-title" tabIndex={-1}>
            Overview
          </h1>
          <p className="sub">
            {list.length === 0
              ? 'Protected pairs and their replication health.'
              : disconnected !== null
                ? `${list.length} pair${list.length === 1 ? '' : 's'}: state ${disconnected}.`
                : `${list.length} pair${list.length === 1 ? '' : 's'}: ${counts.ok} protected, ${counts.warn} at risk or failed over, ${counts.bad} in trouble, ${counts.other} not protected.`}
          </p>
        </div>
      </div>
      <section className="panel" aria-labelledby="pairs-title">
        <h2 id="pairs-title" className="visually-hidden">
          Pairs
        </h2>
        {!loaded ? (
          <p className="empty" role="status">
            Loading pairs…
          </p>
        ) : list.length === 0 ? (
          <p className="empty">No pairs yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="data" data-testid="pairs-table">
              <thead>
                <tr>
                  <th scope="col">VM</th>
                  <th scope="col">Protection</th>
                  <th scope="col">Last checkpoint</th>
                  <th scope="col" className="num">
                    Primary pause p50 / p99
                    <br />
                    <span className="small">last minute</span>{' '}
                    <span className="tag derived" title="Derived: computed by the service from the measured cycles of the last minute">
                      derived
                    </span>
                  </th>
                  <th scope="col" className="num">
                    Checkpoints / min{' '}
                    <span className="tag derived" title="Derived: counted by the service over the last minute">
                      derived
                    </span>
                  </th>
                  <th scope="col">Primary host</th>
                  <th scope="col">Secondary host</th>
                </tr>
              </thead>
              <tbody>
                {list.map((p) => (
                  <PairRow key={p.id} pair={p} hosts={hosts} now={now} disconnected={disconnected} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
