import type { Executor } from '../db/pool.js';

/** All SQL of the social sync: one function per query, executor first so the caller owns the transaction. */

export type SyncJobStatus = 'RUNNING' | 'SUCCESS' | 'FAILED';
export type SyncTaskKind = 'profile' | 'posts' | 'stories' | 'comments' | 'follows';
export type SyncTaskStatus = 'PENDING' | 'WAITING' | 'DONE' | 'FAILED' | 'SKIPPED';
export type RawKind = 'profile' | 'posts_page' | 'videos' | 'comments_page' | 'replies_page' | (string & {});

export interface AccountRow {
  id: string;
  platform: string;
  external_id: string;
  handle: string | null;
  last_synced_at: Date | null;
}

export interface SyncJobRow {
  id: string;
  account_id: string;
  platform: string;
  status: SyncJobStatus;
  started_at: Date;
  finished_at: Date | null;
  calls: number;
  error_code: string | null;
  error: string | null;
}

export interface SyncTaskRow {
  id: number;
  job_id: string;
  kind: SyncTaskKind;
  external_id: string;
  cursor: string | null;
  status: SyncTaskStatus;
  attempts: number;
  pages: number;
  items: number;
  error_code: string | null;
  error: string | null;
}

export interface RawResponseInsert {
  readonly platform: string;
  readonly kind: RawKind;
  readonly externalId: string;
  readonly request: unknown;
  readonly payload: unknown;
  readonly payloadHash: string;
  readonly syncTaskId: number | null;
}

export interface ProfileRow {
  readonly external_id: string;
  readonly handle: string | null;
  readonly title: string | null;
  readonly description: string | null;
  readonly country: string | null;
  readonly published_at: string | null;
  readonly subscriber_count: number | null;
  readonly view_count: number | null;
  readonly post_count: number | null;
}

export interface PostRow {
  readonly external_id: string;
  readonly profile_external_id: string;
  readonly title: string | null;
  readonly description: string | null;
  readonly published_at: string | null;
  readonly duration_seconds: number | null;
  readonly view_count: number | null;
  readonly like_count: number | null;
  readonly comment_count: number | null;
  readonly thumbnail_url: string | null;
  /** VIDEO, IMAGE, CAROUSEL_ALBUM, REELS, STORY… (Instagram, TikTok); null when the platform has one kind. */
  readonly media_type?: string | null;
  /** The post's public URL (Instagram permalink, TikTok share URL), when the platform gives one. */
  readonly url?: string | null;
}

export interface CommentRow {
  readonly external_id: string;
  readonly post_external_id: string;
  readonly parent_external_id: string | null;
  readonly author: string | null;
  readonly text: string | null;
  readonly like_count: number | null;
  readonly published_at: string | null;
  readonly edited_at: string | null;
}

export interface QuarantineInsert {
  readonly platform: string;
  readonly kind: string;
  readonly externalId: string | null;
  readonly reason: string;
  readonly payload: unknown;
}

const JOB_COLUMNS = 'id, account_id, platform, status, started_at, finished_at, calls, error_code, error';
const TASK_COLUMNS =
  'id, job_id, kind, external_id, cursor, status, attempts, pages, items, error_code, error';

export interface UpsertOptions {
  /**
   * Replay from the raw zone: leave `deleted_at` marks as they are. A sync clears them (the platform
   * just served the row, so it is back); a replay of old pages must not bring deleted rows back.
   */
  readonly keepDeleted?: boolean;
}

/** The `deleted_at` parts of an upsert: cleared and compared by a sync, left alone by a replay. */
export function deletedAtSql(options: UpsertOptions): { set: string; old: string; new: string } {
  return options.keepDeleted
    ? { set: '', old: '', new: '' }
    : { set: ', deleted_at = NULL', old: ', t.deleted_at', new: ', NULL::timestamptz' };
}

// ---- accounts -------------------------------------------------------------------------------------

