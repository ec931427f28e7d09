import type { Executor } from '../pool.js';

export interface StateRow {
  pipeline_id: string;
  last_processed_value: string | null;
  last_processed_key: string[] | null;
  full_cursor: string[] | null;
  full_run_started_at: Date | null;
  /** The running full pass began on an empty target (a remote source's direct COPY, migration 0027). */
  full_pass_into_empty: boolean;
  /**
   * The pipeline version whose source query changed while a run wrote this pass: a run of that version
   * or later starts the pass over (migration 0029). NULL: none pending.
   */
  full_pass_restart_version: number | null;
  completed_tasks: string[];
  last_run_id: string | null;
  updated_at: Date;
}

export async function readState(db: Executor, pipelineId: string): Promise<StateRow | undefined> {
  const { rows } = await db.query<StateRow>('SELECT * FROM etl.etl_state WHERE pipeline_id = $1', [
    pipelineId,
  ]);
  return rows[0];
}

/**
 * Records, in a full pass's first batch transaction, whether the pass began on an empty target; a
 * later batch of the same pass (after a pause or a crash too) reads it back with `readPassIntoEmpty`.
 */
export async function markPassIntoEmpty(db: Executor, pipelineId: string, intoEmpty: boolean): Promise<void> {
  await db.query(
    `INSERT INTO etl.etl_state (pipeline_id, full_pass_into_empty) VALUES ($1, $2)
     ON CONFLICT (pipeline_id) DO UPDATE SET full_pass_into_empty = EXCLUDED.full_pass_into_empty`,
    [pipelineId, intoEmpty],
  );
}

export async function readPassIntoEmpty(db: Executor, pipelineId: string): Promise<boolean> {
  const { rows } = await db.query<{ into_empty: boolean }>(
    'SELECT full_pass_into_empty AS into_empty FROM etl.etl_state WHERE pipeline_id = $1',
    [pipelineId],
  );
  return rows[0]?.into_empty ?? false;
}

/** Whether a full pass is under way: a position stored, in its cursor or in its lanes. */
export async function fullPassUnfinished(db: Executor, pipelineId: string): Promise<boolean> {
  const { rows } = await db.query<{ unfinished: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM etl.etl_state WHERE pipeline_id = $1 AND full_cursor IS NOT NULL)
         OR EXISTS (SELECT 1 FROM etl.full_pass_lanes WHERE pipeline_id = $1) AS unfinished`,
    [pipelineId],
  );
  return rows[0]!.unfinished;
}

/** Clears the in-progress full-run position and the completed-task list when a run finishes. */
export async function completeState(db: Executor, pipelineId: string, runId: string): Promise<void> {
  await db.query(
    `WITH lanes AS (DELETE FROM etl.full_pass_lanes WHERE pipeline_id = $1)
     INSERT INTO etl.etl_state (pipeline_id, last_run_id) VALUES ($1, $2)
     ON CONFLICT (pipeline_id) DO UPDATE SET full_cursor = NULL, full_run_started_at = NULL, completed_tasks = '{}',
       full_pass_into_empty = false, full_pass_restart_version = NULL,
       last_run_id = EXCLUDED.last_run_id, updated_at = now()`,
    [pipelineId, runId],
  );
}

/**
 * Forgets the position of an unfinished full pass (the next run reads everything again): by the API
 * for a pipeline no run holds, by a run that finds `full_pass_restart_version` at or below its own.
 * The pass's into-empty flag stays until the next pass decides it again in its first batch; the
 * indexes a forgotten pass held are built before that pass reads (`buildIndexesHeldByAnotherPass`).
 */
export async function restartFullPass(db: Executor, pipelineId: string): Promise<void> {
  await db.query(
    `WITH lanes AS (DELETE FROM etl.full_pass_lanes WHERE pipeline_id = $1)
     UPDATE etl.etl_state SET full_cursor = NULL, full_run_started_at = NULL, completed_tasks = '{}',
       full_pass_restart_version = NULL, updated_at = now()
      WHERE pipeline_id = $1`,
    [pipelineId],
  );
}

/**
 * Asks the next run of `version` or later to start the full pass over (`restartFullPass`): the source
 * query changed (to `version`) while a run holds the pipeline. That run goes on with its pass and its
 * position (the change applies from the next run); forgetting the position now would be undone by its
 * next batch, and a pass paused later would resume at the old query's position under the new one. A
 * run that claimed an older version leaves the mark alone; a pass it completes needs nothing:
 * completing clears the mark.
 */
export async function requestFullPassRestart(
  db: Executor,
  pipelineId: string,
  version: number,
): Promise<void> {
  // Upserted: a run that has not committed its first batch yet has no state row.
  await db.query(
    `INSERT INTO etl.etl_state (pipeline_id, full_pass_restart_version) VALUES ($1, $2)
     ON CONFLICT (pipeline_id) DO UPDATE SET full_pass_restart_version = EXCLUDED.full_pass_restart_version,
       updated_at = now()`,
    [pipelineId, version],
  );
}

export async function resetState(db: Executor, pipelineId: string): Promise<void> {
  await db.query(
    `WITH lanes AS (DELETE FROM etl.full_pass_lanes WHERE pipeline_id = $1)
     DELETE FROM etl.etl_state WHERE pipeline_id = $1`,
    [pipelineId],
  );
}
