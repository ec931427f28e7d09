import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import { as, buildTestApp, OPERATOR } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let app: FastifyInstance;
let routes: Array<{ method: string; path: string }>;

beforeAll(async () => {
  db = await createTestDatabase();
  await installDemoPipelines(db.admin);
  app = await buildTestApp(db);
  await app.ready();
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
  );
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3 document', async () => {
    const doc = structuredClone(app.swagger()) as never;
    await expect(SwaggerParser.validate(doc)).resolves.toBeTruthy();
  });

  it('documents every endpoint the issue names, and every documented route is implemented', async () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const expected of [
      'GET /health',
      'GET /pipelines',
      'POST /pipelines',
      'GET /pipelines/{id}',
      'PATCH /pipelines/{id}',
      'DELETE /pipelines/{id}',
      'POST /pipelines/{id}/enable',
      'POST /pipelines/{id}/disable',
      'POST /pipelines/{id}/run',
      'POST /pipelines/{id}/pause',
      'GET /pipelines/{id}/status',
      'GET /pipelines/{id}/state',
      'POST /pipelines/{id}/state/reset',
      'GET /pipelines/{id}/runs',
      'GET /runs/{run_id}',
      'GET /pipelines/{id}/tasks',
      'PUT /pipelines/{id}/tasks',
      'POST /pipelines/{id}/reconcile',
      'GET /pipelines/{id}/reconcile',
      'POST /pipelines/validate',
      'GET /metrics',
    ]) {
      expect(names).toContain(expected);
    }
    for (const route of routes) {
      const url = route.path
        .replace('{id}', 'film_rating_agg_incremental')
        .replace('{run_id}', '00000000-0000-0000-0000-000000000000');
      const res = await app.inject({
        method: route.method as 'GET',
        url,
        headers: as(OPERATOR),
        payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
      });
      expect(res.body, `${route.method} ${route.path}`).not.toContain('SIPHON_ERR_ROUTE_NOT_FOUND');
    }
  });
});

/** Strings that tend to break things: unicode, quotes, SQL, huge, control characters, path tricks. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    'film_dim_full',
    '11111111-1111-1111-1111-111111111111',
    "'; DROP TABLE etl.etl_pipelines; --",
    '../../etc/passwd',
    '%00',
    '\u0000',
    'a'.repeat(5000),
    '-1',
    'NaN',
    '{}',
    'null',
    'SELECT pg_sleep(10)',
  ),
);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nasty,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Bodies shaped like a pipeline configuration, with wrong types and hostile values mixed in. */
const pipelineLike = fc.record(
  {
    name: jsonValue,
    source_query: fc.oneof(nasty, jsonValue),
    target_table: fc.oneof(nasty, jsonValue),
    unique_key: jsonValue,
    mode: fc.oneof(fc.constantFrom('full', 'incremental'), jsonValue),
    batch_size: jsonValue,
    incremental_key: jsonValue,
    lookback: jsonValue,
    enabled: jsonValue,
    version: jsonValue,
    tasks: jsonValue,
    buckets: jsonValue,
    repair: jsonValue,
  },
  { requiredKeys: [] },
);

describe('schema-driven fuzzing of every route', () => {
  it('no input produces a 500: every error is JSON with a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1000 }),
        fc.oneof(nasty, fc.constant('film_dim_full')),
        fc.dictionary(fc.constantFrom('limit', 'offset', 'status', 'enabled', 'x'), nasty, { maxKeys: 3 }),
        fc.oneof(pipelineLike, jsonValue, fc.constant(undefined)),
        fc.constantFrom(OPERATOR, 'wrong-token', ''),
        async (pick, param, query, body, token) => {
          const route = routes[pick % routes.length]!;
          const path = route.path
            .replace('{id}', encodeURIComponent(param))
            .replace('{run_id}', encodeURIComponent(param));
          const res = await app.inject({
            method: route.method as 'GET',
            url: path,
            query,
            headers: token ? as(token) : {},
            ...(body === undefined || route.method === 'GET'
              ? {}
              : {
                  payload: JSON.stringify(body),
                  headers: { ...(token ? as(token) : {}), 'content-type': 'application/json' },
                }),
          });
          expect(res.statusCode, `${route.method} ${path} → ${res.body.slice(0, 300)}`).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const error = res.json().error;
            expect(
              String(error?.code),
              `${route.method} ${route.path} → ${res.statusCode} ${res.body.slice(0, 300)}`,
            ).toMatch(/^SIPHON_ERR_[A-Z_]+$/);
            expect(typeof error.message).toBe('string');
            expect(res.body).not.toContain(OPERATOR);
          }
        },
      ),
      { numRuns: 600, seed: Number(process.env.SIPHON_FUZZ_SEED ?? 20261122) },
    );
  }, 120_000);
});
