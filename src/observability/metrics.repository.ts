import type { Executor } from '../db/pool.js';

export interface MetricsSnapshot {
  pipelines: Array<{ status: string; enabled: boolean; n: number }>;
  runs: Array<{ status: string; n: number }>;
  rows: { read: number; written: number; deleted: number };
  batches: { buckets: number[]; sumSeconds: number; count: number };
  checkpoints: Array<{ name: string; age_seconds: number | null; last_success_age_seconds: number | null }>;
  liveRunners: number;
}

/** Bucket bounds of the batch duration histogram, in seconds. */
export const BATCH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Everything /metrics reports, read from the metadata tables at scrape time. */
export async function readMetrics(db: Executor, staleMs: number): Promise<MetricsSnapshot> {
  const bucketColumns = BATCH_BUCKETS.map(
    (le, i) => `count(*) FILTER (WHERE duration_ms <= ${le * 1000})::float AS b${i}`,
  );
  const [pipelines, runs, rows, batches, checkpoints, live] = await Promise.all([
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
    db.query(
      `SELECT p.name, extract(epoch FROM now() - s.updated_at)::float AS age_seconds,
              extract(epoch FROM now() - (SELECT max(finished_at) FROM etl.etl_runs r
                                           WHERE r.pipeline_id = p.id AND r.status = 'SUCCESS'))::float AS last_success_age_seconds
         FROM etl.etl_pipelines p LEFT JOIN etl.etl_state s ON s.pipeline_id = p.id`,
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
    checkpoints: checkpoints.rows,
    liveRunners: live.rows[0].n,
  };
}
