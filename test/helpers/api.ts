import type { FastifyInstance } from 'fastify';
import { buildApp, type ApiDeps } from '../../src/api/index.js';
import type { TestDatabase } from './db.js';
import { silentLogger, TEST_SQL_POLICY } from './runner.js';

export const OPERATOR = 'operator-token-for-tests';
export const VIEWER = 'viewer-token-for-tests';

/**
 * The API as `siphon api` builds it, on a test database, with a fixed operator and viewer token;
 * `overrides` replace single deps (a body limit, a notifier, a stricter SQL policy).
 */
export function buildTestApp(db: TestDatabase, overrides: Partial<ApiDeps> = {}): Promise<FastifyInstance> {
  return buildApp({
    pool: db.api,
    readerPool: db.reader,
    logger: silentLogger,
    tokens: { operator: [OPERATOR], viewer: [VIEWER] },
    runnerStaleMs: 5000,
    sqlPolicy: TEST_SQL_POLICY,
    ...overrides,
  });
}

export const as = (token: string) => ({ authorization: `Bearer ${token}` });
