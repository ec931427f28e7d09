import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertSafeInCatalog, DEFAULT_SQL_POLICY } from '../../src/sql-guard/index.js';
import { as, buildTestApp, OPERATOR } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTestRunner, waitForStatus } from '../helpers/runner.js';
import type { Runner } from '../../src/runner/index.js';

/**
 * Objects planted in a source schema that run a function which writes (the "canary"): a user operator,
 * an operator on a user type found by search path, a cast, a domain CHECK, a view, a row-level policy,
 * a function that shadows a built-in name. None of them may run through a pipeline: refused when
 * validated, created, PATCHed or given as a step, and refused again by the runner at claim time.
 */
const PLANT = `
CREATE TABLE ugc.canary (note text);
GRANT INSERT, SELECT ON ugc.canary TO PUBLIC;
CREATE FUNCTION ugc.canary_eq(a integer, b integer) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ugc.canary VALUES ('eq'); RETURN a = b; END $$;
CREATE FUNCTION ugc.canary_lt(a integer, b integer) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ugc.canary VALUES ('lt'); RETURN a < b; END $$;
CREATE OPERATOR ugc.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = ugc.canary_eq);
CREATE OPERATOR ugc.<<< (LEFTARG = integer, RIGHTARG = integer, FUNCTION = ugc.canary_lt);
CREATE TYPE ugc.grade AS ENUM ('a', 'b', 'c');
CREATE FUNCTION ugc.grade_eq(a ugc.grade, b ugc.grade) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ugc.canary VALUES ('grade'); RETURN a::text = b::text; END $$;
CREATE OPERATOR public.= (LEFTARG = ugc.grade, RIGHTARG = ugc.grade, FUNCTION = ugc.grade_eq);
CREATE FUNCTION ugc.grade_to_int(g ugc.grade) RETURNS integer LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ugc.canary VALUES ('cast'); RETURN 1; END $$;
CREATE CAST (ugc.grade AS integer) WITH FUNCTION ugc.grade_to_int(ugc.grade);
CREATE FUNCTION ugc.canary_check(v integer) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ugc.canary VALUES ('domain'); RETURN true; END $$;
CREATE DOMAIN ugc.checked AS integer CHECK (ugc.canary_check(VALUE));
CREATE FUNCTION public.lower(v integer) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO ugc.canary VALUES ('shadow'); RETURN v::text; END $$;
CREATE TABLE ugc.items (id integer PRIMARY KEY, grade ugc.grade NOT NULL, score integer NOT NULL);
INSERT INTO ugc.items SELECT g, 'a', g FROM generate_series(1, 50) g;
CREATE VIEW ugc.items_noisy AS SELECT id, ugc.canary_check(id) AS ok FROM ugc.items;
CREATE VIEW ugc.items_sleepy AS SELECT id FROM ugc.items WHERE set_config('siphon.probe', 'x', true) IS NOT NULL;
CREATE VIEW ugc.items_plain AS SELECT id, score FROM ugc.items WHERE score > 0;
CREATE TABLE ugc.secured (id integer PRIMARY KEY, owner text);
INSERT INTO ugc.secured VALUES (1, 'x');
ALTER TABLE ugc.secured ENABLE ROW LEVEL SECURITY;
CREATE POLICY noisy ON ugc.secured USING (ugc.canary_check(id));
GRANT SELECT ON ugc.items, ugc.items_noisy, ugc.items_sleepy, ugc.items_plain, ugc.secured TO siphon_reader;
`;

/** [source query, what the refusal must name] */
const HOSTILE: Array<[string, RegExp]> = [
  ['SELECT id FROM ugc.items WHERE id OPERATOR(ugc.===) 1', /operator ugc\.=== is not allowed/],
  [
    'SELECT a.id FROM ugc.items a JOIN ugc.items b ON a.id OPERATOR(ugc.===) b.id',
    /operator ugc\.=== is not allowed/,
  ],
  ['SELECT id FROM ugc.items ORDER BY id USING OPERATOR(ugc.<<<)', /operator ugc\.<<< is not allowed/],
  [
    'WITH x AS (SELECT id FROM ugc.items WHERE id OPERATOR(ugc.===) 1) SELECT id FROM x',
    /operator ugc\.=== is not allowed/,
  ],
  [
    'SELECT id FROM (SELECT id FROM ugc.items WHERE score OPERATOR(ugc.<<<) 10) s',
    /operator ugc\.<<< is not allowed/,
  ],
  [
    'SELECT id FROM ugc.items WHERE id OPERATOR(ugc.===) ANY (SELECT score FROM ugc.items)',
    /operator ugc\.=== is not allowed/,
  ],
  // Found by search path on a user type: invisible in the text, resolved by PostgreSQL.
  [
    "SELECT id FROM ugc.items WHERE grade = 'a'::ugc.grade",
    /operator public\.=\(ugc\.grade,ugc\.grade\) runs function ugc\.grade_eq\(ugc\.grade,ugc\.grade\), which is not a built-in function/,
  ],
  [
    "SELECT id FROM (SELECT id, grade FROM ugc.items) s WHERE s.grade = 'b'",
    /operator public\.=\(ugc\.grade,ugc\.grade\) runs function ugc\.grade_eq/,
  ],
  [
    'SELECT id, grade::integer AS g FROM ugc.items',
    /the cast \(ugc\.grade AS integer\) runs function ugc\.grade_to_int\(ugc\.grade\)/,
  ],
  [
    'SELECT id, score::ugc.checked AS s FROM ugc.items',
    /type ugc\.checked runs function ugc\.canary_check\(integer\)/,
  ],
  [
    'SELECT id, lower(score) AS l FROM ugc.items',
    /function public\.lower\(integer\) is not a built-in function/,
  ],
  [
    'SELECT id, ok FROM ugc.items_noisy',
    /reading ugc\.items_noisy runs function ugc\.canary_check\(integer\)/,
  ],
  [
    'SELECT id FROM ugc.items_sleepy',
    /reading view ugc\.items_sleepy is not allowed: function set_config\(\)/,
  ],
  ['SELECT id, owner FROM ugc.secured', /reading ugc\.secured runs function ugc\.canary_check\(integer\)/],
];

