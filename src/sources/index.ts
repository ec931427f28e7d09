export type {
  ConnectionProbe,
  OpenOptions,
  ReconcileShape,
  RemoteColumn,
  RemoteEndpoint,
  RemoteSource,
  RemoteSummary,
  SourceBatch,
  SourceKind,
  SourceSnapshot,
} from './source.js';
export {
  DEFAULT_LANES,
  DEFAULT_COMMIT_GROUP_MS,
  SOURCE_KINDS,
  openSource,
  assertSafeRemoteQuery,
  withSource,
  type SourceDeps,
} from './registry.js';
export {
  createConnection,
  deleteConnection,
  getConnectionRow,
  listConnections,
  presentConnection,
  testConnection,
  type ConnectionTestResult,
  type ConnectionView,
} from './connections.service.js';
export { resolveRemotePlan } from './remote-plan.js';
