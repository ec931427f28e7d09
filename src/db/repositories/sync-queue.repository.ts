import { prepared, type Executor } from '../pool.js';
import type { ProfileRow } from '../../connectors/connector.js';
import {
  profileUpsertCte,
  profileUpsertParams,
  type RawResponseInsert,
  rawResponsesJson,
} from './social-tables.repository.js';
import {
  childTasksParams,
  claimCtes,
  openChildTasksCte,
  pageProgress,
  type ChildTask,
} from './sync-jobs.repository.js';

/**
 * The social engine on graphile-worker's queue (ADR 0010): queueing sync steps, freeing the steps of
 * dead runners, removing retired ones. This is the one file that knows graphile-worker's schema.
 *
 * Public SQL API used: `graphile_worker.add_jobs(job_spec[])` (one call per statement, with job keys
 * `sync-task:<id>`) and `graphile_worker.force_unlock_workers(text[])`. Two questions have no public
 * answer in graphile-worker 0.17.3 (package.json), so they read its private tables, which a minor
 * release may change (check them when upgrading; test/integration/social-*.test.ts exercise both):
 * - "does this task still have a live job?" (`_private_jobs.key`, `attempts < max_attempts`), to
 *   requeue only orphaned tasks after a takeover: `add_jobs` with an existing key would replace a
 *   running job's successor, and `WorkerUtils` offers no lookup by key;
 * - "delete the retired copies of our task" (`_private_jobs` joined to `_private_tasks` by
 *   identifier, at max attempts, unlocked): `remove_job(key)` takes one key and keeps locked jobs,
 *   and retired copies have lost theirs; likewise the steps a stopping runner's local queue handed
 *   back after their task was finished (`purgeReturnedSteps`, by job id).
 */

/**
 * graphile-worker takes lower priorities first: a backfill's steps wait while a regular sync has
 * steps ready, so a long backfill shares the credential's quota without starving the syncs.
 */
export const BACKFILL_PRIORITY = 10;

/** The graphile-worker task that executes one step (one page) of one sync task. */
export const SYNC_STEP_TASK = 'siphon_sync_step';

/**
 * Queues the graphile-worker jobs of the sync tasks `t` (of jobs `j`) that `from` selects, with one
 * `graphile_worker.add_jobs` call: one job per task (its job key, so queuing it again replaces a
 * waiting copy; the same semantics as `add_job`, which calls `add_jobs` with one spec), a backfill's
 * behind regular syncs. One call instead of one `add_job` per task: opening a run of 10,000 accounts
 * made 10,000 calls (and as many NOTIFYs) in one transaction, a posts page one per comment task.
 * The statement returns `n`, the number of tasks queued. `before`: CTEs the statement starts with.
 */
const addStepJobs = (runAt: string, trace: string, from: string, before?: string): string =>
  `WITH ${before ? `${before}, ` : ''}${stepJobsCtes(runAt, trace, from)}
   SELECT n FROM queued`;

/** addStepJobs as the CTEs `specs` and `queued` (`n`: how many were queued), for a larger statement. */
const stepJobsCtes = (runAt: string, trace: string, from: string): string =>
  `specs AS (
     SELECT ARRAY(
       SELECT ROW('${SYNC_STEP_TASK}', json_build_object('taskId', t.id, 'trace', ${trace}::json), NULL,
                  ${runAt}, 25, 'sync-task:' || t.id,
                  CASE WHEN j.job_kind = 'backfill' THEN ${BACKFILL_PRIORITY} ELSE 0 END, NULL
              )::graphile_worker.job_spec
       ${from}) AS a
   ), queued AS (
     SELECT CASE WHEN cardinality(a) > 0
                 THEN (SELECT count(*) FROM graphile_worker.add_jobs(a)) ELSE 0 END::int AS n
       FROM specs
   )`;

/** The tasks `opened` (openChildTasksCte) with their jobs, as stepJobsCtes' `from`. */
const OPENED = 'FROM opened t JOIN etl.sync_jobs j ON j.id = t.job_id ORDER BY t.id';

