// The audit log: every admin action and every command sent to a host, append-only and hash-chained, with the
// chain's integrity checked by the service ('audit.verify').

import { useCallback, useEffect, useState } from 'react';
import type { AuditEntry } from '../../../core/api/console-contract.js';
import { api, errorMessage, type Res } from '../api/console-api';
import { formatDateTime } from '../lib/format';

const PAGE = 200;
const MAX_ROWS = 5000;

type Verify = Res<'audit.verify'>;

function mergeEntries(a: readonly AuditEntry[], b: readonly AuditEntry[]): AuditEntry[] {
  const bySeq = new Map<number, AuditEntry>();
  for (const e of a) bySeq.set(e.seq, e);
  for (const e of b) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((x, y) => y.seq - x.seq).slice(0, MAX_ROWS);
}

export function Audit() {
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [verify, setVerify] = useState<{ result: Verify | null; at: number; error?: string; busy: boolean }>({ result: null, at: 0, busy: true });
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [more, setMore] = useState(true);

  const runVerify = useCallback(async () => {
    setVerify((v) => ({ ...v, busy: true }));
    try {
      const result = await api.call('audit.verify', {});
      setVerify({ result, at: Date.now(), busy: false });
    } catch (err) {
      setVerify({ result: null, at: Date.now(), error: errorMessage(err), busy: false });
    }
  }, []);

  useEffect(() => {
    let cancelled = false;
    api.call('audit.list', { limit: PAGE }).then(
      (list) => {
        if (cancelled) return;
        setEntries((prev) => mergeEntries(prev, list));
        setMore(list.length >= PAGE);
        setLoaded(true);
      },
      (err: unknown) => {
        if (!cancelled) setError(errorMessage(err));
      },
    );
    api.call('audit.verify', {}).then(
      (result) => {
        if (!cancelled) setVerify({ result, at: Date.now(), busy: false });
      },
      (err: unknown) => {
        if (!cancelled) setVerify({ result: null, at: Date.now(), error: errorMessage(err), busy: false });
      },
    );
    const off = api.subscribe('audit', undefined, (fresh) => setEntries((prev) => mergeEntries(prev, fresh)));
    return () => {
      cancelled = true;
      off();
    };
  }, []);

  const loadOlder = async (): Promise<void> => {
    const oldest = entries[entries.length - 1];
    if (oldest === undefined) return;
    try {
      const list = await api.call('audit.list', { limit: PAGE, beforeSeq: oldest.seq });
      setEntries((prev) => mergeEntries(prev, list));
      setMore(list.length >= PAGE);
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const f = filter.trim().toLowerCase();
  const shown = f === '' ? entries : entries.filter((e) => [e.actor, e.action, e.target, e.command ?? '', e.detail ?? '', e.result].some((x) => x.toLowerCase().includes(f)));
  const v = verify.result;
  const tone = verify.busy && v === null ? 'pending' : v?.ok ? 'ok' : 'bad';

  return (
    <>
      <div className="page-head">
        <div style={{ flex: 1 }}>
          <h1 id="page-title" tabIndex={-1}>
            Audit log
          </h1>
          <p className="sub">Every action an admin took and every command sent to a host, with its result. Append-only and hash-chained: each entry carries the hash of the one before.</p>
        </div>
      </div>
      <div className={`integrity ${tone}`} data-testid="audit-integrity" data-ok={v === null ? undefined : String(v.ok)} role="status">
        <strong>
          {verify.busy && v === null
            ? 'Checking the chain…'
            : verify.error !== undefined
              ? `Could not check the chain: ${verify.error}`
              : v?.ok
                ? `Chain intact: ${v.entries.toLocaleString()} entries verified`
                : `Chain broken${v?.firstBadSeq !== undefined ? ` at entry #${v.firstBadSeq}` : ''}${v?.reason ? `: ${v.reason}` : ''}`}
        </strong>
        {verify.at > 0 && <span className="small">checked {formatDateTime(verify.at)}</span>}
        <button type="button" onClick={() => void runVerify()} disabled={verify.busy}>
          {verify.busy ? 'Verifying…' : 'Verify again'}
        </button>
      </div>
      {error !== null && (
        <p className="banner bad" role="alert">
          {error}
        </p>
      )}
      <section className="panel" aria-labelledby="audit-title">
        <div className="row" style={{ justifyContent: 'space-between' }}>
          <h2 id="audit-title">Entries</h2>
          <label>
            Filter
            <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="actor, action, target, command…" />
          </label>
        </div>
        {!loaded && error === null ? (
          <p className="empty" role="status">
            Loading…
          </p>
        ) : shown.length === 0 ? (
          <p className="empty">{entries.length === 0 ? 'No entries yet.' : 'No entry matches the filter.'}</p>
        ) : (
          <div className="table-wrap">
            <table className="data" data-testid="audit-table">
              <thead>
                <tr>
                  <th scope="col" className="num">
                    #
                  </th>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Result</th>
                  <th scope="col">Command / detail</th>
                  <th scope="col">Hash</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={e.seq} data-testid={`audit-row-${e.seq}`} className={v?.firstBadSeq !== undefined && e.seq >= v.firstBadSeq ? 'bad-row' : undefined}>
                    <td className="num">{e.seq}</td>
                    <td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(e.at)}</td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td>{e.target}</td>
                    <td>
                      <span className={`badge ${e.result === 'ok' ? 'ok' : 'bad'}`}>{e.result}</span>
                    </td>
                    <td>
                      {e.command !== undefined && <code className="mono" style={{ wordBreak: 'break-all' }}>{e.command}</code>}
                      {e.detail !== undefined && <div className="small muted">{e.detail}</div>}
                    </td>
                    <td className="mono small" title={`hash ${e.hash}\nprevious ${e.prevHash}`}>
                      {e.hash.slice(0, 10)}…
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {loaded && more && (
          <p>
            <button type="button" onClick={() => void loadOlder()}>
              Load older entries
            </button>
          </p>
        )}
      </section>
    </>
  );
}
