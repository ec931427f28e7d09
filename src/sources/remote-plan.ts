import { SiphonError } from '../core/errors.js';
import { parseQualifiedName } from '../core/identifiers.js';
import type { BatchPlan } from '../db/batch-sql.js';
import type { Executor, PoolClient } from '../db/pool.js';
import { createTargetFromColumns, describeTarget, typeOidOf } from '../db/repositories/target.repository.js';
import type { RemoteColumn, RemoteSource } from './source.js';

interface RemotePipeline {
  readonly source_query: string;
  readonly target_table: string;
  readonly unique_key: readonly string[];
  readonly mode: 'full' | 'incremental';
  readonly incremental_key: string | null;
}

/**
 * The plan of a pipeline whose source is on another server: the same checks as a local source
 * (runner/plan.ts) — distinct columns, keys among them, a target with a unique index on the key and a
 * column for every source column — but the source is described by the remote server and a missing
 * target is created from the mapped types. Batches never delete in their own key range (the source's
 * order is not the target's): a full run deletes at the end from the keys it staged.
 */
export async function resolveRemotePlan(
  source: RemoteSource,
  local: Executor,
  pipeline: RemotePipeline,
  onMissingTarget?: (create: (tx: PoolClient) => Promise<void>) => Promise<void>,
): Promise<BatchPlan & { readonly incrementalType: number; readonly remoteColumns: RemoteColumn[] }> {
  const target = parseQualifiedName(pipeline.target_table, 'analytics');
  if (!target) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      `target_table ${pipeline.target_table} is not a plain name`,
      {
        field: 'target_table',
      },
    );
  }
  const columns = await source.describe(pipeline.source_query);
  const names = columns.map((c) => c.name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) {
    throw new SiphonError(
      'SIPHON_ERR_SOURCE_QUERY',
      `source_query yields the column "${duplicate}" twice; alias one of them`,
      {
        field: 'source_query',
      },
    );
  }
  const find = (name: string, field: string) => {
    const column = columns.find((c) => c.name === name);
    if (!column) {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_INVALID',
        `${field} "${name}" is not a column of source_query's result`,
        {
          field,
          details: { columns: names },
        },
      );
    }
    return column;
  };
  for (const key of pipeline.unique_key) find(key, 'unique_key');
  const incremental = pipeline.mode === 'incremental';
  const incrementalColumn = incremental ? find(pipeline.incremental_key!, 'incremental_key') : undefined;

  let shape = await describeTarget(local, target, pipeline.unique_key);
  if (!shape && onMissingTarget) {
    await onMissingTarget((tx) =>
      createTargetFromColumns(
        tx,
        target,
        pipeline.unique_key,
        columns.map((c) => ({ name: c.name, type: c.pgType })),
      ),
    );
    shape = await describeTarget(local, target, pipeline.unique_key);
  }
  if (!shape) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_SCHEMA',
      `${pipeline.target_table} does not exist yet; run the pipeline to create it`,
      {
        field: 'target_table',
      },
    );
  }
  if (!shape.hasUniqueKey) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_SCHEMA',
      `${pipeline.target_table} has no unique index on (${pipeline.unique_key.join(', ')}); UPSERT needs one`,
      { field: 'unique_key' },
    );
  }
  const missing = names.filter((n) => !shape.columns.includes(n) && n !== pipeline.incremental_key);
  if (missing.length > 0) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_SCHEMA',
      `${pipeline.target_table} has no column for ${missing.map((m) => `"${m}"`).join(', ')} produced by source_query`,
      { field: 'source_query', details: { missing } },
    );
  }
  return {
    sourceQuery: pipeline.source_query,
    target,
    columns: names.filter((n) => shape.columns.includes(n)),
    keys: pipeline.unique_key,
    cursorColumns: incremental
      ? [pipeline.incremental_key!, ...pipeline.unique_key]
      : [...pipeline.unique_key],
    incrementalKey: incremental ? pipeline.incremental_key : null,
    touchUpdatedAt: shape.columns.includes('updated_at') && !names.includes('updated_at'),
    deleteInBatch: false,
    targetTypes: Object.fromEntries(columns.map((c) => [c.name, shape.types[c.name] ?? c.cursorType])),
    incrementalType: incrementalColumn ? await typeOidOf(local, incrementalColumn.cursorType) : 0,
    remoteColumns: columns,
  };
}