/** Queues the open tasks of the run (all, or those without a live job); returns how many. */
async function enqueueRunTasks(
  db: Executor,
  runId: string,
  trace: Readonly<Record<string, string>>,
  orphanedOnly: boolean,
): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    addStepJobs(
      'greatest(t.not_before, now())',
      '$2',
      `FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
      WHERE j.run_id = $1 AND j.status = 'RUNNING' AND t.status IN ('PENDING', 'WAITING')${
        orphanedOnly
          ? `
        AND NOT EXISTS (SELECT 1 FROM graphile_worker._private_jobs q
                         WHERE q.key = 'sync-task:' || t.id AND q.attempts < q.max_attempts)`
          : ''
      }
      ORDER BY t.id`,
    ),
    [runId, JSON.stringify(trace)],
  );
  return rows[0]!.n;
}

/** Puts every open task of the run on the queue (idempotent: one queued job per task, by job key). */
export const enqueueOpenTasks = (
  db: Executor,
  runId: string,
  trace: Readonly<Record<string, string>> = {},
): Promise<number> => enqueueRunTasks(db, runId, trace, false);

/**
 * Queues the run's open tasks that have no queued or running job at all (a job lost between a crash
 * and a takeover, or given up by graphile-worker). Tasks that have one are left alone, so a running
 * step is never doubled.
 */
export const enqueueOrphanedTasks = (
  db: Executor,
  runId: string,
  trace: Readonly<Record<string, string>> = {},
): Promise<number> => enqueueRunTasks(db, runId, trace, true);

/** Queues given tasks (new children, the next page, a retry at `runAt`), in the caller's transaction. */
export async function enqueueTasks(
  db: Executor,
  taskIds: readonly number[],
  runAt: Date | null = null,
  trace: Readonly<Record<string, string>> = {},
): Promise<void> {
  if (taskIds.length === 0) return;
  await db.query(
    prepared(
      addStepJobs(
        'coalesce($2, now())',
        '$3',
        `FROM unnest($1::bigint[]) AS u(id)
       JOIN etl.sync_tasks t ON t.id = u.id JOIN etl.sync_jobs j ON j.id = t.job_id
      ORDER BY t.id`,
      ),
      [[...new Set(taskIds)], runAt, JSON.stringify(trace)],
    ),
  );
}

/**
 * Creates child tasks of a job (idempotent: a child that exists is found again) and queues them, in
 * one statement, in the caller's transaction: a profile page's streams, a posts page's comments.
 * Returns how many were queued. One statement instead of an insert and then a queueing of its ids.
 */
export async function openChildTasks(
  db: Executor,
  jobId: string,
  children: readonly ChildTask[],
  trace: Readonly<Record<string, string>> = {},
): Promise<number> {
  if (children.length === 0) return 0;
  const { rows } = await db.query<{ n: number }>(
    prepared(addStepJobs('now()', '$5', OPENED, openChildTasksCte(1)), [
      ...childTasksParams(jobId, children),
      JSON.stringify(trace),
    ]),
  );
  return rows[0]!.n;
}

/**
 * A profile page committed by one statement outside any transaction: the claim and raw responses
 * (claimCtes), the profile upserted, the account's streams opened and queued, and the task DONE with
 * its counters. What the page transaction does for a profile (page-commit.ts) without the BEGIN, the
 * progress update and the COMMIT as round trips of their own; every write is guarded by the claim.
 * `claimed` false: nothing was written.
 */
export async function commitProfilePage(
  db: Executor,
  page: {
    readonly taskId: number;
    readonly jobId: string;
    readonly platform: string;
    readonly profile: ProfileRow | null;
    readonly raws: readonly RawResponseInsert[];
    readonly children: readonly ChildTask[];
    readonly calls: number;
    readonly trace: Readonly<Record<string, string>>;
  },
): Promise<{ claimed: boolean; written: number }> {
  const guard = 'EXISTS (SELECT 1 FROM claim)';
  const { rows } = await db.query<{ claimed: number; written: number }>(
    prepared(
      `WITH ${claimCtes(11, 12, 13)}, ${profileUpsertCte(guard)}, ${openChildTasksCte(14, guard)},
       ${stepJobsCtes('now()', '$18', OPENED)}, saved AS (
         UPDATE etl.sync_tasks SET ${pageProgress({
           cursor: 'NULL',
           items: '$19',
           written: '(SELECT count(*) FROM up)',
           calls: '$20',
           done: 'true',
         })}
          WHERE id = (SELECT id FROM claim)
       )
       SELECT (SELECT count(*) FROM claim)::int AS claimed, (SELECT count(*) FROM up)::int AS written,
              (SELECT n FROM queued) AS queued`,
      [
        ...profileUpsertParams(page.platform, page.profile),
        page.taskId,
        null,
        rawResponsesJson(page.raws),
        ...childTasksParams(page.jobId, page.children),
        JSON.stringify(page.trace),
        page.profile ? 1 : 0,
        page.calls,
      ],
    ),
  );
  return { claimed: rows[0]!.claimed === 1, written: rows[0]!.written };
}

