import type { Executor } from '../pool.js';
import { unitsTodaySql } from './quota.repository.js';
import type { SyncJobStatus, SyncTaskKind, SyncTaskStatus } from './sync-jobs.repository.js';

/** Read queries behind `GET /quotas`, `GET /pipelines/{id}/sync`, `siphon quota` and `siphon sync status`. */

export const SYNC_JOB_STATUSES = [
  'RUNNING',
  'SUCCESS',
  'FAILED',
  'SKIPPED',
] as const satisfies readonly SyncJobStatus[];
export const SYNC_TASK_STATUSES = [
  'PENDING',
  'WAITING',
  'DONE',
  'FAILED',
  'SKIPPED',
] as const satisfies readonly SyncTaskStatus[];

/** Tasks are listed in the order a job opens them. */
const TASK_KIND_ORDER: readonly SyncTaskKind[] = ['profile', 'posts', 'stories', 'comments', 'follows'];

/** Failed accounts listed in a sync summary; the total is always given. */
export const MAX_LISTED_FAILURES = 50;

/** One credential's limiter (etl.quota_limits), as people and scripts read it. */
export interface QuotaStatusRow {
  readonly platform: string;
  /** The adapter's credential id (a digest or the client key), never a secret. */
  readonly credential: string;
  readonly calls_per_window: number;
  readonly window_ms: number;
  /** Calls ever made on this credential through the limiter. */
  readonly calls_total: number;
  /** 429 answers seen (each made the credential wait for Retry-After). */
  readonly rate_limited: number;
  /** Platform units spent today (the platform's day; YouTube counts units, the others calls). */
  readonly units_used: number;
  /** Daily unit limit; null when the platform counts none. */
  readonly daily_units: number | null;
  readonly units_remaining: number | null;
  /** Instagram's own usage header (percent of its window); null for the other platforms. */
  readonly used_percent: number | null;
  /** No call before this instant (the day's quota is spent); null when the credential is not paused. */
  readonly paused_until: Date | null;
}

export async function listQuotaStatus(db: Executor): Promise<QuotaStatusRow[]> {
  const { rows } = await db.query<QuotaStatusRow>(
    `SELECT platform, credential, calls_per_window, window_ms, calls_total, rate_limited,
            used AS units_used, daily_units,
            CASE WHEN daily_units IS NOT NULL THEN greatest(daily_units - used, 0) END AS units_remaining,
            used_percent,
            CASE WHEN paused_until > now() THEN paused_until END AS paused_until
       FROM (SELECT q.*, ${unitsTodaySql('q')} AS used
               FROM etl.quota_limits q) AS q
      ORDER BY platform, credential`,
  );
  return rows;
}

export interface SyncRunRef {
  readonly id: string;
  readonly status: string;
  readonly trigger: string;
  readonly mode: string;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly error_code: string | null;
  readonly error: string | null;
}

export interface SyncFailure {
  readonly account: string;
  readonly handle: string | null;
  readonly error_code: string | null;
  readonly message: string | null;
}

/** Where the jobs of one run of a social pipeline stand. */
export interface SyncSummary {
  /** The run summarised: the one asked for, else the current one, else the latest; null if none. */
  readonly run: SyncRunRef | null;
  readonly jobs: { readonly total: number; readonly by_status: Record<SyncJobStatus, number> };
  /** Tasks (one per step or page stream) by kind, then status. */
  readonly tasks: {
    readonly total: number;
    readonly by_kind: Partial<Record<SyncTaskKind, Record<SyncTaskStatus, number>>>;
  };
  /** WAITING tasks: rescheduled after a rate limit, a spent quota or a transient failure. */
  readonly waiting: {
    readonly items: number;
    /** How long the longest-waiting task has waited (now − its last update); null when none waits. */
    readonly oldest_wait_ms: number | null;
    /** The earliest instant a waiting task may run again. */
    readonly earliest_not_before: Date | null;
  };
  /** Platform calls made by the run's jobs (an adopted job's count includes its earlier runs). */
  readonly calls: number;
  /** Failed jobs: the total, and the first {@link MAX_LISTED_FAILURES} with their account and error. */
  readonly failures: { readonly total: number; readonly items: readonly SyncFailure[] };
  /** Skipped (unreachable) accounts: the total, and the first {@link MAX_LISTED_FAILURES} with the reason. */
  readonly skipped: { readonly total: number; readonly items: readonly SyncFailure[] };
}

