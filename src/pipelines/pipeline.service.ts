import { SiphonError } from '../core/errors.js';
import { parsePipelineSpec, type PipelineSpec } from '../core/pipeline-spec.schema.js';
import { findConnection } from '../db/repositories/connection.repository.js';
import { assertSafeRemoteQuery } from '../sources/index.js';
import {
  FIELDS_FROZEN_WHILE_RUNNING,
  isActiveStatus,
  requestTransition,
  type StatusRequest,
} from '../core/status.js';
import {
  fullPassUnfinished,
  readState,
  resetState,
  requestFullPassRestart,
  restartFullPass,
  type StateRow,
} from '../db/repositories/state.repository.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import { parseTaskSpecs } from '../core/task-spec.schema.js';
import { assertSourceRunnable } from './plan-check.js';
import {
  assertAllowedTarget,
  assertSafeInCatalog,
  assertSafeSourceQuery,
  assertSafeTaskSql,
  DEFAULT_SQL_POLICY,
  type ProbeTarget,
  type SqlPolicy,
} from '../sql-guard/index.js';
import { defaultTaskRegistry, replaceTasks, type TaskRegistry, type TaskRow } from '../tasks/index.js';
import {
  configOf,
  deletePipelineRow,
  recordAudit,
  updatePipeline,
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
  return (await requestStatusChange(pool, idOrName, request, by, trigger)).pipeline;
}

/**
 * The same, saying whether anything changed: repeating a request already in effect (a run of a
 * RUN_REQUESTED pipeline, a pause of a PAUSED or PAUSE_REQUESTED one) changes nothing and is not an
 * error, so a client may retry safely.
 */
