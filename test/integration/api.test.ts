import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import type { Runner } from '../../src/runner/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTestRunner, waitForStatus } from '../helpers/runner.js';

let db: TestDatabase;
let app: FastifyInstance;
let runner: Runner | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.admin.query(
    `INSERT INTO content.film_work (id, title, rating) SELECT md5(i::text)::uuid, 'Film ' || i, i FROM generate_series(1, 30) i`,
  );
  await installDemoPipelines(db.admin);
  app = await buildTestApp(db);
});
afterAll(async () => {
  await runner?.stop();
  await app.close();
  await db.drop();
});

describe('GET /health', () => {
  it('answers without a token: database reachable, migrations current, live runners listed', async () => {
    runner = await startTestRunner(db, { id: 'health-runner' });
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ status: 'ok', database: 'reachable', migrations: { current: true } });
    expect(body.runners.map((r: { id: string }) => r.id)).toContain('health-runner');
  });
});

describe('authentication', () => {
  it('refuses a missing, malformed or unknown token with a code and no echo of the token', async () => {
    const missing = await app.inject({ method: 'GET', url: '/pipelines' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe('SIPHON_ERR_AUTH_MISSING');
    const wrong = await app.inject({ method: 'GET', url: '/pipelines', headers: as('not-a-real-token-xyz') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('SIPHON_ERR_AUTH_INVALID');
    expect(wrong.body).not.toContain('not-a-real-token-xyz');
    const malformed = await app.inject({
      method: 'GET',
      url: '/pipelines',
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.json().error.code).toBe('SIPHON_ERR_AUTH_INVALID');
  });

  it('lets a viewer read but not run', async () => {
    expect((await app.inject({ method: 'GET', url: '/pipelines', headers: as(VIEWER) })).statusCode).toBe(
      200,
    );
    const run = await app.inject({
      method: 'POST',
      url: '/pipelines/film_dim_full/run',
      headers: as(VIEWER),
    });
    expect(run.statusCode).toBe(403);
    expect(run.json().error.code).toBe('SIPHON_ERR_AUTH_FORBIDDEN');
  });
});

describe('pipelines', () => {
  it('lists the demo pipelines and finds one by id or by name', async () => {
    const list = await app.inject({ method: 'GET', url: '/pipelines', headers: as(VIEWER) });
    expect(list.json().items.map((p: { name: string }) => p.name)).toEqual([
      'film_dim_full',
      'film_dim_incremental',
      'film_rating_agg_full',
      'film_rating_agg_incremental',
    ]);
    const byId = await app.inject({
      method: 'GET',
      url: '/pipelines/11111111-1111-1111-1111-111111111111',
      headers: as(VIEWER),
    });
    const byName = await app.inject({ method: 'GET', url: '/pipelines/film_dim_full', headers: as(VIEWER) });
    expect(byId.json()).toEqual(byName.json());
    expect(byName.json()).toMatchObject({
      name: 'film_dim_full',
      status: 'IDLE',
      mode: 'full',
      target_table: 'analytics.film_dim',
    });
  });

  it('404 with a code for an unknown pipeline, 400 naming the field for a bad query parameter', async () => {
    const missing = await app.inject({ method: 'GET', url: '/pipelines/nope', headers: as(VIEWER) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_NOT_FOUND' });
    const bad = await app.inject({ method: 'GET', url: '/pipelines?limit=-4', headers: as(VIEWER) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      code: 'SIPHON_ERR_REQUEST_INVALID',
      field: 'querystring.limit',
    });
  });

  it('runs a pipeline through the API and shows the run with its batch ledger', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/pipelines/film_dim_full/run',
      headers: as(OPERATOR),
    });
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe('RUN_REQUESTED');
    await waitForStatus(db, '11111111-1111-1111-1111-111111111111', ['IDLE']);
    const runs = await app.inject({
      method: 'GET',
      url: '/pipelines/film_dim_full/runs',
      headers: as(VIEWER),
    });
    const [latest] = runs.json().items;
    expect(latest).toMatchObject({ status: 'SUCCESS', rows_read: 30, rows_written: 30 });
    const run = await app.inject({ method: 'GET', url: `/runs/${latest.id}`, headers: as(VIEWER) });
    expect(run.json().batches_ledger).toHaveLength(1);
    const state = await app.inject({
      method: 'GET',
      url: '/pipelines/film_dim_full/state',
      headers: as(VIEWER),
    });
    expect(state.json().state.last_run_id).toBe(latest.id);
  });

  it('refuses illegal transitions with 409 and a code that says why', async () => {
    const pause = await app.inject({
      method: 'POST',
      url: '/pipelines/film_dim_full/pause',
      headers: as(OPERATOR),
    });
    expect(pause.statusCode).toBe(409);
    expect(pause.json().error.code).toBe('SIPHON_ERR_PIPELINE_TRANSITION');
    await app.inject({
      method: 'POST',
      url: '/pipelines/film_rating_agg_full/disable',
      headers: as(OPERATOR),
    });
    const run = await app.inject({
      method: 'POST',
      url: '/pipelines/film_rating_agg_full/run',
      headers: as(OPERATOR),
    });
    expect(run.statusCode).toBe(409);
    expect(run.json().error.code).toBe('SIPHON_ERR_PIPELINE_DISABLED');
  });

  it('creates a pipeline, and refuses an invalid one naming the field', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: {
        name: 'top_films',
        source_query: 'SELECT id AS film_id, title FROM content.film_work WHERE rating > 20',
        target_table: 'analytics.top_films',
        unique_key: 'film_id',
      },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'top_films',
      status: 'IDLE',
      version: 1,
      batch_size: 10_000,
    });
    const invalid = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: { name: 'x', source_query: 'SELECT 1', target_table: 'etl"; drop', unique_key: 'id' },
    });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json().error).toMatchObject({
      code: 'SIPHON_ERR_PIPELINE_INVALID',
      field: 'target_table',
    });
    const taken = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: {
        name: 'top_films',
        source_query: 'SELECT 1 AS id',
        target_table: 'analytics.x',
        unique_key: 'id',
      },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.code).toBe('SIPHON_ERR_PIPELINE_NAME_TAKEN');
  });

  it('answers malformed JSON and unknown routes with codes, never a 500', async () => {
    const broken = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: { ...as(OPERATOR), 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('SIPHON_ERR_REQUEST_INVALID');
    const nowhere = await app.inject({ method: 'GET', url: '/nowhere', headers: as(VIEWER) });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json().error.code).toBe('SIPHON_ERR_ROUTE_NOT_FOUND');
    const badRun = await app.inject({ method: 'GET', url: '/runs/not-a-uuid', headers: as(VIEWER) });
    expect(badRun.statusCode).toBe(400);
  });

  it('serves the OpenAPI document and Swagger UI without a token', async () => {
    const doc = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json().paths)).toEqual(
      expect.arrayContaining(['/health', '/pipelines', '/pipelines/{id}/run', '/runs/{run_id}']),
    );
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
    // Swagger UI's files come through @fastify/static (and its content-disposition): served whole.
    const bundle = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body.length).toBeGreaterThan(100_000);
  });
});
