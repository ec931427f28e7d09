import { createHash } from 'node:crypto';
import type {
  CommentRow,
  PostRow,
  ProfileRow,
  QuarantineInsert,
  RawKind,
} from '../../connectors/connector.js';
import type { Executor } from '../pool.js';

/** All SQL of the social sync: one function per query, executor first so the caller owns the transaction. */

export type SyncJobStatus = 'RUNNING' | 'SUCCESS' | 'FAILED';
export type SyncTaskKind = 'profile' | 'posts' | 'stories' | 'comments' | 'follows';
export type SyncTaskStatus = 'PENDING' | 'WAITING' | 'DONE' | 'FAILED' | 'SKIPPED';

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

// ---- raw zone and quarantine ----------------------------------------------------------------------

/** Stable hash of a payload as stored in the raw zone. */
export function payloadHash(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload)).digest('hex');
}

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
