import { SiphonError, sqlstateOf } from '../core/errors.js';
import { withTransaction, type Pool } from '../db/pool.js';
import {
  assertPlanWithinLimits,
  DEFAULT_PLAN_LIMITS,
  DEFAULT_SQL_POLICY,
  type SqlPolicy,
} from '../sql-guard/index.js';
import { explainSource, withStatementTimeout } from '../db/repositories/validate.repository.js';
import { describeSource } from '../db/repositories/target.repository.js';

/** What the source check needs of a pipeline. */
export interface SourceShape {
  readonly source_query: string;
  readonly unique_key: readonly string[];
  readonly incremental_key?: string | null;
}

/**
 * SQLSTATEs that say the source is not there *yet* (a table, a schema or a grant created later): the
 * pipeline is saved and the runner reports it if it is still missing at run time. Any other error
 * of the query is the query's own, and it could never run.
 */
const NOT_THERE_YET = new Set(['42P01', '3F000', '42501']);

/**
 * The check create and PATCH make on a source query (validate makes the same inside its own dry run),
 * as siphon_reader, READ ONLY, each part under SIPHON_VALIDATE_TIMEOUT, executing nothing:
 * - its result columns (a LIMIT 0 read): a query PostgreSQL refuses (an unknown column, a function
 *   that does not exist, a type error) is refused with SIPHON_ERR_SOURCE_QUERY; `unique_key` and
 *   `incremental_key` must be result columns (SIPHON_ERR_PIPELINE_INVALID naming the field);
 * - its plan: refused with SIPHON_ERR_SQL_TOO_EXPENSIVE above the ceilings.
 * A source that does not exist yet (NOT_THERE_YET) or a part that takes longer than the timeout is
 * accepted: the first is the runner's to report, and describing or planning alone is never the bomb.
 */
export async function assertSourceRunnable(
  reader: Pool,
  spec: SourceShape,
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
): Promise<void> {
  const limits = policy.planLimits ?? DEFAULT_PLAN_LIMITS;
  try {
    await withTransaction(
      reader,
      async (tx) => {
        const described = await withStatementTimeout(tx, limits.timeoutMs, () =>
          describeSource(tx, spec.source_query),
        );
        if (described.ok)
          assertKeysAreColumns(
            spec,
            described.value.map((c) => c.name),
          );
        const planned = await withStatementTimeout(tx, limits.timeoutMs, () =>
          explainSource(tx, spec.source_query),
        );
        if (planned.ok && planned.value) assertPlanWithinLimits(planned.value, limits);
      },
      { readOnly: true },
    );
  } catch (error) {
    if (NOT_THERE_YET.has(sqlstateOf(error) ?? '')) return;
    throw error;
  }
}

/**
 * The keys that are not result columns of the source query, with the field each belongs to: what
 * validate reports as problems and what create and PATCH refuse.
 */
export function missingKeyColumns(
  spec: SourceShape,
  columns: readonly string[],
): Array<{ field: 'unique_key' | 'incremental_key'; message: string }> {
  const missing: Array<{ field: 'unique_key' | 'incremental_key'; message: string }> = [];
  for (const key of spec.unique_key) {
    if (!columns.includes(key))
      missing.push({ field: 'unique_key', message: `unique_key "${key}" is not a result column` });
  }
  if (spec.incremental_key && !columns.includes(spec.incremental_key)) {
    missing.push({
      field: 'incremental_key',
      message: `incremental_key "${spec.incremental_key}" is not a result column`,
    });
  }
  return missing;
}

function assertKeysAreColumns(spec: SourceShape, columns: readonly string[]): void {
  const [first] = missingKeyColumns(spec, columns);
  if (!first) return;
  const shown = columns.map((c) => `"${c}"`).join(', ');
  throw new SiphonError(
    'SIPHON_ERR_PIPELINE_INVALID',
    `${first.message} of source_query (its columns: ${shown})`,
    { field: first.field, details: { columns } },
  );
}
