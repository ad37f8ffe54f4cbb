// A QEMU pair as the console's heartbeat sees it: each side's monitor (connected, silent, unreachable, and why),
// QEMU's version, run state and COLO mode, missed heartbeats and the last answer's age; the primary's migration
// status; the last COLO_EXIT either side sent.

import type { HostInfo, PairInfo, QemuPairStatus, QemuSideStatus } from '../../../core/api/console-contract.js';
import { hostName } from '../lib/alarm';
import { formatDateTime } from '../lib/format';
import { lastAnswer, monitorText, monitorTone } from '../lib/qemu';

interface SideProps {
  role: 'primary' | 'secondary';
  host: string;
  side: QemuSideStatus | null;
  now: number;
}

function SideRow({ role, host, side, now }: SideProps) {
  return (
    <tr data-testid={`qemu-side-${role}`} data-monitor={side?.monitor ?? 'none'}>
      <th scope="row">
        {role === 'primary' ? 'Primary' : 'Secondary'}
        <div className="small muted">{host}</div>
      </th>
      <td>
        <span className={`badge ${monitorTone(side)}`} data-testid={`qemu-monitor-${role}`}>
          {monitorText(side)}
        </span>
      </td>
      <td className="mono">{side?.version ?? '—'}</td>
      <td className="mono" data-testid={`qemu-runstate-${role}`}>{side?.runState ?? '—'}</td>
      <td className="mono" data-testid={`qemu-colomode-${role}`}>{side?.coloMode ?? '—'}</td>
      <td className="num">{side?.missedHeartbeats ?? '—'}</td>
      <td>{lastAnswer(side, now)}</td>
    </tr>
  );
}

export function QemuStatus({ pair, q, hosts, now }: { pair: PairInfo; q: QemuPairStatus; hosts: readonly HostInfo[]; now: number }) {
  const exit = q.lastColoExit;
  return (
    <>
      <div className="table-wrap">
        <table className="data" data-testid="qemu-sides">
          <thead>
            <tr>
              <th scope="col">Side</th>
              <th scope="col">Monitor</th>
              <th scope="col">QEMU</th>
              <th scope="col">Run state</th>
              <th scope="col">COLO mode</th>
              <th scope="col" className="num">Missed heartbeats</th>
              <th scope="col">Last answer</th>
            </tr>
          </thead>
          <tbody>
            <SideRow role="primary" host={hostName(hosts, pair.primaryHostId)} side={q.primary} now={now} />
            <SideRow role="secondary" host={hostName(hosts, pair.secondaryHostId)} side={q.secondary} now={now} />
          </tbody>
        </table>
      </div>
      {q.primary === null && q.secondary === null && <p className="small muted">The console watches the monitors only while protection runs.</p>}
      <dl className="facts">
        <dt>Migration (primary)</dt>
        <dd className="mono" data-testid="qemu-migration">{q.migration ?? '—'}</dd>
        <dt>Last COLO exit</dt>
        <dd data-testid="qemu-last-exit">
          {exit === null ? 'none' : `${exit.side}: mode ${exit.mode}, reason ${exit.reason}, at ${formatDateTime(exit.at)}`}
        </dd>
        <dt>QEMU processes</dt>
        <dd>{q.launch ? 'launched by the console' : 'started outside the console (attached)'}</dd>
      </dl>
    </>
  );
}