/**
 * Refreshes the planner's statistics of the queue table after a large run was queued. Until autovacuum
 * analyzes it, the planner takes the table for small and answers graphile-worker's "next job" with a
 * bitmap scan and a sort of every queued job (543 ms with 100,000 queued, PostgreSQL 15) instead of
 * the first entry of its (priority, run_at) index (under 20 ms): every step paid it. The runner's role
 * owns graphile-worker's schema; a role that does not gets a warning from PostgreSQL, not an error.
 */
export async function analyzeQueue(db: Executor): Promise<void> {
  await db.query('ANALYZE graphile_worker._private_jobs');
}

/** graphile-worker pools of runners whose heartbeat is older than `staleMs`: their locked steps are freed. */
export async function unlockDeadWorkers(db: Executor, staleMs: number): Promise<number> {
  const { rows } = await db.query<{ queue_worker_id: string }>(
    `WITH dead AS (
       SELECT id, queue_worker_id FROM etl.etl_runners
        WHERE queue_worker_id IS NOT NULL
          AND (stopped_at IS NOT NULL OR heartbeat_at < now() - make_interval(secs => $1::double precision / 1000))
        FOR UPDATE SKIP LOCKED
     )
     UPDATE etl.etl_runners r SET queue_worker_id = NULL FROM dead WHERE r.id = dead.id
     RETURNING dead.queue_worker_id`,
    [staleMs],
  );
  if (rows.length === 0) return 0;
  await db.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [
    rows.map((r) => r.queue_worker_id),
  ]);
  return rows.length;
}

export async function setQueueWorkerId(db: Executor, runnerId: string, workerId: string): Promise<void> {
  await db.query('UPDATE etl.etl_runners SET queue_worker_id = $2 WHERE id = $1', [runnerId, workerId]);
}

/**
 * Deletes those of the given steps that are unlocked and whose task is no longer open: the steps a
 * stopping runner's local queue handed back when their task had been finished meanwhile (a step
 * queued again after a takeover, run by another worker). Left in the queue they would wait for a
 * runner to run them as no-ops. Steps of open tasks, and steps another runner has taken, stay.
 */
export async function purgeReturnedSteps(db: Executor, jobIds: readonly string[]): Promise<number> {
  if (jobIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `DELETE FROM graphile_worker._private_jobs j
      WHERE j.id = ANY($1::bigint[]) AND j.locked_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM etl.sync_tasks s
                         WHERE s.id = (j.payload ->> 'taskId')::bigint AND s.status IN ('PENDING', 'WAITING'))`,
    [jobIds],
  );
  return rowCount ?? 0;
}

/**
 * Removes sync steps that will never do anything: those graphile-worker retired (a step queued again
 * while a dead runner still held it leaves its old copy behind at max attempts; so does a step that
 * failed 25 times), and unlocked steps of a task already finished — a runner killed after committing
 * a page but before telling graphile-worker leaves its job behind, freed by unlockDeadWorkers.
 */
export async function purgeRetiredSteps(db: Executor): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM graphile_worker._private_jobs j USING graphile_worker._private_tasks t
      WHERE t.id = j.task_id AND t.identifier = $1 AND j.locked_at IS NULL
        AND (j.attempts >= j.max_attempts
             OR EXISTS (SELECT 1 FROM etl.sync_tasks s
                         WHERE s.id = (j.payload ->> 'taskId')::bigint AND s.status NOT IN ('PENDING', 'WAITING')))`,
    [SYNC_STEP_TASK],
  );
  return rowCount ?? 0;
}
