// Typed confirmation for destructive actions (DESIGN.md): the admin types the VM's name, exactly, and the dialog
// says beforehand what will happen to each side. Pure, so the wording and the check are unit-tested.

import type { HostInfo, PairInfo } from '../../../core/api/console-contract.js';
import { livePauseMs, splitCheckpoint } from './alarm';
import { formatDuration } from './format';

export type DestructiveAction = 'stop' | 'failover' | 'drill' | 'keep-primary' | 'keep-secondary';

/** Exact and case-sensitive, after Unicode NFC normalisation: what the service will compare. */
export function confirmNameMatches(typed: string, name: string): boolean {
  return name.length > 0 && typed.normalize('NFC') === name.normalize('NFC');
}

/**
 * Why a failover needs the admin's typed word that the primary is fenced (the backend cannot rule out a running
 * primary; QEMU: pair.qemu.fencingRequired), or null when it does not.
 */
export function fencingReason(pair: PairInfo): string | null {
  return pair.qemu?.fencingRequired ?? null;
}

/**
 * A refusal from the service saying the failover needs the fencing confirmation (it appeared meanwhile): the
 * backend's words ask the admin to confirm by typing the host's name, or speak of fencing.
 */
export function isFencingRefusal(message: string): boolean {
  return /\bfenc|confirm by typing/i.test(message);
}

/** A failover's fencing step: the primary host's name, and why it must be typed (null: not needed yet). */
export interface FenceStep {
  host: string;
  required: string | null;
}

/**
 * Whether the dialog may confirm, and the fencing reason to show: the VM's name must match and, once fencing is
 * needed (the pair says so, or the service refused for want of it), the primary host's name too.
 */
export function confirmReady(typed: string, name: string, fence: FenceStep | undefined, fenceTyped: string, refusal: string | null): { ready: boolean; fenceReason: string | null } {
  const fenceReason = fence === undefined ? null : (fence.required ?? refusal);
  const fenced = fence === undefined || fenceReason === null || confirmNameMatches(fenceTyped, fence.host);
  return { ready: confirmNameMatches(typed, name) && fenced, fenceReason };
}

/** A nudge when the typed text is nearly right; null when it matches or is plainly different. */
export function confirmHint(typed: string, name: string, what = 'the VM’s name'): string | null {
  if (typed === '' || confirmNameMatches(typed, name)) return null;
  if (typed.trim() === name) return 'Remove the spaces before or after the name.';
  if (typed.toLowerCase() === name.toLowerCase()) return 'The name is case-sensitive.';
  if (name.startsWith(typed)) return null;
  return `This is not ${what}.`;
}

export interface SideEffect {
  role: 'Primary' | 'Secondary';
  host: string;
  hostStatus: string;
  effect: string;
}

export interface ActionPlan {
  title: string;
  verb: string;
  summary: string;
  sides: SideEffect[];
  afterwards: string;
}

function hostLabel(hosts: readonly HostInfo[], id: string): { name: string; status: string } {
  const h = hosts.find((x) => x.id === id);
  if (h === undefined) return { name: id, status: 'unknown' };
  return { name: h.name, status: h.status + (h.statusReason ? ` (${h.statusReason})` : '') };
}

