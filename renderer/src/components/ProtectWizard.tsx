// "Protect a VM": the hypervisor first (Xen or QEMU), then the primary host and its VM, the secondary; for Xen COLO
// (optionally with the userspace proxy) or Remus (its interval); for QEMU attach or launch and the watch settings
// (QemuProtectFields). Then the preflight checklist with each check's reason and fix, and the command lines the
// console will run; then add the pair and start it.

import { type FormEvent, useEffect, useState } from 'react';
import type { DomainSummaryInfo, HostInfo, PairInfo, PreflightCheckInfo } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { EMPTY_PROTECT, type ProtectForm, pairDraftOf, preflightVerdict } from '../lib/hosts';
import { type QemuProtectForm, prefillQmp, qemuOptionsOf, splitCommandLines } from '../lib/qemu';
import { hrefFor } from '../lib/route';
import { CommandLines } from './CommandLines';
import { QemuProtectFields } from './QemuProtectFields';
import { Segmented } from './Segmented';
import { XenProtectFields } from './XenProtectFields';

const CHECK_TONE: Readonly<Record<PreflightCheckInfo['status'], string>> = { pass: 'ok', warn: 'warn', fail: 'bad' };

interface Props {
  hosts: readonly HostInfo[];
  onClose: () => void;
}

