import { clockOf } from '../core/clock.js';
import type { Logger } from 'pino';
import { classifyFailure, isSiphonError, SiphonError } from '../core/errors.js';
import { orderTasks } from '../core/task-order.js';
import type { BatchPlan } from '../db/batch-sql.js';
import { withTransaction, type PoolClient } from '../db/pool.js';
import {
  fenceAndRenew,
  releasePipeline,
  type ClaimedPipeline,
  type Fence,
} from '../db/repositories/lease.repository.js';
import { addRowsDeleted, finishRun, type RunRow } from '../db/repositories/run.repository.js';
import { completeState, readPassIntoEmpty, readState } from '../db/repositories/state.repository.js';
import { deleteNotSeen } from '../db/repositories/target.repository.js';
import { clearSeenKeys, deleteNotStaged } from '../db/repositories/seen-keys.repository.js';
import { buildHeldIndexes } from '../db/repositories/held-indexes.repository.js';
import { assertSafeInCatalog, assertSafeTaskSql } from '../sql-guard/index.js';
import { inSpan } from '../observability/index.js';
import { listTasks, type TaskRow } from '../tasks/index.js';
import { isTaskDone, markTaskDone, runSqlTask } from '../db/repositories/task.repository.js';
import { LeaseLost, withRetries, type ExecutorDeps } from './run-support.js';

/**
 * After the last batch: remove rows the source no longer has (full mode), run the pipeline's steps in
 * order — each in its own fenced transaction that also records it as done, so a resumed run skips it —
 * then close the run. Every phase is idempotent, so a crash anywhere here resumes cleanly.
 */
export async function finish(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  plan: BatchPlan & { readonly remote?: boolean },
  fence: Fence,
  run: RunRow,
  log: Logger,
  /** Told what is being done, so that a failure says where it happened. */
  at: { phase?: string } = {},
): Promise<number> {
  at.phase = 'delete-not-seen';
  const deleted = await withRetries(deps, () =>
    withTransaction(deps.pool, async (tx) => {
      if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new LeaseLost();
      const n = claimed.mode === 'full' && !plan.deleteInBatch ? await deleteGone(tx, claimed, plan) : 0;
      await addRowsDeleted(tx, run.id, n);
      return n;
    }),
  );
  const state = await readState(deps.pool, claimed.id);
  const done = new Set(state?.completed_tasks ?? []);
  for (const task of await pendingTasks(deps, claimed.id)) {
    if (done.has(task.name)) continue;
    at.phase = `step ${task.name}`;
    const began = clockOf(deps).now();
    const rows = await withRetries(deps, () =>
      withTransaction(deps.pool, async (tx) => {
        if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new LeaseLost();
        // After an ambiguous commit the retry must not run the step a second time.
        if (await isTaskDone(tx, claimed.id, task.name)) return 0;
        const attributes = { 'siphon.task.name': task.name, 'siphon.task.type': task.task_type };
        const affected = await inSpan('siphon.task', attributes, () =>
          runTask(deps, tx, task, claimed, run, log),
        );
        await markTaskDone(tx, claimed.id, task.name);
        return affected;
      }),
    );
    log.info(
      { task: task.name, type: task.task_type, rowsAffected: rows, durationMs: clockOf(deps).now() - began },
      'task completed',
    );
    deps.events.emit('task:completed', {
      pipelineId: claimed.id,
      runId: run.id,
      task: task.name,
      durationMs: clockOf(deps).now() - began,
    });
  }
  at.phase = 'finish';
  await withRetries(deps, () =>
    withTransaction(deps.pool, async (tx) => {
      if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new LeaseLost();
      await completeState(tx, claimed.id, run.id);
      if (plan.remote) await clearSeenKeys(tx, claimed.id);
      await finishRun(tx, run.id, { status: 'SUCCESS' });
      await releasePipeline(tx, fence, 'IDLE');
    }),
  );
  return deleted;
}

/**
 * Delete-not-seen: an anti-join against the source query in this database, or, for a source on
 * another server, against the keys the pass staged (kept until the final transaction, so a crash
 * between the two repeats the same delete), or nothing after a pass that began on an empty target.
 */
async function deleteGone(
  tx: PoolClient,
  claimed: ClaimedPipeline,
  plan: BatchPlan & { readonly remote?: boolean },
): Promise<number> {
  if (!plan.remote) return deleteNotSeen(tx, plan);
  // A pass that began on an empty target wrote every row there itself: nothing to delete; the indexes
  // it held back are built now (docs/adr/0020).
  if (await readPassIntoEmpty(tx, claimed.id)) {
    await buildHeldIndexes(tx, plan.target);
    return 0;
  }
  const keyTypes = plan.keys.map((k) => plan.targetTypes[k] ?? 'text');
  return deleteNotStaged(tx, claimed.id, plan.target, plan.keys, keyTypes);
}

/**
 * Enabled steps in dependency order. An unregistered CODE task, or a SQL step the guard refuses (a row
 * written behind the API's back), fails the run before any batch.
 */
export async function pendingTasks(deps: ExecutorDeps, pipelineId: string): Promise<TaskRow[]> {
  // Order all steps (a disabled one still counts as a satisfied dependency), then keep the enabled.
  const tasks = orderTasks(await listTasks(deps.pool, pipelineId)).filter((t) => t.enabled);
  for (const [i, task] of tasks.entries()) {
    if (task.task_type === 'CODE') deps.tasks.get(task.task_name!);
    else await assertSafeTaskSql(task.sql!, deps.sqlPolicy, `tasks.${i}.sql`);
  }
  return tasks;
}

async function runTask(
  deps: ExecutorDeps,
  tx: PoolClient,
  task: TaskRow,
  claimed: ClaimedPipeline,
  run: RunRow,
  log: Logger,
): Promise<number> {
  try {
    if (task.task_type === 'SQL') {
      // Resolved by PostgreSQL in this very transaction, right before it runs (the target exists now).
      await assertSafeInCatalog({ tx }, task.sql!, 'step', {
        policy: deps.sqlPolicy,
        field: `tasks.${task.name}.sql`,
        unresolved: 'refuse',
      });
      return await runSqlTask(tx, task.sql!);
    }
    const result = await deps.tasks.get(task.task_name!).run({
      db: tx,
      pipeline: { id: claimed.id, name: claimed.name, targetTable: claimed.target_table },
      runId: run.id,
      params: task.params,
      signal: deps.stopSignal,
      logger: log.child({ task: task.name }),
    });
    return result?.rowsAffected ?? 0;
  } catch (error) {
    if (error instanceof LeaseLost || isSiphonError(error) || classifyFailure(error) === 'retryable')
      throw error;
    throw new SiphonError(
      'SIPHON_ERR_TASK_FAILED',
      `task "${task.name}" failed: ${(error as Error).message}`,
      {
        cause: error,
        field: 'tasks',
        details: { task: task.name, sqlstate: (error as { code?: string }).code },
      },
    );
  }
}
