export {
  assertSafeSourceQuery,
  assertSafeTaskSql,
  assertAllowedTarget,
  DEFAULT_SQL_POLICY,
  type SqlPolicy,
} from './sql-guard.js';
