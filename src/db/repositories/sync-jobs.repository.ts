import { prepared, type Executor } from '../pool.js';
import type { CommentRow } from '../../connectors/connector.js';
import {
  rawResponsesJson,
  wholeCommentsPassCtes,
  wholeCommentsPassParams,
  type RawResponseInsert,
} from './social-tables.repository.js';

/**
 * The social engine's durable work: per-account jobs of a run, their tasks (one per page stream, with
 * the cursor), a step's load, commit claim and end, and the run's progress as its coordinator sees it.
 * Queueing them on graphile-worker is sync-queue.repository.ts. Executor first.
 */

/** SKIPPED: the account is unreachable (not found, private, personal, suspended); not a failure. */
export type SyncJobStatus = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'SKIPPED';
export type SyncTaskKind = 'profile' | 'posts' | 'stories' | 'comments' | 'follows';
/** A task a page opens under its job: a profile's streams, a posts page's comments. */
export interface ChildTask {
  readonly kind: SyncTaskKind;
  readonly externalId: string;
  readonly detail: string | null;
}
export type SyncTaskStatus = 'PENDING' | 'WAITING' | 'DONE' | 'FAILED' | 'SKIPPED';

export interface JobsForRun {
  readonly pipelineId: string;
  readonly runId: string;
  readonly platform: string;
  readonly jobKind: 'sync' | 'backfill';
  readonly since: string | null;
  readonly until: string | null;
  /** The pipeline's list of accounts, or (null) its selection of tracked accounts. */
  readonly accounts: readonly string[] | null;
  readonly select?:
    | {
        readonly tags?: readonly string[] | undefined;
        readonly tier?: string | undefined;
        readonly due?: boolean;
      }
    | undefined;
}

/**
 * Registers the listed accounts (or selects tracked ones), adopts the pipeline's unfinished jobs (a
 * resumed or taken-over run goes on from their cursors), opens a job and its profile task for every
 * other account, and returns how many jobs the run holds. An account already being synced by another
 * pipeline is left to that one.
 */
export async function openRunJobs(
  db: Executor,
  spec: JobsForRun,
): Promise<{ adopted: number; opened: number; deferred: number }> {
  if (spec.accounts) {
    await db.query(
      `INSERT INTO social.accounts (platform, external_id)
       SELECT $1, a FROM unnest($2::text[]) AS a
       ON CONFLICT (platform, external_id) DO NOTHING`,
      [spec.platform, spec.accounts],
    );
  }
  const adopted = await db.query(
    `UPDATE etl.sync_jobs SET run_id = $2 WHERE pipeline_id = $1 AND status = 'RUNNING'`,
    [spec.pipelineId, spec.runId],
  );
  // An unreachable account is checked again only from its next_check_at: until then its job is
  // opened SKIPPED at once (the run shows it, no call is spent).
  const opened = await db.query<{ status: string }>(
    `WITH jobs AS (
       INSERT INTO etl.sync_jobs (account_id, platform, status, pipeline_id, run_id, job_kind, since, until,
                                  finished_at, error_code, error)
       SELECT a.id, a.platform, CASE WHEN d.deferred THEN 'SKIPPED' ELSE 'RUNNING' END, $1, $2, $4, $5, $6,
              CASE WHEN d.deferred THEN now() END,
              CASE WHEN d.deferred THEN 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE' END,
              CASE WHEN d.deferred THEN format('unreachable since %s (%s: %s); checked again from %s',
                                               to_char(a.unreachable_since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"'),
                                               a.unreachable_code, a.unreachable_reason,
                                               to_char(a.next_check_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI"Z"')) END
         FROM social.accounts a
        CROSS JOIN LATERAL (SELECT a.status = 'unreachable' AND a.next_check_at > now() AS deferred) d
        WHERE a.platform = $3
          AND CASE WHEN $7::text[] IS NOT NULL THEN a.external_id = ANY($7::text[])
                   -- A selection: tracked, not paused, every tag of $8, of tier $9 when given.
                   ELSE a.tracked AND NOT a.paused AND a.tags @> coalesce($8::text[], '{}')
                        AND ($9::text IS NULL OR a.tier = $9)
                        -- due: only accounts whose next sync is due (or that were never synced).
                        AND (NOT $10::boolean OR a.next_due_at IS NULL OR a.next_due_at <= now()) END
          AND NOT EXISTS (SELECT 1 FROM etl.sync_jobs j WHERE j.account_id = a.id AND j.status = 'RUNNING')
       ON CONFLICT DO NOTHING
       RETURNING id, account_id, status
     ), tasks AS (
       INSERT INTO etl.sync_tasks (job_id, kind, external_id)
       SELECT jobs.id, 'profile', a.external_id FROM jobs JOIN social.accounts a ON a.id = jobs.account_id
        WHERE jobs.status = 'RUNNING'
       RETURNING job_id
     )
     SELECT status FROM jobs`,
    [
      spec.pipelineId,
      spec.runId,
      spec.platform,
      spec.jobKind,
      spec.since,
      spec.until,
      spec.accounts,
      spec.accounts ? null : (spec.select?.tags ?? null),
      spec.accounts ? null : (spec.select?.tier ?? null),
      spec.accounts ? false : (spec.select?.due ?? false),
    ],
  );
  const deferred = opened.rows.filter((r) => r.status === 'SKIPPED').length;
  return { adopted: adopted.rowCount ?? 0, opened: opened.rows.length - deferred, deferred };
}

