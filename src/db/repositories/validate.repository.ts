import { normalizeSourceQuery } from '../batch-sql.js';
import { oneStatement, type Executor } from '../pool.js';
import { sqlstateOf } from '../../core/errors.js';

/** What the planner expects of a source query (EXPLAIN without ANALYZE: nothing is executed). */
export interface PlanEstimate {
  /** Rows the query returns. */
  readonly rows: number;
  /** The plan's total cost, in the planner's units. */
  readonly cost: number;
  /** The node expecting the most rows (a bomb hides under an aggregate: `count(*)` of 10^12 rows). */
  readonly largest: { readonly rows: number; readonly node: string };
}

interface PlanNode {
  'Node Type': string;
  'Plan Rows': number;
  'Total Cost': number;
  'Function Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

export async function explainSource(db: Executor, sourceQuery: string): Promise<PlanEstimate | null> {
  const { rows } = await db.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
    oneStatement(`EXPLAIN (FORMAT JSON) SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s`),
  );
  const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
  if (!plan) return null;
  let largest = { rows: -1, node: '' };
  const visit = (node: PlanNode) => {
    if (node['Plan Rows'] > largest.rows) {
      const what = node['Function Name'] ?? node['Relation Name'];
      largest = {
        rows: node['Plan Rows'],
        node: what ? `${node['Node Type']} on ${what}` : node['Node Type'],
      };
    }
    node.Plans?.forEach(visit);
  };
  visit(plan);
  return { rows: plan['Plan Rows'], cost: plan['Total Cost'], largest };
}

/** A few rows of the source query, for a person to look at. */
export async function sampleRows(
  db: Executor,
  sourceQuery: string,
  limit: number,
): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(`SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s LIMIT $1`, [
    limit,
  ]);
  return rows;
}

/**
 * Runs read-only `work` under its own statement timeout inside the caller's transaction, in a
 * savepoint rolled back afterwards (which also restores the timeout): a timeout leaves the
 * transaction usable and is reported, not thrown.
 */
export async function withStatementTimeout<T>(
  tx: Executor,
  timeoutMs: number,
  work: () => Promise<T>,
): Promise<{ readonly ok: true; readonly value: T } | { readonly ok: false; readonly timedOut: true }> {
  await tx.query('SAVEPOINT siphon_timed');
  try {
    await tx.query("SELECT set_config('statement_timeout', $1, true)", [
      String(Math.max(1, Math.round(timeoutMs))),
    ]);
    return { ok: true, value: await work() };
  } catch (error) {
    // 57014 query_canceled: the statement timeout fired (also when a repository wrapped the error).
    if (sqlstateOf(error) === '57014') return { ok: false, timedOut: true };
    throw error;
  } finally {
    await tx.query('ROLLBACK TO SAVEPOINT siphon_timed');
  }
}