/** A host's domains, listed once it is picked; null until they arrive. */
function useDomains(hostId: string, onError: (message: string) => void): DomainSummaryInfo[] | null {
  const [listed, setListed] = useState<{ hostId: string; domains: DomainSummaryInfo[] } | null>(null);
  useEffect(() => {
    if (hostId === '') return;
    let live = true;
    api.call('hosts.domains', { hostId }, { timeoutMs: 60_000 }).then(
      (d) => live && setListed({ hostId, domains: d }),
      (err: unknown) => live && onError(`Could not list the domains: ${errorMessage(err)}`),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- onError is the caller's setter
  }, [hostId]);
  return listed !== null && listed.hostId === hostId ? listed.domains : null;
}

function countSsh(hosts: readonly HostInfo[], hypervisor: 'xen' | 'qemu'): number {
  return hosts.filter((h) => h.kind === 'ssh' && h.hypervisor === hypervisor).length;
}

function Checklist({ checks }: { checks: readonly PreflightCheckInfo[] }) {
  return (
    <ul style={{ listStyle: 'none', paddingLeft: 0 }}>
      {checks.map((c) => (
        <li key={c.id} data-testid={`check-${c.id}`} data-status={c.status}>
          <span className={`badge ${CHECK_TONE[c.status]}`}>{c.status}</span> <b>{c.label}</b>
          {c.detail !== undefined && <div className="small">{c.detail}</div>}
        </li>
      ))}
    </ul>
  );
}

export function ProtectWizard({ hosts, onClose }: Props) {
  // QEMU first where only QEMU hosts are there to protect with.
  const [f, setF] = useState<ProtectForm>(() => ({ ...EMPTY_PROTECT, backend: countSsh(hosts, 'xen') < 2 && countSsh(hosts, 'qemu') >= 2 ? 'qemu' : 'xen' }));
  const candidates = hosts.filter((h) => h.kind === 'ssh' && h.hypervisor === f.backend);
  const [checks, setChecks] = useState<PreflightCheckInfo[] | null>(null);
  const [added, setAdded] = useState<PairInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tried, setTried] = useState(false);
  const primaryDomains = useDomains(f.primaryHostId, setError);
  const secondaryDomains = useDomains(f.backend === 'qemu' ? f.secondaryHostId : '', setError);
  const qemu = f.backend === 'qemu';
  const set = <K extends keyof ProtectForm>(k: K, v: ProtectForm[K]): void => {
    setF((x) => ({ ...x, [k]: v }));
    // Any change makes the last checklist stale.
    setChecks(null);
  };
  const setQemu = (next: Partial<QemuProtectForm>): void => {
    setF((x) => ({ ...x, qemu: { ...x.qemu, ...next } }));
    setChecks(null);
  };

  // Attach: the sockets as the hosts' domain lists give them, where the admin has not typed one (derived, so a
  // list that arrives late still fills them, and what the admin types always wins).
  const qf = qemu && f.qemu.way === 'attach' && f.domain.trim() !== '' ? prefillQmp(f.qemu, f.domain.trim(), primaryDomains, secondaryDomains) : f.qemu;
  const form: ProtectForm = { ...f, qemu: qf };

  const draft = pairDraftOf(form);
  const qemuCheck = qemuOptionsOf(qf);
  const fieldErrors = 'errors' in qemuCheck ? qemuCheck.errors : {};
  const verdict = checks === null ? null : preflightVerdict(checks);
  const split = checks === null ? null : splitCommandLines(checks);

  const step = (name: string, what: () => Promise<void>): void => {
    setBusy(name);
    setError(null);
    what().catch((err: unknown) => setError(errorMessage(err))).finally(() => setBusy(null));
  };

  const preflight = (e: FormEvent): void => {
    e.preventDefault();
    setTried(true);
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

  const hostName = (id: string): string => hosts.find((h) => h.id === id)?.name ?? id;
  const locked = added !== null || busy !== null;
  const vmChoices = (primaryDomains ?? []).filter((d) => d.role !== 'secondary');
  return (
    <form className="panel stack" onSubmit={preflight} aria-label="Protect a VM" data-testid="protect-wizard">
      <h2>Protect a VM</h2>
      <Segmented
        legend="Hypervisor"
        value={f.backend}
        options={[{ value: 'xen', label: 'Xen' }, { value: 'qemu', label: 'QEMU' }]}
        onChange={(backend) => {
          setF({ ...EMPTY_PROTECT, backend, name: f.name });
          setChecks(null);
          setTried(false);
        }}
        disabled={locked}
        testId="protect-hypervisor"
      />
      {candidates.length < 2 && (
        <p className="banner warn">Add two {qemu ? 'QEMU' : 'Xen'} hosts first: the primary, where the VM runs, and the secondary.</p>
      )}
      <div className="row">
        <label className="field">
          <span>Primary host</span>
          <select value={f.primaryHostId} onChange={(e) => { setF((x) => ({ ...x, primaryHostId: e.target.value, domain: '' })); setChecks(null); }} disabled={locked} data-testid="protect-primary">
            <option value="">Choose…</option>
            {candidates.map((h) => (
              <option key={h.id} value={h.id} disabled={h.status !== 'connected'}>
                {h.name}
                {h.status !== 'connected' ? ` (${h.status})` : ''}
              </option>
            ))}
          </select>
        </label>
        {qemu ? (
          <label className="field">
            <span>VM name (its -name)</span>
            <input value={f.domain} onChange={(e) => set('domain', e.target.value)} list="protect-vms" spellCheck={false} autoComplete="off" disabled={locked} data-testid="protect-vm" />
            <datalist id="protect-vms">
              {vmChoices.map((d) => (
                <option key={d.name} value={d.name} />
              ))}
            </datalist>
          </label>
        ) : (
          <label className="field">
            <span>Domain</span>
            <select value={f.domain} onChange={(e) => set('domain', e.target.value)} disabled={locked || primaryDomains === null}>
              <option value="">{f.primaryHostId === '' ? 'Pick the primary first' : primaryDomains === null ? 'Loading…' : 'Choose…'}</option>
              {vmChoices.map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name} ({d.state})
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          <span>Secondary host</span>
          <select value={f.secondaryHostId} onChange={(e) => set('secondaryHostId', e.target.value)} disabled={locked} data-testid="protect-secondary">
            <option value="">Choose…</option>
            {candidates.filter((h) => h.id !== f.primaryHostId).map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Pair name</span>
          <input value={f.name} onChange={(e) => set('name', e.target.value)} placeholder={f.domain || 'the VM\'s name'} disabled={locked} />
        </label>
      </div>
      {qemu ? (
        <QemuProtectFields form={qf} errors={fieldErrors} tried={tried} onChange={setQemu} disabled={locked} />
      ) : (
        <XenProtectFields form={f} secondary={candidates.find((h) => h.id === f.secondaryHostId)} set={set} disabled={locked} />
      )}

      {checks !== null && verdict !== null && split !== null && (
        <section aria-label="Preflight checklist" data-testid="preflight-checklist">
          <p className={`banner ${verdict.fails > 0 ? 'bad' : verdict.warns > 0 ? 'warn' : 'info'}`} role="status">
            {verdict.summary}
          </p>
          <Checklist checks={split.others} />
          <CommandLines commands={split.commands} primaryName={hostName(f.primaryHostId)} secondaryName={hostName(f.secondaryHostId)} />
        </section>
      )}

      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={locked || (!qemu && typeof draft === 'string')} data-testid="protect-preflight">
          {busy === 'preflight' ? 'Checking…' : 'Run preflight'}
        </button>
        <button type="button" onClick={add} disabled={locked || verdict === null || !verdict.canAdd} data-testid="protect-add">
          {busy === 'add' ? 'Adding…' : 'Add pair'}
        </button>
        {added !== null && (
          <button type="button" onClick={start} disabled={busy !== null} data-testid="protect-start">
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