export interface StepRow {
  readonly task_id: number;
  readonly kind: SyncTaskKind;
  readonly external_id: string;
  readonly cursor: string | null;
  readonly status: SyncTaskStatus;
  readonly attempts: number;
  readonly detail: string | null;
  readonly job_id: string;
  readonly job_status: string;
  readonly job_kind: 'sync' | 'backfill';
  readonly job_started_at: Date;
  readonly since: Date | null;
  readonly until: Date | null;
  readonly run_id: string | null;
  readonly account_id: string;
  readonly account_external_id: string;
  readonly account_handle: string | null;
  /** 'active', or why the account is not (markAccountReachable). */
  readonly account_status: string;
  readonly last_synced_at: Date | null;
  /** The account's tier when it is tracked (null for an account only a pipeline's list names). */
  readonly account_tier: string | null;
  readonly platform: string;
  readonly pipeline_id: string | null;
  readonly pipeline_status: string | null;
  readonly pipeline_version: number | null;
  readonly current_run_id: string | null;
}

/**
 * Everything one step needs to know about its task, job, account and pipeline, except the pipeline's
 * `social` spec: a step reads the spec's `version` and takes the spec from its runner's cache
 * ({@link loadSocialSpec} once per version). Reading the spec here cost each step the whole of it: with
 * 100,000 accounts listed (2.8 MB of jsonb) PostgreSQL took 218 ms a step to unpack it.
 */
export async function loadStep(db: Executor, taskId: number): Promise<StepRow | undefined> {
  const { rows } = await db.query<StepRow>(
    prepared(
      `SELECT t.id AS task_id, t.kind, t.external_id, t.cursor, t.status, t.attempts, t.detail,
            j.id AS job_id, j.status AS job_status, j.job_kind, j.started_at AS job_started_at, j.since, j.until,
            j.run_id, a.id AS account_id, a.external_id AS account_external_id, a.handle AS account_handle,
            a.status AS account_status, a.last_synced_at, CASE WHEN a.tracked THEN a.tier END AS account_tier, a.platform, p.id AS pipeline_id,
            p.status AS pipeline_status, p.version AS pipeline_version, p.current_run_id
       FROM etl.sync_tasks t
       JOIN etl.sync_jobs j ON j.id = t.job_id
       JOIN social.accounts a ON a.id = j.account_id
       LEFT JOIN etl.etl_pipelines p ON p.id = j.pipeline_id
      WHERE t.id = $1`,
      [taskId],
    ),
  );
  return rows[0];
}

/**
 * A social pipeline's spec without its list or selection of accounts (a step syncs one account; the
 * list is what makes the spec large), at its current version.
 */
export async function loadSocialSpec(
  db: Executor,
  pipelineId: string,
): Promise<{ version: number; social: Record<string, unknown> | null } | undefined> {
  const { rows } = await db.query<{ version: number; social: Record<string, unknown> | null }>(
    `SELECT version, social - 'accounts' - 'select' AS social FROM etl.etl_pipelines WHERE id = $1`,
    [pipelineId],
  );
  return rows[0];
}

/**
 * The page claim as CTEs: `claim` locks the task and checks nobody committed this page meanwhile (the
 * cursor and status are what the step started from): one row, the task's id, or none; `raw` stores
 * the page's raw responses when it holds. `$task`, `$cursor`, `$raws` are the parameters' numbers.
 */
