import type { MlAnalysisResult, MlJobRequest } from '../../connectors/ml/index.js';
import type { Executor } from '../pool.js';

export type EnrichmentItemKind = 'profile' | 'post' | 'media' | 'comment';

/** One analysis of one item: unique per (platform, kind, externalId, request.analysis). */
export interface EnrichmentItem {
  readonly kind: EnrichmentItemKind;
  readonly externalId: string;
  readonly request: MlJobRequest;
}

/** SQL of durable enrichment (social.enrichment_jobs / enrichment_results); executor first. */

/** The graphile-worker task that makes one short call for one item: a submit or a poll. */
export const ENRICHMENT_POLL_TASK = 'siphon_enrichment_poll';

export type EnrichmentStatus = 'PENDING' | 'WAITING' | 'DONE' | 'FAILED' | 'EXPIRED';

export interface EnrichmentJobRow {
  readonly id: string;
  readonly platform: string;
  readonly item_kind: string;
  readonly item_external_id: string;
  readonly analysis: 'image' | 'text';
  readonly status: EnrichmentStatus;
  readonly external_job_id: string | null;
  readonly input: Record<string, string> | null;
  readonly next_poll_at: Date;
  readonly deadline_at: Date;
  readonly backoff_ms: number | null;
  readonly attempts: number;
  readonly revision: number;
  readonly run_id: string | null;
  readonly trace_context: Record<string, string> | null;
  /** When the current wait began. */
  readonly created_at: Date;
  /** The poll is not due yet by the database's clock (a replaced or duplicated job woke it). */
  readonly early: boolean;
}

/**
 * Queues one poll job for each given row, at its next_poll_at, carrying its trace context. A job key
 * per item keeps one queued job per item (a newer one replaces it).
 */
const QUEUE_POLLS = (rows: string) =>
  `SELECT graphile_worker.add_job('${ENRICHMENT_POLL_TASK}',
            json_build_object('id', r.id, 'trace', coalesce(r.trace_context, '{}'::jsonb)),
            run_at := greatest(r.next_poll_at, now()), max_attempts := 25,
            job_key := 'enrichment:' || r.id)
     FROM ${rows} r`;

/**
 * Opens the items (in the caller's transaction, e.g. with the page that wrote them): a new item is
 * PENDING; a finished or waiting one whose input changed is re-opened (a new wait, a new deadline);
 * an unchanged one is left alone. Each opened item gets its poll job. Returns how many were opened.
 */
export async function openEnrichmentJobs(
  db: Executor,
  spec: {
    readonly platform: string;
    readonly runId: string | null;
    readonly items: readonly EnrichmentItem[];
    readonly deadlineMs: number;
    readonly trace: Readonly<Record<string, string>>;
  },
): Promise<number> {
  if (spec.items.length === 0) return 0;
  const { rowCount } = await db.query(
    `WITH opened AS (
       INSERT INTO social.enrichment_jobs AS t
         (platform, item_kind, item_external_id, analysis, input, run_id, trace_context, deadline_at)
       SELECT DISTINCT ON (k, e, a) $1, k, e, a, i, $2::uuid, $3::jsonb,
              now() + make_interval(secs => $4::double precision / 1000)
         FROM unnest($5::text[], $6::text[], $7::text[], $8::jsonb[]) AS x(k, e, a, i)
       ON CONFLICT (platform, item_kind, item_external_id, analysis) DO UPDATE SET
         input = EXCLUDED.input, status = 'PENDING', external_job_id = NULL, next_poll_at = now(),
         deadline_at = EXCLUDED.deadline_at, backoff_ms = NULL, attempts = 0, run_id = EXCLUDED.run_id,
         trace_context = EXCLUDED.trace_context, error_code = NULL, error = NULL, created_at = now(),
         finished_at = NULL, revision = t.revision + 1, updated_at = now()
       WHERE t.input IS DISTINCT FROM EXCLUDED.input
       RETURNING t.id, t.next_poll_at, t.trace_context
     )
     ${QUEUE_POLLS('opened')}`,
    [
      spec.platform,
      spec.runId,
      JSON.stringify(spec.trace),
      spec.deadlineMs,
      spec.items.map((i) => i.kind),
      spec.items.map((i) => i.externalId),
      spec.items.map((i) => i.request.analysis),
      spec.items.map((i) => JSON.stringify(i.request.input)),
    ],
  );
  return rowCount ?? 0;
}

