export {
  type CommentRow,
  type PostRow,
  type ProfileRow,
  type QuarantineInsert,
  type RawKind,
  type RawResponseInsert,
  type SyncJobStatus,
  type SyncTaskKind,
  type SyncTaskStatus,
} from './sync.repository.js';
// The adapter contract (PlatformAdapter, pages, rows, failures): what a connector implements.
export type * from './platform.js';
export { PLATFORMS } from './platform.js';
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
} from './sync-status.repository.js';
export {
  replayRawZone,
  type RawReplayer,
  type ReplayDeps,
  type ReplayOptions,
  type ReplaySummary,
} from './replay.js';