export const claimCtes = (task: number, cursor: number, raws: number): string =>
  `claim AS (
     SELECT t.id FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
      WHERE t.id = $${task} AND t.cursor IS NOT DISTINCT FROM $${cursor}::text
        AND t.status IN ('PENDING', 'WAITING') AND j.status = 'RUNNING'
      FOR UPDATE OF t
   ), raw AS (
     INSERT INTO social.raw_responses (platform, kind, external_id, request, payload, payload_hash, sync_task_id)
     SELECT r.platform, r.kind, r.external_id, r.request, r.payload, r.payload_hash, r.sync_task_id
       FROM claim, jsonb_to_recordset($${raws}::jsonb) AS r(platform text, kind text, external_id text,
            request jsonb, payload jsonb, payload_hash text, sync_task_id bigint)
   )`;

/** A page's progress on its task row: the next cursor (or DONE), counters, timings. */
export const pageProgress = (p: {
  cursor: string;
  items: string;
  written: string;
  calls: string;
  done: string;
}) =>
  `cursor = ${p.cursor}, pages = pages + 1, items = items + ${p.items}, written = written + ${p.written},
   calls = calls + ${p.calls}, attempts = 0, not_before = NULL,
   status = CASE WHEN ${p.done} THEN 'DONE' ELSE 'PENDING' END,
   finished_at = CASE WHEN ${p.done} THEN now() END,
   started_at = coalesce(started_at, now()), error_code = NULL, error = NULL, updated_at = now()`;

/**
 * Claims the page for its commit (claimCtes) and stores its raw responses in the same statement.
 * False: nothing was stored, drop the page, another worker got there first.
 *
 * One statement instead of a claim and an insert per raw response: each statement is a round trip
 * and a wake-up of the server, and on a busy machine those, not the work, are a page's price.
 */
export async function claimPageCommit(
  db: Executor,
  taskId: number,
  cursor: string | null,
  raws: readonly RawResponseInsert[],
): Promise<boolean> {
  const { rows } = await db.query<{ claimed: number }>(
    prepared(
      `WITH ${claimCtes(1, 2, 3)}
 SELECT count(*)::int AS claimed FROM claim`,
      [taskId, cursor, rawResponsesJson(raws)],
    ),
  );
  return rows[0]!.claimed === 1;
}

/** Stores a page's progress: next cursor (or DONE), counters, timings. */
export async function savePage(
  db: Executor,
  taskId: number,
  page: { cursor: string | null; items: number; written: number; calls: number; done: boolean },
): Promise<void> {
  await db.query(
    prepared(
      `UPDATE etl.sync_tasks SET ${pageProgress({ cursor: '$2', items: '$3', written: '$5', calls: '$6', done: '$4::boolean' })}
      WHERE id = $1`,
      [taskId, page.cursor, page.items, page.done, page.written, page.calls],
    ),
  );
}

/**
 * A post's comments that are the whole pass (one page, no cursor before or after), committed by one
 * statement outside any transaction: the claim and raw responses, the comments and the deletion
 * marks of the post's others (social-tables' wholeCommentsPassCtes), and the task DONE. What
 * claimPageCommit, upsertCommentsOfWholePass and savePage do in a transaction, without the BEGIN,
 * the progress update and the COMMIT as round trips of their own: most of a sync's pages are these.
 * `claimed` false: nothing was written.
 */
export async function commitWholeCommentsPage(
  db: Executor,
  page: {
    readonly taskId: number;
    readonly platform: string;
    readonly post: string;
    readonly rows: readonly CommentRow[];
    readonly raws: readonly RawResponseInsert[];
    readonly calls: number;
  },
): Promise<{ claimed: boolean; written: number }> {
  const { rows } = await db.query<{ claimed: number; written: number }>(
    prepared(
      `WITH ${claimCtes(11, 12, 13)}, ${wholeCommentsPassCtes('EXISTS (SELECT 1 FROM claim)')}, saved AS (
         UPDATE etl.sync_tasks SET ${pageProgress({
           cursor: 'NULL',
           items: '$14',
           written: '(SELECT count(*) FROM up)',
           calls: '$15',
           done: 'true',
         })}
          WHERE id = (SELECT id FROM claim)
       )
       SELECT (SELECT count(*) FROM claim)::int AS claimed, (SELECT count(*) FROM up)::int AS written`,
      [
        ...wholeCommentsPassParams(page.platform, page.post, page.rows),
        page.taskId,
        null,
        rawResponsesJson(page.raws),
        page.rows.length,
        page.calls,
      ],
    ),
  );
  return { claimed: rows[0]!.claimed === 1, written: rows[0]!.written };
}

