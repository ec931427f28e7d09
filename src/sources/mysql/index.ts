import type { SourceKind } from '../source.js';
import { assertSafeMysqlQuery } from './mysql.guard.js';
import { openMysqlSource } from './mysql.source.js';

export const mysqlSourceKind: SourceKind = {
  kind: 'mysql',
  assertSafeQuery: assertSafeMysqlQuery,
  open: openMysqlSource,
};