/** Legitimate queries over the same objects: user types read, built-in operators, plain views. */
const LEGITIMATE = [
  "SELECT id, grade::text AS grade FROM ugc.items WHERE grade::text = 'a'",
  'SELECT id, score FROM ugc.items_plain ORDER BY score DESC',
  'SELECT i.id, count(*) AS n FROM ugc.items i JOIN ugc.items j ON i.id = j.score GROUP BY i.id',
  "SELECT id, grade FROM ugc.items WHERE grade::text IN ('a', 'b') AND score BETWEEN 1 AND 10",
  'SELECT id, lower(grade::text) AS g FROM ugc.items',
];

describe('catalog probe: operators, casts, domains, views and policies resolved by PostgreSQL', () => {
  let db: TestDatabase;
  let app: FastifyInstance;
  const canary = async () =>
    Number((await db.admin.query<{ n: string }>('SELECT count(*) AS n FROM ugc.canary')).rows[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.admin.query(PLANT);
    app = await buildTestApp(db);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });
  beforeEach(async () => {
    await db.admin.query('TRUNCATE ugc.canary');
  });

  const body = (name: string, query: string) => ({
    name,
    source_query: query,
    target_table: `analytics.${name}`,
    unique_key: 'id',
  });

  it.each(HOSTILE)('validate, create and PATCH refuse %s', async (query, reason) => {
    const validate = await app.inject({
      method: 'POST',
      url: '/pipelines/validate',
      headers: as(OPERATOR),
      payload: body('probe_v', query),
    });
    expect(validate.statusCode).toBe(422);
    expect(validate.json().error).toMatchObject({ code: 'SIPHON_ERR_SQL_FORBIDDEN', field: 'source_query' });
    expect(validate.json().error.message).toMatch(reason);

    const create = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: body('probe_c', query),
    });
    expect(create.statusCode).toBe(422);
    expect(create.json().error.message).toMatch(reason);

    const saved = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: body('probe_p', 'SELECT id, score FROM ugc.items'),
    });
    expect(saved.statusCode).toBe(201);
    const patch = await app.inject({
      method: 'PATCH',
      url: '/pipelines/probe_p',
      headers: { ...as(OPERATOR), 'if-match': `"${saved.json().version}"` },
      payload: { source_query: query },
    });
    expect(patch.statusCode).toBe(422);
    expect(patch.json().error.message).toMatch(reason);
    const stored = await db.admin.query('SELECT source_query FROM etl.etl_pipelines WHERE name = $1', [
      'probe_p',
    ]);
    expect(stored.rows[0].source_query).toBe('SELECT id, score FROM ugc.items');
    await db.admin.query("DELETE FROM etl.etl_pipelines WHERE name = 'probe_p'");
    // Nothing ran: neither EXPLAIN nor the sample rows reached the planted function.
    expect(await canary()).toBe(0);
  });

  it.each(LEGITIMATE)('accepts %s', async (query) => {
    await expect(
      assertSafeInCatalog({ pool: db.reader }, query, 'source', { policy: DEFAULT_SQL_POLICY }),
    ).resolves.toBeUndefined();
    const validate = await app.inject({
      method: 'POST',
      url: '/pipelines/validate',
      headers: as(OPERATOR),
      payload: body('probe_ok', query),
    });
    expect(validate.statusCode, validate.body).toBe(200);
  });

  it('refuses a SQL step that resolves to a planted operator, on create and on PUT tasks', async () => {
    const step = {
      name: 'noisy',
      task_type: 'SQL',
      sql: "INSERT INTO analytics.probe_s (id) SELECT id FROM ugc.items WHERE grade = 'a'::ugc.grade",
    };
    await db.admin.query('CREATE TABLE analytics.probe_s (id integer PRIMARY KEY)');
    const create = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: { ...body('probe_s', 'SELECT id FROM ugc.items'), tasks: [step] },
    });
    expect(create.statusCode).toBe(422);
    expect(create.json().error).toMatchObject({ code: 'SIPHON_ERR_SQL_FORBIDDEN', field: 'tasks.0.sql' });
    expect(create.json().error.message).toMatch(/operator public\.=\(ugc\.grade,ugc\.grade\)/);

    const ok = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: body('probe_s', 'SELECT id FROM ugc.items'),
    });
    expect(ok.statusCode).toBe(201);
    const put = await app.inject({
      method: 'PUT',
      url: '/pipelines/probe_s/tasks',
      headers: as(OPERATOR),
      payload: { tasks: [step] },
    });
    expect(put.statusCode).toBe(422);
    expect(put.json().error.message).toMatch(/runs function ugc\.grade_eq/);
    expect(await canary()).toBe(0);
  });

  describe('at run time', () => {
    let runner: Runner;
    beforeAll(async () => {
      runner = await startTestRunner(db);
    });
    afterAll(async () => {
      await runner.stop();
    });

    it('a pipeline written behind the API with a planted operator fails at claim and writes nothing', async () => {
      const { rows } = await db.admin.query<{ id: string }>(
        `INSERT INTO etl.etl_pipelines (name, source_query, target_table, unique_key, mode, status)
         VALUES ('behind_back', 'SELECT id, score FROM ugc.items WHERE grade = ''a''::ugc.grade',
                 'analytics.behind_back', ARRAY['id'], 'full', 'RUN_REQUESTED') RETURNING id`,
      );
      const pipeline = await waitForStatus(db, rows[0]!.id, ['FAILED', 'IDLE'], 30_000);
      expect(pipeline.status).toBe('FAILED');
      const run = await db.admin.query<{ error_code: string; error: string }>(
        'SELECT error_code, error FROM etl.etl_runs WHERE pipeline_id = $1',
        [rows[0]!.id],
      );
      expect(run.rows[0]).toMatchObject({ error_code: 'SIPHON_ERR_SQL_FORBIDDEN' });
      expect(run.rows[0]!.error).toMatch(/operator public\.=\(ugc\.grade,ugc\.grade\)/);
      expect(await canary()).toBe(0);
      const target = await db.admin.query("SELECT to_regclass('analytics.behind_back') AS t");
      expect(target.rows[0].t).toBeNull();
    });

    it('a step changed behind the API is refused right before it runs', async () => {
      await db.admin.query('CREATE TABLE IF NOT EXISTS analytics.probe_step (id integer PRIMARY KEY)');
      const created = await app.inject({
        method: 'POST',
        url: '/pipelines',
        headers: as(OPERATOR),
        payload: {
          ...body('probe_step', 'SELECT id FROM ugc.items'),
          tasks: [{ name: 'copy', task_type: 'SQL', sql: 'SELECT count(*) FROM analytics.probe_step' }],
        },
      });
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json().id as string;
      await db.admin.query(
        `UPDATE etl.etl_pipeline_tasks SET sql = 'SELECT count(*) FROM analytics.probe_step WHERE id OPERATOR(ugc.===) 1'
          WHERE pipeline_id = $1`,
        [id],
      );
      // The parser guard refuses the explicit OPERATOR() before the run starts its load.
      await db.admin.query("UPDATE etl.etl_pipelines SET status = 'RUN_REQUESTED' WHERE id = $1", [id]);
      expect((await waitForStatus(db, id, ['FAILED', 'IDLE'], 30_000)).status).toBe('FAILED');
      await db.admin.query(
        `UPDATE etl.etl_pipeline_tasks SET sql = 'INSERT INTO analytics.probe_step (id) SELECT id FROM ugc.items WHERE grade = ''b''::ugc.grade ON CONFLICT DO NOTHING'
          WHERE pipeline_id = $1`,
        [id],
      );
      await db.admin.query("UPDATE etl.etl_pipelines SET status = 'RUN_REQUESTED' WHERE id = $1", [id]);
      expect((await waitForStatus(db, id, ['FAILED', 'IDLE'], 30_000)).status).toBe('FAILED');
      const run = await db.admin.query<{ error_code: string; error: string }>(
        'SELECT error_code, error FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
        [id],
      );
      expect(run.rows[0]).toMatchObject({ error_code: 'SIPHON_ERR_SQL_FORBIDDEN' });
      expect(run.rows[0]!.error).toMatch(/runs function ugc\.grade_eq/);
      expect(await canary()).toBe(0);
    });
  });
});
