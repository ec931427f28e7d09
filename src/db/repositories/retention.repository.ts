import type { Executor } from '../pool.js';

/**
 * Retention: bounded deletes of what grows with every sync and is only needed for a while — the raw
 * zone (social.raw_responses, which replay reads) and the history of finished sync jobs (their tasks
 * and seen-sets go with them by cascade). Each call deletes at most `limit` rows, oldest first, in one
 * short statement; rows another pruner is deleting are skipped, not waited for.
 */

/** Deletes up to `limit` raw responses fetched before `before`; returns how many. */
export async function pruneRawResponses(db: Executor, before: Date, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM social.raw_responses WHERE id IN (
       SELECT id FROM social.raw_responses WHERE fetched_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [before, limit],
  );
  return rowCount ?? 0;
}

/**
 * Deletes up to `limit` sync jobs that ended before `before` (never a RUNNING one), with their tasks
 * and seen-sets; returns how many jobs. The accounts keep last_synced_at and their status; a pruned
 * run's GET /pipelines/{id}/sync?run= shows no jobs any more.
 */
export async function pruneSyncJobs(db: Executor, before: Date, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM etl.sync_jobs WHERE id IN (
       SELECT id FROM etl.sync_jobs WHERE status <> 'RUNNING' AND finished_at < $1
        ORDER BY finished_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [before, limit],
  );
  return rowCount ?? 0;
}

/** What the retention keeps: rows and the oldest row of each pruned table. */
export async function retentionStatus(db: Executor): Promise<{
  raw_responses: number;
  oldest_raw_at: Date | null;
  finished_jobs: number;
  oldest_job_at: Date | null;
}> {
  const { rows } = await db.query<{
    raw_responses: number;
    oldest_raw_at: Date | null;
    finished_jobs: number;
    oldest_job_at: Date | null;
  }>(
    `SELECT (SELECT count(*)::int FROM social.raw_responses) AS raw_responses,
            (SELECT fetched_at FROM social.raw_responses ORDER BY id LIMIT 1) AS oldest_raw_at,
            (SELECT count(*)::int FROM etl.sync_jobs WHERE status <> 'RUNNING') AS finished_jobs,
            (SELECT min(finished_at) FROM etl.sync_jobs WHERE status <> 'RUNNING') AS oldest_job_at`,
  );
  return rows[0]!;
}
