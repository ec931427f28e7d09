export { type RawResponseInsert } from '../db/repositories/social-tables.repository.js';
export {
  type SyncJobStatus,
  type SyncTaskKind,
  type SyncTaskStatus,
} from '../db/repositories/sync-jobs.repository.js';
export {
  listQuotaStatus,
  listRunJobs,
  type RunJobRow,
  MAX_LISTED_FAILURES,
  readSyncSummary,
  SYNC_JOB_STATUSES,
  SYNC_TASK_STATUSES,
  type QuotaStatusRow,
  type SyncFailure,
  type SyncRunRef,
  type SyncSummary,
} from '../db/repositories/sync-status.repository.js';
export {
  replayRawZone,
  type RawReplayer,
  type ReplayDeps,
  type ReplayOptions,
  type ReplaySummary,
} from './replay.js';
// The platforms the engine syncs, for the api and cli; the rest of the contract is imported from
// src/connectors/connector.ts itself.
export { PLATFORMS, type Platform } from '../connectors/connector.js';
export { pruneOnce, scheduleRetention, type PruneResult, type RetentionPolicy } from './retention.js';
export { retentionStatus } from '../db/repositories/retention.repository.js';
export { planQuotas, type QuotaPlan } from './quota-plan.js';
