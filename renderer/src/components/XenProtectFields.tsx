// The Xen part of "Protect a VM": the secondary's address as the primary reaches it, COLO (optionally with the
// userspace proxy) or Remus with its interval, and the log and checksum options.

import type { HostInfo } from '../../../core/api/console-contract.js';
import type { ProtectForm } from '../lib/hosts';
import { Segmented } from './Segmented';

interface Props {
  form: ProtectForm;
  secondary: HostInfo | undefined;
  set: <K extends keyof ProtectForm>(k: K, v: ProtectForm[K]) => void;
  disabled: boolean;
}

export function XenProtectFields({ form: f, secondary, set, disabled }: Props) {
  return (
    <>
      <div className="row">
        <label className="field">
          <span>Secondary's address, as the primary reaches it</span>
          <input value={f.secondaryAddress} onChange={(e) => set('secondaryAddress', e.target.value)} placeholder={secondary?.address ?? 'the secondary host\'s address'} spellCheck={false} disabled={disabled} />
        </label>
      </div>
      <Segmented
        legend="Replication"
        value={f.mode}
        options={[{ value: 'colo', label: 'COLO' }, { value: 'remus', label: 'Remus' }]}
        onChange={(v) => set('mode', v)}
        disabled={disabled}
      />
      <div className="row">
        {f.mode === 'colo' ? (
          <label className="check">
            <input type="checkbox" checked={f.userspaceProxy} onChange={(e) => set('userspaceProxy', e.target.checked)} disabled={disabled} />
            Userspace proxy (xl remus -p)
          </label>
        ) : (
          <label className="field">
            <span>Checkpoint interval (ms)</span>
            <input value={f.remusIntervalMs} onChange={(e) => set('remusIntervalMs', e.target.value)} inputMode="numeric" size={7} disabled={disabled} />
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={f.secondaryVerbose} onChange={(e) => set('secondaryVerbose', e.target.checked)} disabled={disabled} />
          Verbose log from the secondary
        </label>
        <label className="check">
          <input type="checkbox" checked={f.checksumDisks} onChange={(e) => set('checksumDisks', e.target.checked)} disabled={disabled} />
          Checksum the disk images (slow)
        </label>
      </div>
    </>
  );
}
