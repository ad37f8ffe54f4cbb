// One SSH host: how the console reaches it, the step it is at (host key, passphrase), what the probe found
// (hypervisor version, capabilities, warnings such as Xen ≥ 4.18), and its domains with their protection.

import { useEffect, useState } from 'react';
import type { DomainSummaryInfo } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { HostSetup } from '../components/HostSetup';
import { domainProtection, hostTarget } from '../lib/hosts';
import { hrefFor } from '../lib/route';
import { refreshHosts } from '../store/sync';
import { useConsole } from '../store/store';

/** How often an open host page lists the host's domains again. */
const DOMAINS_REFRESH_MS = 10_000;

export function HostView({ id }: { id: string }) {
  const host = useConsole((s) => s.hosts.find((h) => h.id === id));
  const loaded = useConsole((s) => s.hostsLoaded);
  const pairs = useConsole((s) => s.pairs);
  const [domains, setDomains] = useState<DomainSummaryInfo[] | null>(null);
  const [domainsError, setDomainsError] = useState<string | null>(null);
  const [probeError, setProbeError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [removeError, setRemoveError] = useState<string | null>(null);
  const connected = host?.status === 'connected';
  const isSsh = host?.kind === 'ssh';

  const loadDomains = (): void => {
    api.call('hosts.domains', { hostId: id }, { timeoutMs: 60_000 }).then(
      (d) => {
        setDomains(d);
        setDomainsError(null);
      },
      (err: unknown) => setDomainsError(errorMessage(err)),
    );
  };

  /** Probes the host; its result shows through hosts.list (version, capabilities, warnings). */
  const runProbe = (): Promise<void> =>
    api.call('hosts.probe', { hostId: id }, { timeoutMs: 60_000 })
      .then(() => setProbeError(null), (err: unknown) => setProbeError(errorMessage(err)))
      .then(() => refreshHosts())
      .catch(() => undefined);

  const probe = (): void => {
    setBusy(true);
    void runProbe().finally(() => setBusy(false));
  };

  // Once connected: probe (if never probed) and list the domains.
  useEffect(() => {
    if (!connected || !isSsh) return;
    if (host?.version === undefined) void runProbe();
    loadDomains();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only on (re)connection
  }, [connected, isSsh]);

  // The list stays current while the page is open: a domain started, destroyed or taken over elsewhere shows up.
  useEffect(() => {
    if (!connected || !isSsh) return;
    const timer = setInterval(loadDomains, DOMAINS_REFRESH_MS);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- loadDomains only reads the id
  }, [connected, isSsh, id]);

  useEffect(() => {
    if (!loaded) refreshHosts().catch(() => undefined);
  }, [loaded]);

  const remove = (): void => {
    setBusy(true);
    api.call('hosts.remove', { hostId: id }).then(
      async () => {
        await refreshHosts().catch(() => undefined);
        location.hash = hrefFor({ name: 'hosts' });
      },
      (err: unknown) => {
        setBusy(false);
        setRemoveError(errorMessage(err));
      },
    );
  };

  if (host === undefined) {
    return (
      <>
        <h1 id="page-title" tabIndex={-1}>
          Host {id}
        </h1>
        <p>{loaded ? 'No such host.' : 'Loading…'} <a href={hrefFor({ name: 'hosts' })}>All hosts</a></p>
      </>
    );
  }

  const pairList = Object.values(pairs);
  // QEMU VMs are driven through their QMP sockets: an attach needs each side's path, so the list shows it.
  const qemu = host.hypervisor === 'qemu';
  return (
    <>
      <div className="page-head">
        <div style={{ flex: 1 }}>
          <h1 id="page-title" tabIndex={-1}>
            {host.name}
          </h1>
          <p className="sub mono">
            {hostTarget(host)}
            {host.alias !== undefined ? ` (alias ${host.alias})` : ''}
            {host.jumps !== undefined && host.jumps.length > 0 ? ` via ${host.jumps.join(' → ')}` : ''}
          </p>
        </div>
        <span className={`badge ${host.status === 'connected' ? 'ok' : host.status === 'error' ? 'bad' : 'neutral'}`} data-testid="host-status" data-status={host.status}>
          {host.status}
        </span>
      </div>

      {isSsh && <HostSetup host={host} />}

      <section className="panel" aria-labelledby="probe-title">
        <h2 id="probe-title">Hypervisor</h2>
        <dl className="facts">
          <dt>Hypervisor</dt>
          <dd>{host.hypervisor}</dd>
          <dt>Version</dt>
          <dd data-testid="host-version">{host.version ?? '—'}</dd>
          <dt>Capabilities</dt>
          <dd className="mono">{host.capabilities !== undefined && host.capabilities.length > 0 ? host.capabilities.join(' ') : '—'}</dd>
          {isSsh && (
            <>
              <dt>Logs in with</dt>
              <dd>{host.auth === 'key' ? `key file ${host.keyPath ?? ''}` : host.auth === 'password' ? 'a password asked each session' : 'the SSH agent'}</dd>
            </>
          )}
        </dl>
        {(host.warnings ?? []).map((w) => (
          <p key={w} className="banner warn" role="status" data-testid="host-warning">
            {w}
          </p>
        ))}
        {probeError !== null && (
          <p className="error-text" role="alert">
            Probe failed: {probeError}
          </p>
        )}
        {isSsh && (
          <button type="button" onClick={probe} disabled={busy || !connected}>
            Probe again
          </button>
        )}
      </section>

      {isSsh && (
        <section className="panel" aria-labelledby="domains-title">
          <div className="row">
            <h2 id="domains-title" style={{ flex: 1 }}>
              Domains
            </h2>
            <span className="sub">Listed again every {DOMAINS_REFRESH_MS / 1000} s</span>
            <button type="button" onClick={loadDomains} disabled={!connected}>
              Refresh domains
            </button>
          </div>
          {domainsError !== null && (
            <p className="error-text" role="alert">
              Could not list the domains: {domainsError}
            </p>
          )}
          {!connected ? (
            <p className="empty">Connect to the host to see its domains.</p>
          ) : domains === null ? (
            <p className="empty" role="status">
              Loading domains…
            </p>
          ) : domains.length === 0 ? (
            <p className="empty">No domains.</p>
          ) : (
            <div className="table-wrap">
              <table className="data" data-testid="domains-table">
                <thead>
                  <tr>
                    <th scope="col">{qemu ? 'VM' : 'Domain'}</th>
                    <th scope="col">State</th>
                    <th scope="col">Memory</th>
                    <th scope="col">vCPUs</th>
                    {qemu && <th scope="col">QMP socket</th>}
                    {qemu && <th scope="col">COLO role</th>}
                    <th scope="col">Protection</th>
                  </tr>
                </thead>
                <tbody>
                  {domains.map((d) => (
                    <tr key={`${d.name}-${d.id ?? ''}`} data-testid={`domain-row-${d.name}`}>
                      <td className="mono">{d.name}</td>
                      <td>{d.state}</td>
                      <td>{d.memoryMiB !== undefined ? `${d.memoryMiB} MiB` : '—'}</td>
                      <td>{d.vcpus ?? '—'}</td>
                      {qemu && <td className="mono" data-testid="domain-qmp">{d.qmpSocket ?? '—'}</td>}
                      {qemu && <td data-testid="domain-role">{d.role ?? '—'}</td>}
                      <td>{domainProtection(d, host.id, pairList)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}

      {isSsh && (
        <section className="panel" aria-labelledby="remove-title">
          <h2 id="remove-title">Remove</h2>
          {host.usedBy !== undefined && host.usedBy.length > 0 ? (
            <p className="muted">Used by {host.usedBy.map((p) => pairs[p]?.name ?? p).join(', ')}: remove those pairs first.</p>
          ) : confirmRemove ? (
            <div className="row">
              <span>Remove {host.name} from the console? Its saved host key stays in the console's known_hosts.</span>
              <button type="button" className="danger" onClick={remove} disabled={busy}>
                Remove {host.name}
              </button>
              <button type="button" onClick={() => setConfirmRemove(false)} disabled={busy}>
                Cancel
              </button>
            </div>
          ) : (
            <button type="button" onClick={() => setConfirmRemove(true)}>
              Remove host…
            </button>
          )}
          {removeError !== null && (
            <p className="error-text" role="alert">
              {removeError}
            </p>
          )}
        </section>
      )}
    </>
  );
}
