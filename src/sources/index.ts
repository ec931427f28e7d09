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
} from './source.js';
export { SOURCE_KINDS, openSource, assertSafeRemoteQuery, withSource, type SourceDeps } from './registry.js';
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
