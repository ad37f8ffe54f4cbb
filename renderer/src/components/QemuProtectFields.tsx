// The QEMU part of "Protect a VM": attach to two running QEMUs (their QMP sockets, the incoming URI) or have the
// console launch both (the VM definition, defaults as placeholders); then how the console watches the pair. Each
// field shows the schema's complaint beside it.

import { type ReactElement, useId } from 'react';
import {
  LAUNCH_FIELDS, NETWORK_FIELDS, NUMERIC_FIELDS, QEMU_FIELD_LABEL, QEMU_NETWORK_TEXT, QEMU_PLACEHOLDER, type QemuField, type QemuFieldErrors, type QemuNetwork, type QemuProtectForm,
  type QemuWay,
} from '../lib/qemu';
import { Segmented } from './Segmented';

type TextField = Exclude<QemuField, 'autoFailover' | 'accel' | 'diskFormat' | 'network'>;

interface Props {
  form: QemuProtectForm;
  errors: QemuFieldErrors;
  /** Show the complaints of empty fields too (after a preflight was asked for). */
  tried: boolean;
  onChange: (next: Partial<QemuProtectForm>) => void;
  disabled: boolean;
}

const PATHS: ReadonlySet<QemuField> = new Set(['primaryQmp', 'secondaryQmp', 'binary', 'disk', 'scratchDir']);

function FieldError({ id, text }: { id: string; text: string | undefined }) {
  if (text === undefined) return null;
  return (
    <span className="error-text small" id={id} role="alert">
      {text}
    </span>
  );
}

function QemuInput({ k, form, errors, tried, onChange, disabled }: Props & { k: TextField }) {
  const errId = useId();
  const value = form[k];
  const error = tried || value.trim() !== '' ? errors[k] : undefined;
  return (
    <label className="field">
      <span>{QEMU_FIELD_LABEL[k]}</span>
      <input
        value={value}
        onChange={(e) => onChange({ [k]: e.target.value })}
        placeholder={QEMU_PLACEHOLDER[k]}
        inputMode={NUMERIC_FIELDS.has(k) ? 'numeric' : undefined}
        size={PATHS.has(k) ? 32 : NUMERIC_FIELDS.has(k) ? 8 : 18}
        spellCheck={false}
        autoComplete="off"
        disabled={disabled}
        aria-invalid={error !== undefined}
        aria-describedby={error !== undefined ? errId : undefined}
        data-testid={`qemu-${k}`}
      />
      <FieldError id={errId} text={error} />
    </label>
  );
}

function QemuSelect<K extends 'accel' | 'diskFormat'>({ k, options, fallback, form, errors, onChange, disabled }: Props & { k: K; options: readonly string[]; fallback: string }) {
  return (
    <label className="field">
      <span>{QEMU_FIELD_LABEL[k]}</span>
      <select value={form[k]} onChange={(e) => onChange({ [k]: e.target.value })} disabled={disabled} data-testid={`qemu-${k}`}>
        <option value="">default ({fallback})</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
      <FieldError id={`${k}-error`} text={errors[k]} />
    </label>
  );
}

const NETWORKS: readonly QemuNetwork[] = ['none', 'user', 'bridge'];

/** The launched guest's network: the choice with its one-sentence meaning, then what that choice needs. */
function NetworkFields(props: Props & { input: (k: TextField) => ReactElement }) {
  const { form, onChange, disabled, input } = props;
  const describedBy = useId();
  return (
    <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }} data-testid="qemu-network-fields">
      <legend className="small muted">The guest's network (behind COLO's packet comparison)</legend>
      <div className="row" style={{ alignItems: 'flex-end' }}>
        <label className="field">
          <span>{QEMU_FIELD_LABEL.network}</span>
          <select value={form.network} onChange={(e) => onChange({ network: e.target.value as QemuNetwork })} disabled={disabled} aria-describedby={describedBy} data-testid="qemu-network">
            {NETWORKS.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        {form.network === 'bridge' && input('bridge')}
      </div>
      <p className="small muted" id={describedBy} data-testid="qemu-network-text" style={{ margin: 0 }}>
        {QEMU_NETWORK_TEXT[form.network]}
      </p>
      {form.network !== 'none' && <div className="row">{NETWORK_FIELDS.map((k) => input(k))}</div>}
    </fieldset>
  );
}

export function QemuProtectFields(props: Props) {
  const { form, onChange, disabled } = props;
  const input = (k: TextField) => <QemuInput key={k} k={k} {...props} />;
  const launch = form.way === 'launch';
  return (
    <>
      <Segmented<QemuWay>
        legend="How the console finds the VM"
        value={form.way}
        options={[{ value: 'attach', label: 'Attach to running QEMUs' }, { value: 'launch', label: 'Launch both QEMUs' }]}
        onChange={(way) => onChange({ way })}
        disabled={disabled}
        testId="qemu-way"
      />
      <p className="small muted">
        {launch
          ? 'The console starts the primary and the secondary QEMU over SSH from the definition below; the preflight shows the exact command lines.'
          : 'The primary QEMU runs the VM and the secondary waits with -incoming; the console drives both through their QMP sockets.'}
      </p>
      <div className="row">
        {input('primaryQmp')}
        {input('secondaryQmp')}
        {!launch && input('incomingUri')}
        {input('checkpointDelayMs')}
      </div>
      {launch && (
        <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }} data-testid="qemu-definition">
          <legend className="small muted">VM definition (the same on both hosts; empty fields take the default shown)</legend>
          <div className="row">
            {LAUNCH_FIELDS.filter((k) => k !== 'accel' && k !== 'diskFormat').map((k) => input(k as TextField))}
            <QemuSelect {...props} k="accel" options={['kvm', 'tcg']} fallback="kvm" />
            <QemuSelect {...props} k="diskFormat" options={['raw', 'qcow2']} fallback="raw" />
          </div>
          <NetworkFields {...props} input={input} />
        </fieldset>
      )}
      <div className="row">
        {input('heartbeatIntervalMs')}
        {input('heartbeatMisses')}
        <label className="check" style={{ maxWidth: '32rem' }}>
          <input type="checkbox" checked={form.autoFailover} onChange={(e) => onChange({ autoFailover: e.target.checked })} disabled={disabled} data-testid="qemu-autoFailover" />
          <span>
            Automatic failover
            <span className="small muted" style={{ display: 'block' }}>
              The console promotes the secondary by itself only when the primary’s QEMU is gone for certain: its host answers and its monitor socket is gone.
            </span>
          </span>
        </label>
      </div>
    </>
  );
}
