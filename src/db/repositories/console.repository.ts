import type { Executor } from '../pool.js';
import type { IncidentRow } from './incidents.repository.js';

/** A pipeline as the console lists it: status, its latest run and how long ago its target was brought up to date. */
export interface PipelineSummaryRow {
  id: string;
  name: string;
  description: string;
  kind: string;
  status: string;
  enabled: boolean;
  mode: string;
  schedule: string | null;
  next_run_at: Date | null;
  freshness: string | null;
  current_run_id: string | null;
  last_run_id: string | null;
  last_run_status: string | null;
  last_run_started_at: Date | null;
  last_run_finished_at: Date | null;
  last_run_rows_read: number | null;
  last_run_rows_written: number | null;
  last_run_error_code: string | null;
  last_success_at: Date | null;
  /** Seconds since the last successful run finished, or since creation when none has. */
  staleness_seconds: number;
}

export interface PipelineSummaryFilter {
  /** Text found in the name or the description (case-insensitive). */
  readonly text?: string | undefined;
  readonly kind?: string | undefined;
  readonly status?: string | undefined;
  /** Only this pipeline. */
  readonly id?: string | undefined;
  /** @default 1000 */
  readonly limit?: number;
}

/** Every pipeline matching the filter with its latest run: one statement, never one per pipeline. */
export async function listPipelineSummaries(
  db: Executor,
  filter: PipelineSummaryFilter = {},
): Promise<PipelineSummaryRow[]> {
  const { rows } = await db.query<PipelineSummaryRow>(
    `SELECT p.id, p.name, p.description, p.kind, p.status, p.enabled, p.mode, p.schedule, p.next_run_at,
            p.freshness, p.current_run_id,
            lr.id AS last_run_id, lr.status AS last_run_status, lr.started_at AS last_run_started_at,
            lr.finished_at AS last_run_finished_at, lr.rows_read::float AS last_run_rows_read,
            lr.rows_written::float AS last_run_rows_written, lr.error_code AS last_run_error_code,
            ok.finished_at AS last_success_at,
            extract(epoch FROM now() - coalesce(ok.finished_at, p.created_at))::float AS staleness_seconds
       FROM etl.etl_pipelines p
       LEFT JOIN LATERAL (SELECT r.* FROM etl.etl_runs r WHERE r.pipeline_id = p.id
                           ORDER BY r.started_at DESC LIMIT 1) lr ON true
       LEFT JOIN LATERAL (SELECT o.finished_at FROM etl.etl_runs o WHERE o.pipeline_id = p.id AND o.status = 'SUCCESS'
                           ORDER BY o.started_at DESC LIMIT 1) ok ON true
      WHERE ($1::text IS NULL OR strpos(lower(p.name || ' ' || p.description), lower($1)) > 0)
        AND ($2::text IS NULL OR p.kind = $2)
        AND ($3::text IS NULL OR p.status = $3)
        AND ($5::uuid IS NULL OR p.id = $5)
      ORDER BY p.name
      LIMIT $4`,
    [
      filter.text || null,
      filter.kind ?? null,
      filter.status ?? null,
      filter.limit ?? 1000,
      filter.id ?? null,
    ],
  );
  return rows;
}

export interface RunnerSummaryRow {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: Date;
  heartbeat_age_seconds: number;
  alive: boolean;
  /** Pipelines whose lease this runner holds while they run. */
  active_runs: number;
}

/** Runners not stopped and seen within a day, with the age of their heartbeat and how many runs they hold. */
export async function listRunnerSummaries(db: Executor, staleMs: number): Promise<RunnerSummaryRow[]> {
  const { rows } = await db.query<RunnerSummaryRow>(
    `SELECT r.id, r.hostname, r.pid, r.version, r.started_at,
            extract(epoch FROM now() - r.heartbeat_at)::float AS heartbeat_age_seconds,
            (r.heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)) AS alive,
            coalesce(l.n, 0)::int AS active_runs
       FROM etl.etl_runners r
       LEFT JOIN (SELECT lease_owner, count(*) AS n FROM etl.etl_pipelines
                   WHERE status IN ('RUNNING', 'PAUSE_REQUESTED') GROUP BY 1) l ON l.lease_owner = r.id
      WHERE r.stopped_at IS NULL AND r.heartbeat_at > now() - interval '1 day'
      ORDER BY r.heartbeat_at DESC`,
    [staleMs],
  );
  return rows;
}

/** OPEN and ACKNOWLEDGED incidents, most recently seen first. */
export async function listUnresolvedIncidents(db: Executor, limit: number): Promise<IncidentRow[]> {
  const { rows } = await db.query<IncidentRow>(
    `SELECT i.*, p.name AS pipeline_name
       FROM etl.incidents i LEFT JOIN etl.etl_pipelines p ON p.id = i.pipeline_id
      WHERE i.status IN ('OPEN', 'ACKNOWLEDGED')
      ORDER BY i.last_seen_at DESC, i.id LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface RowsMoved {
  runs: number;
  read: number;
  written: number;
  deleted: number;
}

/** Rows moved by the runs started since midnight UTC. */
export async function rowsMovedToday(db: Executor): Promise<RowsMoved> {
  const { rows } = await db.query<RowsMoved>(
    `SELECT count(*)::int AS runs, coalesce(sum(rows_read), 0)::float AS read,
            coalesce(sum(rows_written), 0)::float AS written, coalesce(sum(rows_deleted), 0)::float AS deleted
       FROM etl.etl_runs WHERE started_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
  );
  return rows[0]!;
}

/** Rows read by the latest successful full run before `runId`: what a full run is expected to read. */
export async function previousFullRunRows(
  db: Executor,
  pipelineId: string,
  runId: string,
): Promise<number | undefined> {
  const { rows } = await db.query<{ rows_read: number }>(
    `SELECT rows_read::float AS rows_read FROM etl.etl_runs
      WHERE pipeline_id = $1 AND id <> $2 AND status = 'SUCCESS' AND mode = 'full'
      ORDER BY started_at DESC LIMIT 1`,
    [pipelineId, runId],
  );
  return rows[0]?.rows_read;
}
