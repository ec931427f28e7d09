import type { Executor } from '../pool.js';
import type { Incident, IncidentKind, IncidentStatus, SkippedShare } from '../../core/incident.js';

/** An incident as read: the stored row plus the name of its pipeline, when it has one. */
export interface IncidentRow extends Incident {
  pipeline_name: string | null;
}

// Every statement returns the row with its pipeline's name, so readers never need a second query.
const withPipelineName = (cte: string) =>
  `WITH i AS (${cte})
   SELECT i.*, p.name AS pipeline_name FROM i LEFT JOIN etl.etl_pipelines p ON p.id = i.pipeline_id`;

export interface NewIncident {
  kind: IncidentKind;
  fingerprint: string;
  pipelineId: string | null;
  runId: string | null;
  errorCode: string | null;
  message: string;
  traceId: string | null;
  details: Record<string, unknown>;
}

/**
 * Opens an incident, or folds the report into the unresolved incident of the same fingerprint: one
 * more in `count`, `last_seen_at` now, and the latest run, message, trace and details. `opened` tells
 * which happened. Concurrent reports of one fingerprint meet on the partial unique index.
 */
export async function upsertIncident(
  db: Executor,
  incident: NewIncident,
): Promise<{ row: IncidentRow; opened: boolean }> {
  const { rows } = await db.query<IncidentRow & { opened: boolean }>(
    withPipelineName(
      `INSERT INTO etl.incidents AS t
         (kind, fingerprint, pipeline_id, run_id, error_code, message, trace_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (fingerprint) WHERE status IN ('OPEN', 'ACKNOWLEDGED') DO UPDATE
          SET count = t.count + 1,
              last_seen_at = greatest(t.last_seen_at, now()),
              run_id = coalesce(EXCLUDED.run_id, t.run_id),
              error_code = EXCLUDED.error_code,
              message = EXCLUDED.message,
              trace_id = coalesce(EXCLUDED.trace_id, t.trace_id),
              details = EXCLUDED.details
       RETURNING t.*, (t.xmax = 0) AS opened`,
    ),
    [
      incident.kind,
      incident.fingerprint,
      incident.pipelineId,
      incident.runId,
      incident.errorCode,
      incident.message,
      incident.traceId,
      JSON.stringify(incident.details),
    ],
  );
  const { opened, ...row } = rows[0]!;
  return { row, opened };
}

export async function findIncident(db: Executor, id: string): Promise<IncidentRow | undefined> {
  const { rows } = await db.query<IncidentRow>(
    withPipelineName('SELECT * FROM etl.incidents WHERE id = $1'),
    [id],
  );
  return rows[0];
}

export interface IncidentFilter {
  status?: IncidentStatus;
  /** A pipeline's id or name. */
  pipeline?: string;
  limit: number;
  offset: number;
}

/** Incidents, most recently seen first. */
export async function listIncidents(db: Executor, filter: IncidentFilter): Promise<IncidentRow[]> {
  const { rows } = await db.query<IncidentRow>(
    `SELECT i.*, p.name AS pipeline_name
       FROM etl.incidents i LEFT JOIN etl.etl_pipelines p ON p.id = i.pipeline_id
      WHERE ($1::text IS NULL OR i.status = $1)
        AND ($2::text IS NULL OR p.id::text = $2 OR p.name = $2)
      ORDER BY i.last_seen_at DESC, i.id
      LIMIT $3 OFFSET $4`,
    [filter.status ?? null, filter.pipeline ?? null, filter.limit, filter.offset],
  );
  return rows;
}

/** OPEN → ACKNOWLEDGED; undefined when the incident is unknown or not OPEN. */
export async function markAcknowledged(
  db: Executor,
  id: string,
  by: string,
): Promise<IncidentRow | undefined> {
  const { rows } = await db.query<IncidentRow>(
    withPipelineName(
      `UPDATE etl.incidents SET status = 'ACKNOWLEDGED', acknowledged_at = now(), acknowledged_by = $2
        WHERE id = $1 AND status = 'OPEN' RETURNING *`,
    ),
    [id, by],
  );
  return rows[0];
}

/** OPEN or ACKNOWLEDGED → RESOLVED; undefined when the incident is unknown or already resolved. */
export async function markResolved(db: Executor, id: string, by: string): Promise<IncidentRow | undefined> {
  const { rows } = await db.query<IncidentRow>(
    withPipelineName(
      `UPDATE etl.incidents SET status = 'RESOLVED', resolved_at = now(), resolved_by = $2
        WHERE id = $1 AND status IN ('OPEN', 'ACKNOWLEDGED') RETURNING *`,
    ),
    [id, by],
  );
  return rows[0];
}

/** Resolves every unresolved incident of `kind` for a pipeline; returns those it resolved. */
export async function resolvePipelineIncidents(
  db: Executor,
  pipelineId: string,
  kind: IncidentKind,
  by: string,
): Promise<IncidentRow[]> {
  const { rows } = await db.query<IncidentRow>(
    withPipelineName(
      `UPDATE etl.incidents SET status = 'RESOLVED', resolved_at = now(), resolved_by = $3
        WHERE pipeline_id = $1 AND kind = $2 AND status IN ('OPEN', 'ACKNOWLEDGED') RETURNING *`,
    ),
    [pipelineId, kind, by],
  );
  return rows;
}

/** Runs of a pipeline that started as a takeover of an expired lease within the last `windowMs`. */
export async function countRecentTakeovers(
  db: Executor,
  pipelineId: string,
  windowMs: number,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM etl.etl_runs
      WHERE pipeline_id = $1 AND trigger = 'takeover' AND started_at > now() - make_interval(secs => $2)`,
    [pipelineId, windowMs / 1000],
  );
  return rows[0]!.n;
}

/**
 * Skipped and all accounts of a social run, and of the pipeline's previous successful run (undefined
 * when there is none). A run without sync jobs (an SQL pipeline) has `jobs: 0`.
 */
export async function skippedSharesOf(
  db: Executor,
  pipelineId: string,
  runId: string,
): Promise<{ now: SkippedShare; before: SkippedShare | undefined }> {
  const { rows } = await db.query<{ which: 'now' | 'before'; skipped: number; jobs: number }>(
    `WITH previous AS (
       SELECT r.id FROM etl.etl_runs r, etl.etl_runs cur
        WHERE cur.id = $2 AND r.pipeline_id = $1 AND r.id <> $2 AND r.status = 'SUCCESS'
          AND r.started_at < cur.started_at
        ORDER BY r.started_at DESC LIMIT 1
     )
     SELECT 'now' AS which, count(*) FILTER (WHERE status = 'SKIPPED')::int AS skipped, count(*)::int AS jobs
       FROM etl.sync_jobs WHERE run_id = $2
     UNION ALL
     SELECT 'before', count(*) FILTER (WHERE j.status = 'SKIPPED')::int, count(*)::int
       FROM previous p JOIN etl.sync_jobs j ON j.run_id = p.id
     HAVING count(*) > 0`,
    [pipelineId, runId],
  );
  const now = rows.find((r) => r.which === 'now') ?? { skipped: 0, jobs: 0 };
  const before = rows.find((r) => r.which === 'before');
  return {
    now: { skipped: now.skipped, jobs: now.jobs },
    before: before ? { skipped: before.skipped, jobs: before.jobs } : undefined,
  };
}
