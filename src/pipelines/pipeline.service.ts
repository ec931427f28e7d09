import { SiphonError } from '../core/errors.js';
import { parsePipelineSpec } from '../core/pipeline-spec.schema.js';
import { requestTransition, type StatusRequest } from '../core/status.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import { parseTaskSpecs } from '../core/task-spec.schema.js';
import {
  assertAllowedTarget,
  assertSafeSourceQuery,
  assertSafeTaskSql,
  DEFAULT_SQL_POLICY,
  type SqlPolicy,
} from '../sql-guard/index.js';
import { defaultTaskRegistry, replaceTasks, type TaskRegistry, type TaskRow } from '../tasks/index.js';
import {
  bumpVersion,
  recordVersion,
  findPipeline,
  setEnabled,
  setRequestedStatus,
  upsertPipeline,
  type PipelineRow,
} from '../db/repositories/pipeline.repository.js';

/** Use cases shared by the API and the CLI. SQL stays in the repositories. */
export async function getPipeline(db: Executor, idOrName: string): Promise<PipelineRow> {
  const row = await findPipeline(db, idOrName);
  if (!row)
    throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
  return row;
}

/** Asks for a run or a pause, following the status machine; returns the updated pipeline. */
export async function requestStatus(
  pool: Pool,
  idOrName: string,
  request: StatusRequest,
  by: string,
  trigger = 'manual',
): Promise<PipelineRow> {
  return withTransaction(pool, async (tx) => {
    const row = await findPipeline(tx, idOrName, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    const next = requestTransition(row, request);
    if (next === row.status) return row;
    return setRequestedStatus(tx, row.id, next, trigger, by);
  });
}

export async function changeEnabled(
  pool: Pool,
  idOrName: string,
  enabled: boolean,
  by: string,
): Promise<PipelineRow> {
  return withTransaction(pool, async (tx) => {
    const row = await findPipeline(tx, idOrName, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    return row.enabled === enabled ? row : setEnabled(tx, row.id, enabled, by);
  });
}

/**
 * Creates or replaces a pipeline from a configuration (validated first), with its steps when the
 * configuration has `tasks`. An unregistered CODE task is refused here, never at run time.
 */
export async function savePipeline(
  pool: Pool,
  input: unknown,
  by: string,
  options: SaveOptions & { id?: string } = {},
): Promise<PipelineRow> {
  const { id, registry = defaultTaskRegistry(), policy = DEFAULT_SQL_POLICY } = options;
  const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
  const { tasks: taskInput, ...rest } = isObject ? (input as { tasks?: unknown }) : { tasks: undefined };
  const spec = parsePipelineSpec(isObject ? rest : input);
  await assertSafePipeline(spec, policy);
  const tasks = taskInput === undefined ? undefined : await parseSafeTasks(taskInput, registry, policy);
  try {
    return await withTransaction(pool, async (tx) => {
      const row = await upsertPipeline(tx, { ...spec, ...(id ? { id } : {}) }, by);
      if (tasks) {
        await replaceTasks(tx, row.id, tasks);
        await recordVersion(tx, row, by, tasks);
      }
      return row;
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_NAME_TAKEN',
        `a pipeline named "${spec.name}" already exists`,
        {
          field: 'name',
        },
      );
    }
    throw error;
  }
}

/** Replaces a pipeline's steps as a new configuration version. */
export async function setTasks(
  pool: Pool,
  idOrName: string,
  input: unknown,
  by: string,
  options: SaveOptions = {},
): Promise<{ pipeline: PipelineRow; tasks: TaskRow[] }> {
  const tasks = await parseSafeTasks(
    input,
    options.registry ?? defaultTaskRegistry(),
    options.policy ?? DEFAULT_SQL_POLICY,
  );
  return withTransaction(pool, async (tx) => {
    const existing = await findPipeline(tx, idOrName, true);
    if (!existing)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    const saved = await replaceTasks(tx, existing.id, tasks);
    const pipeline = await bumpVersion(tx, existing.id, by);
    await recordVersion(tx, pipeline, by, tasks);
    return { pipeline, tasks: saved };
  });
}

export interface SaveOptions {
  /** CODE tasks a pipeline may name. @default defaultTaskRegistry() */
  readonly registry?: TaskRegistry;
  /** Schemas a pipeline may read and write. @default DEFAULT_SQL_POLICY */
  readonly policy?: SqlPolicy;
}

/** The parser-based checks of a pipeline's SQL and target (also re-run by the runner at claim time). */
export async function assertSafePipeline(
  spec: { source_query: string; target_table: string },
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
): Promise<void> {
  assertAllowedTarget(spec.target_table.split('.')[0]!, policy);
  await assertSafeSourceQuery(spec.source_query, policy);
}

async function parseSafeTasks(input: unknown, registry: TaskRegistry, policy: SqlPolicy) {
  const tasks = parseTaskSpecs(input, (name) => registry.has(name));
  for (const [i, task] of tasks.entries()) {
    if (task.sql !== null) await assertSafeTaskSql(task.sql, policy, `tasks.${i}.sql`);
  }
  return tasks;
}
