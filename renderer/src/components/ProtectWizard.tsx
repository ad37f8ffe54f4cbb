// "Protect a VM": the primary host and its domain, the secondary, COLO (optionally with the userspace proxy) or
// Remus (its interval); the preflight checklist with each check's reason and fix; then add the pair and start it.

import { type FormEvent, useEffect, useState } from 'react';
import type { DomainSummaryInfo, HostInfo, PairInfo, PreflightCheckInfo } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { EMPTY_PROTECT, type ProtectForm, pairDraftOf, preflightVerdict } from '../lib/hosts';
import { hrefFor } from '../lib/route';
import { Segmented } from './Segmented';

const CHECK_TONE: Readonly<Record<PreflightCheckInfo['status'], string>> = { pass: 'ok', warn: 'warn', fail: 'bad' };

interface Props {
  hosts: readonly HostInfo[];
  onClose: () => void;
}

export function ProtectWizard({ hosts, onClose }: Props) {
  const xen = hosts.filter((h) => h.kind === 'ssh' && h.hypervisor === 'xen');
  const [f, setF] = useState<ProtectForm>(EMPTY_PROTECT);
  const [listed, setListed] = useState<{ hostId: string; domains: DomainSummaryInfo[] } | null>(null);
  const domains = listed !== null && listed.hostId === f.primaryHostId ? listed.domains : null;
  const [checks, setChecks] = useState<PreflightCheckInfo[] | null>(null);
  const [added, setAdded] = useState<PairInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const set = <K extends keyof ProtectForm>(k: K, v: ProtectForm[K]): void => {
    setF((x) => ({ ...x, [k]: v }));
    // Any change makes the last checklist stale.
    setChecks(null);
  };

  useEffect(() => {
    const hostId = f.primaryHostId;
    if (hostId === '') return;
    let live = true;
    api.call('hosts.domains', { hostId }, { timeoutMs: 60_000 }).then(
      (d) => live && setListed({ hostId, domains: d.filter((x) => x.role !== 'secondary') }),
      (err: unknown) => live && setError(`Could not list the domains: ${errorMessage(err)}`),
    );
    return () => {
      live = false;
    };
  }, [f.primaryHostId]);

  const draft = pairDraftOf(f);
  const verdict = checks === null ? null : preflightVerdict(checks);

  const step = (name: string, what: () => Promise<void>): void => {
    setBusy(name);
    setError(null);
    what().catch((err: unknown) => setError(errorMessage(err))).finally(() => setBusy(null));
  };

  const preflight = (e: FormEvent): void => {
    e.preventDefault();
    if (typeof draft === 'string') {
      setError(draft);
      return;
    }
    step('preflight', async () => setChecks(await api.call('pairs.preflight', { draft }, { timeoutMs: 120_000 })));
  };

  const add = (): void => {
    if (typeof draft === 'string') return;
    step('add', async () => setAdded(await api.call('pairs.add', draft)));
  };

  const start = (): void => {
    if (added === null) return;
    step('start', async () => {
      await api.call('pairs.start', { pairId: added.id }, { timeoutMs: 120_000 });
      location.hash = hrefFor({ name: 'pair', id: added.id });
    });
  };

  const secondary = xen.find((h) => h.id === f.secondaryHostId);
  const locked = added !== null || busy !== null;
  return (
    <form className="panel stack" onSubmit={preflight} aria-label="Protect a VM" data-testid="protect-wizard">
      <h2>Protect a VM</h2>
      {xen.length < 2 && <p className="banner warn">Add two Xen hosts first: the primary, where the VM runs, and the secondary.</p>}
      <div className="row">
        <label className="field">
          <span>Primary host</span>
          <select value={f.primaryHostId} onChange={(e) => setF((x) => ({ ...x, primaryHostId: e.target.value, domain: '' }))} disabled={locked}>
            <option value="">Choose…</option>
            {xen.map((h) => (
              <option key={h.id} value={h.id} disabled={h.status !== 'connected'}>
                {h.name}
                {h.status !== 'connected' ? ` (${h.status})` : ''}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Domain</span>
          <select value={f.domain} onChange={(e) => set('domain', e.target.value)} disabled={locked || domains === null}>
            <option value="">{f.primaryHostId === '' ? 'Pick the primary first' : domains === null ? 'Loading…' : 'Choose…'}</option>
            {(domains ?? []).map((d) => (
              <option key={d.name} value={d.name}>
                {d.name} ({d.state})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Secondary host</span>
          <select value={f.secondaryHostId} onChange={(e) => set('secondaryHostId', e.target.value)} disabled={locked}>
            <option value="">Choose…</option>
            {xen.filter((h) => h.id !== f.primaryHostId).map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Secondary's address, as the primary reaches it</span>
          <input value={f.secondaryAddress} onChange={(e) => set('secondaryAddress', e.target.value)} placeholder={secondary?.address ?? 'the secondary host\'s address'} spellCheck={false} disabled={locked} />
        </label>
      </div>
      <Segmented
        legend="Replication"
        value={f.mode}
        options={[{ value: 'colo', label: 'COLO' }, { value: 'remus', label: 'Remus' }]}
        onChange={(v) => set('mode', v)}
        disabled={locked}
      />
      <div className="row">
        {f.mode === 'colo' ? (
          <label className="check">
            <input type="checkbox" checked={f.userspaceProxy} onChange={(e) => set('userspaceProxy', e.target.checked)} disabled={locked} />
            Userspace proxy (xl remus -p)
          </label>
        ) : (
          <label className="field">
            <span>Checkpoint interval (ms)</span>
            <input value={f.remusIntervalMs} onChange={(e) => set('remusIntervalMs', e.target.value)} inputMode="numeric" size={7} disabled={locked} />
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={f.secondaryVerbose} onChange={(e) => set('secondaryVerbose', e.target.checked)} disabled={locked} />
          Verbose log from the secondary
        </label>
        <label className="check">
          <input type="checkbox" checked={f.checksumDisks} onChange={(e) => set('checksumDisks', e.target.checked)} disabled={locked} />
          Checksum the disk images (slow)
        </label>
        <label className="field">
          <span>Pair name</span>
          <input value={f.name} onChange={(e) => set('name', e.target.value)} placeholder={f.domain || 'the domain\'s name'} disabled={locked} />
        </label>
      </div>

      {checks !== null && verdict !== null && (
        <section aria-label="Preflight checklist" data-testid="preflight-checklist">
          <p className={`banner ${verdict.fails > 0 ? 'bad' : verdict.warns > 0 ? 'warn' : 'info'}`} role="status">
            {verdict.summary}
          </p>
          <ul style={{ listStyle: 'none', paddingLeft: 0 }}>
            {checks.map((c) => (
              <li key={c.id} data-testid={`check-${c.id}`} data-status={c.status}>
                <span className={`badge ${CHECK_TONE[c.status]}`}>{c.status}</span> <b>{c.label}</b>
                {c.detail !== undefined && <div className="small">{c.detail}</div>}
              </li>
            ))}
          </ul>
        </section>
      )}

      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={locked || typeof draft === 'string'}>
          {busy === 'preflight' ? 'Checking…' : 'Run preflight'}
        </button>
        <button type="button" onClick={add} disabled={locked || verdict === null || !verdict.canAdd}>
          {busy === 'add' ? 'Adding…' : 'Add pair'}
        </button>
        {added !== null && (
          <button type="button" onClick={start} disabled={busy !== null}>
            {busy === 'start' ? 'Starting…' : `Start protecting ${added.name}`}
          </button>
        )}
        <button type="button" onClick={onClose} disabled={busy !== null}>
          Close
        </button>
      </div>
      {added !== null && <p role="status">Pair {added.name} added. Start protection now, or later from its page.</p>}
    </form>
  );
}
