import { isUnresolvableSql, SiphonError, sqlstateOf } from '../core/errors.js';
import { normalizeSourceQuery } from '../db/batch-sql.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import { probeDependencies, type CatalogDependency } from '../db/repositories/sql-probe.repository.js';
import { ALLOWED_FUNCTIONS } from './allowed-functions.js';
import { assertAllowedFunctionCalls, DEFAULT_SQL_POLICY, type SqlPolicy } from './sql-guard.js';

/** Which statement is probed: a source query (wrapped as the runner reads it) or a SQL step. */
export type ProbedSql = 'source' | 'step';

/** Where to probe: a pool (a transaction is opened and rolled back) or the caller's transaction (a savepoint). */
export type ProbeTarget = { readonly pool: Pool } | { readonly tx: Executor };

export interface CatalogCheckOptions {
  readonly policy?: SqlPolicy;
  readonly field?: string;
  /**
   * What to do when PostgreSQL cannot analyse the statement (a table that does not exist yet, a
   * column renamed): `defer` accepts it — nothing could run either, and the runner probes again
   * before it executes the statement; `refuse` throws SIPHON_ERR_SOURCE_QUERY. @default 'refuse'
   */
  readonly unresolved?: 'defer' | 'refuse';
}

/**
 * The second half of the guard: asks PostgreSQL what a statement resolves to (probeDependencies) and
 * refuses it when anything it would run is not built in — a user-defined operator (by
 * `OPERATOR(schema.op)` or found by search path on a user type), a cast through a user function, a
 * domain whose CHECK calls one, a view or row-level policy that calls one, a user aggregate.
 * Functions of installed extensions pass when their name is on the allow-list, and anything named in
 * `SIPHON_SQL_EXTRA_FUNCTIONS` passes. The parser guard (`assertSafeSourceQuery`/`assertSafeTaskSql`)
 * must have accepted the statement first.
 *
 * The role needs CREATE on `etl_probe` (siphon_reader and, through it, siphon_writer have it;
 * migrations/0019).
 */
export async function assertSafeInCatalog(
  db: ProbeTarget,
  sql: string,
  kind: ProbedSql,
  options: CatalogCheckOptions = {},
): Promise<void> {
  const policy = options.policy ?? DEFAULT_SQL_POLICY;
  const field = options.field ?? (kind === 'source' ? 'source_query' : 'tasks.sql');
  const statement =
    kind === 'source' ? `SELECT * FROM (\n${normalizeSourceQuery(sql)}\n) AS s` : normalizeSourceQuery(sql);
  let dependencies: CatalogDependency[];
  try {
    dependencies =
      'tx' in db
        ? await probeDependencies(db.tx, statement)
        : await withTransaction(db.pool, (tx) => probeDependencies(tx, statement), { rollback: true });
  } catch (error) {
    // The statement cannot run at all (an undefined table, syntax a server older than the parser refuses).
    if (!isUnresolvableSql(error)) throw error;
    const sqlstate = sqlstateOf(error);
    if (options.unresolved === 'defer') return;
    throw new SiphonError('SIPHON_ERR_SOURCE_QUERY', `${field} failed: ${(error as Error).message}`, {
      field,
      cause: error,
      details: { sqlstate },
    });
  }
  await judgeDependencies(dependencies, policy, field);
}

/**
 * Pure verdict over what a statement depends on; throws SIPHON_ERR_SQL_FORBIDDEN naming the object the
 * statement uses (the operator, type, view) and the function it would run.
 */
export async function judgeDependencies(
  dependencies: readonly CatalogDependency[],
  policy: SqlPolicy,
  field: string,
): Promise<void> {
  const extra = (policy.extraFunctions ?? []).map((f) => f.toLowerCase());
  const allowed = (d: CatalogDependency) =>
    d.builtin ||
    extra.includes(`${d.schema}.${d.name}`.toLowerCase()) ||
    extra.includes(d.name.toLowerCase()) ||
    (d.extension !== null && ALLOWED_FUNCTIONS.has(d.name.toLowerCase()));
  for (const d of dependencies) {
    if (d.kind !== 'function' || allowed(d)) continue;
    const root =
      d.root === `function ${d.ident}` ? (d.cast ? `the cast (${d.cast})` : undefined) : describeRoot(d.root);
    forbid(
      field,
      root === undefined
        ? `function ${d.ident} is not a built-in function; only built-in functions (and SIPHON_SQL_EXTRA_FUNCTIONS) may run in pipeline SQL`
        : `${root} runs function ${d.ident}, which is not a built-in function; only built-in operators, casts and functions (and SIPHON_SQL_EXTRA_FUNCTIONS) may run in pipeline SQL`,
    );
  }
  for (const d of dependencies) {
    // An operator over built-in functions only (or an extension's) passes; its functions were judged above.
    if (d.kind === 'relation' && d.subkind === 'v' && d.viewdef) {
      await assertAllowedFunctionCalls(d.viewdef, policy, field, `view ${d.ident}`);
    }
  }
}

function describeRoot(root: string): string {
  if (root.startsWith('relation ')) return `reading ${root.slice('relation '.length)}`;
  return root;
}

function forbid(field: string, message: string): never {
  throw new SiphonError('SIPHON_ERR_SQL_FORBIDDEN', `${field}: ${message}`, { field });
}
