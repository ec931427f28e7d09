import type { Executor } from '../pool.js';
import type { QuarantineInsert } from '../../connectors/connector.js';

/**
 * SQL of the raw-zone replay (replay.ts); executor first so the caller owns the transaction.
 *
 * The rows are written with the sync's own upserts (social-tables.repository.ts) with
 * `keepDeleted`: whether a row still exists on the platform is not in a raw page, so a row marked
 * deleted stays marked (its columns are refreshed), and a row missing altogether comes back. An
 * unchanged row is not rewritten (its `updated_at` stays), so each count is "rows changed".
 */

export interface RawPageFilter {
  readonly platform: string;
  /** fetched_at at or after. */
  readonly since: Date | null;
  /** fetched_at before. */
  readonly until: Date | null;
  readonly kind: string | null;
}

/** Where the previous batch ended, in replay order (fetched_at, id). */
export interface RawPageKey {
  /** fetched_at to the microsecond (ISO 8601, UTC): a Date keeps milliseconds only. */
  readonly fetchedAt: string;
  readonly id: string;
}

export interface RawPageRow {
  readonly id: string;
  readonly kind: string;
  readonly external_id: string;
  readonly payload: unknown;
  readonly fetched_at: Date;
  /** fetched_at to the microsecond, for the next batch's key. */
  readonly fetched_key: string;
  /** The raw's sync task, when it still exists. */
  readonly task_kind: string | null;
  readonly task_external_id: string | null;
  /** The external id of the account the task's job synced. */
  readonly account_external_id: string | null;
  /** The job's backfill bound (posts published at or after it were left out when it ran). */
  readonly job_until: Date | null;
}

/** The next `limit` raw pages after `after`, oldest first (fetched_at, then insertion order). */
export async function listRawPages(
  db: Executor,
  filter: RawPageFilter,
  after: RawPageKey | null,
  limit: number,
): Promise<RawPageRow[]> {
  const { rows } = await db.query<RawPageRow>(
    `SELECT r.id::text AS id, r.kind, r.external_id, r.payload, r.fetched_at,
            to_char(r.fetched_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS fetched_key,
            t.kind AS task_kind, t.external_id AS task_external_id,
            a.external_id AS account_external_id, j.until AS job_until
       FROM social.raw_responses r
       LEFT JOIN etl.sync_tasks t ON t.id = r.sync_task_id
       LEFT JOIN etl.sync_jobs j ON j.id = t.job_id
       LEFT JOIN social.accounts a ON a.id = j.account_id
      WHERE r.platform = $1
        AND ($2::timestamptz IS NULL OR r.fetched_at >= $2)
        AND ($3::timestamptz IS NULL OR r.fetched_at < $3)
        AND ($4::text IS NULL OR r.kind = $4)
        AND ($5::timestamptz IS NULL OR (r.fetched_at, r.id) > ($5, $6::bigint))
      ORDER BY r.fetched_at, r.id
      LIMIT $7`,
    [
      filter.platform,
      filter.since,
      filter.until,
      filter.kind,
      after?.fetchedAt ?? null,
      after?.id ?? null,
      limit,
    ],
  );
  return rows;
}

/**
 * Records quarantine entries that are not there yet (same platform, kind, external id, reason and
 * payload): replaying the same raw pages again does not pile up copies. Returns how many were new.
 */
export async function insertQuarantineOnce(
  db: Executor,
  entries: readonly QuarantineInsert[],
): Promise<number> {
  if (entries.length === 0) return 0;
  const result = await db.query(
    `INSERT INTO social.quarantine (platform, kind, external_id, reason, payload)
     SELECT DISTINCT e.platform, e.kind, e.external_id, e.reason, e.payload
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
            AS e(platform, kind, external_id, reason, payload)
      WHERE NOT EXISTS (
        SELECT 1 FROM social.quarantine q
         WHERE q.platform = e.platform AND q.kind = e.kind
           AND q.external_id IS NOT DISTINCT FROM e.external_id
           AND q.reason = e.reason AND q.payload IS NOT DISTINCT FROM e.payload)`,
    [
      entries.map((e) => e.platform),
      entries.map((e) => e.kind),
      entries.map((e) => e.externalId),
      entries.map((e) => e.reason),
      entries.map((e) => JSON.stringify(e.payload ?? null)),
    ],
  );
  return result.rowCount ?? 0;
}
