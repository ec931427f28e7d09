import type { Executor } from '../pool.js';
import { unitsTodaySql } from './quota.repository.js';

/** Bucket bounds of the batch duration histograms (cluster and runner), in seconds. */
export const BATCH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface PipelineMetricsRow {
  name: string;
  status: string;
  freshness: string | null;
  /** Seconds since the checkpoint (etl_state) moved; null before the first batch. */
  checkpoint_age_seconds: number | null;
  /** Seconds since the last successful run finished; null when none has. */
  last_success_age_seconds: number | null;
  /** Seconds since the target was last brought up to date: last success, or creation when none. */
  staleness_seconds: number;
  /** Seconds since the current run last moved (batch, sync task, start); null when nothing runs. */
  progress_age_seconds: number | null;
  takeovers: number;
}

export interface MetricsSnapshot {
  pipelines: Array<{ status: string; enabled: boolean; n: number }>;
  runs: Array<{ status: string; n: number }>;
  rows: { read: number; written: number; deleted: number };
  batches: { buckets: number[]; sumSeconds: number; count: number };
  perPipeline: PipelineMetricsRow[];
  runsByPipeline: Array<{
    name: string;
    status: string;
    n: number;
    read: number;
    written: number;
    deleted: number;
  }>;
  errors: Array<{ source: 'run' | 'sync_task' | 'enrichment'; code: string; n: number }>;
  syncTasks: Array<{ platform: string; kind: string; state: string; n: number }>;
  syncJobs: Array<{ platform: string; status: string; n: number }>;
  accounts: Array<{ platform: string; status: string; n: number }>;
  /** Tracked accounts per platform and tier: due now, and late by more than the tier's interval. */
  accountsDue: Array<{ platform: string; tier: string; due: number; late: number }>;
  quotas: Array<{
    platform: string;
    credential: string;
    calls_total: number;
    rate_limited: number;
    units_used: number;
    daily_units: number | null;
    used_percent: number | null;
    exhausted: boolean;
    paused_seconds: number;
  }>;
  enrichment: Array<{
    platform: string;
    analysis: string;
    waiting: number;
    oldest_wait_seconds: number;
    past_deadline: number;
  }>;
  liveRunners: number;
}

