import { SiphonError } from '../core/errors.js';
import { parseQualifiedName, type QualifiedName } from '../core/identifiers.js';
import { describeTarget, type TargetShape } from './repositories/target.repository.js';
import type { Executor } from './pool.js';

/**
 * The checks a pipeline's plan makes whatever server its source is on (runner/plan.ts for a source
 * in this database, sources/remote-plan.ts for one on another server): a plain target name, distinct
 * result columns, the keys among them, and a target with a unique index on the key and a column for
 * every result column.
 */

interface PlannedPipeline {
  readonly target_table: string;
  readonly unique_key: readonly string[];
  readonly incremental_key: string | null;
}

export function targetNameOf(pipeline: PlannedPipeline): QualifiedName {
  const target = parseQualifiedName(pipeline.target_table, 'analytics');
  if (!target) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      `target_table ${pipeline.target_table} is not a plain name`,
      { field: 'target_table' },
    );
  }
  return target;
}

export function requireDistinctColumns(names: readonly string[]): void {
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) {
    throw new SiphonError(
      'SIPHON_ERR_SOURCE_QUERY',
      `source_query yields the column "${duplicate}" twice; alias one of them`,
      { field: 'source_query' },
    );
  }
}

/** The result column `name` (a key named in `field`), or a refusal listing the columns there are. */
export function requireColumn<C extends { readonly name: string }>(
  columns: readonly C[],
  name: string,
  field: string,
): C {
  const column = columns.find((c) => c.name === name);
  if (!column) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      `${field} "${name}" is not a column of source_query's result`,
      { field, details: { columns: columns.map((c) => c.name) } },
    );
  }
  return column;
}

/**
 * The target's shape, after `createMissing` made it when it did not exist (a new mart by
 * configuration; without it a missing target is refused), checked against the key and the columns.
 */
export async function requireTarget(
  db: Executor,
  pipeline: PlannedPipeline,
  target: QualifiedName,
  names: readonly string[],
  createMissing: (() => Promise<void>) | undefined,
): Promise<TargetShape> {
  let shape = await describeTarget(db, target, pipeline.unique_key);
  if (!shape && createMissing) {
    await createMissing();
    shape = await describeTarget(db, target, pipeline.unique_key);
  }
  if (!shape) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_SCHEMA',
      `${pipeline.target_table} does not exist yet; run the pipeline to create it`,
      { field: 'target_table' },
    );
  }
  if (!shape.hasUniqueKey) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_SCHEMA',
      `${pipeline.target_table} has no unique index on (${pipeline.unique_key.join(', ')}); UPSERT needs one`,
      { field: 'unique_key' },
    );
  }
  const columns = shape.columns;
  const missing = names.filter((n) => !columns.includes(n) && n !== pipeline.incremental_key);
  if (missing.length > 0) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_SCHEMA',
      `${pipeline.target_table} has no column for ${missing.map((m) => `"${m}"`).join(', ')} produced by source_query`,
      { field: 'source_query', details: { missing } },
    );
  }
  return shape;
}
