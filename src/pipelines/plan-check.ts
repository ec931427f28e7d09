import { isUnresolvableSql, SiphonError } from '../core/errors.js';
import { withTransaction, type Pool } from '../db/pool.js';
import {
  assertPlanWithinLimits,
  DEFAULT_PLAN_LIMITS,
  DEFAULT_SQL_POLICY,
  type SqlPolicy,
} from '../sql-guard/index.js';
import { explainSource, withStatementTimeout } from '../db/repositories/validate.repository.js';

/**
 * The plan check create and PATCH make (validate makes the same inside its own dry run): EXPLAIN of
 * the source query as siphon_reader, READ ONLY, under SIPHON_VALIDATE_TIMEOUT, refused with
 * SIPHON_ERR_SQL_TOO_EXPENSIVE above the ceilings. Nothing executes. A plan that cannot be made yet
 * (a table that does not exist, SQLSTATE class 42) or that takes longer than the timeout to plan is
 * accepted: the first is the runner's to report, and planning alone is never the bomb.
 */
export async function assertSourcePlanWithinLimits(
  reader: Pool,
  sourceQuery: string,
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
): Promise<void> {
  const limits = policy.planLimits ?? DEFAULT_PLAN_LIMITS;
  try {
    const planned = await withTransaction(
      reader,
      (tx) => withStatementTimeout(tx, limits.timeoutMs, () => explainSource(tx, sourceQuery)),
      { readOnly: true },
    );
    if (planned.ok && planned.value) assertPlanWithinLimits(planned.value, limits);
  } catch (error) {
    if (!(error instanceof SiphonError) && isUnresolvableSql(error)) return;
    throw error;
  }
}
