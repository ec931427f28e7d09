import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../src/config/index.js';
import { getPipeline } from '../../src/pipelines/index.js';
import { reconcilePipeline, type ReconcileOptions } from '../../src/reconcile/index.js';
import type { Runner } from '../../src/runner/index.js';
import type { SourceDeps } from '../../src/sources/index.js';
import { as, buildTestApp, OPERATOR } from '../helpers/api.js';
import { consoleSession } from '../helpers/console.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, runCli } from '../helpers/processes.js';
import {
  createRemoteMysql,
  createRemotePostgres,
  REMOTE_MYSQL,
  REMOTE_PG,
  type RemoteMysql,
  type RemotePostgres,
} from '../helpers/remote-servers.js';
import { requestRun, startTestRunner, waitForStatus } from '../helpers/runner.js';

/**
 * Reconcile of pipelines whose source is on another server (issue 17): the system PostgreSQL 15 and
 * MariaDB as sources, digests computed on each side, the differing keys, repair, and both callers.
 */
let db: TestDatabase;
let remotePg: RemotePostgres;
let remoteMy: RemoteMysql;
let app: FastifyInstance;
let runner: Runner;

const sources: SourceDeps = {
  resolveSecret: createSecretResolver({ secretEnv: {}, credentialsFile: undefined }),
  statementTimeoutMs: 20_000,
  applicationName: 'siphon-test-reconcile',
};

beforeAll(async () => {
  remotePg = await createRemotePostgres();
  remoteMy = await createRemoteMysql();
  db = await createTestDatabase();
  app = await buildTestApp(db, { sources });
  runner = await startTestRunner(db, { sources, concurrency: 2 });
  for (const body of [
    {
      name: 'rec_pg',
      kind: 'postgres',
      host: REMOTE_PG.host,
      port: REMOTE_PG.port,
      database: remotePg.database,
      user: REMOTE_PG.user,
    },
    {
      name: 'rec_my',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      port: REMOTE_MYSQL.port,
      database: remoteMy.database,
      user: REMOTE_MYSQL.user,
    },
  ]) {
    const response = await post('/connections', body);
    expect(response.statusCode, response.body).toBe(201);
  }
});

afterAll(async () => {
  await runner?.stop();
  await app?.close();
  await Promise.allSettled([remotePg?.drop(), remoteMy?.drop()]);
  await db?.drop();
});

function post(url: string, payload: object) {
  return app.inject({ method: 'POST', url, payload, headers: as(OPERATOR) });
}

async function createAndRun(body: Record<string, unknown>): Promise<string> {
  const response = await post('/pipelines', body);
  expect(response.statusCode, response.body).toBe(201);
  const { id } = response.json() as { id: string };
  await requestRun(db, id);
  await waitForStatus(db, id, ['IDLE', 'FAILED'], 60_000);
  const { rows } = await db.admin.query<{ status: string; error: string | null }>(
    'SELECT status, error FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
    [id],
  );
  expect(rows[0], rows[0]?.error ?? '').toMatchObject({ status: 'SUCCESS' });
  return id;
}

/** Reconcile in this process as the CLI does it (writer role, the source deps). */
async function reconcile(name: string, options: Partial<ReconcileOptions> = {}) {
  return reconcilePipeline(
    { source: db.writer, target: db.writer, writer: db.writer },
    await getPipeline(db.api, name),
    { requestedBy: 'test', sources, ...options },
  );
}

const sorted = (keys: string[][]) => keys.map((k) => k.join('|')).sort();

