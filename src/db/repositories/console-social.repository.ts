import type { Executor } from '../pool.js';
import { unitsTodaySql } from './quota.repository.js';

/** A credential's quota as the console shows it: today's units against the daily cap, and when the day resets. */
export interface QuotaBurnRow {
  platform: string;
  credential: string;
  calls_per_window: number;
  window_ms: number;
  calls_total: number;
  rate_limited: number;
  units_used: number;
  daily_units: number | null;
  /** The start of the platform's next day (its day_zone): when today's units reset. */
  resets_at: Date;
  paused_until: Date | null;
  rejected_until: Date | null;
  rejected_reason: string | null;
}

/** Every credential's limiter, one statement. */
export async function listQuotaBurn(db: Executor): Promise<QuotaBurnRow[]> {
  const { rows } = await db.query<QuotaBurnRow>(
    `SELECT q.platform, q.credential, q.calls_per_window, q.window_ms, q.calls_total::float AS calls_total,
            q.rate_limited::float AS rate_limited, (${unitsTodaySql('q')})::float AS units_used,
            q.daily_units::float AS daily_units,
            (date_trunc('day', now() AT TIME ZONE q.day_zone) + interval '1 day') AT TIME ZONE q.day_zone
              AS resets_at,
            CASE WHEN q.paused_until > now() THEN q.paused_until END AS paused_until,
            CASE WHEN q.rejected_until > now() THEN q.rejected_until END AS rejected_until,
            CASE WHEN q.rejected_until > now() THEN q.rejected_reason END AS rejected_reason
       FROM etl.quota_limits q ORDER BY 1, 2`,
  );
  return rows;
}

export interface EnrichmentBacklogRow {
  platform: string;
  analysis: string;
  waiting: number;
  oldest_wait_seconds: number;
  past_deadline: number;
}

/** Enrichment items not finished, per platform and analysis. */
export async function listEnrichmentBacklog(db: Executor): Promise<EnrichmentBacklogRow[]> {
  const { rows } = await db.query<EnrichmentBacklogRow>(
    `SELECT platform, analysis, count(*)::int AS waiting,
            extract(epoch FROM now() - min(created_at))::float AS oldest_wait_seconds,
            count(*) FILTER (WHERE deadline_at < now())::int AS past_deadline
       FROM social.enrichment_jobs WHERE status IN ('PENDING', 'WAITING')
      GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return rows;
}

/** One account's job in a run: its state in words and what it waits for or why it was skipped. */
export interface AccountSyncRow {
  account: string;
  platform: string;
  job_kind: string;
  /** done, running, waiting, skipped or failed. */
  state: string;
  started_at: Date;
  finished_at: Date | null;
  pages: number;
  calls: number;
  written: number;
  /** The earliest instant a waiting task of the job may run again. */
  waiting_until: Date | null;
  error_code: string | null;
  error: string | null;
}

/** The accounts of a run with their state, one statement (tasks aggregated per job), at most `limit`. */
export async function listAccountSyncStates(
  db: Executor,
  runId: string,
  limit: number,
): Promise<AccountSyncRow[]> {
  const { rows } = await db.query<AccountSyncRow>(
    `SELECT coalesce(a.handle, a.external_id) AS account, j.platform, j.job_kind,
            CASE j.status WHEN 'SUCCESS' THEN 'done' WHEN 'FAILED' THEN 'failed' WHEN 'SKIPPED' THEN 'skipped'
                 ELSE CASE WHEN t.waiting > 0 AND t.running = 0 THEN 'waiting' ELSE 'running' END END AS state,
            j.started_at, j.finished_at, coalesce(t.pages, 0)::int AS pages, coalesce(t.calls, 0)::int AS calls,
            coalesce(t.written, 0)::int AS written, t.waiting_until, j.error_code, j.error
       FROM etl.sync_jobs j
       JOIN social.accounts a ON a.id = j.account_id
       LEFT JOIN LATERAL (
         SELECT sum(s.pages) AS pages, sum(s.calls) AS calls, sum(s.written) AS written,
                count(*) FILTER (WHERE s.status = 'WAITING') AS waiting,
                count(*) FILTER (WHERE s.status = 'PENDING') AS running,
                min(s.not_before) FILTER (WHERE s.status = 'WAITING') AS waiting_until
           FROM etl.sync_tasks s WHERE s.job_id = j.id) t ON true
      WHERE j.run_id = $1
      ORDER BY CASE j.status WHEN 'FAILED' THEN 0 WHEN 'RUNNING' THEN 1 WHEN 'SKIPPED' THEN 2 ELSE 3 END,
               coalesce(a.handle, a.external_id)
      LIMIT $2`,
    [runId, limit],
  );
  return rows;
}
