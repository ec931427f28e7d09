import { createHash } from 'node:crypto';
import type {
  CommentRow,
  FollowRow,
  MediaRow,
  PostRow,
  ProfileRow,
  QuarantineInsert,
  RawKind,
} from '../../connectors/connector.js';
import { prepared, type Executor } from '../pool.js';

/**
 * The unified social tables (`social.profiles`, `posts`, `comments`, `media`, `follows`), the raw zone,
 * quarantine, and deletion marks after a complete pass: every write of a committed page's rows.
 * Executor first, so the caller owns the transaction.
 */

export interface RawResponseInsert {
  readonly platform: string;
  readonly kind: RawKind;
  readonly externalId: string;
  readonly request: unknown;
  readonly payload: unknown;
  readonly payloadHash: string;
  readonly syncTaskId: number | null;
}

export interface UpsertOptions {
  /**
   * Replay from the raw zone: leave `deleted_at` marks as they are. A sync clears them (the platform
   * just served the row, so it is back); a replay of old pages must not bring deleted rows back.
   */
  readonly keepDeleted?: boolean;
}

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
  /**
   * Statements a sync's upsert runs in the same statement (CTEs, so they see the rows as they were
   * before it), with `$1` the platform and `$2` the first key column's values. Not run by a replay.
   */
  readonly onRevive?: string;
}

/** An upsert's text, and whether it revives the children of a row (then it is not prepared). */
interface UpsertStatement {
  readonly text: string;
  readonly revives: boolean;
}

const statements = new Map<string, UpsertStatement>();

/**
 * The upsert of a unified table (built once per table and option): every row as one unnest per
 * column, an unchanged row is not rewritten (its updated_at stays), and a sync brings back a row
 * marked deleted while a replay (`keepDeleted`) leaves the mark. `guard`: a condition the rows are
 * written under (the upsert as part of a larger statement).
 */
function upsertSql<R>(spec: UnifiedTable<R>, options: UpsertOptions, guard?: string): UpsertStatement {
  const cacheKey = `${spec.table}|${options.keepDeleted === true}|${guard ?? ''}`;
  const cached = statements.get(cacheKey);
  if (cached) return cached;
  const all = [...spec.key, ...spec.columns];
  const names = (prefix: string) => spec.columns.map((c) => `${prefix}${c.name}`).join(', ');
  const keep = options.keepDeleted === true;
  const revives = !keep && spec.onRevive !== undefined;
  const revive = revives ? `WITH ${spec.onRevive}\n     ` : '';
  const text = `${revive}INSERT INTO ${spec.table} AS t (platform, ${all.map((c) => c.name).join(', ')})
     SELECT $1, * FROM unnest(${all.map((c, i) => `$${i + 2}::${c.type}[]`).join(', ')})${guard ? ` WHERE ${guard}` : ''}
     ON CONFLICT (platform, ${spec.key.map((c) => c.name).join(', ')}) DO UPDATE SET
       ${spec.columns.map((c) => `${c.name} = EXCLUDED.${c.name}`).join(', ')},
       updated_at = now()${keep ? '' : ', deleted_at = NULL'}
     WHERE (${names('t.')}${keep ? '' : ', t.deleted_at'})
       IS DISTINCT FROM (${names('EXCLUDED.')}${keep ? '' : ', NULL::timestamptz'})`;
  const statement = { text, revives };
  statements.set(cacheKey, statement);
  return statement;
}

/** An upsert's parameters: the platform, then one array per key and column. */
function upsertParams<R>(spec: UnifiedTable<R>, platform: string, rows: readonly R[]): unknown[] {
  return [platform, ...[...spec.key, ...spec.columns].map((c) => rows.map((r) => r[c.name] ?? null))];
}

/** The upsert as the CTE `up`, written when `guard` holds, RETURNING a row per one inserted or changed. */
function upsertCte<R>(spec: UnifiedTable<R>, guard?: string): string {
  return `up AS (
       ${upsertSql(spec, {}, guard).text}
       RETURNING 1
     )`;
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
  const { text, revives } = upsertSql(spec, options);
  const params = upsertParams(spec, platform, rows);
  // Not prepared when it revives children (posts): PostgreSQL's generic plan for the join of the
  // revived posts to their comments and media took 11.1 ms a call against 3.5 parsed each time (ADR 0018).
  const result = await db.query(revives ? { text, values: params } : prepared(text, params));
  return result.rowCount ?? 0;
}

// ---- raw zone and quarantine ----------------------------------------------------------------------

/** Stable hash of a payload as stored in the raw zone. */
export function payloadHash(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}

/**
 * Raw responses as one JSON array, the rows of `jsonb_to_recordset` (one parameter for any number of
 * them; the statement that stores them is the page claim, sync-jobs.repository.ts).
 */
export function rawResponsesJson(raws: readonly RawResponseInsert[]): string {
  return JSON.stringify(
    raws.map((raw) => ({
      platform: raw.platform,
      kind: raw.kind,
      external_id: raw.externalId,
      request: raw.request,
      payload: raw.payload,
      payload_hash: raw.payloadHash,
      sync_task_id: raw.syncTaskId,
    })),
  );
}