describe('reconcile of a PostgreSQL source on another server', () => {
  let pipelineId: string;
  beforeAll(async () => {
    await remotePg.pool.query(`CREATE TABLE public.things (
      id int PRIMARY KEY, name text NOT NULL, price numeric(12,3), ok boolean, at timestamptz, tags text[],
      note text, data bytea, f double precision)`);
    // Awkward texts: unicode, quotes, tabs, backslashes, a text that reads like NULL, NULLs,
    // numerics with trailing zeros, time zones other than UTC, bytes, floats.
    await remotePg.pool.query(`INSERT INTO public.things
      SELECT i, CASE i % 5 WHEN 0 THEN E'tab\\there "q" \\'s\\'' WHEN 1 THEN 'ünïcødé ✓ 日本' WHEN 2 THEN E'back\\\\slash'
                           WHEN 3 THEN 'NULL' ELSE 'item ' || i END,
             (i * 1.5)::numeric(12,3), CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END,
             timestamptz '2025-03-01 12:00:00.25+05:30' + make_interval(secs => i * 7.5),
             CASE WHEN i % 4 = 0 THEN NULL ELSE ARRAY['a,b', 't' || (i % 3), '{x}'] END,
             CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || i END, decode(lpad(to_hex(i), 6, '0'), 'hex'), i / 3.0
        FROM generate_series(1, 3000) i`);
    pipelineId = await createAndRun({
      name: 'rec_pg_things',
      source_connection: 'rec_pg',
      source_query: 'SELECT id, name, price, ok, at, tags, note, data, f FROM public.things',
      target_table: 'analytics.rec_pg_things',
      unique_key: 'id',
      mode: 'full',
      batch_size: 500,
    });
  });

  it('a synced pipeline is CLEAN through the API: equal counts, ranges, every bucket digest equal', async () => {
    const response = await post(`/pipelines/${pipelineId}/reconcile`, { buckets: 32 });
    expect(response.statusCode, response.body).toBe(200);
    const result = response.json();
    expect(result).toMatchObject({
      status: 'CLEAN',
      source_rows: 3000,
      target_rows: 3000,
      buckets: 32,
      differing_buckets: 0,
      missing_keys: [],
      extra_keys: [],
      changed_keys: [],
      summary: { key: 'id', source_connection: 'rec_pg' },
    });
    expect(result.summary.source).toMatchObject({ key_min: '1', key_max: '3000' });
    expect(result.summary.target).toMatchObject({ key_min: '1', key_max: '3000' });
    const latest = await app.inject({
      method: 'GET',
      url: `/pipelines/${pipelineId}/reconcile`,
      headers: as(OPERATOR),
    });
    expect(latest.json()).toMatchObject({ id: result.id, status: 'CLEAN' });
  });

  it('narrows changes on both sides to the exact keys; the CLI repairs them and then reports CLEAN', async () => {
    // Source: two updated, one deleted, one inserted. Target: one changed, one extra, one lost.
    await remotePg.pool.query(`UPDATE public.things SET name = 'changed ''here''' WHERE id = 10`);
    await remotePg.pool.query(`UPDATE public.things SET at = at + interval '1 microsecond' WHERE id = 20`);
    await remotePg.pool.query('DELETE FROM public.things WHERE id = 30');
    await remotePg.pool.query(
      `INSERT INTO public.things VALUES (5001, 'new ✓', 0.100, true, '2030-01-01 00:00+00', '{}', NULL, '\\x00', -0.5)`,
    );
    await db.admin.query('UPDATE analytics.rec_pg_things SET price = price + 0.001 WHERE id = 40');
    await db.admin.query(
      `INSERT INTO analytics.rec_pg_things (id, name) VALUES (9999, 'only in the target')`,
    );
    await db.admin.query('DELETE FROM analytics.rec_pg_things WHERE id = 50');

    const found = await reconcile('rec_pg_things');
    expect(found).toMatchObject({ status: 'DIFFERENT', source_rows: 3000, target_rows: 3000 });
    expect(sorted(found.missing_keys)).toEqual(['50', '5001']);
    expect(sorted(found.extra_keys)).toEqual(['30', '9999']);
    expect(sorted(found.changed_keys)).toEqual(['10', '20', '40']);
    expect(found.differing_buckets).toBeGreaterThan(0);
    expect(found.differing_buckets).toBeLessThanOrEqual(7);
    // Nothing was written without --repair.
    expect((await db.admin.query('SELECT 1 FROM analytics.rec_pg_things WHERE id = 9999')).rowCount).toBe(1);

    const untouched = async () =>
      (await db.admin.query('SELECT updated_at FROM analytics.rec_pg_things WHERE id = 5')).rows[0]
        .updated_at as Date;
    const before = await untouched();
    const env = cliEnv(db.adminUrl);
    const repaired = await runCli(['reconcile', 'rec_pg_things', '--repair', '--json'], env);
    expect(repaired.code, repaired.stderr.slice(-2000)).toBe(0);
    // 2 inserted, 3 updated, 2 deleted.
    expect(JSON.parse(repaired.stdout)).toMatchObject({ status: 'REPAIRED', repaired_rows: 7 });
    expect(await untouched()).toEqual(before);

    const again = await runCli(['reconcile', 'rec_pg_things'], env);
    expect(again.code, again.stderr.slice(-2000)).toBe(0);
    expect(again.stdout).toMatch(/CLEAN: 0\/64 buckets differ; 0 missing, 0 extra, 0 changed/);

    // The target now holds exactly the source's rows.
    await db.admin.query("SET TIME ZONE 'UTC'");
    const local = await db.admin.query<{ r: string }>(
      'SELECT row_to_json(x)::text AS r FROM (SELECT id, name, price, ok, at, tags, note, data, f FROM analytics.rec_pg_things) x',
    );
    await remotePg.pool.query("SET TIME ZONE 'UTC'");
    const remote = await remotePg.pool.query<{ r: string }>(
      'SELECT row_to_json(x)::text AS r FROM (SELECT id, name, price, ok, at, tags, note, data, f FROM public.things) x',
    );
    expect(local.rows.map((r) => r.r).sort()).toEqual(remote.rows.map((r) => r.r).sort());
  }, 120_000);
});