/** Everything /metrics reports about the cluster, read from the metadata tables at scrape time. */
export async function readMetrics(db: Executor, staleMs: number): Promise<MetricsSnapshot> {
  const bucketColumns = BATCH_BUCKETS.map(
    (le, i) => `count(*) FILTER (WHERE duration_ms <= ${le * 1000})::float AS b${i}`,
  );
  const [pipelines, runs, rows, batches, perPipeline, runsByPipeline, errors, live] = await Promise.all([
    db.query('SELECT status, enabled, count(*)::int AS n FROM etl.etl_pipelines GROUP BY 1, 2'),
    db.query('SELECT status, count(*)::int AS n FROM etl.etl_runs GROUP BY 1'),
    db.query(
      `SELECT coalesce(sum(rows_read), 0)::float AS read, coalesce(sum(rows_written), 0)::float AS written,
              coalesce(sum(rows_deleted), 0)::float AS deleted FROM etl.etl_runs`,
    ),
    db.query(
      `SELECT ${bucketColumns.join(', ')}, coalesce(sum(duration_ms), 0)::float / 1000 AS sum_seconds, count(*)::float AS n
         FROM etl.etl_run_batches`,
    ),
    db.query<PipelineMetricsRow>(
      `SELECT p.name, p.status, p.freshness,
              extract(epoch FROM now() - s.updated_at)::float AS checkpoint_age_seconds,
              extract(epoch FROM now() - ok.finished_at)::float AS last_success_age_seconds,
              extract(epoch FROM now() - coalesce(ok.finished_at, p.created_at))::float AS staleness_seconds,
              CASE WHEN p.status IN ('RUNNING', 'PAUSE_REQUESTED') AND r.id IS NOT NULL THEN
                extract(epoch FROM now() - greatest(
                  r.started_at,
                  (SELECT max(b.committed_at) FROM etl.etl_run_batches b WHERE b.run_id = r.id),
                  (SELECT max(t.updated_at) FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
                    WHERE j.run_id = r.id)))::float
              END AS progress_age_seconds,
              (SELECT count(*) FROM etl.etl_runs x WHERE x.pipeline_id = p.id AND x.trigger = 'takeover')::float
                AS takeovers
         FROM etl.etl_pipelines p
         LEFT JOIN etl.etl_state s ON s.pipeline_id = p.id
         LEFT JOIN etl.etl_runs r ON r.id = p.current_run_id
         LEFT JOIN LATERAL (SELECT max(finished_at) AS finished_at FROM etl.etl_runs o
                             WHERE o.pipeline_id = p.id AND o.status = 'SUCCESS') ok ON true
        ORDER BY p.name`,
    ),
    db.query(
      `SELECT p.name, r.status, count(*)::float AS n, sum(r.rows_read)::float AS read,
              sum(r.rows_written)::float AS written, sum(r.rows_deleted)::float AS deleted
         FROM etl.etl_runs r JOIN etl.etl_pipelines p ON p.id = r.pipeline_id
        GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
    db.query(
      `SELECT 'run' AS source, error_code AS code, count(*)::float AS n FROM etl.etl_runs
        WHERE error_code IS NOT NULL GROUP BY 2
       UNION ALL
       SELECT 'sync_task', error_code, count(*)::float FROM etl.sync_tasks
        WHERE status = 'FAILED' AND error_code IS NOT NULL GROUP BY 2
       UNION ALL
       SELECT 'enrichment', error_code, count(*)::float FROM social.enrichment_jobs
        WHERE status IN ('FAILED', 'EXPIRED') AND error_code IS NOT NULL GROUP BY 2`,
    ),
    db.query(
      `SELECT count(*)::int AS n FROM etl.etl_runners
        WHERE stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)`,
      [staleMs],
    ),
  ]);
  const b = batches.rows[0] as Record<string, number>;
  return {
    pipelines: pipelines.rows,
    runs: runs.rows,
    rows: rows.rows[0],
    batches: { buckets: BATCH_BUCKETS.map((_, i) => b[`b${i}`]!), sumSeconds: b.sum_seconds!, count: b.n! },
    perPipeline: perPipeline.rows,
    runsByPipeline: runsByPipeline.rows,
    errors: errors.rows,
    ...(await readSocialMetrics(db)),
    liveRunners: live.rows[0].n,
  };
}

/** Sync tasks and jobs, per-credential quota and enrichment waits (migration 0012's tables). */
async function readSocialMetrics(
  db: Executor,
): Promise<
  Pick<MetricsSnapshot, 'syncTasks' | 'syncJobs' | 'accounts' | 'accountsDue' | 'quotas' | 'enrichment'>
> {
  const [tasks, jobs, accounts, due, quotas, enrichment] = await Promise.all([
    // queued: never picked up; running: picked up and not finished; waiting: parked until not_before.
    db.query(
      `SELECT j.platform, t.kind,
              CASE WHEN t.status = 'PENDING' AND t.started_at IS NOT NULL AND t.finished_at IS NULL THEN 'running'
                   WHEN t.status = 'PENDING' THEN 'queued'
                   ELSE lower(t.status) END AS state,
              count(*)::float AS n
         FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ),
    db.query('SELECT platform, status, count(*)::float AS n FROM etl.sync_jobs GROUP BY 1, 2 ORDER BY 1, 2'),
    db.query(
      'SELECT platform, status, count(*)::float AS n FROM social.accounts GROUP BY 1, 2 ORDER BY 1, 2',
    ),
    db.query(
      `SELECT a.platform, a.tier,
              count(*) FILTER (WHERE a.next_due_at IS NULL OR a.next_due_at <= now())::float AS due,
              count(*) FILTER (WHERE a.next_due_at < now() - t.sync_interval)::float AS late
         FROM social.accounts a JOIN social.tiers t ON t.name = a.tier
        WHERE a.tracked AND NOT a.paused AND a.status = 'active'
        GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
    db.query(
      `SELECT platform, credential, calls_total::float, rate_limited::float,
              (${unitsTodaySql('q')})::float AS units_used,
              daily_units::float, used_percent::float,
              (paused_until > now() OR (daily_units IS NOT NULL AND ${unitsTodaySql('q')} >= daily_units))
                AS exhausted,
              greatest(extract(epoch FROM paused_until - now()), 0)::float AS paused_seconds
         FROM etl.quota_limits q ORDER BY 1, 2`,
    ),
    db.query(
      `SELECT platform, analysis, count(*)::float AS waiting,
              extract(epoch FROM now() - min(created_at))::float AS oldest_wait_seconds,
              count(*) FILTER (WHERE deadline_at < now())::float AS past_deadline
         FROM social.enrichment_jobs WHERE status IN ('PENDING', 'WAITING')
        GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
  ]);
  return {
    syncTasks: tasks.rows,
    syncJobs: jobs.rows,
    accounts: accounts.rows,
    accountsDue: due.rows,
    quotas: quotas.rows.map((q) => ({ ...q, exhausted: q.exhausted === true })),
    enrichment: enrichment.rows,
  };
}
