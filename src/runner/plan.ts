import type { BatchPlan } from '../db/batch-sql.js';
import { requireColumn, requireDistinctColumns, requireTarget, targetNameOf } from '../db/plan-checks.js';
import type { Executor, PoolClient } from '../db/pool.js';
import type { PipelineRow } from '../db/repositories/pipeline.repository.js';
import { createTarget, describeSource } from '../db/repositories/target.repository.js';

export interface ResolvedPlan extends BatchPlan {
  /** Type OID of the incremental key (0 in full mode): lookback arithmetic depends on it. */
  readonly incrementalType: number;
  /**
   * The source is on another server (source_connection): batches are read there, and a full run
   * stages the keys it reads for its final delete-not-seen.
   */
  readonly remote?: boolean;
  /**
   * A remote source whose first load by COPY may travel in binary: every stream column has the same
   * built-in type on both sides (db/copy-binary.ts, docs/adr/0023).
   */
  readonly copyBinary?: boolean;
}

type PipelineConfig = Pick<
  PipelineRow,
  'source_query' | 'target_table' | 'unique_key' | 'mode' | 'incremental_key'
>;

/**
 * Checks that a pipeline's source and target fit together and returns how batches move rows between
 * them. When the target is missing, `onMissingTarget` may create it (a new mart by configuration);
 * without it, a missing target is an error.
 */
export async function resolvePlan(
  db: Executor,
  pipeline: PipelineConfig,
  onMissingTarget?: (create: (tx: PoolClient) => Promise<void>) => Promise<void>,
): Promise<ResolvedPlan> {
  const target = targetNameOf(pipeline);
  const source = await describeSource(db, pipeline.source_query);
  const names = source.map((c) => c.name);
  requireDistinctColumns(names);
  for (const key of pipeline.unique_key) requireColumn(source, key, 'unique_key');
  const incremental = pipeline.mode === 'incremental';
  const incrementalType = incremental
    ? requireColumn(source, pipeline.incremental_key!, 'incremental_key').typeOid
    : 0;
  const shape = await requireTarget(
    db,
    pipeline,
    target,
    names,
    onMissingTarget &&
      (() =>
        onMissingTarget((tx) =>
          createTarget(tx, target, pipeline.source_query, pipeline.unique_key, source),
        )),
  );
  return {
    sourceQuery: pipeline.source_query,
    target,
    columns: names.filter((n) => shape.columns.includes(n)),
    keys: pipeline.unique_key,
    cursorColumns: incremental ? [pipeline.incremental_key!, ...pipeline.unique_key] : pipeline.unique_key,
    incrementalKey: incremental ? pipeline.incremental_key : null,
    touchUpdatedAt: shape.columns.includes('updated_at') && !names.includes('updated_at'),
    deleteInBatch: !incremental && pipeline.unique_key.length === 1 && !shape.keyCollatable,
    // Target types for copied columns; the source's own type for a cursor column the target lacks.
    targetTypes: Object.fromEntries(source.map((c) => [c.name, shape.types[c.name] ?? c.typeName])),
    incrementalType,
  };
}
