// "Add host": an address or a ~/.ssh/config alias, the user and how to log in. On success the host's own view
// opens, where the host-key step, the passphrase and the probe follow.

import { type FormEvent, useState } from 'react';
import { api, errorMessage } from '../api/console-api';
import { type AddHostForm as Form, EMPTY_ADD_HOST, addHostRequest } from '../lib/hosts';
import { hrefFor } from '../lib/route';
import { refreshHosts } from '../store/sync';
import { Segmented } from './Segmented';

interface Props {
  onClose: () => void;
}

export function AddHostForm({ onClose }: Props) {
  const [f, setF] = useState<Form>(EMPTY_ADD_HOST);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = <K extends keyof Form>(k: K, v: Form[K]): void => setF((x) => ({ ...x, [k]: v }));

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const req = addHostRequest(f);
    if (typeof req === 'string') {
      setError(req);
      return;
    }
    setBusy(true);
    setError(null);
    api.call('hosts.add', req, { timeoutMs: 60_000 }).then(
      async (host) => {
        await refreshHosts().catch(() => undefined);
        setBusy(false);
        location.hash = hrefFor({ name: 'host', id: host.id });
      },
      (err: unknown) => {
        setBusy(false);
        setError(errorMessage(err));
      },
    );
  };

  const alias = f.targetKind === 'alias';
  return (
    <form className="panel stack" onSubmit={submit} aria-label="Add host" data-testid="add-host-form">
      <h2>Add a host</h2>
      <Segmented
        legend="Connect by"
        value={f.targetKind}
        options={[{ value: 'address', label: 'Address' }, { value: 'alias', label: 'ssh-config alias' }]}
        onChange={(v) => set('targetKind', v)}
        disabled={busy}
      />
      <div className="row">
        <label className="field">
          <span>{alias ? 'Alias (a Host in ~/.ssh/config)' : 'Address'}</span>
          <input value={f.target} onChange={(e) => set('target', e.target.value)} placeholder={alias ? 'xen-a' : '192.0.2.10'} spellCheck={false} autoComplete="off" disabled={busy} required />
        </label>
        <label className="field">
          <span>Port</span>
          <input value={f.port} onChange={(e) => set('port', e.target.value)} placeholder={alias ? 'from the config' : '22'} inputMode="numeric" size={7} disabled={busy} />
        </label>
        <label className="field">
          <span>User</span>
          <input value={f.user} onChange={(e) => set('user', e.target.value)} placeholder={alias ? 'from the config' : 'root'} spellCheck={false} autoComplete="off" disabled={busy} />
        </label>
        <label className="field">
          <span>Name</span>
          <input value={f.name} onChange={(e) => set('name', e.target.value)} placeholder={f.target || 'as shown in the console'} disabled={busy} />
        </label>
      </div>
      <div className="row">
        <label className="field">
          <span>Authentication</span>
          <select value={f.auth} onChange={(e) => set('auth', e.target.value as Form['auth'])} disabled={busy}>
            <option value="agent">SSH agent</option>
            <option value="key">Key file</option>
            <option value="password">Password (asked each session, never stored)</option>
          </select>
        </label>
        {f.auth === 'key' && (
          <label className="field">
            <span>Key file</span>
            <input value={f.keyPath} onChange={(e) => set('keyPath', e.target.value)} placeholder={alias ? "the alias's IdentityFile" : '/root/.ssh/id_ed25519'} spellCheck={false} size={36} disabled={busy} />
          </label>
        )}
        <label className="field">
          <span>Hypervisor</span>
          <select value={f.hypervisor} onChange={(e) => set('hypervisor', e.target.value as Form['hypervisor'])} disabled={busy}>
            <option value="xen">Xen (xl)</option>
            <option value="qemu">QEMU</option>
          </select>
        </label>
      </div>
      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Connecting…' : 'Add host'}
        </button>
        <button type="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
