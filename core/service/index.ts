// core/service's public face for electron/ and core/cli/: the service, its RPC handlers, and the backend
// interface the Xen and QEMU backends will implement.

export { ConsoleService, type ConsoleServiceOptions, type OutputEvent, SYSTEM_ACTOR, consoleHandlers, localActor, type HandlerOptions } from './console-service.js';
export type {
  BackendCapabilities,
  BackendContext,
  BackendKind,
  DomainSummary,
  FailoverResult,
  HostCommand,
  HostProbe,
  PairEvents,
  PairHandle,
  PairSpec,
  PreflightCheck,
  ReplicationBackend,
  SimControls,
} from './backend.js';
export type { Problem } from './files.js';
export type { AuditVerdict } from './audit.js';
export { SimBackend } from './sim-backend.js';
