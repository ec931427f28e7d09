import { SiphonError } from '../core/errors.js';
import { parsePipelineSpec } from '../core/pipeline-spec.schema.js';
import { requestTransition, type StatusRequest } from '../core/status.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import {
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

/** Creates or replaces a pipeline from a configuration (validated first). */
export async function savePipeline(
  pool: Pool,
  input: unknown,
  by: string,
  id?: string,
): Promise<PipelineRow> {
  const spec = parsePipelineSpec(input);
  try {
    return await withTransaction(pool, (tx) => upsertPipeline(tx, { ...spec, ...(id ? { id } : {}) }, by));
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