export async function loadEnrichmentJob(db: Executor, id: number): Promise<EnrichmentJobRow | undefined> {
  const { rows } = await db.query<EnrichmentJobRow>(
    `SELECT id::text, platform, item_kind, item_external_id, analysis, status, external_job_id, input,
            next_poll_at, deadline_at, backoff_ms, attempts, revision, run_id, trace_context, created_at,
            next_poll_at > clock_timestamp() + interval '250 milliseconds' AS early
       FROM social.enrichment_jobs WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Puts the item's poll job back at its next_poll_at (a job that woke too early). */
export async function requeueEnrichmentJob(db: Executor, id: number): Promise<void> {
  await db.query(
    `WITH r AS (SELECT id, next_poll_at, trace_context FROM social.enrichment_jobs WHERE id = $1)
     ${QUEUE_POLLS('r')}`,
    [id],
  );
}

/**
 * The item stays open: new status, job id, backoff and attempts, next poll in `delayMs`, last error;
 * its next poll job is queued in the same statement. Only if the row is still at `revision` (a
 * re-open or another poll got there first: false, and nothing is written).
 */
export async function rescheduleEnrichmentJob(
  db: Executor,
  id: number,
  revision: number,
  next: {
    readonly status: 'PENDING' | 'WAITING';
    readonly externalJobId: string | null;
    readonly backoffMs: number;
    readonly attempts: number;
    readonly delayMs: number;
    readonly errorCode: string | null;
    readonly error: string | null;
  },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH moved AS (
       UPDATE social.enrichment_jobs
          SET status = $3, external_job_id = $4, backoff_ms = $5, attempts = $6,
              next_poll_at = now() + make_interval(secs => $7::double precision / 1000),
              error_code = $8, error = $9, revision = revision + 1, updated_at = now()
        WHERE id = $1 AND revision = $2 AND status IN ('PENDING', 'WAITING')
       RETURNING id, next_poll_at, trace_context
     )
     ${QUEUE_POLLS('moved')}`,
    [
      id,
      revision,
      next.status,
      next.externalJobId,
      next.backoffMs,
      next.attempts,
      next.delayMs,
      next.errorCode,
      next.error,
    ],
  );
  return rowCount === 1;
}

/** The result lands in its own table and the item is DONE, in one statement (if still at `revision`). */
export async function completeEnrichmentJob(
  db: Executor,
  id: number,
  revision: number,
  result: MlAnalysisResult,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH done AS (
       UPDATE social.enrichment_jobs
          SET status = 'DONE', next_poll_at = now(), finished_at = now(), error_code = NULL, error = NULL,
              revision = revision + 1, updated_at = now()
        WHERE id = $1 AND revision = $2 AND status IN ('PENDING', 'WAITING')
       RETURNING platform, item_kind, item_external_id, analysis
     )
     INSERT INTO social.enrichment_results AS r (platform, item_kind, item_external_id, analysis, result)
     SELECT platform, item_kind, item_external_id, analysis, $3::jsonb FROM done
     ON CONFLICT (platform, item_kind, item_external_id, analysis)
       DO UPDATE SET result = EXCLUDED.result, updated_at = now()`,
    [id, revision, JSON.stringify(result)],
  );
  return rowCount === 1;
}

/** FAILED (the service failed the job, or a bad request) or EXPIRED (deadline), with the code. */
export async function endEnrichmentJob(
  db: Executor,
  id: number,
  revision: number,
  end: { readonly status: 'FAILED' | 'EXPIRED'; readonly code: string; readonly message: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE social.enrichment_jobs
        SET status = $3, error_code = $4, error = $5, finished_at = now(), revision = revision + 1,
            updated_at = now()
      WHERE id = $1 AND revision = $2 AND status IN ('PENDING', 'WAITING')`,
    [id, revision, end.status, end.code, end.message],
  );
  return rowCount === 1;
}

/**
 * Queues a poll job for every open item whose poll is overdue by more than `graceMs` (its job was
 * lost, or enrichment was off while it waited). Idempotent by job key. Returns how many.
 */
export async function requeueOverdueEnrichment(db: Executor, graceMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `WITH overdue AS (
       SELECT id, next_poll_at, trace_context FROM social.enrichment_jobs
        WHERE status IN ('PENDING', 'WAITING')
          AND next_poll_at < now() - make_interval(secs => $1::double precision / 1000)
     )
     ${QUEUE_POLLS('overdue')}`,
    [graceMs],
  );
  return rowCount ?? 0;
}

export interface EnrichmentSummary {
  /** PENDING or WAITING. */
  readonly waiting: number;
  /** Age of the oldest open wait; 0 when nothing waits. */
  readonly oldestWaitSeconds: number;
  readonly done: number;
  readonly failed: number;
  readonly expired: number;
}

/** What a run's enrichment looks like now: for its status in the API. */
export async function enrichmentSummary(db: Executor, runId: string): Promise<EnrichmentSummary> {
  const { rows } = await db.query<EnrichmentSummary>(
    `SELECT count(*) FILTER (WHERE status IN ('PENDING', 'WAITING'))::int AS waiting,
            coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE status IN ('PENDING', 'WAITING'))),
                     0)::float AS "oldestWaitSeconds",
            count(*) FILTER (WHERE status = 'DONE')::int AS done,
            count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
            count(*) FILTER (WHERE status = 'EXPIRED')::int AS expired
       FROM social.enrichment_jobs WHERE run_id = $1`,
    [runId],
  );
  return rows[0]!;
}
