// The ReplicationBackend for QEMU COLO pairs over SSH (issue 9). Work in progress: the handle comes next.

import type { BackendCapabilities, BackendContext, DomainSummary, HostLinks, HostProbe, PairEvents, PairHandle, PairSpec, PreflightCheck, ReplicationBackend } from '../../service/backend.js';
import type { HostRecord } from '../../service/registry.js';

export interface QemuBackendOptions {
  links: HostLinks;
  clock?: () => number;
}

export class QemuBackend implements ReplicationBackend {
  readonly kind = 'qemu';
  readonly capabilities: BackendCapabilities = { checkpoints: 'observed', manualCheckpoint: false, modes: ['colo'], attach: true, simulation: false, failoverWhileFrozen: true };

  constructor(private readonly o: QemuBackendOptions) {}

  probe(_host: HostRecord, _ctx: BackendContext): Promise<HostProbe> {
    return Promise.reject(new Error('not yet'));
  }

  inventory(_host: HostRecord, _ctx: BackendContext): Promise<DomainSummary[]> {
    return Promise.resolve([]);
  }

  preflight(_pair: PairSpec, _ctx: BackendContext): Promise<PreflightCheck[]> {
    return Promise.resolve([]);
  }

  protect(_pair: PairSpec, _events: PairEvents, _ctx: BackendContext): Promise<PairHandle> {
    return Promise.reject(new Error('not yet'));
  }

  close(): Promise<void> {
    void this.o;
    return Promise.resolve();
  }
}