/** Registers a tracked account (or returns the existing one). */
export async function ensureAccount(
  db: Executor,
  platform: string,
  externalId: string,
  handle: string | null = null,
): Promise<AccountRow> {
  const { rows } = await db.query<AccountRow>(
    `INSERT INTO social.accounts (platform, external_id, handle) VALUES ($1, $2, $3)
     ON CONFLICT (platform, external_id) DO UPDATE SET handle = coalesce(EXCLUDED.handle, social.accounts.handle)
     RETURNING id, platform, external_id, handle, last_synced_at`,
    [platform, externalId, handle],
  );
  return rows[0]!;
}

export async function getAccount(db: Executor, accountId: string): Promise<AccountRow | undefined> {
  const { rows } = await db.query<AccountRow>(
    'SELECT id, platform, external_id, handle, last_synced_at FROM social.accounts WHERE id = $1',
    [accountId],
  );
  return rows[0];
}

export async function setAccountLastSynced(db: Executor, accountId: string, at: Date): Promise<void> {
  await db.query('UPDATE social.accounts SET last_synced_at = $2 WHERE id = $1', [accountId, at]);
}

// ---- jobs -----------------------------------------------------------------------------------------

export async function findRunningJob(db: Executor, accountId: string): Promise<SyncJobRow | undefined> {
  const { rows } = await db.query<SyncJobRow>(
    `SELECT ${JOB_COLUMNS} FROM etl.sync_jobs WHERE account_id = $1 AND status = 'RUNNING'
     ORDER BY started_at DESC LIMIT 1`,
    [accountId],
  );
  return rows[0];
}

export async function createJob(
  db: Executor,
  accountId: string,
  platform: string,
  startedAt: Date,
): Promise<SyncJobRow> {
  const { rows } = await db.query<SyncJobRow>(
    `INSERT INTO etl.sync_jobs (account_id, platform, status, started_at) VALUES ($1, $2, 'RUNNING', $3)
     RETURNING ${JOB_COLUMNS}`,
    [accountId, platform, startedAt],
  );
  return rows[0]!;
}

export async function addJobCalls(db: Executor, jobId: string, calls: number): Promise<void> {
  await db.query('UPDATE etl.sync_jobs SET calls = calls + $2 WHERE id = $1', [jobId, calls]);
}

export async function finishJob(
  db: Executor,
  jobId: string,
  status: Exclude<SyncJobStatus, 'RUNNING'>,
  failure: { code: string; message: string } | null = null,
): Promise<void> {
  await db.query(
    `UPDATE etl.sync_jobs SET status = $2, finished_at = now(), error_code = $3, error = $4
     WHERE id = $1 AND status = 'RUNNING'`,
    [jobId, status, failure?.code ?? null, failure?.message ?? null],
  );
}

// ---- tasks ----------------------------------------------------------------------------------------

/** The task, created PENDING on first sight (idempotent by (job, kind, external id)). */
export async function ensureTask(
  db: Executor,
  jobId: string,
  kind: SyncTaskKind,
  externalId: string,
): Promise<SyncTaskRow> {
  const { rows } = await db.query<SyncTaskRow>(
    `INSERT INTO etl.sync_tasks (job_id, kind, external_id) VALUES ($1, $2, $3)
     ON CONFLICT (job_id, kind, external_id) DO UPDATE SET kind = EXCLUDED.kind
     RETURNING ${TASK_COLUMNS}`,
    [jobId, kind, externalId],
  );
  return rows[0]!;
}

/** Creates PENDING tasks of one kind for many external ids; existing ones are left as they are. */
export async function ensureTasks(
  db: Executor,
  jobId: string,
  kind: SyncTaskKind,
  externalIds: readonly string[],
): Promise<void> {
  if (externalIds.length === 0) return;
  await db.query(
    `INSERT INTO etl.sync_tasks (job_id, kind, external_id)
     SELECT $1, $2, e FROM unnest($3::text[]) AS e
     ON CONFLICT (job_id, kind, external_id) DO NOTHING`,
    [jobId, kind, externalIds],
  );
}

export async function listTasks(db: Executor, jobId: string, kind: SyncTaskKind): Promise<SyncTaskRow[]> {
  const { rows } = await db.query<SyncTaskRow>(
    `SELECT ${TASK_COLUMNS} FROM etl.sync_tasks WHERE job_id = $1 AND kind = $2 ORDER BY id`,
    [jobId, kind],
  );
  return rows;
}

