import type { SqlPolicy } from '../../core/sql-policy.js';
import { assertSafeSourceQuery } from '../../sql-guard/index.js';

/**
 * A query for a PostgreSQL source goes through the very guard of local source queries (libpg_query,
 * the whole tree walked, the function allow-list), with the connection's schemas as the readable ones.
 */
export async function assertSafePostgresQuery(
  sql: string,
  allowedSchemas: readonly string[],
  policy: SqlPolicy,
  field = 'source_query',
): Promise<void> {
  await assertSafeSourceQuery(sql, { ...policy, sourceSchemas: allowedSchemas }, field);
}