/** Ends a task without more pages: SKIPPED (nothing to read) or FAILED. */
export async function endTask(
  db: Executor,
  taskId: number,
  status: 'SKIPPED' | 'FAILED',
  failure: { code: string; message: string },
): Promise<void> {
  await db.query(
    prepared(
      `UPDATE etl.sync_tasks SET status = $2, error_code = $3, error = $4, finished_at = now(), updated_at = now()
      WHERE id = $1`,
      [taskId, status, failure.code, failure.message],
    ),
  );
}

/** Reschedules a task (Retry-After, quota reset, transient backoff): WAITING until `notBefore`. */
export async function deferTask(
  db: Executor,
  taskId: number,
  notBefore: Date,
  failure: { code: string; message: string },
  countsAsAttempt: boolean,
): Promise<void> {
  await db.query(
    prepared(
      `UPDATE etl.sync_tasks
        SET status = 'WAITING', not_before = $2, error_code = $3, error = $4, updated_at = now(),
            attempts = attempts + CASE WHEN $5::boolean THEN 1 ELSE 0 END
      WHERE id = $1`,
      [taskId, notBefore, failure.code, failure.message, countsAsAttempt],
    ),
  );
}

/** A job not started in this run (its account stays due): SKIPPED with its open tasks. */
export function skipJob(
  db: Executor,
  jobId: string,
  reason: { code: string; message: string },
): Promise<void> {
  return closeJob(db, jobId, 'SKIPPED', reason);
}

/** A job whose credential or account cannot be read: FAILED, its open tasks SKIPPED. */
export function failJob(
  db: Executor,
  jobId: string,
  failure: { code: string; message: string },
): Promise<void> {
  return closeJob(db, jobId, 'FAILED', failure);
}

async function closeJob(
  db: Executor,
  jobId: string,
  status: 'FAILED' | 'SKIPPED',
  failure: { code: string; message: string },
): Promise<void> {
  await db.query(
    `UPDATE etl.sync_tasks SET status = 'SKIPPED', finished_at = now(), updated_at = now()
      WHERE job_id = $1 AND status IN ('PENDING', 'WAITING')`,
    [jobId],
  );
  await db.query(
    `WITH closed_jobs AS (
       UPDATE etl.sync_jobs SET status = $4, finished_at = now(), error_code = $2, error = $3
        WHERE id = $1 AND status = 'RUNNING'
       RETURNING id
     )
     ${ADD_JOBS_TO_RUN}`,
    [jobId, failure.code, failure.message, status],
  );
}

/**
 * The account cannot be read (not found, private, personal, suspended, renamed): it is marked
 * unreachable with the platform's reason, checked again after a day, then after 2, 4 and at most 7
 * days; its job ends SKIPPED with its open tasks. A run with skipped accounts still succeeds.
 */
export async function skipUnreachableAccount(
  db: Executor,
  jobId: string,
  accountId: string,
  failure: { code: string; message: string },
): Promise<void> {
  await db.query(
    `UPDATE social.accounts
        SET status = 'unreachable', unreachable_code = $2, unreachable_reason = $3,
            unreachable_since = CASE WHEN status = 'unreachable' THEN unreachable_since ELSE now() END,
            last_checked_at = now(), unreachable_checks = unreachable_checks + 1,
            next_check_at = now() + least(interval '1 day' * power(2, unreachable_checks), interval '7 days')
      WHERE id = $1`,
    [accountId, failure.code, failure.message],
  );
  await closeJob(db, jobId, 'SKIPPED', failure);
}

/** The platform served the account's profile: it is reachable (again). */
export async function markAccountReachable(db: Executor, accountId: string): Promise<void> {
  await db.query(
    prepared(
      `UPDATE social.accounts
        SET status = 'active', unreachable_code = NULL, unreachable_reason = NULL, unreachable_since = NULL,
            unreachable_checks = 0, next_check_at = NULL, last_checked_at = now()
      WHERE id = $1 AND status <> 'active'`,
      [accountId],
    ),
  );
}