/** Commits one page's progress: the next cursor, counters, and DONE when it was the last page. */
export async function saveTaskPage(
  db: Executor,
  taskId: number,
  page: { cursor: string | null; items: number; done: boolean },
): Promise<void> {
  await db.query(
    `UPDATE etl.sync_tasks
     SET cursor = $2, pages = pages + 1, items = items + $3,
         status = CASE WHEN $4::boolean THEN 'DONE' ELSE status END,
         error_code = NULL, error = NULL, updated_at = now()
     WHERE id = $1`,
    [taskId, page.cursor, page.items, page.done],
  );
}

export async function finishTask(
  db: Executor,
  taskId: number,
  status: Exclude<SyncTaskStatus, 'PENDING'>,
  failure: { code: string; message: string } | null = null,
): Promise<void> {
  await db.query(
    `UPDATE etl.sync_tasks SET status = $2, error_code = $3, error = $4, updated_at = now() WHERE id = $1`,
    [taskId, status, failure?.code ?? null, failure?.message ?? null],
  );
}

/** A failed attempt that will be retried: the task stays PENDING with its cursor. */
export async function recordTaskAttemptFailure(
  db: Executor,
  taskId: number,
  failure: { code: string; message: string },
): Promise<void> {
  await db.query(
    `UPDATE etl.sync_tasks SET attempts = attempts + 1, error_code = $2, error = $3, updated_at = now()
     WHERE id = $1`,
    [taskId, failure.code, failure.message],
  );
}

// ---- raw zone and quarantine ----------------------------------------------------------------------

export async function insertRawResponse(db: Executor, raw: RawResponseInsert): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO social.raw_responses (platform, kind, external_id, request, payload, payload_hash, sync_task_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      raw.platform,
      raw.kind,
      raw.externalId,
      JSON.stringify(raw.request),
      JSON.stringify(raw.payload),
      raw.payloadHash,
      raw.syncTaskId,
    ],
  );
  return rows[0]!.id;
}

export async function insertQuarantine(db: Executor, entries: readonly QuarantineInsert[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `INSERT INTO social.quarantine (platform, kind, external_id, reason, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])`,
    [
      entries.map((e) => e.platform),
      entries.map((e) => e.kind),
      entries.map((e) => e.externalId),
      entries.map((e) => e.reason),
      entries.map((e) => JSON.stringify(e.payload ?? null)),
    ],
  );
}

// ---- unified tables -------------------------------------------------------------------------------
// Idempotent upserts: an unchanged row is not rewritten (its updated_at stays); a deleted one revives.

/** Returns how many rows were inserted or changed. Rows must be unique by external_id. */
export async function upsertProfiles(
  db: Executor,
  platform: string,
  rows: readonly ProfileRow[],
  options: UpsertOptions = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const d = deletedAtSql(options);
  const result = await db.query(
    `INSERT INTO social.profiles AS t
       (platform, external_id, handle, title, description, country, published_at,
        subscriber_count, view_count, post_count)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::timestamptz[], $8::bigint[], $9::bigint[], $10::bigint[])
     ON CONFLICT (platform, external_id) DO UPDATE SET
       handle = EXCLUDED.handle, title = EXCLUDED.title, description = EXCLUDED.description,
       country = EXCLUDED.country, published_at = EXCLUDED.published_at,
       subscriber_count = EXCLUDED.subscriber_count, view_count = EXCLUDED.view_count,
       post_count = EXCLUDED.post_count, updated_at = now()${d.set}
     WHERE (t.handle, t.title, t.description, t.country, t.published_at, t.subscriber_count,
            t.view_count, t.post_count${d.old})
       IS DISTINCT FROM (EXCLUDED.handle, EXCLUDED.title, EXCLUDED.description, EXCLUDED.country,
            EXCLUDED.published_at, EXCLUDED.subscriber_count, EXCLUDED.view_count, EXCLUDED.post_count${d.new})`,
    [
      platform,
      rows.map((r) => r.external_id),
      rows.map((r) => r.handle),
      rows.map((r) => r.title),
      rows.map((r) => r.description),
      rows.map((r) => r.country),
      rows.map((r) => r.published_at),
      rows.map((r) => r.subscriber_count),
      rows.map((r) => r.view_count),
      rows.map((r) => r.post_count),
    ],
  );
  return result.rowCount ?? 0;
}

