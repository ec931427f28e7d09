import type { SourceKind } from '../source.js';
import { assertSafePostgresQuery } from './postgres.guard.js';
import { openPostgresSource } from './postgres.source.js';

export const postgresSourceKind: SourceKind = {
  kind: 'postgres',
  assertSafeQuery: assertSafePostgresQuery,
  open: openPostgresSource,
};
