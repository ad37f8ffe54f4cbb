// The RPC's public face: everything the two ends need, and nothing that touches node:* or the DOM, so the same
// module runs in the service process, in Electron's preload and in the browser renderer.

export {
  type AnyContract,
  type CallRequest,
  type CallResponse,
  type Contract,
  type DeliveryPolicy,
  type HandlerRequest,
  type HandlerResponse,
  type MethodName,
  type MethodSpec,
  type SourceEvent,
  type SourceParams,
  type TopicEvent,
  type TopicName,
  type TopicParams,
  type TopicSpec,
  DEFAULT_QUEUE_LIMIT,
  MAX_QUEUE_LIMIT,
  defineContract,
} from './contract.js';
export { RPC_ERROR_CODES, RpcError, type RpcErrorCode, type RpcErrorData } from './errors.js';
export type { RpcChannel } from './protocol.js';
export {
  type CallOptions,
  type ClientOptions,
  type DropNotice,
  type RpcClient,
  type Subscription,
  DEFAULT_TIMEOUT_MS,
  createClient,
} from './client.js';
export {
  type CallContext,
  type Disposer,
  type Handlers,
  type MethodHandler,
  type RpcServer,
  type ServeOptions,
  type TopicSink,
  type TopicSource,
  DEFAULT_FLUSH_MS,
  MAX_FLUSH_MS,
  MIN_FLUSH_MS,
  serve,
} from './server.js';