export async function requestStatusChange(
  pool: Pool,
  idOrName: string,
  request: StatusRequest,
  by: string,
  trigger = 'manual',
): Promise<{ pipeline: PipelineRow; changed: boolean }> {
  return withTransaction(pool, async (tx) => {
    const row = await findPipeline(tx, idOrName, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    const next = requestTransition(row, request);
    if (next === row.status) return { pipeline: row, changed: false };
    return { pipeline: await setRequestedStatus(tx, row.id, next, trigger, by), changed: true };
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
  await assertSafeSpec(pool, spec, policy, saveProbe(options));
  if (options.readerPool && spec.kind !== 'social' && !spec.source_connection)
    await assertSourceRunnable(options.readerPool, spec, policy);
  const tasks =
    taskInput === undefined
      ? undefined
      : await parseSafeTasks(taskInput, registry, policy, saveProbe(options));
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
    throw nameTaken(error, spec.name);
  }
}

/** A unique violation on etl_pipelines (23505: the name index) is the person's name clash, said so. */
function nameTaken(error: unknown, name: string): unknown {
  if ((error as { code?: string }).code !== '23505') return error;
  return new SiphonError('SIPHON_ERR_PIPELINE_NAME_TAKEN', `a pipeline named "${name}" already exists`, {
    field: 'name',
  });
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
    saveProbe(options),
  );
  return withTransaction(pool, async (tx) => {
    const existing = await findPipeline(tx, idOrName, true);
    if (existing && (isActiveStatus(existing.status) || existing.status === 'RUN_REQUESTED')) {
      // A run reads its steps when its load ends: changing them under it would mix two versions.
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_TRANSITION',
        `cannot change the steps of a pipeline that is ${existing.status}`,
        {
          details: { status: existing.status },
        },
      );
    }
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
  /**
   * A siphon_reader pool: the SQL is also resolved by PostgreSQL (operators, casts, domains, views)
   * before it is saved (src/sql-guard/catalog-guard.ts). @default none: only the parser guard runs
   * here, and the runner probes at claim time (the demo, the CLI's own social pipelines)
   */
  readonly readerPool?: Pool;
}

/** How the catalog probe runs while saving: SQL that cannot be resolved yet is left to the runner's probe. */
export interface SqlProbe {
  readonly target: ProbeTarget;
  readonly unresolved: 'defer' | 'refuse';
}

function saveProbe(options: SaveOptions): SqlProbe | undefined {
  return options.readerPool ? { target: { pool: options.readerPool }, unresolved: 'defer' } : undefined;
}

/**
 * The checks of a pipeline's SQL and target: the parser guard, then — given a probe — what PostgreSQL
 * resolves the source query to (also re-run by the runner at claim time).
 */
export async function assertSafePipeline(
  spec: { kind?: string; source_query: string; target_table: string },
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
  probe?: SqlProbe,
): Promise<void> {
  if (spec.kind === 'social') return; // no user SQL: it reads platforms and writes the social schema
  assertAllowedTarget(spec.target_table.split('.')[0]!, policy);
  await assertSafeSourceQuery(spec.source_query, policy);
  if (probe) {
    await assertSafeInCatalog(probe.target, spec.source_query, 'source', {
      policy,
      unresolved: probe.unresolved,
    });
  }
}

/**
 * The checks made when a pipeline is saved: for a source on another server, the connection must exist
 * and the query pass its dialect's parser guard with the connection's schemas (the runner describes
 * it on that server at claim time); otherwise the checks of assertSafePipeline.
 */
async function assertSafeSpec(
  db: Executor,
  spec: PipelineSpec,
  policy: SqlPolicy,
  probe: SqlProbe | undefined,
): Promise<void> {
  if (spec.kind === 'social' || !spec.source_connection) return assertSafePipeline(spec, policy, probe);
  const connection = await findConnection(db, spec.source_connection);
  if (!connection) {
    throw new SiphonError(
      'SIPHON_ERR_CONNECTION_NOT_FOUND',
      `source_connection: no source connection named "${spec.source_connection}" (GET /connections)`,
      { field: 'source_connection' },
    );
  }
  assertAllowedTarget(spec.target_table.split('.')[0]!, policy);
  await assertSafeRemoteQuery(connection, spec.source_query, policy);
}

async function parseSafeTasks(input: unknown, registry: TaskRegistry, policy: SqlPolicy, probe?: SqlProbe) {
  const tasks = parseTaskSpecs(
    input,
    (name) => registry.has(name),
    registry.list().map((t) => t.name),
  );
  for (const [i, task] of tasks.entries()) {
    if (task.sql === null) continue;
    const field = `tasks.${i}.sql`;
    await assertSafeTaskSql(task.sql, policy, field);
    // A step usually reads the target the first run creates: what cannot be resolved yet is probed
    // again right before the step runs.
    if (probe)
      await assertSafeInCatalog(probe.target, task.sql, 'step', { policy, field, unresolved: 'defer' });
  }
  return tasks;
}

export interface PatchResult {
  readonly pipeline: PipelineRow;
  /** Fields that changed. */
  readonly changed: string[];
  /** `next_run` when a run is in progress: it keeps the configuration version it started with. */
  readonly appliesFrom: 'now' | 'next_run';
  /** The checkpoint was forgotten because it no longer meant anything (see adjustCheckpoint). */
  readonly checkpointReset: boolean;
}

/** Changes after which a stored cursor points into a different key space or table. */
const CURSOR_FIELDS = ['target_table', 'unique_key', 'mode', 'incremental_key', 'source_connection'];

/**
 * A checkpoint belongs to the configuration that produced it. When the target, key, mode or
 * incremental key change, it is forgotten (audited): the next run starts from the beginning. When
 * the source query changes during an unfinished full pass, that pass restarts, so rows below the old
 * cursor are refreshed and vanished ones deleted under the new query: at once when no run holds the
 * pipeline, else when the next run starts (the running one goes on with its pass, migration 0029).
 */
async function adjustCheckpoint(
  tx: Executor,
  pipeline: { readonly id: string; readonly mode: string; readonly version: number },
  changed: readonly string[],
  by: string,
  running: boolean,
) {
  const pipelineId = pipeline.id;
  if (running && pipeline.mode === 'full' && changed.includes('source_query')) {
    await requestFullPassRestart(tx, pipelineId, pipeline.version);
    return true;
  }
  const state = await readState(tx, pipelineId);
  if (!state) return false;
  if (changed.some((f) => CURSOR_FIELDS.includes(f))) {
    await resetState(tx, pipelineId);
    await recordAudit(tx, {
      pipelineId,
      action: 'state_reset',
      actor: by,
      details: { reason: 'configuration change', fields: changed, previous: state },
    });
    return true;
  }
  if (changed.includes('source_query') && (await fullPassUnfinished(tx, pipelineId))) {
    await restartFullPass(tx, pipelineId);
    return true;
  }
  return false;
}

/**
 * Changes part of a pipeline's configuration. `expectedVersion` (from If-Match or the body) must be
 * the stored version — a stale one is a 409, never a silent overwrite. While a run owns the pipeline,
 * fields that would change what the run means (FIELDS_FROZEN_WHILE_RUNNING) are refused; other
 * changes apply from the next run. Every change is a new version with who, when and what.
 */
export async function patchPipeline(
  pool: Pool,
  idOrName: string,
  patch: Record<string, unknown>,
  by: string,
  expectedVersion: number | undefined,
  options: SaveOptions = {},
): Promise<PatchResult> {
  if (expectedVersion === undefined) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_VERSION_REQUIRED',
      'send the version you are changing: an If-Match header with the ETag of GET /pipelines/{id}, or a "version" field',
      { field: 'version' },
    );
  }
  const current = await getPipeline(pool, idOrName);
  const merged = { ...configOf(current), ...patch };
  const spec = parsePipelineSpec(merged);
  const before = parsePipelineSpec(configOf(current));
  const changed = (Object.keys(spec) as Array<keyof typeof spec>).filter(
    (k) => JSON.stringify(spec[k]) !== JSON.stringify(before[k]),
  );
  await assertSafeSpec(pool, spec, options.policy ?? DEFAULT_SQL_POLICY, saveProbe(options));
  // The source check applies to what is being changed, not to a query saved before the rules were set.
  const sourceChanged = ['source_query', 'unique_key', 'incremental_key'].some((k) =>
    changed.includes(k as keyof typeof spec),
  );
  if (options.readerPool && spec.kind !== 'social' && !spec.source_connection && sourceChanged)
    await assertSourceRunnable(options.readerPool, spec, options.policy);
  return withTransaction(pool, async (tx) => {
    const row = await findPipeline(tx, current.id, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    if (row.version !== expectedVersion) {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_VERSION',
        `the pipeline is at version ${row.version}, not ${expectedVersion}: read it again and re-apply your change`,
        { field: 'version', details: { current: row.version, expected: expectedVersion } },
      );
    }
    const active = isActiveStatus(row.status);
    const frozen = changed.find((f) => (FIELDS_FROZEN_WHILE_RUNNING as readonly string[]).includes(f));
    if (active && frozen) {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_RUNNING_FIELD',
        `${frozen} cannot change while the pipeline is ${row.status}; pause it and wait for PAUSED first`,
        { field: frozen, details: { status: row.status } },
      );
    }
    if (changed.length === 0)
      return { pipeline: row, changed, appliesFrom: 'now' as const, checkpointReset: false };
    let updated: PipelineRow;
    try {
      updated = (await updatePipeline(tx, row.id, spec, expectedVersion, by))!;
    } catch (error) {
      throw nameTaken(error, spec.name);
    }
    const change = Object.fromEntries(changed.map((k) => [k, { from: before[k], to: spec[k] }]));
    await recordVersion(tx, updated, by, undefined, change);
    const checkpointReset = await adjustCheckpoint(tx, updated, changed, by, active);
    return {
      pipeline: updated,
      changed,
      appliesFrom: active ? ('next_run' as const) : ('now' as const),
      checkpointReset,
    };
  });
}