/**
 * A CTE named `opened` that creates child tasks (idempotently: one that exists is found again) and
 * returns their `id` and `job_id`, to be queued by the same statement (sync-queue.repository.ts).
 * Parameters from `$first`: the job, then the children's kinds, external ids and details (arrays).
 * `guard`: a condition the children are created under.
 */
export const openChildTasksCte = (first: number, guard?: string): string =>
  `opened AS (
     INSERT INTO etl.sync_tasks (job_id, kind, external_id, detail)
     SELECT $${first}::uuid, k, e, d FROM unnest($${first + 1}::text[], $${first + 2}::text[], $${first + 3}::text[]) AS c(k, e, d)${
       guard ? ` WHERE ${guard}` : ''
     }
     ON CONFLICT (job_id, kind, external_id) DO UPDATE SET detail = EXCLUDED.detail
     RETURNING id, job_id
   )`;

/** The parameters of openChildTasksCte, in its order. */
export const childTasksParams = (jobId: string, children: readonly ChildTask[]): unknown[] => [
  jobId,
  children.map((c) => c.kind),
  children.map((c) => c.externalId),
  children.map((c) => c.detail),
];

/** Calls a step made that did not end in a page (a failure, a wait): counted on its own task row. */
export async function addTaskCalls(db: Executor, taskId: number, calls: number): Promise<void> {
  if (calls > 0)
    await db.query(prepared('UPDATE etl.sync_tasks SET calls = calls + $2 WHERE id = $1', [taskId, calls]));
}

/**
 * Adds closed jobs' task counters to their run: items read, rows written, pages as batches. Done once
 * per job, when it closes, instead of per page: the run's row would otherwise be updated (and locked
 * until commit) by every page transaction of every runner. A job adopted after a pause brings the
 * pages its earlier run read.
 */
const ADD_JOBS_TO_RUN = `
  UPDATE etl.etl_runs r
     SET rows_read = r.rows_read + c.items, rows_written = r.rows_written + c.written,
         batches = r.batches + c.pages
    FROM (SELECT j.run_id, coalesce(sum(t.items), 0) AS items, coalesce(sum(t.written), 0) AS written,
                 coalesce(sum(t.pages), 0) AS pages
            FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
           WHERE t.job_id IN (SELECT id FROM closed_jobs)
           GROUP BY j.run_id) c
   WHERE r.id = c.run_id`;

// ---- the run, seen from its coordinator -----------------------------------------------------------

export interface RunProgress {
  readonly jobs: number;
  readonly running_jobs: number;
  readonly failed_jobs: number;
  readonly open_tasks: number;
  readonly waiting_tasks: number;
  readonly failed_tasks: number;
  readonly first_error_code: string | null;
  readonly first_error: string | null;
}

/**
 * Polled by the coordinator every 500 ms: job counts come from the run's jobs (sync_jobs_run_idx) and
 * open tasks from the partial index of open tasks, so a poll no longer joins every task the run ever
 * had; failed tasks are looked up per job of the run through the (job_id, …) unique index.
 */
export async function runProgress(db: Executor, runId: string): Promise<RunProgress> {
  const { rows } = await db.query<RunProgress>(
    `WITH jobs AS (
       SELECT j.id, j.status, j.error_code, j.error FROM etl.sync_jobs j WHERE j.run_id = $1
     ), open_tasks AS (
       SELECT t.status FROM jobs JOIN etl.sync_tasks t ON t.job_id = jobs.id
        WHERE t.status IN ('PENDING', 'WAITING')
     ), failed AS (
       -- The first error as the join of jobs × tasks ordered by task id would give it: a failed job
       -- ranks by its first task, a failed task (of any job) by its own id.
       SELECT first.id AS rank, coalesce(jobs.error_code, first.error_code) AS error_code,
              coalesce(jobs.error, first.error) AS error, false AS task_failed
         FROM jobs LEFT JOIN LATERAL (
                SELECT t.id, t.error_code, t.error FROM etl.sync_tasks t WHERE t.job_id = jobs.id
                 ORDER BY t.id LIMIT 1
              ) first ON true
        WHERE jobs.status = 'FAILED'
       UNION ALL
       SELECT t.id, coalesce(jobs.error_code, t.error_code), coalesce(jobs.error, t.error), true
         FROM jobs JOIN etl.sync_tasks t ON t.job_id = jobs.id
        WHERE t.status = 'FAILED'
     )
     SELECT (SELECT count(*) FROM jobs)::int AS jobs,
            (SELECT count(*) FROM jobs WHERE status = 'RUNNING')::int AS running_jobs,
            (SELECT count(*) FROM jobs WHERE status = 'FAILED')::int AS failed_jobs,
            (SELECT count(*) FROM open_tasks)::int AS open_tasks,
            (SELECT count(*) FROM open_tasks WHERE status = 'WAITING')::int AS waiting_tasks,
            (SELECT count(*) FROM failed WHERE task_failed)::int AS failed_tasks,
            (SELECT error_code FROM failed ORDER BY rank NULLS LAST LIMIT 1) AS first_error_code,
            (SELECT error FROM failed ORDER BY rank NULLS LAST LIMIT 1) AS first_error`,
    [runId],
  );
  return rows[0]!;
}

