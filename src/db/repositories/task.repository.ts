import { parseQualifiedName, quoteQualified } from '../../core/identifiers.js';
import type { TaskSpec } from '../../core/task-spec.schema.js';
import { oneStatement, type Executor } from '../pool.js';

/** A validated step as stored in etl.etl_pipeline_tasks. */
export interface TaskRow extends TaskSpec {
  id: string;
  pipeline_id: string;
}

export type TaskInput = TaskSpec;

export async function listTasks(db: Executor, pipelineId: string): Promise<TaskRow[]> {
  const { rows } = await db.query<TaskRow>(
    'SELECT * FROM etl.etl_pipeline_tasks WHERE pipeline_id = $1 ORDER BY position, name',
    [pipelineId],
  );
  return rows;
}

/** Replaces all steps of a pipeline (caller's transaction). */
export async function replaceTasks(
  db: Executor,
  pipelineId: string,
  tasks: readonly TaskInput[],
): Promise<TaskRow[]> {
  await db.query('DELETE FROM etl.etl_pipeline_tasks WHERE pipeline_id = $1', [pipelineId]);
  if (tasks.length > 0) {
    await db.query(
      `INSERT INTO etl.etl_pipeline_tasks (pipeline_id, name, position, task_type, sql, task_name, params, depends_on, enabled)
       SELECT $1, t.name, t.position, t.task_type, t.sql, t.task_name, t.params, t.depends_on, t.enabled
         FROM jsonb_to_recordset($2::jsonb)
           AS t(name text, position int, task_type text, sql text, task_name text, params jsonb, depends_on text[], enabled boolean)`,
      [pipelineId, JSON.stringify(tasks)],
    );
  }
  return listTasks(db, pipelineId);
}

/** Runs a SQL step's statement (one statement; the guard that checks it belongs to the API). */
export async function runSqlTask(db: Executor, sql: string): Promise<number> {
  const result = await db.query(oneStatement(sql));
  return result.rowCount ?? 0;
}

/** Whether the step is already recorded as done in this pass (locks the state row until COMMIT). */
export async function isTaskDone(db: Executor, pipelineId: string, taskName: string): Promise<boolean> {
  const { rows } = await db.query<{ done: boolean }>(
    'SELECT $2 = ANY (completed_tasks) AS done FROM etl.etl_state WHERE pipeline_id = $1 FOR UPDATE',
    [pipelineId, taskName],
  );
  return rows[0]?.done ?? false;
}

export async function markTaskDone(db: Executor, pipelineId: string, taskName: string): Promise<void> {
  await db.query(
    `INSERT INTO etl.etl_state (pipeline_id, completed_tasks) VALUES ($1, ARRAY[$2])
     ON CONFLICT (pipeline_id) DO UPDATE SET completed_tasks = array_append(etl.etl_state.completed_tasks, $2), updated_at = now()`,
    [pipelineId, taskName],
  );
}

export async function analyzeTable(db: Executor, table: string): Promise<void> {
  const name = parseQualifiedName(table, 'analytics');
  if (name) await db.query(`ANALYZE ${quoteQualified(name)}`);
}

export async function refreshRatingStats(db: Executor): Promise<number> {
  await db.query('DELETE FROM analytics.film_rating_stats');
  const { rowCount } = await db.query(
    `INSERT INTO analytics.film_rating_stats (rating_bucket, films, votes)
     SELECT floor(avg_rating)::int, count(*), sum(votes_count) FROM analytics.film_rating_agg GROUP BY 1`,
  );
  return rowCount ?? 0;
}
