import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { as, buildTestApp, OPERATOR } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

/** A pipeline that could never run is refused when it is saved, not discovered FAILED at run time. */
describe('create and PATCH refuse a pipeline that can never run', () => {
  let db: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.admin.query(`
      CREATE TABLE content.pr_films (id integer PRIMARY KEY, title text NOT NULL, modified timestamptz NOT NULL DEFAULT now());
      GRANT SELECT ON content.pr_films TO siphon_reader;
    `);
    app = await buildTestApp(db);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const create = (body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/pipelines', headers: as(OPERATOR), payload: body });
  const base = (name: string) => ({
    name,
    source_query: 'SELECT id, title, modified FROM content.pr_films',
    target_table: `analytics.${name}`,
    unique_key: 'id',
  });
  const count = async () =>
    Number((await db.admin.query('SELECT count(*) AS n FROM etl.etl_pipelines')).rows[0].n);

  it.each([
    [
      'an unknown column',
      { source_query: 'SELECT nope AS id FROM content.pr_films' },
      'SIPHON_ERR_SOURCE_QUERY',
      'source_query',
    ],
    [
      'a function that does not exist',
      { source_query: 'SELECT id, lower(id) AS t FROM content.pr_films' },
      'SIPHON_ERR_SOURCE_QUERY',
      'source_query',
    ],
    [
      'a unique_key that is not a result column',
      { unique_key: 'film_id' },
      'SIPHON_ERR_PIPELINE_INVALID',
      'unique_key',
    ],
    [
      'an incremental_key that is not a result column',
      { mode: 'incremental', incremental_key: 'updated_at' },
      'SIPHON_ERR_PIPELINE_INVALID',
      'incremental_key',
    ],
  ])('POST with %s: 422 naming the field, nothing saved', async (_what, change, code, field) => {
    const before = await count();
    const res = await create({ ...base('pr_bad'), ...change });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error).toMatchObject({ code, field });
    expect(await count()).toBe(before);
  });

  it('the unique_key refusal lists the columns the query has', async () => {
    const res = await create({ ...base('pr_cols'), unique_key: 'film_id' });
    expect(res.json().error.message).toBe(
      'unique_key "film_id" is not a result column of source_query (its columns: "id", "title", "modified")',
    );
  });

  it('a source table that does not exist yet is still accepted (the runner reports it if still missing)', async () => {
    const res = await create({
      ...base('pr_later'),
      source_query: 'SELECT id FROM content.pr_created_later',
    });
    expect(res.statusCode, res.body).toBe(201);
  });

  it('PATCH to a key that is not a column is refused and the pipeline is unchanged', async () => {
    const created = await create(base('pr_patch'));
    expect(created.statusCode, created.body).toBe(201);
    const { id, version } = created.json();
    const res = await app.inject({
      method: 'PATCH',
      url: `/pipelines/${id}`,
      headers: { ...as(OPERATOR), 'if-match': `"${version}"` },
      payload: { unique_key: 'nope' },
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_INVALID', field: 'unique_key' });
    const after = await app.inject({ method: 'GET', url: `/pipelines/${id}`, headers: as(OPERATOR) });
    expect(after.json()).toMatchObject({ unique_key: ['id'], version });
  });

  it('a valid pipeline is still created', async () => {
    const res = await create({ ...base('pr_good'), mode: 'incremental', incremental_key: 'modified' });
    expect(res.statusCode, res.body).toBe(201);
  });
});