/** Deletes a pipeline with its state, runs and steps (the target table stays). Refused while a run owns it. */
export async function deletePipeline(pool: Pool, idOrName: string, by: string): Promise<PipelineRow> {
  return withTransaction(pool, async (tx) => {
    const row = await findPipeline(tx, idOrName, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    if (isActiveStatus(row.status)) {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_TRANSITION',
        `cannot delete a pipeline that is ${row.status}; pause it first`,
        {
          details: { status: row.status },
        },
      );
    }
    await recordAudit(tx, {
      pipelineId: row.id,
      action: 'delete',
      actor: by,
      details: { name: row.name, config: configOf(row) },
    });
    await deletePipelineRow(tx, row.id);
    return row;
  });
}

/** Forgets the checkpoint: the next run starts from the beginning. Audited; refused while a run owns it. */
export async function resetPipelineState(
  pool: Pool,
  idOrName: string,
  by: string,
): Promise<StateRow | undefined> {
  return withTransaction(pool, async (tx) => {
    const row = await findPipeline(tx, idOrName, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `no pipeline with id or name "${idOrName}"`);
    if (isActiveStatus(row.status) || row.status === 'RUN_REQUESTED') {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_TRANSITION',
        `cannot reset the checkpoint of a pipeline that is ${row.status}`,
        {
          details: { status: row.status },
        },
      );
    }
    const previous = await readState(tx, row.id);
    await resetState(tx, row.id);
    await recordAudit(tx, {
      pipelineId: row.id,
      action: 'state_reset',
      actor: by,
      details: { previous: previous ?? null },
    });
    return previous;
  });
}