/** `now`: the store's clock, for how long a frozen guest has been paused. */
export function describeAction(action: DestructiveAction, pair: PairInfo, hosts: readonly HostInfo[], now: number = Date.now()): ActionPlan {
  const p = hostLabel(hosts, pair.primaryHostId);
  const s = hostLabel(hosts, pair.secondaryHostId);
  const seq = pair.stats.lastSeq;
  const fromCheckpoint = seq === null ? 'its last checkpoint' : `checkpoint #${seq}`;
  const colo = pair.mode === 'colo';
  const side = (role: SideEffect['role'], h: { name: string; status: string }, effect: string): SideEffect => ({
    role,
    host: h.name,
    hostStatus: h.status,
    effect,
  });
  switch (action) {
    case 'stop': {
      const paused = pair.alarm?.kind === 'guest-frozen' ? livePauseMs(pair.openCheckpoint, now) : null;
      if (paused !== null) {
        return {
          title: `Stop protecting ${pair.name}?`,
          verb: 'Stop protection',
          summary: `The guest has been paused for ${formatDuration(paused)} in a checkpoint that does not finish. Stopping protection destroys the secondary’s copy, as Xen does, so the primary can resume.`,
          sides: [
            side('Primary', p, 'Resumes the paused guest and keeps running it, unprotected. Its output is no longer held for checkpoints.'),
            side('Secondary', s, 'Its copy of the VM is stopped and discarded (destroyed), with the unfinished checkpoint.'),
          ],
          afterwards: 'The VM runs on the primary, not protected until protection is started again, which copies its whole memory anew.',
        };
      }
      return {
        title: `Stop protecting ${pair.name}?`,
        verb: 'Stop protection',
        summary: 'Checkpoints stop. The VM keeps running on the primary, without a standby copy.',
        sides: [
          side('Primary', p, 'Keeps running the VM. Its output is no longer held for checkpoints.'),
          side('Secondary', s, 'Its copy of the VM is stopped and discarded.'),
        ],
        afterwards: 'The VM is not protected until protection is started again, which copies its whole memory anew.',
      };
    }
    case 'keep-primary':
    case 'keep-secondary': {
      const keepPrimary = action === 'keep-primary';
      const kept = keepPrimary ? p : s;
      const lost = keepPrimary ? s : p;
      const n = splitCheckpoint(pair);
      const since = n === null ? 'since the last checkpoint both shared' : `since checkpoint #${n}`;
      const keepEffect = 'Its copy keeps running and becomes the only copy of the VM.';
      const loseEffect = `Its copy is destroyed: every write it made ${since} is lost.`;
      return {
        title: `Keep the copy on ${kept.name}?`,
        verb: `Keep the copy on ${kept.name}`,
        summary: `Ends the split brain: the copy on ${kept.name} keeps running; the copy on ${lost.name} is destroyed, and with it the writes made there ${since}. This cannot be undone.`,
        sides: [
          side('Primary', p, keepPrimary ? keepEffect : loseEffect),
          side('Secondary', s, keepPrimary ? loseEffect : keepEffect),
        ],
        afterwards: `The VM runs on ${kept.name}, not protected until protection is started again.`,
      };
    }
    case 'failover':
      return {
        title: `Fail ${pair.name} over to the secondary?`,
        verb: 'Fail over',
        summary: 'The secondary becomes the only running copy of the VM. This cannot be undone from here.',
        sides: [
          side(
            'Primary',
            p,
            fencingReason(pair) !== null
              ? 'The console cannot stop it: you confirm that it is fenced (powered off or cut off). Anything it did after the last checkpoint is discarded.'
              : 'Is stopped and no longer runs the VM. Anything it did after the last checkpoint is discarded.',
          ),
          side(
            'Secondary',
            s,
            colo
              ? `Takes over and keeps running from its own lock-stepped state, last synchronised at ${fromCheckpoint}; held output is released.`
              : `Takes over from ${fromCheckpoint}; output held since then is released.`,
          ),
        ],
        afterwards: 'The VM is not protected afterwards: there is no standby copy until protection is started again.',
      };
    case 'drill':
      return {
        title: `Run a failover drill on ${pair.name}?`,
        verb: 'Run drill',
        summary: 'A real failover, on purpose, then protection is re-established. The report shows the guest’s downtime and the time to re-protect.',
        sides: [
          side('Primary', p, 'Is stopped as if it had failed.'),
          side('Secondary', s, `Takes over from ${fromCheckpoint}; then a new standby copy is synchronised.`),
        ],
        afterwards: 'The VM is briefly paused and is not protected until the new standby copy is in sync.',
      };
  }
}