export async function upsertPosts(
  db: Executor,
  platform: string,
  rows: readonly PostRow[],
  options: UpsertOptions = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const d = deletedAtSql(options);
  const result = await db.query(
    `INSERT INTO social.posts AS t
       (platform, external_id, profile_external_id, title, description, published_at, duration_seconds,
        view_count, like_count, comment_count, thumbnail_url, media_type, url)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                              $7::int[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[],
                              $12::text[], $13::text[])
     ON CONFLICT (platform, external_id) DO UPDATE SET
       profile_external_id = EXCLUDED.profile_external_id, title = EXCLUDED.title,
       description = EXCLUDED.description, published_at = EXCLUDED.published_at,
       duration_seconds = EXCLUDED.duration_seconds, view_count = EXCLUDED.view_count,
       like_count = EXCLUDED.like_count, comment_count = EXCLUDED.comment_count,
       thumbnail_url = EXCLUDED.thumbnail_url, media_type = EXCLUDED.media_type, url = EXCLUDED.url,
       updated_at = now()${d.set}
     WHERE (t.profile_external_id, t.title, t.description, t.published_at, t.duration_seconds,
            t.view_count, t.like_count, t.comment_count, t.thumbnail_url, t.media_type, t.url${d.old})
       IS DISTINCT FROM (EXCLUDED.profile_external_id, EXCLUDED.title, EXCLUDED.description,
            EXCLUDED.published_at, EXCLUDED.duration_seconds, EXCLUDED.view_count, EXCLUDED.like_count,
            EXCLUDED.comment_count, EXCLUDED.thumbnail_url, EXCLUDED.media_type, EXCLUDED.url${d.new})`,
    [
      platform,
      rows.map((r) => r.external_id),
      rows.map((r) => r.profile_external_id),
      rows.map((r) => r.title),
      rows.map((r) => r.description),
      rows.map((r) => r.published_at),
      rows.map((r) => r.duration_seconds),
      rows.map((r) => r.view_count),
      rows.map((r) => r.like_count),
      rows.map((r) => r.comment_count),
      rows.map((r) => r.thumbnail_url),
      rows.map((r) => r.media_type ?? null),
      rows.map((r) => r.url ?? null),
    ],
  );
  return result.rowCount ?? 0;
}

export async function upsertComments(
  db: Executor,
  platform: string,
  rows: readonly CommentRow[],
  options: UpsertOptions = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const d = deletedAtSql(options);
  const result = await db.query(
    `INSERT INTO social.comments AS t
       (platform, external_id, post_external_id, parent_external_id, author, text, like_count,
        published_at, edited_at)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                              $8::timestamptz[], $9::timestamptz[])
     ON CONFLICT (platform, external_id) DO UPDATE SET
       post_external_id = EXCLUDED.post_external_id, parent_external_id = EXCLUDED.parent_external_id,
       author = EXCLUDED.author, text = EXCLUDED.text, like_count = EXCLUDED.like_count,
       published_at = EXCLUDED.published_at, edited_at = EXCLUDED.edited_at,
       updated_at = now()${d.set}
     WHERE (t.post_external_id, t.parent_external_id, t.author, t.text, t.like_count, t.published_at,
            t.edited_at${d.old})
       IS DISTINCT FROM (EXCLUDED.post_external_id, EXCLUDED.parent_external_id, EXCLUDED.author,
            EXCLUDED.text, EXCLUDED.like_count, EXCLUDED.published_at, EXCLUDED.edited_at${d.new})`,
    [
      platform,
      rows.map((r) => r.external_id),
      rows.map((r) => r.post_external_id),
      rows.map((r) => r.parent_external_id),
      rows.map((r) => r.author),
      rows.map((r) => r.text),
      rows.map((r) => r.like_count),
      rows.map((r) => r.published_at),
      rows.map((r) => r.edited_at),
    ],
  );
  return result.rowCount ?? 0;
}