describe('repair of a timestamptz key on a server whose TimeZone is not UTC', () => {
  it('deletes the extra rows it found: their keys are compared in UTC, as they were rendered', async () => {
    await remotePg.pool.query('CREATE TABLE public.stamps (at timestamptz PRIMARY KEY, v int NOT NULL)');
    await remotePg.pool.query(
      "INSERT INTO public.stamps SELECT timestamptz '2025-01-01 00:00+00' + make_interval(hours => i), i FROM generate_series(1, 50) i",
    );
    await createAndRun({
      name: 'rec_pg_stamps',
      source_connection: 'rec_pg',
      source_query: 'SELECT at, v FROM public.stamps',
      target_table: 'analytics.rec_pg_stamps',
      unique_key: 'at',
      mode: 'full',
      batch_size: 20,
    });
    await db.admin.query(
      "INSERT INTO analytics.rec_pg_stamps (at, v) VALUES ('2031-01-01 00:00+00', 0), ('2031-06-01 12:30+00', 0)",
    );
    // The CLI's sessions (new connections) start in Berlin time.
    await db.admin.query(`ALTER DATABASE ${db.name} SET TimeZone = 'Europe/Berlin'`);
    try {
      const env = cliEnv(db.adminUrl);
      const repaired = await runCli(['reconcile', 'rec_pg_stamps', '--repair', '--json'], env);
      expect(repaired.code, repaired.stderr.slice(-2000)).toBe(0);
      expect(JSON.parse(repaired.stdout)).toMatchObject({ status: 'REPAIRED', repaired_rows: 2 });
      const again = await runCli(['reconcile', 'rec_pg_stamps'], env);
      expect(again.stdout).toMatch(/CLEAN/);
    } finally {
      await db.admin.query(`ALTER DATABASE ${db.name} RESET TimeZone`);
    }
    const { rows } = await db.admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM analytics.rec_pg_stamps WHERE at >= '2031-01-01 00:00+00'",
    );
    expect(rows[0]!.n).toBe(0);
  }, 120_000);
});

