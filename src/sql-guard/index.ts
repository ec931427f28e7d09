export {
  assertSafeSourceQuery,
  assertSafeTaskSql,
  assertAllowedTarget,
  DEFAULT_SQL_POLICY,
  type SqlPolicy,
} from './sql-guard.js';
export {
  assertSafeInCatalog,
  judgeDependencies,
  type CatalogCheckOptions,
  type ProbedSql,
  type ProbeTarget,
} from './catalog-guard.js';
