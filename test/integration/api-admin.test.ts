import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runner } from '../../src/runner/index.js';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { count, startTestRunner, waitForStatus } from '../helpers/runner.js';

let db: TestDatabase;
let app: FastifyInstance;
let runner: Runner;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.admin.query(
    `INSERT INTO content.film_work (id, title, rating, creation_date)
     SELECT md5(i::text)::uuid, 'Film ' || i, i % 10, date '2000-01-01' + i * 40 FROM generate_series(1, 400) i`,
  );
  app = await buildTestApp(db);
  runner = await startTestRunner(db);
});
afterAll(async () => {
  await runner.stop();
  await app.close();
  await db.drop();
});

const post = (url: string, payload?: unknown, token = OPERATOR) =>
  app.inject({
    method: 'POST',
    url,
    headers: as(token),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

describe('a new mart through the API alone', () => {
  it('POST a pipeline with a new target, run it, see rows in analytics and the run', async () => {
    const created = await post('/pipelines', {
      name: 'films_per_year',
      source_query:
        'SELECT extract(year FROM creation_date)::int AS year, count(*) AS films FROM content.film_work GROUP BY 1',
      target_table: 'analytics.films_per_year',
      unique_key: 'year',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect((await post('/pipelines/films_per_year/run')).statusCode).toBe(202);
    await waitForStatus(db, created.json().id, ['IDLE']);
    expect(await count(db, 'SELECT sum(films) FROM analytics.films_per_year')).toBe(400);
    const runs = await app.inject({
      method: 'GET',
      url: '/pipelines/films_per_year/runs',
      headers: as(VIEWER),
    });
    expect(runs.json().items[0]).toMatchObject({
      status: 'SUCCESS',
      rows_written: runs.json().items[0].rows_read,
    });
  });
});

describe('PATCH /pipelines/{id}', () => {
  it('needs the version being changed, refuses a stale one, and records who changed what', async () => {
    const none = await app.inject({
      method: 'PATCH',
      url: '/pipelines/films_per_year',
      headers: as(OPERATOR),
      payload: { batch_size: 10 },
    });
    expect(none.statusCode).toBe(428);
    expect(none.json().error).toMatchObject({
      code: 'SIPHON_ERR_PIPELINE_VERSION_REQUIRED',
      field: 'version',
    });

    const get = await app.inject({ method: 'GET', url: '/pipelines/films_per_year', headers: as(VIEWER) });
    expect(get.headers.etag).toBe('"1"');
    const ok = await app.inject({
      method: 'PATCH',
      url: '/pipelines/films_per_year',
      headers: { ...as(OPERATOR), 'if-match': get.headers.etag as string },
      payload: { batch_size: 10, description: 'films by year' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({
      version: 2,
      batch_size: 10,
      changed: ['description', 'batch_size'],
      applies_from: 'now',
    });
    expect(ok.headers.etag).toBe('"2"');

    const stale = await app.inject({
      method: 'PATCH',
      url: '/pipelines/films_per_year',
      headers: as(OPERATOR),
      payload: { version: 1, batch_size: 20 },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({
      code: 'SIPHON_ERR_PIPELINE_VERSION',
      details: { current: 2, expected: 1 },
    });

    const versions = await app.inject({
      method: 'GET',
      url: '/pipelines/films_per_year/versions',
      headers: as(VIEWER),
    });
    expect(versions.json().items[0]).toMatchObject({
      version: 2,
      changed_by: 'operator-1',
      change: { batch_size: { from: 10_000, to: 10 } },
    });
  });

  it('refuses invalid values and forbidden SQL with 422 naming the field', async () => {
    const bad = await app.inject({
      method: 'PATCH',
      url: '/pipelines/films_per_year',
      headers: as(OPERATOR),
      payload: { version: 2, batch_size: 0 },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_INVALID', field: 'batch_size' });
    const hostile = await app.inject({
      method: 'PATCH',
      url: '/pipelines/films_per_year',
      headers: as(OPERATOR),
      payload: { version: 2, source_query: 'SELECT * FROM etl.etl_pipelines' },
    });
    expect(hostile.statusCode).toBe(422);
    expect(hostile.json().error).toMatchObject({ code: 'SIPHON_ERR_SQL_FORBIDDEN', field: 'source_query' });
    const target = await app.inject({
      method: 'PATCH',
      url: '/pipelines/films_per_year',
      headers: as(OPERATOR),
      payload: { version: 2, target_table: 'etl.etl_state' },
    });
    expect(target.json().error).toMatchObject({ code: 'SIPHON_ERR_TARGET_FORBIDDEN', field: 'target_table' });
  });

  it('while RUNNING: refuses target/mode/key changes, accepts source_query and batch_size for the next run', async () => {
    const slow = await post('/pipelines', {
      name: 'slow_films',
      source_query: 'SELECT id, title FROM content.film_work WHERE pg_sleep(0.01) IS NOT NULL',
      target_table: 'analytics.slow_films',
      unique_key: 'id',
      batch_size: 20,
    });
    const pipelineId = slow.json().id;
    await post('/pipelines/slow_films/run');
    await waitForStatus(db, pipelineId, ['RUNNING']);
    for (const [field, value] of [
      ['target_table', 'analytics.elsewhere'],
      ['mode', 'incremental'],
      ['unique_key', 'title'],
    ] as const) {
      const res = await app.inject({
        method: 'PATCH',
        url: '/pipelines/slow_films',
        headers: as(OPERATOR),
        payload: { version: 1, [field]: value, ...(field === 'mode' ? { incremental_key: 'id' } : {}) },
      });
      expect(res.statusCode, field).toBe(409);
      expect(res.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_RUNNING_FIELD' });
    }
    const deleteRunning = await app.inject({
      method: 'DELETE',
      url: '/pipelines/slow_films',
      headers: as(OPERATOR),
    });
    expect(deleteRunning.statusCode).toBe(409);
    const reset = await post('/pipelines/slow_films/state/reset');
    expect(reset.statusCode).toBe(409);

    const accepted = await app.inject({
      method: 'PATCH',
      url: '/pipelines/slow_films',
      headers: as(OPERATOR),
      payload: { version: 1, batch_size: 50, source_query: 'SELECT id, title FROM content.film_work' },
    });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json()).toMatchObject({ applies_from: 'next_run', version: 2 });
    await waitForStatus(db, pipelineId, ['IDLE']);
    const { rows } = await db.admin.query(
      'SELECT config_version, batches FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipelineId],
    );
    // The run kept the configuration it started with.
    expect(rows[0]).toEqual({ config_version: 1, batches: 20 });
  });
});

describe('DELETE, checkpoint reset, steps', () => {
  it('resets the checkpoint (audited) and deletes a pipeline, keeping its target', async () => {
    const reset = await post('/pipelines/slow_films/state/reset');
    expect(reset.statusCode).toBe(200);
    expect(reset.json().previous_state).not.toBeNull();
    const state = await app.inject({
      method: 'GET',
      url: '/pipelines/slow_films/state',
      headers: as(VIEWER),
    });
    expect(state.json().state).toBeNull();
    const del = await app.inject({ method: 'DELETE', url: '/pipelines/slow_films', headers: as(OPERATOR) });
    expect(del.json()).toMatchObject({ name: 'slow_films', target_kept: true });
    expect(
      (await app.inject({ method: 'GET', url: '/pipelines/slow_films', headers: as(VIEWER) })).statusCode,
    ).toBe(404);
    expect(await count(db, 'SELECT count(*) FROM analytics.slow_films')).toBe(400);
    const { rows } = await db.admin.query(`SELECT action, actor FROM etl.etl_audit ORDER BY id`);
    expect(rows).toEqual([
      { action: 'state_reset', actor: 'operator-1' },
      { action: 'delete', actor: 'operator-1' },
    ]);
  });

  it('GET and PUT the steps; an unregistered CODE task or a step writing etl is refused', async () => {
    const put = await app.inject({
      method: 'PUT',
      url: '/pipelines/films_per_year/tasks',
      headers: as(OPERATOR),
      payload: { tasks: [{ name: 'analyze', task_type: 'CODE', task_name: 'analyze_target' }] },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().items).toHaveLength(1);
    const get = await app.inject({
      method: 'GET',
      url: '/pipelines/films_per_year/tasks',
      headers: as(VIEWER),
    });
    expect(get.json().items.map((t: { name: string }) => t.name)).toEqual(['analyze']);
    const unknown = await app.inject({
      method: 'PUT',
      url: '/pipelines/films_per_year/tasks',
      headers: as(OPERATOR),
      payload: { tasks: [{ name: 'x', task_type: 'CODE', task_name: 'eval_this' }] },
    });
    expect(unknown.json().error).toMatchObject({
      code: 'SIPHON_ERR_TASK_UNKNOWN',
      field: 'tasks.0.task_name',
    });
    expect(unknown.json().error.message).toMatch(/"eval_this"/);
    const hostile = await app.inject({
      method: 'PUT',
      url: '/pipelines/films_per_year/tasks',
      headers: as(OPERATOR),
      payload: { tasks: [{ name: 'x', task_type: 'SQL', sql: 'DELETE FROM etl.etl_runs' }] },
    });
    expect(hostile.statusCode).toBe(422);
    expect(hostile.json().error).toMatchObject({ code: 'SIPHON_ERR_SQL_FORBIDDEN', field: 'tasks.0.sql' });
  });
});

describe('POST /pipelines/validate', () => {
  it('reports columns, an estimate, sample rows and what would happen to the target, saving nothing', async () => {
    const res = await post('/pipelines/validate', {
      name: 'draft',
      source_query: 'SELECT id AS film_id, title, rating FROM content.film_work',
      target_table: 'analytics.film_dim',
      unique_key: 'film_id',
    });
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report).toMatchObject({ valid: true, target: { exists: true, action: 'write', problems: [] } });
    expect(report.columns).toEqual([
      { name: 'film_id', type: 'uuid' },
      { name: 'title', type: 'text' },
      { name: 'rating', type: 'double precision' },
    ]);
    expect(report.estimated_rows).toBeGreaterThan(0);
    expect(report.sample).toHaveLength(5);
    expect(await count(db, `SELECT count(*) FROM etl.etl_pipelines WHERE name = 'draft'`)).toBe(0);
  });

  it('reports a target that does not fit, and refuses forbidden or broken SQL', async () => {
    const misfit = await post('/pipelines/validate', {
      name: 'draft',
      source_query: 'SELECT id AS film_id, description FROM content.film_work',
      target_table: 'analytics.film_dim',
      unique_key: 'film_id',
    });
    expect(misfit.json()).toMatchObject({
      valid: false,
      target: { problems: [expect.stringMatching(/no column for "description"/)] },
    });
    const created = await post('/pipelines/validate', {
      name: 'draft',
      source_query: 'SELECT id, title FROM content.film_work',
      target_table: 'analytics.brand_new',
      unique_key: 'id',
    });
    expect(created.json().target).toMatchObject({
      exists: false,
      action: 'create',
      columns: ['id', 'title', 'updated_at'],
    });
    const forbidden = await post('/pipelines/validate', {
      name: 'draft',
      source_query: 'SELECT pg_read_file($$/etc/passwd$$)',
      target_table: 'analytics.x',
      unique_key: 'x',
    });
    expect(forbidden.statusCode).toBe(422);
    expect(forbidden.json().error.code).toBe('SIPHON_ERR_SQL_FORBIDDEN');
    const broken = await post('/pipelines/validate', {
      name: 'draft',
      source_query: 'SELECT no_such_column FROM content.film_work',
      target_table: 'analytics.x',
      unique_key: 'x',
    });
    expect(broken.statusCode).toBe(422);
    expect(broken.json().error).toMatchObject({ code: 'SIPHON_ERR_SOURCE_QUERY', field: 'source_query' });
  });
});

describe('reconcile and metrics', () => {
  it('POST reconcile compares source and target; GET returns the latest result', async () => {
    const res = await post('/pipelines/films_per_year/reconcile', {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'CLEAN', differing_buckets: 0 });
    await db.admin.query(
      'DELETE FROM analytics.films_per_year WHERE year = (SELECT min(year) FROM analytics.films_per_year)',
    );
    const drift = await post('/pipelines/films_per_year/reconcile', { buckets: 8 });
    expect(drift.json()).toMatchObject({ status: 'DIFFERENT', buckets: 8 });
    expect(drift.json().missing_keys).toHaveLength(1);
    const latest = await app.inject({
      method: 'GET',
      url: '/pipelines/films_per_year/reconcile',
      headers: as(VIEWER),
    });
    expect(latest.json().id).toBe(drift.json().id);
    const repair = await post('/pipelines/films_per_year/reconcile', { repair: true });
    expect(repair.statusCode).toBe(400);
  });

  it('GET /metrics exposes runs, rows, batch durations, checkpoint age and runners in Prometheus format', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: as(VIEWER) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    const body = res.body;
    expect(body).toMatch(/^siphon_runs_total\{status="SUCCESS"\} [1-9]/m);
    expect(body).toMatch(/^siphon_rows_read_total [1-9]/m);
    expect(body).toMatch(/^siphon_batch_duration_seconds_count [1-9]/m);
    expect(body).toMatch(/^siphon_batch_duration_seconds_bucket\{le="\+Inf"\} [1-9]/m);
    expect(body).toMatch(/^siphon_checkpoint_age_seconds\{pipeline="films_per_year"\} \d/m);
    expect(body).toMatch(/^siphon_runners_live 1$/m);
    expect(body).toMatch(/^siphon_api_process_resident_memory_bytes \d/m);
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
  });
});

describe('configuration changes and hostile values', () => {
  it('changing the target of a paused full pass forgets its checkpoint (audited) so nothing is skipped', async () => {
    const created = await post('/pipelines', {
      name: 'paused_pass',
      source_query: 'SELECT id, title FROM content.film_work WHERE pg_sleep(0.01) IS NOT NULL',
      target_table: 'analytics.paused_pass',
      unique_key: 'id',
      batch_size: 20,
    });
    const pipelineId = created.json().id;
    await post('/pipelines/paused_pass/run');
    await waitForStatus(db, pipelineId, ['RUNNING']);
    while (
      (await count(
        db,
        'SELECT count(*) FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1',
        [pipelineId],
      )) === 0
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await post('/pipelines/paused_pass/pause');
    await waitForStatus(db, pipelineId, ['PAUSED']);
    // Steps cannot change under a run, but can while paused.
    const patched = await app.inject({
      method: 'PATCH',
      url: '/pipelines/paused_pass',
      headers: as(OPERATOR),
      payload: { version: 1, target_table: 'analytics.paused_pass_v2' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ checkpoint_reset: true });
    const state = await app.inject({
      method: 'GET',
      url: '/pipelines/paused_pass/state',
      headers: as(VIEWER),
    });
    expect(state.json().state).toBeNull();
    await post('/pipelines/paused_pass/run');
    await waitForStatus(db, pipelineId, ['IDLE']);
    expect(await count(db, 'SELECT count(*) FROM analytics.paused_pass_v2')).toBe(400);
    const { rows } = await db.admin.query(
      `SELECT details->>'reason' AS reason FROM etl.etl_audit WHERE pipeline_id = $1 AND action = 'state_reset'`,
      [pipelineId],
    );
    expect(rows).toEqual([{ reason: 'configuration change' }]);
  });

  it('refuses steps changed under a run, a taken name on PATCH and NUL characters, without a 500', async () => {
    const slow = await post('/pipelines', {
      name: 'busy',
      source_query: 'SELECT id, title FROM content.film_work WHERE pg_sleep(0.01) IS NOT NULL',
      target_table: 'analytics.busy',
      unique_key: 'id',
      batch_size: 20,
    });
    await post('/pipelines/busy/run');
    await waitForStatus(db, slow.json().id, ['RUNNING']);
    const steps = await app.inject({
      method: 'PUT',
      url: '/pipelines/busy/tasks',
      headers: as(OPERATOR),
      payload: { tasks: [{ name: 'a', task_type: 'CODE', task_name: 'analyze_target' }] },
    });
    expect(steps.statusCode).toBe(409);
    await waitForStatus(db, slow.json().id, ['IDLE']);

    const taken = await app.inject({
      method: 'PATCH',
      url: '/pipelines/busy',
      headers: as(OPERATOR),
      payload: { version: 1, name: 'films_per_year' },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_NAME_TAKEN', field: 'name' });
    const nul = await app.inject({
      method: 'PATCH',
      url: '/pipelines/busy',
      headers: as(OPERATOR),
      payload: { version: 1, description: 'a\u0000b' },
    });
    expect(nul.statusCode).toBe(422);
    expect(nul.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_INVALID', field: 'description' });
  });

  it('a source query that fails at run time in validate is a 422, not a 500', async () => {
    const res = await post('/pipelines/validate', {
      name: 'draft',
      source_query: 'SELECT id, title::int AS n FROM content.film_work',
      target_table: 'analytics.x',
      unique_key: 'id',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'SIPHON_ERR_SOURCE_QUERY', field: 'source_query' });
  });
});
