// Hosts: the embedded simulator and machines reached over SSH, their hypervisor and health, and which pairs
// use them.

import { useEffect, useState } from 'react';
import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import { errorMessage } from '../api/console-api';
import { AddHostForm } from '../components/AddHostForm';
import { ProtectWizard } from '../components/ProtectWizard';
import { hostStep, hostTarget } from '../lib/hosts';
import { hrefFor } from '../lib/route';
import { disconnectedText } from '../lib/alarm';
import { useAlerts } from '../store/alerts';
import { refreshHosts } from '../store/sync';
import { useConsole } from '../store/store';

const REFRESH_MS = 10_000;

const STATUS_TONE: Readonly<Record<HostInfo['status'], string>> = {
  connected: 'ok',
  connecting: 'info',
  disconnected: 'neutral',
  down: 'bad',
  error: 'bad',
};

export function Hosts() {
  const hosts = useConsole((s) => s.hosts);
  const loaded = useConsole((s) => s.hostsLoaded);
  const pairs = useConsole((s) => s.pairs);
  const since = useAlerts((s) => s.disconnectedSince);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [panel, setPanel] = useState<'add' | 'protect' | null>(null);

  const refresh = async (): Promise<void> => {
    setBusy(true);
    try {
      await refreshHosts();
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    const timer = setInterval(() => {
      refreshHosts().catch(() => undefined);
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const pairsOn = (id: string): { pair: PairInfo; role: string }[] =>
    Object.values(pairs).flatMap((p) => [
      ...(p.primaryHostId === id ? [{ pair: p, role: 'primary' }] : []),
      ...(p.secondaryHostId === id ? [{ pair: p, role: 'secondary' }] : []),
    ]);

  return (
    <>
      <div className="page-head">
        <div style={{ flex: 1 }}>
          <h1 id="page-title" tabIndex={-1}>
            Hosts
          </h1>
          <p className="sub">Machines that run primaries and secondaries. Refreshed every {REFRESH_MS / 1000} s.</p>
        </div>
        <div className="row">
          <button type="button" onClick={() => setPanel(panel === 'add' ? null : 'add')} aria-expanded={panel === 'add'}>
            Add host
          </button>
          <button type="button" onClick={() => setPanel(panel === 'protect' ? null : 'protect')} aria-expanded={panel === 'protect'}>
            Protect a VM
          </button>
          <button type="button" onClick={() => void refresh()} disabled={busy}>
            {busy ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </div>
      {panel === 'add' && <AddHostForm onClose={() => setPanel(null)} />}
      {panel === 'protect' && <ProtectWizard hosts={hosts} onClose={() => setPanel(null)} />}
      {error !== null && (
        <p className="banner bad" role="alert">
          Could not list hosts: {error}
        </p>
      )}
      <section className="panel" aria-labelledby="hosts-title">
        <h2 id="hosts-title" className="visually-hidden">
          Hosts
        </h2>
        {!loaded ? (
          <p className="empty" role="status">
            Loading hosts…
          </p>
        ) : hosts.length === 0 ? (
          <p className="empty">No hosts.</p>
        ) : (
          <div className="table-wrap">
            <table className="data" data-testid="hosts-table">
              <thead>
                <tr>
                  <th scope="col">Host</th>
                  <th scope="col">Status</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Address</th>
                  <th scope="col">Hypervisor</th>
                  <th scope="col">Pairs</th>
                </tr>
              </thead>
              <tbody>
                {hosts.map((h) => (
                  <tr key={h.id} data-testid={`host-row-${h.id}`}>
                    <td>
                      {h.kind === 'ssh' ? (
                        <a href={hrefFor({ name: 'host', id: h.id })}>
                          <b>{h.name}</b>
                        </a>
                      ) : (
                        <b>{h.name}</b>
                      )}
                      <div className="small muted mono">{h.id}</div>
                    </td>
                    <td>
                      {since !== null ? (
                        <span className="badge neutral" data-testid="host-status" data-status="unknown">
                          {disconnectedText(since)}
                        </span>
                      ) : (
                        <>
                          <span className={`badge ${STATUS_TONE[h.status]}`} data-testid="host-status" data-status={h.status}>
                            {h.status}
                          </span>
                          {h.statusReason !== undefined && <div className="small muted">{h.statusReason}</div>}
                          {h.kind === 'ssh' && <HostNextStep host={h} />}
                        </>
                      )}
                    </td>
                    <td>{h.kind === 'sim' ? 'Embedded simulator' : 'SSH'}</td>
                    <td className="mono">{hostTarget(h)}</td>
                    <td>
                      {h.hypervisor}
                      {h.version !== undefined ? ` ${h.version}` : ''}
                    </td>
                    <td>
                      {pairsOn(h.id).length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        <ul style={{ margin: 0, paddingLeft: '1rem' }}>
                          {pairsOn(h.id).map(({ pair, role }) => (
                            <li key={`${pair.id}-${role}`}>
                              <a href={hrefFor({ name: 'pair', id: pair.id })}>{pair.name}</a> <span className="small muted">({role})</span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}

/** What the admin must do for an SSH host, linked to its page where it is done. */
function HostNextStep({ host }: { host: HostInfo }) {
  const step = hostStep(host).kind;
  const words: Partial<Record<typeof step, { text: string; tone: string }>> = {
    'key-changed': { text: 'HOST KEY CHANGED: connection refused', tone: 'bad' },
    'key-revoked': { text: 'Host key revoked', tone: 'bad' },
    'trust-key': { text: 'Check and trust its host key', tone: 'info' },
    passphrase: { text: 'Enter the key\'s passphrase', tone: 'info' },
    password: { text: 'Enter the password', tone: 'info' },
  };
  const w = words[step];
  if (w === undefined) return null;
  return (
    <div>
      <a href={hrefFor({ name: 'host', id: host.id })} className={`badge ${w.tone}`} data-testid="host-next-step">
        {w.text}
      </a>
    </div>
  );
}
