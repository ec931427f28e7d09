import type { BatchPlan } from '../db/batch-sql.js';
import { requireColumn, requireDistinctColumns, requireTarget, targetNameOf } from '../db/plan-checks.js';
import type { Executor, PoolClient } from '../db/pool.js';
import { createTargetFromColumns, typeOidOf } from '../db/repositories/target.repository.js';
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
): Promise<
  BatchPlan & {
    readonly incrementalType: number;
    readonly remoteColumns: RemoteColumn[];
    /** Whether each target column's type is built in (db/copy-binary.ts). */
    readonly targetBuiltin: Readonly<Record<string, boolean>>;
  }
> {
  const target = targetNameOf(pipeline);
  const columns = await source.describe(pipeline.source_query);
  const names = columns.map((c) => c.name);
  requireDistinctColumns(names);
  for (const key of pipeline.unique_key) requireColumn(columns, key, 'unique_key');
  const incremental = pipeline.mode === 'incremental';
  const incrementalColumn = incremental
    ? requireColumn(columns, pipeline.incremental_key!, 'incremental_key')
    : undefined;
  const shape = await requireTarget(
    local,
    pipeline,
    target,
    names,
    onMissingTarget &&
      (() =>
        onMissingTarget((tx) =>
          createTargetFromColumns(
            tx,
            target,
            pipeline.unique_key,
            columns.map((c) => ({ name: c.name, type: c.pgType })),
          ),
        )),
  );
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
    targetBuiltin: shape.builtin,
  };
}
