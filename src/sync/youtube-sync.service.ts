import type { Logger } from 'pino';
import {
  mapChannel,
  mapComment,
  mapCommentThread,
  mapVideo,
  parseCount,
  parseTimestamp,
  type CommentsListParams,
  type Mapped,
  type CommentRecord,
  type PostRecord,
  type YouTubeClient,
  type YouTubeComment,
  type YouTubeCommentThread,
  type YouTubeError,
  type YouTubeResult,
} from '../connectors/youtube/index.js';
import { SiphonError, truncateMessage, type ErrorCode } from '../core/errors.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import * as repo from './sync.repository.js';
import type { RawKind, SyncJobRow, SyncTaskRow } from './sync.repository.js';
import {
  dedupeBy,
  oldest,
  partition,
  payloadHash,
  toCommentRow,
  toPostRow,
  toProfileRow,
  toQuarantineInsert,
} from './youtube-sync.mapper.js';

const PLATFORM = 'youtube';
const DAY_MS = 86_400_000;

export interface YouTubeSyncDeps {
  /** The writer pool. */
  readonly pool: Pool;
  readonly client: YouTubeClient;
  readonly logger?: Logger;
  /** Posts older than `last_synced_at - lookbackMs` end the posts pages. @default 7 days */
  readonly lookbackMs?: number;
  /** playlistItems page size (1–50). @default 50 */
  readonly pageSize?: number;
  /** The clock that stamps a new job's start (and so the next `last_synced_at`). @default Date.now */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

export interface SyncAccountRef {
  readonly id: string;
  readonly external_id: string;
}

export interface YouTubeSyncResult {
  readonly jobId: string;
  readonly status: 'SUCCESS' | 'FAILED';
  readonly resumed: boolean;
  readonly errorCode?: ErrorCode;
}

/** A failure that ends the job (quota, credential, permission, bad request, missing channel). */
class JobFailure extends Error {
  constructor(
    readonly task: SyncTaskRow,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Context {
  readonly deps: YouTubeSyncDeps;
  readonly job: SyncJobRow;
  readonly log: Logger | undefined;
}

interface RawPage {
  readonly kind: RawKind;
  readonly externalId: string;
  readonly request: { readonly path: string; readonly params: object };
  readonly payload: unknown;
}

/**
 * Syncs one YouTube account: profile, then the uploads pages newest first (down to last_synced_at
 * minus the lookback), then the comments of the recent posts. Resumable: state lives in
 * etl.sync_jobs/sync_tasks, every page commits with its cursor. Transient and rate-limited failures
 * throw a retryable SiphonError and leave the job RUNNING (call again to resume); quota and
 * credential failures end the job FAILED and are returned.
 */
export async function syncYouTubeAccount(
  deps: YouTubeSyncDeps,
  account: SyncAccountRef,
): Promise<YouTubeSyncResult> {
  const stored = await repo.getAccount(deps.pool, account.id);
  if (!stored) throw new Error(`no social account ${account.id}`);
  const running = await repo.findRunningJob(deps.pool, account.id);
  const job =
    running ?? (await repo.createJob(deps.pool, account.id, PLATFORM, new Date((deps.now ?? Date.now)())));
  const log = deps.logger?.child({ accountId: account.id, jobId: job.id, platform: PLATFORM });
  log?.info({ resumed: running !== undefined }, running ? 'sync:resumed' : 'sync:started');
  const ctx: Context = { deps, job, log };
  const cutoff =
    stored.last_synced_at === null ? null : stored.last_synced_at.getTime() - (deps.lookbackMs ?? 7 * DAY_MS);

  try {
    const profile = await repo.ensureTask(deps.pool, job.id, 'profile', account.external_id);
    if (profile.status === 'PENDING') await syncProfile(ctx, profile);
    for (const posts of await repo.listTasks(deps.pool, job.id, 'posts')) {
      if (posts.status === 'PENDING') await syncPosts(ctx, posts, cutoff);
    }
    for (const comments of await repo.listTasks(deps.pool, job.id, 'comments')) {
      if (comments.status === 'PENDING') await syncComments(ctx, comments);
    }
  } catch (error) {
    if (!(error instanceof JobFailure)) throw error;
    const failure = { code: error.code, message: truncateMessage(error.message) };
    await withTransaction(deps.pool, async (tx) => {
      await repo.finishTask(tx, error.task.id, 'FAILED', failure);
      await repo.finishJob(tx, job.id, 'FAILED', failure);
    });
    log?.warn({ code: error.code, taskId: error.task.id }, 'sync:failed');
    return { jobId: job.id, status: 'FAILED', resumed: running !== undefined, errorCode: error.code };
  }

  await withTransaction(deps.pool, async (tx) => {
    await repo.finishJob(tx, job.id, 'SUCCESS');
    await repo.setAccountLastSynced(tx, account.id, job.started_at);
  });
  log?.info('sync:succeeded');
  return { jobId: job.id, status: 'SUCCESS', resumed: running !== undefined };
}

type CallResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly gone: YouTubeError };

/**
 * One API call, counted on the job. Not-found comes back to the caller (skip the entity); transient
 * and rate-limited failures throw a retryable error; anything else ends the job.
 */
async function call<T>(
  ctx: Context,
  task: SyncTaskRow,
  request: () => Promise<YouTubeResult<T>>,
): Promise<CallResult<T>> {
  const result = await request();
  await repo.addJobCalls(ctx.deps.pool, ctx.job.id, 1);
  if (result.ok) return result;
  const { error } = result;
  switch (error.kind) {
    case 'not-found':
      return { ok: false, gone: error };
    case 'transient':
    case 'rate-limited': {
      const message = truncateMessage(`${error.method}: ${error.message}`);
      await repo.recordTaskAttemptFailure(ctx.deps.pool, task.id, { code: error.code, message });
      ctx.log?.warn({ code: error.code, taskId: task.id, retryAfterMs: error.retryAfterMs }, 'sync:retry');
      throw new SiphonError(error.code, message, {
        details: { jobId: ctx.job.id, taskId: task.id, retryAfterMs: error.retryAfterMs ?? null },
      });
    }
    case 'quota-exhausted':
    case 'auth':
    case 'permission':
    case 'bad-request':
      throw new JobFailure(task, error.code, `${error.method}: ${error.message}`);
    default: {
      const unreachable: never = error;
      throw new Error(`unknown YouTube error ${JSON.stringify(unreachable)}`);
    }
  }
}

async function storeRaw(tx: Executor, task: SyncTaskRow, pages: readonly RawPage[]): Promise<void> {
  for (const page of pages) {
    await repo.insertRawResponse(tx, {
      platform: PLATFORM,
      kind: page.kind,
      externalId: page.externalId,
      request: page.request,
      payload: page.payload,
      payloadHash: payloadHash(page.payload),
      syncTaskId: task.id,
    });
  }
}

async function syncProfile(ctx: Context, task: SyncTaskRow): Promise<void> {
  const params = { part: ['snippet', 'contentDetails', 'statistics'] as const, id: [task.external_id] };
  const result = await call(ctx, task, () => ctx.deps.client.listChannels(params, ctx.deps.signal));
  const channel = result.ok ? result.value.items?.find((c) => c.id === task.external_id) : undefined;
  if (!result.ok || channel === undefined) {
    throw new JobFailure(task, 'SIPHON_ERR_CONNECTOR_NOT_FOUND', `channel ${task.external_id} not found`);
  }
  const mapped = mapChannel(channel);
  const uploads = mapped.ok ? mapped.record.uploads_playlist_id : null;
  await withTransaction(ctx.deps.pool, async (tx) => {
    await storeRaw(tx, task, [
      {
        kind: 'profile',
        externalId: task.external_id,
        request: { path: 'channels', params },
        payload: result.value,
      },
    ]);
    if (mapped.ok) await repo.upsertProfiles(tx, PLATFORM, [toProfileRow(mapped.record)]);
    else await repo.insertQuarantine(tx, [toQuarantineInsert(mapped.quarantine)]);
    // The uploads playlist is remembered as the posts task's external id.
    if (uploads !== null) await repo.ensureTask(tx, ctx.job.id, 'posts', uploads);
    await repo.saveTaskPage(tx, task.id, { cursor: null, items: mapped.ok ? 1 : 0, done: true });
  });
  ctx.log?.info({ taskId: task.id, uploads }, 'task:profile:done');
}

async function syncPosts(ctx: Context, task: SyncTaskRow, cutoff: number | null): Promise<void> {
  const pageSize = ctx.deps.pageSize ?? 50;
  let cursor = task.cursor;
  for (;;) {
    const params = {
      part: ['snippet', 'contentDetails'] as const,
      playlistId: task.external_id,
      maxResults: pageSize,
      ...(cursor === null ? {} : { pageToken: cursor }),
    };
    const page = await call(ctx, task, () => ctx.deps.client.listPlaylistItems(params, ctx.deps.signal));
    if (!page.ok) {
      // An empty or hidden uploads playlist: nothing to read.
      await repo.finishTask(ctx.deps.pool, task.id, 'SKIPPED', {
        code: page.gone.code,
        message: page.gone.message,
      });
      return;
    }
    const items = page.value.items ?? [];
    const ids = [
      ...new Set(
        items
          .map((i) => i.contentDetails?.videoId ?? i.snippet?.resourceId?.videoId)
          .filter((v): v is string => typeof v === 'string' && v !== ''),
      ),
    ];
    const raws: RawPage[] = [
      {
        kind: 'posts_page',
        externalId: task.external_id,
        request: { path: 'playlistItems', params },
        payload: page.value,
      },
    ];
    let mapped: Mapped<PostRecord>[] = [];
    if (ids.length > 0) {
      const videoParams = { part: ['snippet', 'contentDetails', 'statistics'] as const, id: ids };
      const videos = await call(ctx, task, () => ctx.deps.client.listVideos(videoParams, ctx.deps.signal));
      if (videos.ok) {
        raws.push({
          kind: 'videos',
          externalId: task.external_id,
          request: { path: 'videos', params: videoParams },
          payload: videos.value,
        });
        mapped = (videos.value.items ?? []).map(mapVideo);
      }
    }
    const { records, quarantined } = partition(mapped);
    const posts = dedupeBy(records, (r) => r.external_id);
    const oldestOnPage = oldest([
      ...items.map((i) => parseTimestamp(i.contentDetails?.videoPublishedAt ?? i.snippet?.publishedAt)),
      ...posts.map((p) => p.published_at),
    ]);
    const reachedKnown = cutoff !== null && oldestOnPage !== null && oldestOnPage < cutoff;
    const next = page.value.nextPageToken ?? null;
    const done = next === null || reachedKnown;
    // Comments are read for the recent posts (all of them on the first sync).
    const recent = posts.filter((p) => cutoff === null || Date.parse(p.published_at) >= cutoff);
    await withTransaction(ctx.deps.pool, async (tx) => {
      await storeRaw(tx, task, raws);
      await repo.insertQuarantine(tx, quarantined.map(toQuarantineInsert));
      await repo.upsertPosts(tx, PLATFORM, posts.map(toPostRow));
      await repo.ensureTasks(
        tx,
        ctx.job.id,
        'comments',
        recent.map((p) => p.external_id),
      );
      await repo.saveTaskPage(tx, task.id, { cursor: done ? null : next, items: posts.length, done });
    });
    ctx.log?.debug({ taskId: task.id, posts: posts.length, done }, 'task:posts:page');
    if (done) return;
    cursor = next;
  }
}

async function syncComments(ctx: Context, task: SyncTaskRow): Promise<void> {
  let cursor = task.cursor;
  for (;;) {
    const params = {
      part: ['snippet', 'replies'] as const,
      videoId: task.external_id,
      order: 'time' as const,
      textFormat: 'plainText' as const,
      maxResults: 100,
      ...(cursor === null ? {} : { pageToken: cursor }),
    };
    const page = await call(ctx, task, () => ctx.deps.client.listCommentThreads(params, ctx.deps.signal));
    if (!page.ok) {
      // commentsDisabled, or the video is gone: skip, not a failure.
      const reason = page.gone.reason ?? page.gone.code;
      await repo.finishTask(ctx.deps.pool, task.id, 'SKIPPED', { code: page.gone.code, message: reason });
      return;
    }
    const threads = page.value.items ?? [];
    const raws: RawPage[] = [
      {
        kind: 'comments_page',
        externalId: task.external_id,
        request: { path: 'commentThreads', params },
        payload: page.value,
      },
    ];
    const mapped: Mapped<CommentRecord>[] = threads.flatMap(mapCommentThread);
    for (const thread of threads) {
      const extra = await missingReplies(ctx, task, thread, raws);
      mapped.push(
        ...extra.map((reply) =>
          mapComment(reply, { postExternalId: task.external_id, parentExternalId: thread.id ?? null }),
        ),
      );
    }
    const { records, quarantined } = partition(mapped);
    const comments = dedupeBy(records, (r) => r.external_id);
    const next = page.value.nextPageToken ?? null;
    await withTransaction(ctx.deps.pool, async (tx) => {
      await storeRaw(tx, task, raws);
      await repo.insertQuarantine(tx, quarantined.map(toQuarantineInsert));
      await repo.upsertComments(tx, PLATFORM, comments.map(toCommentRow));
      await repo.saveTaskPage(tx, task.id, { cursor: next, items: comments.length, done: next === null });
    });
    if (next === null) return;
    cursor = next;
  }
}

/** commentThreads carries only the first replies inline; the rest come from comments.list. */
async function missingReplies(
  ctx: Context,
  task: SyncTaskRow,
  thread: YouTubeCommentThread,
  raws: RawPage[],
): Promise<YouTubeComment[]> {
  const inline = thread.replies?.comments?.length ?? 0;
  const total = parseCount(thread.snippet?.totalReplyCount) ?? 0;
  if (thread.id === undefined || total <= inline) return [];
  const replies: YouTubeComment[] = [];
  let pageToken: string | undefined;
  do {
    const params: CommentsListParams = {
      part: ['snippet'],
      parentId: thread.id,
      textFormat: 'plainText',
      maxResults: 100,
      ...(pageToken === undefined ? {} : { pageToken }),
    };
    const page = await call(ctx, task, () => ctx.deps.client.listComments(params, ctx.deps.signal));
    if (!page.ok) return replies; // the thread was deleted meanwhile
    raws.push({
      kind: 'replies_page',
      externalId: thread.id,
      request: { path: 'comments', params },
      payload: page.value,
    });
    replies.push(...(page.value.items ?? []));
    pageToken = page.value.nextPageToken;
  } while (pageToken !== undefined);
  return replies;
}
