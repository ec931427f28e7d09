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
/** One column of a unified table: its name in the table and in the row, and its SQL type. */
export interface UnifiedColumn<R> {
  readonly name: keyof R & string;
  readonly type: 'text' | 'int' | 'bigint' | 'timestamptz';
}

/** A unified table: rows go in by `platform` plus the key columns; the other columns are updated. */
export interface UnifiedTable<R> {
  readonly table: string;
  readonly key: readonly UnifiedColumn<R>[];
  readonly columns: readonly UnifiedColumn<R>[];
}

const statements = new Map<string, string>();

/**
 * The upsert of a unified table (built once per table and option): every row as one unnest per
 * column, an unchanged row is not rewritten (its updated_at stays), and a sync brings back a row
 * marked deleted while a replay (`keepDeleted`) leaves the mark.
 */
function upsertSql<R>(spec: UnifiedTable<R>, options: UpsertOptions): string {
  const cacheKey = `${spec.table}|${options.keepDeleted === true}`;
  const cached = statements.get(cacheKey);
  if (cached) return cached;
  const all = [...spec.key, ...spec.columns];
  const names = (prefix: string) => spec.columns.map((c) => `${prefix}${c.name}`).join(', ');
  const keep = options.keepDeleted === true;
  const sql = `INSERT INTO ${spec.table} AS t (platform, ${all.map((c) => c.name).join(', ')})
     SELECT $1, * FROM unnest(${all.map((c, i) => `$${i + 2}::${c.type}[]`).join(', ')})
     ON CONFLICT (platform, ${spec.key.map((c) => c.name).join(', ')}) DO UPDATE SET
       ${spec.columns.map((c) => `${c.name} = EXCLUDED.${c.name}`).join(', ')},
       updated_at = now()${keep ? '' : ', deleted_at = NULL'}
     WHERE (${names('t.')}${keep ? '' : ', t.deleted_at'})
       IS DISTINCT FROM (${names('EXCLUDED.')}${keep ? '' : ', NULL::timestamptz'})`;
  statements.set(cacheKey, sql);
  return sql;
}

/** Upserts rows into a unified table; returns how many were inserted or changed. Keys must be unique. */
export async function upsertUnified<R>(
  db: Executor,
  spec: UnifiedTable<R>,
  platform: string,
  rows: readonly R[],
  options: UpsertOptions = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const values = [...spec.key, ...spec.columns].map((c) => rows.map((r) => r[c.name] ?? null));
  const result = await db.query(upsertSql(spec, options), [platform, ...values]);
  return result.rowCount ?? 0;
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

const EXTERNAL_ID = { name: 'external_id', type: 'text' } as const;

const PROFILES: UnifiedTable<ProfileRow> = {
  table: 'social.profiles',
  key: [EXTERNAL_ID],
  columns: [
    { name: 'handle', type: 'text' },
    { name: 'title', type: 'text' },
    { name: 'description', type: 'text' },
    { name: 'country', type: 'text' },
    { name: 'published_at', type: 'timestamptz' },
    { name: 'subscriber_count', type: 'bigint' },
    { name: 'view_count', type: 'bigint' },
    { name: 'post_count', type: 'bigint' },
  ],
};

const POSTS: UnifiedTable<PostRow> = {
  table: 'social.posts',
  key: [EXTERNAL_ID],
  columns: [
    { name: 'profile_external_id', type: 'text' },
    { name: 'title', type: 'text' },
    { name: 'description', type: 'text' },
    { name: 'published_at', type: 'timestamptz' },
    { name: 'duration_seconds', type: 'int' },
    { name: 'view_count', type: 'bigint' },
    { name: 'like_count', type: 'bigint' },
    { name: 'comment_count', type: 'bigint' },
    { name: 'thumbnail_url', type: 'text' },
    { name: 'media_type', type: 'text' },
    { name: 'url', type: 'text' },
  ],
};

const COMMENTS: UnifiedTable<CommentRow> = {
  table: 'social.comments',
  key: [EXTERNAL_ID],
  columns: [
    { name: 'post_external_id', type: 'text' },
    { name: 'parent_external_id', type: 'text' },
    { name: 'author', type: 'text' },
    { name: 'text', type: 'text' },
    { name: 'like_count', type: 'bigint' },
    { name: 'published_at', type: 'timestamptz' },
    { name: 'edited_at', type: 'timestamptz' },
  ],
};

/** Returns how many rows were inserted or changed. Rows must be unique by external_id. */
export const upsertProfiles = (
  db: Executor,
  platform: string,
  rows: readonly ProfileRow[],
  options: UpsertOptions = {},
): Promise<number> => upsertUnified(db, PROFILES, platform, rows, options);

export const upsertPosts = (
  db: Executor,
  platform: string,
  rows: readonly PostRow[],
  options: UpsertOptions = {},
): Promise<number> => upsertUnified(db, POSTS, platform, rows, options);

export const upsertComments = (
  db: Executor,
  platform: string,
  rows: readonly CommentRow[],
  options: UpsertOptions = {},
): Promise<number> => upsertUnified(db, COMMENTS, platform, rows, options);