interface SummaryRow {
  run_id: string | null;
  run_status: string | null;
  run_trigger: string | null;
  run_mode: string | null;
  run_started_at: Date | null;
  run_finished_at: Date | null;
  run_error_code: string | null;
  run_error: string | null;
  jobs: { status: SyncJobStatus; n: number }[];
  tasks: { kind: SyncTaskKind; status: SyncTaskStatus; n: number }[];
  calls: number;
  waiting_items: number;
  oldest_wait_ms: number | null;
  earliest_not_before: Date | null;
  failed_total: number;
  failures: SyncFailure[];
  skipped_total: number;
  skipped: SyncFailure[];
}

/**
 * The sync summary of one run of a pipeline, in one statement (one snapshot): `runId` if given (null
 * run when it is not this pipeline's), else the pipeline's current run, else its latest.
 */
export async function readSyncSummary(
  db: Executor,
  pipelineId: string,
  runId: string | undefined,
): Promise<SyncSummary> {
  const { rows } = await db.query<SummaryRow>(
    `WITH run AS (
       SELECT r.id, r.status, r.trigger, r.mode, r.started_at, r.finished_at, r.error_code, r.error
         FROM etl.etl_runs r JOIN etl.etl_pipelines p ON p.id = r.pipeline_id
        WHERE r.pipeline_id = $1 AND ($2::uuid IS NULL OR r.id = $2::uuid)
        ORDER BY (r.id IS NOT DISTINCT FROM p.current_run_id) DESC, r.started_at DESC
        LIMIT 1
     ), jobs AS (
       SELECT j.id, j.account_id, j.status, j.error_code, j.error, j.finished_at
         FROM etl.sync_jobs j WHERE j.run_id = (SELECT id FROM run)
     ), tasks AS (
       SELECT t.kind, t.status, t.updated_at, t.not_before, t.calls
         FROM etl.sync_tasks t JOIN jobs ON jobs.id = t.job_id
     )
     SELECT run.id AS run_id, run.status AS run_status, run.trigger AS run_trigger, run.mode AS run_mode,
            run.started_at AS run_started_at, run.finished_at AS run_finished_at,
            run.error_code AS run_error_code, run.error AS run_error,
            (SELECT coalesce(json_agg(json_build_object('status', status, 'n', n)), '[]')
               FROM (SELECT status, count(*)::int AS n FROM jobs GROUP BY status) s) AS jobs,
            (SELECT coalesce(json_agg(json_build_object('kind', kind, 'status', status, 'n', n)), '[]')
               FROM (SELECT kind, status, count(*)::int AS n FROM tasks GROUP BY kind, status) s) AS tasks,
            (SELECT coalesce(sum(calls), 0)::bigint FROM tasks) AS calls,
            (SELECT count(*)::int FROM tasks WHERE status = 'WAITING') AS waiting_items,
            (SELECT floor(extract(epoch FROM now() - min(updated_at)) * 1000)::bigint
               FROM tasks WHERE status = 'WAITING') AS oldest_wait_ms,
            (SELECT min(not_before) FROM tasks WHERE status = 'WAITING') AS earliest_not_before,
            (SELECT count(*)::int FROM jobs WHERE status = 'FAILED') AS failed_total,
            (SELECT coalesce(json_agg(json_build_object('account', account, 'handle', handle,
                                                        'error_code', error_code, 'message', message)
                                      ORDER BY ord), '[]')
               FROM (SELECT a.external_id AS account, a.handle, jobs.error_code, jobs.error AS message,
                            row_number() OVER (ORDER BY jobs.finished_at NULLS LAST, a.external_id) AS ord
                       FROM jobs JOIN social.accounts a ON a.id = jobs.account_id
                      WHERE jobs.status = 'FAILED'
                      ORDER BY ord LIMIT $3) f) AS failures,
            (SELECT count(*)::int FROM jobs WHERE status = 'SKIPPED') AS skipped_total,
            (SELECT coalesce(json_agg(json_build_object('account', account, 'handle', handle,
                                                        'error_code', error_code, 'message', message)
                                      ORDER BY ord), '[]')
               FROM (SELECT a.external_id AS account, a.handle, jobs.error_code, jobs.error AS message,
                            row_number() OVER (ORDER BY a.external_id) AS ord
                       FROM jobs JOIN social.accounts a ON a.id = jobs.account_id
                      WHERE jobs.status = 'SKIPPED'
                      ORDER BY ord LIMIT $3) k) AS skipped
       FROM (SELECT 1) AS one LEFT JOIN run ON true`,
    [pipelineId, runId ?? null, MAX_LISTED_FAILURES],
  );
  return toSummary(rows[0]!);
}

