import { SiphonError } from '../core/errors.js';
import { parseQualifiedName } from '../core/identifiers.js';
import type { BatchPlan } from '../db/batch-sql.js';
import type { Executor, PoolClient } from '../db/pool.js';
import type { PipelineRow } from '../db/repositories/pipeline.repository.js';
import {
  createTarget,
  describeSource,
  describeTarget,
  type SourceColumn,
} from '../db/repositories/target.repository.js';

export interface ResolvedPlan extends BatchPlan {
  /** Type OID of the incremental key (0 in full mode): lookback arithmetic depends on it. */
  readonly incrementalType: number;
  /**
   * The source is on another server (source_connection): batches are read there, and a full run
   * stages the keys it reads for its final delete-not-seen.
   */
  readonly remote?: boolean;
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
  const source = await describeSource(db, pipeline.source_query);
  const names = source.map((c) => c.name);
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
  for (const key of pipeline.unique_key) requireColumn(source, key, 'unique_key');
  const incremental = pipeline.mode === 'incremental';
  const incrementalType = incremental
    ? requireColumn(source, pipeline.incremental_key!, 'incremental_key')
    : 0;

  let shape = await describeTarget(db, target, pipeline.unique_key);
  if (!shape && onMissingTarget) {
    await onMissingTarget((tx) =>
      createTarget(tx, target, pipeline.source_query, pipeline.unique_key, source),
    );
    shape = await describeTarget(db, target, pipeline.unique_key);
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
    cursorColumns: incremental ? [pipeline.incremental_key!, ...pipeline.unique_key] : pipeline.unique_key,
    incrementalKey: incremental ? pipeline.incremental_key : null,
    touchUpdatedAt: shape.columns.includes('updated_at') && !names.includes('updated_at'),
    deleteInBatch: !incremental && pipeline.unique_key.length === 1 && !shape.keyCollatable,
    // Target types for copied columns; the source's own type for a cursor column the target lacks.
    targetTypes: Object.fromEntries(source.map((c) => [c.name, shape.types[c.name] ?? c.typeName])),
    incrementalType,
  };
}

function requireColumn(source: readonly SourceColumn[], name: string, field: string): number {
  const column = source.find((c) => c.name === name);
  if (!column) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      `${field} "${name}" is not a column of source_query's result`,
      {
        field,
        details: { columns: source.map((c) => c.name) },
      },
    );
  }
  return column.typeOid;
}