/**
 * Closes the run's jobs that have no open task: SUCCESS (and the account's last_synced_at moves to the
 * job's start, for regular syncs and backfills of the whole history) or FAILED when one of its tasks failed. Returns how many closed.
 * Polled every 500 ms in the coordinator's transaction: with 10,000 running jobs the planner's estimate
 * crosses `jit_above_cost`, and on a server with JIT compiling the plan took ~430 ms of the ~800 ms
 * statement (PostgreSQL 15, EXPLAIN ANALYZE); JIT is turned off for the rest of that transaction.
 */
export async function closeFinishedJobs(db: Executor, runId: string): Promise<number> {
  await db.query('SET LOCAL jit = off');
  // Which running jobs have no open task: one hash anti-join of the run's running jobs with the open
  // tasks. The planner's choice, a nested loop probing the open tasks once per running job, took
  // 544 ms at 100,000 jobs against 164 ms (PostgreSQL 15, EXPLAIN ANALYZE) and grew with every job.
  await db.query('SET LOCAL enable_nestloop = off');
  const finished = await db.query<{ id: string }>(
    `SELECT j.id FROM etl.sync_jobs j
      WHERE j.run_id = $1 AND j.status = 'RUNNING'
        AND NOT EXISTS (SELECT 1 FROM etl.sync_tasks t WHERE t.job_id = j.id AND t.status IN ('PENDING', 'WAITING'))`,
    [runId],
  );
  await db.query('SET LOCAL enable_nestloop TO DEFAULT');
  if (finished.rows.length === 0) return 0;
  const { rows } = await db.query<{ id: string }>(
    `WITH done AS (
       SELECT j.id, j.account_id, j.job_kind, j.since, j.until, j.started_at, f.code, f.error
         FROM etl.sync_jobs j
         LEFT JOIN LATERAL (
           SELECT t.error_code AS code, t.error FROM etl.sync_tasks t
            WHERE t.job_id = j.id AND t.status = 'FAILED' ORDER BY t.id LIMIT 1
         ) f ON true
        WHERE j.id = ANY($2::uuid[]) AND j.run_id = $1 AND j.status = 'RUNNING'
          -- Checked again under the lock: a step may have opened a task since.
          AND NOT EXISTS (SELECT 1 FROM etl.sync_tasks t WHERE t.job_id = j.id AND t.status IN ('PENDING', 'WAITING'))
        FOR UPDATE OF j
     ), closed AS (
       UPDATE etl.sync_jobs j SET status = CASE WHEN done.code IS NULL THEN 'SUCCESS' ELSE 'FAILED' END,
              finished_at = now(), error_code = done.code, error = done.error
         FROM done WHERE j.id = done.id
       RETURNING j.id
     ), closed_jobs AS (
       SELECT id FROM closed
     ), counted AS (${ADD_JOBS_TO_RUN}
       RETURNING 1
     ), synced AS (
       -- A tracked account's next sync is due at its next slot in its tier's interval (migration 0023).
       -- A backfill over the whole history read everything a regular sync reads: it counts as the
       -- account's last sync, so the next regular sync does not read every post's comments again.
       UPDATE social.accounts a SET last_synced_at = done.started_at,
              next_due_at = CASE WHEN a.tracked THEN social.next_slot(
                a.platform || ':' || a.external_id,
                (SELECT t.sync_interval FROM social.tiers t WHERE t.name = a.tier), now()) END
         FROM done WHERE a.id = done.account_id AND done.code IS NULL
          AND (done.job_kind = 'sync' OR (done.since IS NULL AND done.until IS NULL))
     )
     SELECT id FROM closed`,
    [runId, finished.rows.map((r) => r.id)],
  );
  return rows.length;
}
