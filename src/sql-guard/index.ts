export {
  assertSafeSourceQuery,
  assertSafeTaskSql,
  assertAllowedTarget,
  DEFAULT_PLAN_LIMITS,
  DEFAULT_SQL_POLICY,
  type PlanLimits,
  type SqlPolicy,
} from './sql-guard.js';
export {
  assertSafeInCatalog,
  judgeDependencies,
  type CatalogCheckOptions,
  type ProbedSql,
  type ProbeTarget,
} from './catalog-guard.js';
export { assertPlanWithinLimits, type PlannedCost } from './plan-limits.js';
