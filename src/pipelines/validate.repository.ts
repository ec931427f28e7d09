import { normalizeSourceQuery } from '../db/batch-sql.js';
import { oneStatement, type Executor } from '../db/pool.js';

/** The planner's row estimate for a source query (EXPLAIN without ANALYZE: nothing is executed). */
export async function estimateRows(db: Executor, sourceQuery: string): Promise<number | null> {
  const { rows } = await db.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
    oneStatement(`EXPLAIN (FORMAT JSON) SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s`),
  );
  return rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? null;
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
