// The step an SSH host is at, and the one action that moves it on: trust an unknown host key (once, or saved to
// the console's known_hosts), enter a key's passphrase or this session's password, try again. A changed or
// revoked key is the loudest alert there is, with both fingerprints and no way to accept it from here.

import { type FormEvent, useEffect, useId, useState } from 'react';
import type { HostInfo } from '../../../core/api/console-contract.js';
import { api, errorMessage } from '../api/console-api';
import { fingerprintLine, hostSettling, hostStep } from '../lib/hosts';
import { refreshHosts } from '../store/sync';

const SETTLE_POLL_MS = 1000;

interface Props {
  host: HostInfo;
}

export function HostSetup({ host }: Props) {
  const step = hostStep(host);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState('');
  const secretId = useId();

  // While an attempt is under way or due, follow it closely.
  const settling = hostSettling(host);
  useEffect(() => {
    if (!settling) return;
    const timer = setInterval(() => {
      refreshHosts().catch(() => undefined);
    }, SETTLE_POLL_MS);
    return () => clearInterval(timer);
  }, [settling]);

  const run = (what: () => Promise<unknown>): void => {
    setBusy(true);
    setError(null);
    what()
      .then(() => refreshHosts())
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(false));
  };

  const trust = (save: boolean): void => {
    const fp = host.hostKey?.fingerprint;
    if (fp === undefined) return;
    run(() => api.call('hosts.trustKey', { hostId: host.id, fingerprint: fp, save }));
  };

  const unlock = (e: FormEvent): void => {
    e.preventDefault();
    if (secret === '') return;
    const value = secret;
    // The field is cleared at once: the secret lives in the main process's memory, not in this page's state.
    setSecret('');
    run(() => api.call('hosts.unlock', step.kind === 'password' ? { hostId: host.id, password: value } : { hostId: host.id, passphrase: value }));
  };

  const retry = (): void => run(() => api.call('hosts.retry', { hostId: host.id }));

  const key = host.hostKey;
  return (
    <div className="stack" data-testid={`host-setup-${host.id}`} data-step={step.kind}>
      {step.kind === 'key-changed' && key !== undefined && (
        <section className="banner bad alarm-banner" role="alert" aria-label="Host key changed" data-testid="host-key-changed">
          <div>
            <h2 style={{ margin: 0 }}>WARNING: the host key of {key.presentedBy} has CHANGED</h2>
            <p>Someone may be intercepting the connection, or the host was reinstalled. The console refused to connect and sent nothing.</p>
            <p>
              Now presented: <span className="mono">{fingerprintLine(key.keyType, key.fingerprint)}</span>
            </p>
            <p>Known for this host:</p>
            <ul className="mono">
              {(key.knownFingerprints ?? []).map((k) => (
                <li key={k}>{k}</li>
              ))}
            </ul>
            {host.statusReason !== undefined && <p className="small">{host.statusReason}</p>}
            <p className="small">This key cannot be trusted from the console. Check it with the host's administrator, remove the old line, then try again.</p>
            <button type="button" onClick={retry} disabled={busy}>
              Try again
            </button>
          </div>
        </section>
      )}
      {step.kind === 'key-revoked' && key !== undefined && (
        <section className="banner bad alarm-banner" role="alert" aria-label="Host key revoked" data-testid="host-key-revoked">
          <div>
            <h2 style={{ margin: 0 }}>The host key of {key.presentedBy} is REVOKED</h2>
            <p className="mono">{fingerprintLine(key.keyType, key.fingerprint)}</p>
            {host.statusReason !== undefined && <p className="small">{host.statusReason}</p>}
          </div>
        </section>
      )}
      {step.kind === 'trust-key' && key !== undefined && (
        <section className="panel" role="group" aria-label="Host key" data-testid="host-key-unknown">
          <h2>Is this the right host?</h2>
          <p>
            The authenticity of host <span className="mono">{key.presentedBy}</span> can't be established.
          </p>
          <p className="mono" data-testid="host-key-fingerprint">
            {fingerprintLine(key.keyType, key.fingerprint)}
          </p>
          <p className="small muted">Compare it with the host's own key (on the host: ssh-keygen -lf /etc/ssh/ssh_host_{key.keyType.toLowerCase()}_key.pub) before trusting it.</p>
          <div className="row">
            <button type="button" onClick={() => trust(false)} disabled={busy}>
              Trust once
            </button>
            <button type="button" onClick={() => trust(true)} disabled={busy}>
              Save to the console's known_hosts
            </button>
          </div>
        </section>
      )}
      {(step.kind === 'passphrase' || step.kind === 'password') && (
        <form className="panel" onSubmit={unlock} aria-label={step.kind === 'password' ? 'Password' : 'Key passphrase'}>
          <p>{host.statusReason}</p>
          <label className="field" htmlFor={secretId}>
            <span>{step.kind === 'password' ? `Password for ${host.user ?? 'the user'} on ${host.name} (this session only)` : `Passphrase for ${host.keyPath ?? 'the key'}`}</span>
          </label>
          <div className="row">
            <input id={secretId} type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="off" disabled={busy} />
            <button type="submit" disabled={busy || secret === ''}>
              {busy ? 'Connecting…' : 'Unlock'}
            </button>
          </div>
          <p className="small muted">Kept in the console's memory until it quits; never written to disk.</p>
        </form>
      )}
      {(step.kind === 'error' || step.kind === 'waiting') && (
        <p className={`banner ${step.kind === 'error' ? 'bad' : 'warn'}`} role="status">
          <span>{step.reason}</span>
          <button type="button" onClick={retry} disabled={busy}>
            {step.kind === 'error' ? 'Try again' : 'Try now'}
          </button>
        </p>
      )}
      {step.kind === 'connecting' && (
        <p className="muted" role="status">
          Connecting…
        </p>
      )}
      {error !== null && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