describe('reconcile of a MariaDB source', () => {
  beforeAll(async () => {
    await remoteMy.pool.query(`CREATE TABLE things (
      id bigint unsigned PRIMARY KEY, name varchar(80) NOT NULL, price decimal(12,3), flag tinyint(1),
      updated timestamp(6) NULL, made datetime(3), day date, data varbinary(8), note text, f double,
      state enum('new','old'))`);
    const values: string[] = [];
    for (let i = 1; i <= 1500; i += 1) {
      const name = ['ünïcødé ✓ 日本', 'it\\\'s \\"quoted\\"', 'back\\\\slash', 'NULL', `item ${i}`][i % 5];
      values.push(
        `(${i === 1500 ? '18446744073709551000' : i}, '${name}', ${i % 9 === 0 ? 'NULL' : `${i}.500`}, ${i % 7 === 0 ? 'NULL' : i % 2},
          ${i % 11 === 0 ? 'NULL' : `'2025-01-01 00:00:00' + INTERVAL ${i * 1500} MICROSECOND + INTERVAL ${i} MINUTE`},
          '2024-06-01 12:00:00' + INTERVAL ${i} SECOND + INTERVAL ${(i % 4) * 250_000} MICROSECOND, '2024-06-01' + INTERVAL ${i} DAY,
          ${i % 6 === 0 ? 'NULL' : `UNHEX('${(i % 256).toString(16).padStart(2, '0')}FF00')`},
          ${i % 3 === 0 ? 'NULL' : `'n${i}'`}, ${i % 4 === 0 ? 'NULL' : i / 4}, '${i % 2 ? 'new' : 'old'}')`,
      );
    }
    await remoteMy.pool.query(`INSERT INTO things VALUES ${values.join(',')}`);
    await createAndRun({
      name: 'rec_my_things',
      source_connection: 'rec_my',
      source_query: 'SELECT id, name, price, flag, updated, made, day, data, note, f, state FROM things',
      target_table: 'analytics.rec_my_things',
      unique_key: 'id',
      mode: 'full',
      batch_size: 400,
    });
  });

  it('a synced pipeline is CLEAN: MariaDB renders every compared value as PostgreSQL does', async () => {
    const result = await reconcile('rec_my_things');
    expect(result).toMatchObject({
      status: 'CLEAN',
      source_rows: 1500,
      target_rows: 1500,
      differing_buckets: 0,
      missing_keys: [],
      extra_keys: [],
      changed_keys: [],
    });
    const summary = result.summary as { source: Record<string, unknown>; target: Record<string, unknown> };
    expect(summary.source.key_max).toBe('18446744073709551000');
    expect(summary.target.key_max).toBe('18446744073709551000');
  });

  it('reports the exact keys changed on either side, repairs them in one go, then is CLEAN', async () => {
    await remoteMy.pool.query("UPDATE things SET name = 'zmenené ✓' WHERE id = 11");
    await remoteMy.pool.query('UPDATE things SET updated = updated + INTERVAL 1 MICROSECOND WHERE id = 12');
    await remoteMy.pool.query('UPDATE things SET flag = NULL WHERE id = 13');
    await remoteMy.pool.query('DELETE FROM things WHERE id IN (14, 15)');
    await remoteMy.pool.query(
      "INSERT INTO things (id, name, price, flag) VALUES (7001, 'new ''row''', 0.000, 1), (7002, 'another', NULL, 0)",
    );
    await db.admin.query('UPDATE analytics.rec_my_things SET day = day + 1 WHERE id = 16');
    await db.admin.query("INSERT INTO analytics.rec_my_things (id, name) VALUES (8001, 'extra')");
    await db.admin.query('DELETE FROM analytics.rec_my_things WHERE id = 17');

    const found = await reconcile('rec_my_things', { buckets: 128 });
    expect(found).toMatchObject({ status: 'DIFFERENT', source_rows: 1500, target_rows: 1500 });
    expect(sorted(found.missing_keys)).toEqual(['17', '7001', '7002']);
    expect(sorted(found.extra_keys)).toEqual(['14', '15', '8001']);
    expect(sorted(found.changed_keys)).toEqual(['11', '12', '13', '16']);

    const repaired = await reconcile('rec_my_things', { repair: true });
    // 3 inserted, 4 updated, 3 deleted.
    expect(repaired).toMatchObject({ status: 'REPAIRED', repaired_rows: 10 });
    const clean = await reconcile('rec_my_things');
    expect(clean).toMatchObject({
      status: 'CLEAN',
      differing_buckets: 0,
      source_rows: 1500,
      target_rows: 1500,
    });
    const { rows } = await db.admin.query<{ name: string; flag: number | null; price: string | null }>(
      'SELECT name, flag, price::text FROM analytics.rec_my_things WHERE id IN (11, 13, 7001) ORDER BY id',
    );
    expect(rows).toEqual([
      { name: 'zmenené ✓', flag: 1, price: '11.500' },
      { name: expect.any(String), flag: null, price: '13.500' },
      { name: "new 'row'", flag: 1, price: '0.000' },
    ]);
  });

  it("the console's reconcile action compares the MariaDB source too", async () => {
    const session = await consoleSession(app, OPERATOR);
    const { cookie } = session;
    const before = await db.admin.query('SELECT 1 FROM etl.etl_reconciliations');
    const action = await session.post('/ui/pipelines/rec_my_things/actions/reconcile', {});
    expect(action.statusCode).toBe(303);
    const shown = await app.inject({ method: 'GET', url: action.headers.location!, headers: { cookie } });
    expect(shown.body).toMatch(
      /Reconciled: CLEAN: source 1,?500 rows, target 1,?500; 0 missing, 0 extra, 0 changed/,
    );
    const after = await db.admin.query('SELECT 1 FROM etl.etl_reconciliations');
    expect(after.rowCount).toBe(before.rowCount! + 1);
  });

  it('without the source secrets, or with a secret this process lacks: SIPHON_ERR_CONNECTION_SECRET_MISSING', async () => {
    await expect(
      reconcilePipeline(
        { source: db.writer, target: db.writer, writer: db.writer },
        await getPipeline(db.api, 'rec_my_things'),
        { requestedBy: 'test' },
      ),
    ).rejects.toMatchObject({ code: 'SIPHON_ERR_CONNECTION_SECRET_MISSING' });

    const connection = await post('/connections', {
      name: 'rec_my_locked',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      database: remoteMy.database,
      user: REMOTE_MYSQL.user,
      password_env: 'SIPHON_SECRET_RECONCILE_NOT_SET',
    });
    expect(connection.statusCode, connection.body).toBe(201);
    const created = await post('/pipelines', {
      name: 'rec_my_locked',
      source_connection: 'rec_my_locked',
      source_query: 'SELECT id, name FROM things',
      target_table: 'analytics.rec_my_locked',
      unique_key: 'id',
    });
    expect(created.statusCode, created.body).toBe(201);
    const response = await post(`/pipelines/${created.json().id}/reconcile`, {});
    expect(response.statusCode, response.body).toBe(422);
    expect(response.json().error).toMatchObject({ code: 'SIPHON_ERR_CONNECTION_SECRET_MISSING' });
  });
});