function toSummary(row: SummaryRow): SyncSummary {
  const byStatus = Object.fromEntries(SYNC_JOB_STATUSES.map((s) => [s, 0])) as Record<SyncJobStatus, number>;
  for (const j of row.jobs) byStatus[j.status] = j.n;
  const byKind: Partial<Record<SyncTaskKind, Record<SyncTaskStatus, number>>> = {};
  const order = (kind: SyncTaskKind) => TASK_KIND_ORDER.indexOf(kind);
  for (const t of [...row.tasks].sort((a, b) => order(a.kind) - order(b.kind))) {
    byKind[t.kind] ??= Object.fromEntries(SYNC_TASK_STATUSES.map((s) => [s, 0])) as Record<
      SyncTaskStatus,
      number
    >;
    byKind[t.kind]![t.status] = t.n;
  }
  return {
    run:
      row.run_id === null
        ? null
        : {
            id: row.run_id,
            status: row.run_status!,
            trigger: row.run_trigger!,
            mode: row.run_mode!,
            started_at: row.run_started_at!,
            finished_at: row.run_finished_at,
            error_code: row.run_error_code,
            error: row.run_error,
          },
    jobs: { total: row.jobs.reduce((sum, j) => sum + j.n, 0), by_status: byStatus },
    tasks: { total: row.tasks.reduce((sum, t) => sum + t.n, 0), by_kind: byKind },
    waiting: {
      items: row.waiting_items,
      oldest_wait_ms: row.oldest_wait_ms,
      earliest_not_before: row.earliest_not_before,
    },
    calls: row.calls,
    failures: { total: row.failed_total, items: row.failures },
    skipped: { total: row.skipped_total ?? 0, items: row.skipped ?? [] },
  };
}

export interface RunJobRow {
  readonly account: string;
  readonly status: SyncJobStatus;
  readonly calls: number;
  readonly error_code: string | null;
}

/** One line per account of a social run: its job's status, calls and error code. */
export async function listRunJobs(db: Executor, runId: string): Promise<RunJobRow[]> {
  const { rows } = await db.query<RunJobRow>(
    `SELECT a.external_id AS account, j.status,
            (SELECT coalesce(sum(t.calls), 0)::int FROM etl.sync_tasks t WHERE t.job_id = j.id) AS calls,
            j.error_code
       FROM etl.sync_jobs j JOIN social.accounts a ON a.id = j.account_id
      WHERE j.run_id = $1
      ORDER BY a.external_id`,
    [runId],
  );
  return rows;
}