export async function insertQuarantine(db: Executor, entries: readonly QuarantineInsert[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    prepared(
      `INSERT INTO social.quarantine (platform, kind, external_id, reason, payload)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])`,
      [
        entries.map((e) => e.platform),
        entries.map((e) => e.kind),
        entries.map((e) => e.externalId),
        entries.map((e) => e.reason),
        entries.map((e) => JSON.stringify(e.payload ?? null)),
      ],
    ),
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
  // A post the platform serves again brings back the comments and children that were marked deleted
  // with it (same deleted_at: one statement marked them, markUnseenDeleted); a comment deleted on its
  // own before keeps its mark.
  onRevive: `revived AS (
       SELECT p.external_id, p.deleted_at FROM social.posts p
        WHERE p.platform = $1 AND p.external_id = ANY($2::text[]) AND p.deleted_at IS NOT NULL
     ), revived_comments AS (
       UPDATE social.comments c SET deleted_at = NULL, updated_at = now() FROM revived r
        WHERE c.platform = $1 AND c.post_external_id = r.external_id AND c.deleted_at = r.deleted_at
     ), revived_media AS (
       UPDATE social.media m SET deleted_at = NULL, updated_at = now() FROM revived r
        WHERE m.platform = $1 AND m.post_external_id = r.external_id AND m.deleted_at = r.deleted_at
     )`,
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

/**
 * The CTE `up`: the profile upserted when `guard` holds, RETURNING a row when it was inserted or
 * changed. Parameters: profileUpsertParams, `$1` to `$10`.
 */
export const profileUpsertCte = (guard: string): string => upsertCte(PROFILES, guard);

/** The platform and the profile's columns (no row for no profile): the parameters of profileUpsertCte. */
export function profileUpsertParams(platform: string, profile: ProfileRow | null): unknown[] {
  return upsertParams(PROFILES, platform, profile ? [profile] : []);
}

/**
 * A comments pass of one page (a post's comments fit one page: the usual case): the page's comments
 * upserted and the post's stored comments it did not serve marked deleted, in one statement. The
 * same as upsertComments then markUnseenDeleted's comments scope with the page's ids, one round trip
 * fewer; the two touch different rows (those served, those not), so one statement may do both.
 * Returns how many comments were inserted or changed.
 */
export async function upsertCommentsOfWholePass(
  db: Executor,
  platform: string,
  post: string,
  rows: readonly CommentRow[],
): Promise<number> {
  wholeCommentsPass ??= `WITH ${wholeCommentsPassCtes()}
     SELECT count(*)::int AS written FROM up`;
  const { rows: out } = await db.query<{ written: number }>(
    prepared(wholeCommentsPass, wholeCommentsPassParams(platform, post, rows)),
  );
  return out[0]!.written;
}

let wholeCommentsPass: string | undefined;

/**
 * The CTEs `swept` (the post's stored comments the page did not serve, marked deleted) and `up` (the
 * page's comments upserted, RETURNING a row per one inserted or changed), written only when `guard`
 * holds. Parameters: wholeCommentsPassParams, `$1` to `$10`.
 */
export function wholeCommentsPassCtes(guard?: string): string {
  const post = `$${COMMENTS.key.length + COMMENTS.columns.length + 2}`;
  return `swept AS (
       UPDATE social.comments c SET deleted_at = now(), updated_at = now()
        WHERE c.platform = $1 AND c.post_external_id = ${post}::text AND c.deleted_at IS NULL
          AND NOT (c.external_id = ANY($2::text[]))${guard ? ` AND ${guard}` : ''}
     ), ${upsertCte(COMMENTS, guard)}`;
}

/** The platform, the comments' columns and the post: the parameters of wholeCommentsPassCtes. */
export function wholeCommentsPassParams(
  platform: string,
  post: string,
  rows: readonly CommentRow[],
): unknown[] {
  return [...upsertParams(COMMENTS, platform, rows), post];
}

// ---- unified tables beyond profiles/posts/comments ------------------------------------------------

const MEDIA: UnifiedTable<MediaRow> = {
  table: 'social.media',
  key: [{ name: 'external_id', type: 'text' }],
  columns: [
    { name: 'post_external_id', type: 'text' },
    { name: 'position', type: 'int' },
    { name: 'media_type', type: 'text' },
    { name: 'media_url', type: 'text' },
    { name: 'thumbnail_url', type: 'text' },
  ],
};

const FOLLOWS: UnifiedTable<FollowRow> = {
  table: 'social.follows',
  key: [
    { name: 'profile_external_id', type: 'text' },
    { name: 'relation', type: 'text' },
    { name: 'other_external_id', type: 'text' },
  ],
  columns: [
    { name: 'other_handle', type: 'text' },
    { name: 'other_title', type: 'text' },
  ],
};

export const upsertMedia = (
  db: Executor,
  platform: string,
  rows: readonly MediaRow[],
  options: UpsertOptions = {},
): Promise<number> => upsertUnified(db, MEDIA, platform, rows, options);

export const upsertFollows = (
  db: Executor,
  platform: string,
  rows: readonly FollowRow[],
  options: UpsertOptions = {},
): Promise<number> => upsertUnified(db, FOLLOWS, platform, rows, options);

// ---- deletions: what a complete pass did not see --------------------------------------------------

export async function recordSeen(
  db: Executor,
  taskId: number,
  externalIds: readonly string[],
): Promise<void> {
  if (externalIds.length === 0) return;
  await db.query(
    prepared(
      `INSERT INTO etl.sync_seen (task_id, external_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
      [taskId, externalIds],
    ),
  );
}

/** The platform id of a stored profile named by its id, handle or @handle. */
export async function findProfileId(
  db: Executor,
  platform: string,
  name: string,
): Promise<string | undefined> {
  const { rows } = await db.query<{ external_id: string }>(
    prepared(
      `SELECT external_id FROM social.profiles
      WHERE platform = $1 AND (external_id = $2 OR handle = $2 OR '@' || handle = $2) LIMIT 1`,
      [platform, name],
    ),
  );
  return rows[0]?.external_id;
}

/** The platform says the account is gone: its profile is marked, never removed. */
export async function markProfileDeleted(db: Executor, platform: string, externalId: string): Promise<void> {
  await db.query(
    `UPDATE social.profiles SET deleted_at = coalesce(deleted_at, now()), updated_at = now()
      WHERE platform = $1 AND external_id = $2`,
    [platform, externalId],
  );
}

/** Marks every stored comment of these posts deleted (the platform counts none on them any more). */
export async function markCommentsOfPostsDeleted(
  db: Executor,
  platform: string,
  posts: readonly string[],
): Promise<number> {
  if (posts.length === 0) return 0;
  const { rowCount } = await db.query(
    prepared(
      `UPDATE social.comments SET deleted_at = now(), updated_at = now()
      WHERE platform = $1 AND post_external_id = ANY($2::text[]) AND deleted_at IS NULL`,
      [platform, posts],
    ),
  );
  return rowCount ?? 0;
}

export type DeletionScope =
  | { readonly table: 'posts'; readonly profile: string }
  | { readonly table: 'comments'; readonly post: string }
  | { readonly table: 'follows'; readonly profile: string; readonly relation: string };

/**
 * Marks rows of the scope the complete pass did not see as deleted (kept, with deleted_at). The ids the
 * pass saw are those recordSeen kept for the task (then forgotten), or `wholePass` when the pass was
 * one page: then nothing was kept, and two statements are saved.
 */
export async function markUnseenDeleted(
  db: Executor,
  platform: string,
  taskId: number,
  scope: DeletionScope,
  wholePass?: readonly string[],
): Promise<number> {
  const notSeen = (column: string) =>
    wholePass
      ? `NOT (t.${column} = ANY($2::text[]))`
      : `NOT EXISTS (SELECT 1 FROM etl.sync_seen s WHERE s.task_id = $2 AND s.external_id = t.${column})`;
  const query =
    scope.table === 'posts'
      ? // Stories are read by their own task and expire by design: a feed pass never sees them. A
        // deleted post's comments and children (Instagram carousel media) go with it, with the same
        // deleted_at, so a sync that serves the post again brings exactly those back (POSTS.onRevive).
        `WITH gone AS (
           UPDATE social.posts t SET deleted_at = now(), updated_at = now()
            WHERE t.platform = $1 AND t.profile_external_id = $3 AND t.deleted_at IS NULL
              AND t.media_type IS DISTINCT FROM 'STORY' AND ${notSeen('external_id')}
           RETURNING t.external_id
         ), comments AS (
           UPDATE social.comments c SET deleted_at = now(), updated_at = now()
             FROM gone WHERE c.platform = $1 AND c.post_external_id = gone.external_id AND c.deleted_at IS NULL
         ), media AS (
           UPDATE social.media m SET deleted_at = now(), updated_at = now()
             FROM gone WHERE m.platform = $1 AND m.post_external_id = gone.external_id AND m.deleted_at IS NULL
         )
         SELECT external_id FROM gone`
      : scope.table === 'comments'
        ? `UPDATE social.comments t SET deleted_at = now(), updated_at = now()
            WHERE t.platform = $1 AND t.post_external_id = $3 AND t.deleted_at IS NULL AND ${notSeen('external_id')}`
        : `UPDATE social.follows t SET deleted_at = now(), updated_at = now()
            WHERE t.platform = $1 AND t.profile_external_id = $3 AND t.relation = $4 AND t.deleted_at IS NULL
              AND ${notSeen('other_external_id')}`;
  const params: unknown[] = [
    platform,
    wholePass ?? taskId,
    scope.table === 'comments' ? scope.post : scope.profile,
  ];
  if (scope.table === 'follows') params.push(scope.relation);
  // The posts scope is not prepared: PostgreSQL's generic plan for the join of the posts it marks to
  // their comments and media took 3.9 ms a call against under 2 parsed each time (ADR 0018).
  const { rowCount } = await db.query(
    scope.table === 'posts' ? { text: query, values: params } : prepared(query, params),
  );
  if (!wholePass) await db.query(prepared('DELETE FROM etl.sync_seen WHERE task_id = $1', [taskId]));
  return rowCount ?? 0;
}
