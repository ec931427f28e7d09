export {
  syncYouTubeAccount,
  type SyncAccountRef,
  type YouTubeSyncDeps,
  type YouTubeSyncResult,
} from './youtube-sync.service.js';
export {
  ensureAccount,
  type AccountRow,
  type SyncJobRow,
  type SyncJobStatus,
  type SyncTaskKind,
  type SyncTaskRow,
  type SyncTaskStatus,
} from './sync.repository.js';
