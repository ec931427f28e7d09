import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.js';
import { withStatementTimeout } from '../../src/db/repositories/validate.repository.js';
import { as, buildTestApp, OPERATOR } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { TEST_SQL_POLICY } from '../helpers/runner.js';

/** Short enough to keep the test fast, long enough for EXPLAIN and a LIMIT 0 on a loaded machine. */
const TIMEOUT_MS = 1_000;

/** [what, source query]: plans that expect 10^12 rows somewhere. */
const BOMBS: Array<[string, string]> = [
  ['a generate_series of 10^12', 'SELECT g AS id FROM generate_series(1, 1000000000000) g'],
  [
    'a cross join of two 10^6 series',
    'SELECT a AS id, b AS x FROM generate_series(1, 1000000) a CROSS JOIN generate_series(1, 1000000) b',
  ],
  ['a count over 10^12 rows', 'SELECT count(*) AS id FROM generate_series(1, 1000000000000) g'],
  [
    'a bomb inside a CTE',
    'WITH b AS (SELECT g FROM generate_series(1, 1000000000000) g) SELECT g AS id FROM b WHERE g < 10',
  ],
];

describe('validate answers fast whatever the query; bombs are refused on their plan', () => {
  let db: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.admin.query(`
      CREATE TABLE content.vl_films (id integer PRIMARY KEY, title text NOT NULL);
      INSERT INTO content.vl_films SELECT g, 'film ' || g FROM generate_series(1, 20000) g;
      CREATE TABLE ugc.vl_ratings (id integer PRIMARY KEY, film_id integer NOT NULL);
      INSERT INTO ugc.vl_ratings SELECT g, 1 + (g % 19000) FROM generate_series(1, 200000) g;
      ANALYZE content.vl_films, ugc.vl_ratings;
      GRANT SELECT ON content.vl_films, ugc.vl_ratings TO siphon_reader;
      -- NOT IN over a subquery too big for a hash in work_mem: a plain subplan, seconds to minutes.
      ALTER ROLE siphon_reader IN DATABASE ${db.name} SET work_mem = '64kB';
    `);
    app = await buildTestApp(db, {
      sqlPolicy: {
        ...TEST_SQL_POLICY,
        planLimits: { timeoutMs: TIMEOUT_MS, maxRows: 1e10, maxCost: 1e12 },
      },
    });
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const body = (name: string, query: string) => ({
    name,
    source_query: query,
    target_table: `analytics.${name}`,
    unique_key: 'id',
  });

  it('a slow legitimate query: the estimate comes back, the sample is reported as timed out', async () => {
    const query =
      'SELECT f.id, f.title FROM content.vl_films f WHERE f.id NOT IN (SELECT film_id FROM ugc.vl_ratings)';
    const started = Date.now();
    const res = await app.inject({
      method: 'POST',
      url: '/pipelines/validate',
      headers: as(OPERATOR),
      payload: body('vl_slow', query),
    });
    const elapsed = Date.now() - started;
    expect(res.statusCode, res.body).toBe(200);
    const report = res.json();
    expect(report.valid).toBe(true);
    expect(report.estimated_rows).toBeGreaterThan(0);
    expect(report.estimate_reason).toBeNull();
    expect(report.sample).toEqual([]);
    expect(report.sample_reason).toBe('timed out');
    // Three parts under a 1 s timeout each: an answer in seconds, not the 30 s statement timeout.
    expect(elapsed).toBeLessThan(10_000);
    // Such a query is legitimate: create accepts it.
    const created = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: body('vl_slow', query),
    });
    expect(created.statusCode, created.body).toBe(201);
  });

  it.each(BOMBS)('%s is refused by validate, create and PATCH before it runs', async (_what, query) => {
    const started = Date.now();
    const validate = await app.inject({
      method: 'POST',
      url: '/pipelines/validate',
      headers: as(OPERATOR),
      payload: body('vl_bomb', query),
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(validate.statusCode, validate.body).toBe(422);
    expect(validate.json().error).toMatchObject({
      code: 'SIPHON_ERR_SQL_TOO_EXPENSIVE',
      field: 'source_query',
    });
    expect(validate.json().error.message).toMatch(
      /the planner expects [\d,]{15,} rows from .+, above the ceiling of 10,000,000,000 \(SIPHON_SQL_MAX_ESTIMATED_ROWS\)/,
    );

    const create = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: body('vl_bomb', query),
    });
    expect(create.statusCode, create.body).toBe(422);
    expect(create.json().error.code).toBe('SIPHON_ERR_SQL_TOO_EXPENSIVE');

    const saved = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: body('vl_patch', 'SELECT id, title FROM content.vl_films'),
    });
    expect(saved.statusCode, saved.body).toBe(201);
    const patch = await app.inject({
      method: 'PATCH',
      url: '/pipelines/vl_patch',
      headers: { ...as(OPERATOR), 'if-match': `"${saved.json().version}"` },
      payload: { source_query: query },
    });
    expect(patch.statusCode, patch.body).toBe(422);
    expect(patch.json().error.code).toBe('SIPHON_ERR_SQL_TOO_EXPENSIVE');
    const { rows } = await db.admin.query(
      "SELECT source_query FROM etl.etl_pipelines WHERE name IN ('vl_bomb', 'vl_patch') ORDER BY name",
    );
    expect(rows).toEqual([{ source_query: 'SELECT id, title FROM content.vl_films' }]);
    await db.admin.query("DELETE FROM etl.etl_pipelines WHERE name = 'vl_patch'");
  });

  it('a PATCH that leaves source_query alone is not re-planned', async () => {
    await db.admin.query(
      `INSERT INTO etl.etl_pipelines (name, source_query, target_table, unique_key, mode)
       VALUES ('vl_old', 'SELECT g AS id FROM generate_series(1, 1000000000000) g', 'analytics.vl_old', ARRAY['id'], 'full')`,
    );
    const res = await app.inject({
      method: 'PATCH',
      url: '/pipelines/vl_old',
      headers: { ...as(OPERATOR), 'if-match': '"1"' },
      payload: { description: 'kept' },
    });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a part that outlasts its timeout is reported, and leaves the transaction usable', async () => {
    const result = await withTransaction(
      db.reader,
      async (tx) => {
        const slow = await withStatementTimeout(tx, 50, () => tx.query('SELECT pg_sleep(2)'));
        const after = await tx.query<{ one: number }>('SELECT 1 AS one');
        const timeout = await tx.query<{ t: string }>("SELECT current_setting('statement_timeout') AS t");
        return { slow, after: after.rows[0]!.one, timeout: timeout.rows[0]!.t };
      },
      { readOnly: true },
    );
    expect(result.slow).toEqual({ ok: false, timedOut: true });
    expect(result.after).toBe(1);
    // The savepoint restored the pool's own timeout.
    expect(result.timeout).toBe('30s');
  });
});
