import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { RowDataPacket } from 'mysql2/promise';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consoleSession } from '../helpers/console.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { createSecretResolver } from '../../src/config/index.js';
import type { Runner } from '../../src/runner/index.js';
import { testConnection, type SourceDeps } from '../../src/sources/index.js';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createRemoteMysql,
  createRemotePostgres,
  REMOTE_MYSQL,
  REMOTE_PG,
  type RemoteMysql,
  type RemotePostgres,
} from '../helpers/remote-servers.js';
import { requestRun, runAndPauseAfterFirstBatch, startTestRunner, waitForStatus } from '../helpers/runner.js';
import { requestStatus } from '../../src/pipelines/index.js';
import { cliEnv, runCli } from '../helpers/processes.js';
import { testTempDir } from '../helpers/tmp.js';

let db: TestDatabase;
let remotePg: RemotePostgres;
let remoteMy: RemoteMysql;
let app: FastifyInstance;
let runner: Runner;
const logLines: string[] = [];

// A MariaDB login of our own, with a password given to Siphon only by reference.
const suffix = randomBytes(4).toString('hex');
const READER_USER = `siphon_ro_${suffix}`;
const READER_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const SECRET_VAR = `SIPHON_SECRET_TEST_${suffix.toUpperCase()}`;
const APP_NAME = `siphon-test-${suffix}`;

const sources: SourceDeps = {
  resolveSecret: createSecretResolver({
    secretEnv: { [SECRET_VAR]: READER_PASSWORD },
    credentialsFile: undefined,
  }),
  statementTimeoutMs: 20_000,
  applicationName: APP_NAME,
  // A full pass into an empty target with at least eight batches is read in two lanes.
  lanes: 2,
};

beforeAll(async () => {
  // Both servers first: a missing one fails here, with its address, before anything else.
  remotePg = await createRemotePostgres();
  remoteMy = await createRemoteMysql();
  db = await createTestDatabase();
  await remoteMy.pool.query(`CREATE USER '${READER_USER}'@'%' IDENTIFIED BY '${READER_PASSWORD}'`);
  await remoteMy.pool.query(`GRANT SELECT ON \`${remoteMy.database}\`.* TO '${READER_USER}'@'%'`);
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'debug' }, capture);
  app = await buildTestApp(db, { sources, logger });
  runner = await startTestRunner(db, { sources, logger, concurrency: 2 });
});

afterAll(async () => {
  await runner?.stop();
  await app?.close();
  await remoteMy?.pool.query(`DROP USER IF EXISTS '${READER_USER}'@'%'`).catch(() => {});
  await Promise.allSettled([remotePg?.drop(), remoteMy?.drop()]);
  await db?.drop();
});

async function post(url: string, payload: unknown, token = OPERATOR) {
  return app.inject({ method: 'POST', url, payload: payload as object, headers: as(token) });
}

async function createConnection(body: Record<string, unknown>) {
  const response = await post('/connections', body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json();
}

async function createRemotePipeline(body: Record<string, unknown>) {
  const response = await post('/pipelines', body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; name: string };
}

async function runToEnd(id: string) {
  await requestRun(db, id);
  const row = await waitForStatus(db, id, ['IDLE', 'FAILED'], 60_000);
  const { rows } = await db.admin.query<{ status: string; error_code: string | null; error: string | null }>(
    'SELECT status, error_code, error FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
    [id],
  );
  return { pipeline: row, run: rows[0]! };
}

/** PATCH a pipeline's source query through the API, at its current version. */
async function changeSourceQuery(id: string, sourceQuery: string) {
  const get = await app.inject({ method: 'GET', url: `/pipelines/${id}`, headers: as(VIEWER) });
  return app.inject({
    method: 'PATCH',
    url: `/pipelines/${id}`,
    headers: { ...as(OPERATOR), 'if-match': get.headers.etag as string },
    payload: { source_query: sourceQuery },
  });
}

/** A pipeline's lines of the run log, parsed. */
function logsOf(pipeline: string): Record<string, unknown>[] {
  return logLines
    .filter((l) => l.includes(`"${pipeline}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The COPY format of each source read a pipeline's first load opened (a window, ADR 0021/0023). */
function windowFormats(pipeline: string): unknown[] {
  return logsOf(pipeline)
    .filter((l) => l.msg === 'reading the next batches in one source COPY')
    .map((l) => l.format);
}

/** Rows as sorted JSON lines of text values, for an exact comparison with the source's. */
async function localRows(sql: string): Promise<string[]> {
  const { rows } = await db.admin.query<{ r: string }>(`SELECT row_to_json(x)::text AS r FROM (${sql}) x`);
  return rows.map((r) => r.r).sort();
}

describe('source connections', () => {
  it('are created, listed, tested and deleted; a password never travels', async () => {
    const pgConn = await createConnection({
      name: 'remote_pg',
      kind: 'postgres',
      host: REMOTE_PG.host,
      port: REMOTE_PG.port,
      database: remotePg.database,
      user: REMOTE_PG.user,
      allowed_schemas: ['public', 'shop'],
    });
    expect(pgConn).toMatchObject({
      name: 'remote_pg',
      kind: 'postgres',
      allowed_schemas: ['public', 'shop'],
    });
    await createConnection({
      name: 'remote_my',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      database: remoteMy.database,
      user: REMOTE_MYSQL.user,
    });
    const ro = await createConnection({
      name: 'remote_my_ro',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      port: REMOTE_MYSQL.port,
      database: remoteMy.database,
      user: READER_USER,
      password_env: SECRET_VAR,
    });
    expect(ro).toMatchObject({ password_env: SECRET_VAR, port: 3306, allowed_schemas: [remoteMy.database] });

    // A password in the body is refused, and so is a reference to any variable but SIPHON_SECRET_*.
    const withPassword = await post('/connections', { ...ro, name: 'leak', password: READER_PASSWORD });
    expect(withPassword.statusCode).toBe(422);
    expect(withPassword.json().error).toMatchObject({
      code: 'SIPHON_ERR_CONNECTION_INVALID',
      field: 'password',
    });
    const otherVariable = await post('/connections', {
      name: 'steal',
      kind: 'mysql',
      host: '127.0.0.1',
      database: 'x',
      user: 'x',
      password_env: 'SIPHON_ADMIN_TOKEN',
    });
    expect(otherVariable.statusCode).toBe(422);
    expect(otherVariable.json().error).toMatchObject({ field: 'password_env' });
    const taken = await post('/connections', { ...ro, created_at: undefined, created_by: undefined });
    expect([409, 422]).toContain(taken.statusCode);

    const list = await app.inject({ method: 'GET', url: '/connections', headers: as(VIEWER) });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((c: { name: string }) => c.name)).toEqual([
      'remote_my',
      'remote_my_ro',
      'remote_pg',
    ]);

    const tests = await Promise.all(
      ['remote_pg', 'remote_my', 'remote_my_ro'].map(async (name) => {
        const response = await post(`/connections/${name}/test`, {});
        expect(response.statusCode, response.body).toBe(200);
        return response.json();
      }),
    );
    expect(tests[0]).toMatchObject({ ok: true, readOnly: false, error: null });
    expect(tests[0].serverVersion).toMatch(/^PostgreSQL \d+/);
    expect(tests[0].warnings.join(' ')).toMatch(/superuser/);
    expect(tests[1]).toMatchObject({ ok: true, readOnly: false });
    expect(tests[1].serverVersion).toMatch(/MariaDB|MySQL/);
    expect(tests[1].warnings.join(' ')).toMatch(/holds ALL PRIVILEGES on \*\.\*/);
    expect(tests[2]).toMatchObject({ ok: true, readOnly: true, warnings: [] });

    // A wrong password: the test says the server refused it, without the password.
    await createConnection({
      name: 'remote_my_bad',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      database: remoteMy.database,
      user: READER_USER,
      password_env: `${SECRET_VAR}_MISSING`,
    });
    const missing = (await post('/connections/remote_my_bad/test', {})).json();
    expect(missing).toMatchObject({ ok: false, error: { code: 'SIPHON_ERR_CONNECTION_SECRET_MISSING' } });

    const one = await app.inject({ method: 'GET', url: '/connections/remote_my_ro', headers: as(VIEWER) });
    const everything = [
      list.body,
      one.body,
      JSON.stringify(tests),
      JSON.stringify(missing),
      withPassword.body,
    ];
    for (const body of everything) expect(body).not.toContain(READER_PASSWORD);
    const stored = await db.admin.query('SELECT row_to_json(c)::text AS r FROM etl.source_connections c');
    expect(JSON.stringify(stored.rows)).not.toContain(READER_PASSWORD);

    const removed = await app.inject({
      method: 'DELETE',
      url: '/connections/remote_my_bad',
      headers: as(OPERATOR),
    });
    expect(removed.statusCode).toBe(200);
    const gone = await app.inject({ method: 'GET', url: '/connections/remote_my_bad', headers: as(VIEWER) });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('SIPHON_ERR_CONNECTION_NOT_FOUND');
  });

  it('warn when the credential can write through a role, whether or not the role is set', async () => {
    const user = `siphon_ro_${suffix}_role`;
    const role = `siphon_writes_${suffix}`;
    const schema = remoteMy.database;
    await remoteMy.pool.query(`CREATE ROLE ${role}`);
    await remoteMy.pool.query(`GRANT INSERT, UPDATE ON \`${schema}\`.* TO ${role}`);
    await remoteMy.pool.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${READER_PASSWORD}'`);
    await remoteMy.pool.query(`GRANT SELECT ON \`${schema}\`.* TO '${user}'@'%'`);
    await remoteMy.pool.query(`GRANT ${role} TO '${user}'@'%'`);
    try {
      await createConnection({
        name: 'remote_my_role',
        kind: 'mysql',
        host: REMOTE_MYSQL.host,
        port: REMOTE_MYSQL.port,
        database: schema,
        user,
        password_env: SECRET_VAR,
      });
      const probe = async () => {
        const response = await post('/connections/remote_my_role/test', {});
        expect(response.statusCode, response.body).toBe(200);
        return response.json() as { ok: boolean; readOnly: boolean; warnings: string[] };
      };
      const warning = `the user holds INSERT, UPDATE on ${schema}.* through the role ${role}`;
      // Granted but not set: the user's own grants are read-only, but any session can SET ROLE.
      const granted = await probe();
      expect(granted).toMatchObject({ ok: true, readOnly: false });
      expect(granted.warnings).toContain(warning);
      // Its default role: set at every login.
      await remoteMy.pool.query(`SET DEFAULT ROLE ${role} FOR '${user}'@'%'`);
      const set = await probe();
      expect(set).toMatchObject({ ok: true, readOnly: false });
      expect(set.warnings).toContain(warning);
      // The role reads only: the credential is read-only again.
      await remoteMy.pool.query(`REVOKE INSERT, UPDATE ON \`${schema}\`.* FROM ${role}`);
      expect(await probe()).toMatchObject({ ok: true, readOnly: true, warnings: [] });
    } finally {
      await app.inject({ method: 'DELETE', url: '/connections/remote_my_role', headers: as(OPERATOR) });
      await remoteMy.pool.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await remoteMy.pool.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('find a password in the secrets file by its entry name, read when the connection opens', async () => {
    const file = join(testTempDir('remote-secrets'), 'credentials.json');
    const fromFile = {
      ...sources,
      resolveSecret: createSecretResolver({ secretEnv: {}, credentialsFile: file }),
    };
    await createConnection({
      name: 'remote_my_file',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      database: remoteMy.database,
      user: READER_USER,
      password_secret: 'shop-reader',
    });
    writeFileSync(file, JSON.stringify({ connections: [{ name: 'other', password: 'x' }] }));
    expect(await testConnection(db.api, fromFile, 'remote_my_file')).toMatchObject({
      ok: false,
      error: { code: 'SIPHON_ERR_CONNECTION_SECRET_MISSING' },
    });
    writeFileSync(file, JSON.stringify({ connections: [{ name: 'shop-reader', password: 'wrong' }] }));
    const refused = await testConnection(db.api, fromFile, 'remote_my_file');
    expect(refused).toMatchObject({ ok: false, error: { code: 'SIPHON_ERR_CONNECTION_FAILED' } });
    expect(refused.error!.message).not.toContain('wrong');
    writeFileSync(
      file,
      JSON.stringify({ connections: [{ name: 'shop-reader', password: READER_PASSWORD }] }),
    );
    expect(await testConnection(db.api, fromFile, 'remote_my_file')).toMatchObject({
      ok: true,
      readOnly: true,
    });
    const removed = await app.inject({
      method: 'DELETE',
      url: '/connections/remote_my_file',
      headers: as(OPERATOR),
    });
    expect(removed.statusCode).toBe(200);
  });

  it('are managed from the CLI: create, list, test, delete', async () => {
    const env = cliEnv(db.adminUrl, { [SECRET_VAR]: READER_PASSWORD });
    const run = async (...args: string[]) => {
      const result = await runCli(['connections', ...args, '--json'], env);
      expect(result.code, `${args.join(' ')}: ${result.stderr.slice(-1000)}`).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(READER_PASSWORD);
      return JSON.parse(result.stdout) as Record<string, unknown>;
    };
    const created = await run(
      'create',
      'cli_my',
      '--kind',
      'mysql',
      '--host',
      REMOTE_MYSQL.host,
      '--database',
      remoteMy.database,
      '--user',
      READER_USER,
      '--password-env',
      SECRET_VAR,
    );
    expect(created).toMatchObject({ name: 'cli_my', kind: 'mysql', port: 3306, password_env: SECRET_VAR });
    const listed = (await run('list')) as unknown as Array<{ name: string; credential: string }>;
    expect(listed.find((c) => c.name === 'cli_my')?.credential).toBe(SECRET_VAR);
    expect(await run('test', 'cli_my')).toMatchObject({ ok: true, readOnly: true, warnings: [] });
    expect(await run('delete', 'cli_my')).toEqual({ deleted: 'cli_my' });
    const again = await runCli(['connections', 'test', 'cli_my'], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('SIPHON_ERR_CONNECTION_NOT_FOUND');
  }, 120_000);

  it('refuse hostile source queries at create, naming the field, for each dialect', async () => {
    const base = { target_table: 'analytics.hostile', unique_key: 'id', mode: 'full' };
    const cases: Array<[string, string]> = [
      ['remote_pg', 'SELECT 1 AS id; DROP TABLE public.items'],
      ['remote_pg', 'WITH d AS (DELETE FROM public.items RETURNING id) SELECT id FROM d'],
      ['remote_pg', 'SELECT rolname AS id FROM pg_catalog.pg_authid'],
      ['remote_pg', "SELECT dblink_exec('x', 'DROP TABLE items') AS id"],
      ['remote_pg', 'SELECT id FROM secret.items'],
      ['remote_my', "SELECT id FROM items INTO OUTFILE '/tmp/siphon-leak'"],
      ['remote_my', 'SELECT id FROM items FOR UPDATE'],
      ['remote_my', 'SELECT SLEEP(10) AS id'],
      ['remote_my', 'SELECT BENCHMARK(100000000, MD5(1)) AS id'],
      ['remote_my', 'SELECT 1 AS id; DROP TABLE items'],
      ['remote_my', "UPDATE items SET name = 'x'"],
      ['remote_my', 'SELECT User AS id FROM mysql.user'],
      ['remote_my', 'SELECT @@version AS id'],
      ['remote_my', "SELECT LOAD_FILE('/etc/passwd') AS id"],
    ];
    for (const [connection, sql] of cases) {
      const response = await post('/pipelines', {
        ...base,
        name: 'hostile',
        source_connection: connection,
        source_query: sql,
      });
      expect(response.statusCode, `${connection}: ${sql} → ${response.body}`).toBe(422);
      const body = response.json().error;
      expect(['SIPHON_ERR_SQL_FORBIDDEN', 'SIPHON_ERR_SQL_SYNTAX'], sql).toContain(body.code);
      expect(body.field, sql).toBe('source_query');
    }
    const unknown = await post('/pipelines', {
      ...base,
      name: 'hostile',
      source_connection: 'nowhere',
      source_query: 'SELECT id FROM items',
    });
    expect(unknown.json().error).toMatchObject({
      code: 'SIPHON_ERR_CONNECTION_NOT_FOUND',
      field: 'source_connection',
    });
  });
});

describe('a PostgreSQL source on another server', () => {
  beforeAll(async () => {
    await remotePg.pool.query(`CREATE TABLE public.items (
      id int PRIMARY KEY, name text NOT NULL, price numeric(10,2), tags text[], updated timestamptz NOT NULL,
      note varchar(40))`);
    await remotePg.pool.query(`INSERT INTO public.items
      SELECT i, 'item ' || i, (i * 1.25)::numeric(10,2), ARRAY['t' || (i % 3), 'x'], timestamptz '2025-01-01' + make_interval(mins => i / 10),
             CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' || i END
        FROM generate_series(1, 2500) i`);
    // Text that COPY and array literals must escape, and a text that reads like NULL.
    await remotePg.pool.query(
      `UPDATE public.items SET name = CASE id WHEN 1 THEN E'tab\\there\\nnew line' WHEN 2 THEN '"quoted", {braces}'
         WHEN 3 THEN E'back\\\\slash' WHEN 4 THEN 'NULL' ELSE 'ünïcødé ✓' END,
         tags = CASE id WHEN 5 THEN ARRAY['a,b', NULL, '{x}'] ELSE tags END WHERE id <= 6`,
    );
  });

  it('loads in full with mapped types, propagates changes and deletes, retries a lost connection', async () => {
    const pipeline = await createRemotePipeline({
      name: 'pg_items_full',
      source_connection: 'remote_pg',
      source_query: 'SELECT id, name, price, tags, updated, note FROM public.items',
      target_table: 'analytics.pg_items',
      unique_key: 'id',
      mode: 'full',
      batch_size: 300,
    });
    const first = await runToEnd(pipeline.id);
    expect(first.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const types = await db.admin.query<{ attname: string; type: string }>(
      `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'analytics.pg_items'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(types.rows.map((r) => `${r.attname} ${r.type}`)).toEqual([
      'id integer',
      'name text',
      'price numeric(10,2)',
      'tags text[]',
      'updated timestamp with time zone',
      'note character varying(40)',
      'updated_at timestamp with time zone',
    ]);
    const remoteRows = async () => {
      const { rows } = await remotePg.pool.query<{ r: string }>(
        'SELECT row_to_json(x)::text AS r FROM (SELECT id, name, price, tags, updated, note FROM public.items) x',
      );
      return rows.map((r) => r.r).sort();
    };
    // The same session time zone on both sides, so timestamptz renders alike.
    await db.admin.query("SET TIME ZONE 'UTC'");
    await remotePg.pool.query("SET TIME ZONE 'UTC'");
    expect(await localRows('SELECT id, name, price, tags, updated, note FROM analytics.pg_items')).toEqual(
      await remoteRows(),
    );

    // Changes at the source: 40 deleted, 10 changed, 5 new; a lost connection in the middle of the run.
    await remotePg.pool.query('DELETE FROM public.items WHERE id % 60 = 0 OR id BETWEEN 2461 AND 2462');
    await remotePg.pool.query("UPDATE public.items SET name = 'changed', price = 0.01 WHERE id % 250 = 1");
    await remotePg.pool.query(
      `INSERT INTO public.items SELECT i, 'new ' || i, 1, NULL, now(), NULL FROM generate_series(3001, 3005) i`,
    );
    let terminated = 0;
    const onBatch = ({ pipelineId, batchNo }: { pipelineId: string; batchNo: number }) => {
      if (pipelineId !== pipeline.id || batchNo !== 2) return;
      void remotePg.pool
        .query<{ n: number }>(
          'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [APP_NAME],
        )
        .then(({ rows }) => (terminated += rows[0]!.n));
    };
    runner.events.on('batch:committed', onBatch);
    const second = await runToEnd(pipeline.id).finally(() => runner.events.off('batch:committed', onBatch));
    expect(second.run, JSON.stringify(second.run)).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(terminated).toBeGreaterThan(0);
    expect(await localRows('SELECT id, name, price, tags, updated, note FROM analytics.pg_items')).toEqual(
      await remoteRows(),
    );
    const { rows } = await db.admin.query<{ rows_deleted: number }>(
      'SELECT rows_deleted FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [pipeline.id],
    );
    expect(rows[0]!.rows_deleted).toBe(43); // 41 multiples of 60 up to 2460 + 2461 + 2462
    expect(
      (await db.admin.query('SELECT 1 FROM etl.remote_seen_keys WHERE pipeline_id = $1', [pipeline.id]))
        .rowCount,
    ).toBe(0);

    // Reconcile compares the remote source with the target, each side digested on its own server.
    const reconcile = await post(`/pipelines/${pipeline.id}/reconcile`, {});
    expect(reconcile.statusCode, reconcile.body).toBe(200);
    expect(reconcile.json()).toMatchObject({
      status: 'CLEAN',
      source_rows: 2500 - 43 + 5,
      target_rows: 2500 - 43 + 5,
      differing_buckets: 0,
      summary: { source_connection: 'remote_pg' },
    });

    const inUse = await app.inject({
      method: 'DELETE',
      url: '/connections/remote_pg',
      headers: as(OPERATOR),
    });
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json().error).toMatchObject({
      code: 'SIPHON_ERR_CONNECTION_IN_USE',
      details: { pipelines: ['pg_items_full'] },
    });
  });
});

describe('a PostgreSQL source whose database renders values its own way', () => {
  it('reads dates, floats and intervals as ISO, exact and postgres-style whatever the source database sets', async () => {
    await remotePg.pool.query(
      'CREATE TABLE public.styled (id int PRIMARY KEY, d date, f float8, iv interval)',
    );
    await remotePg.pool.query(
      `INSERT INTO public.styled VALUES (1, '2024-02-01', 0.1::float8 + 0.2::float8, interval '-1 day 02:03:04'),
         (2, '2024-12-31', 1e-7::float8 / 3, interval '1 year 2 months'), (3, NULL, NULL, NULL)`,
    );
    await remotePg.pool.query(`ALTER DATABASE ${remotePg.database} SET DateStyle = 'SQL, DMY'`);
    await remotePg.pool.query(`ALTER DATABASE ${remotePg.database} SET IntervalStyle = 'sql_standard'`);
    await remotePg.pool.query(`ALTER DATABASE ${remotePg.database} SET extra_float_digits = 0`);
    try {
      const pipeline = await createRemotePipeline({
        name: 'pg_styled',
        source_connection: 'remote_pg',
        source_query: 'SELECT id, d, f, iv FROM public.styled',
        target_table: 'analytics.pg_styled',
        unique_key: 'id',
        mode: 'full',
        batch_size: 2,
      });
      const first = await runToEnd(pipeline.id);
      expect(first.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    } finally {
      await remotePg.pool.query(`ALTER DATABASE ${remotePg.database} RESET ALL`);
    }
    const { rows } = await db.admin.query<{
      id: number;
      d: string | null;
      f: string | null;
      iv: string | null;
    }>(
      `SELECT id, to_char(d, 'YYYY-MM-DD') AS d, f = 0.1::float8 + 0.2::float8 OR f = 1e-7::float8 / 3 AS f,
              iv::text AS iv FROM analytics.pg_styled ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: 1, d: '2024-02-01', f: true, iv: '-1 days +02:03:04' },
      { id: 2, d: '2024-12-31', f: true, iv: '1 year 2 mons' },
      { id: 3, d: null, f: null, iv: null },
    ]);
  });
});

describe("the console's pipeline form", () => {
  it('dry-runs, saves and edits a pipeline that reads through a connection', async () => {
    await remotePg.pool.query(
      'CREATE TABLE public.console_items (id int PRIMARY KEY, name text, price numeric(10,2))',
    );
    const session = await consoleSession(app, OPERATOR);
    const { cookie } = session;
    const blank = await app.inject({ method: 'GET', url: '/ui/pipelines/new', headers: { cookie } });
    expect(blank.body).toContain('name="source_connection"');
    const fields = {
      name: 'console_remote_items',
      source_connection: 'remote_pg',
      // The table exists only on the remote server: read here, this query would not resolve.
      source_query: 'SELECT id, name, price FROM public.console_items',
      target_table: 'analytics.console_remote_items',
      unique_key: 'id',
      mode: 'full',
      batch_size: '500',
    };
    const dryRun = await session.post('/ui/pipelines/new', { ...fields, intent: 'validate' });
    expect(dryRun.statusCode, dryRun.body).toBe(200);
    expect(dryRun.body).toContain('Dry run: valid');
    expect(dryRun.body).toMatch(/<code>price<\/code> numeric\(10,2\)/);
    const saved = await session.post('/ui/pipelines/new', { ...fields, intent: 'save' });
    expect(saved.statusCode, saved.body).toBe(303);
    const { rows } = await db.admin.query<{ id: string; source_connection: string }>(
      "SELECT id, source_connection FROM etl.etl_pipelines WHERE name = 'console_remote_items'",
    );
    expect(rows[0]!.source_connection).toBe('remote_pg');
    const edit = await app.inject({
      method: 'GET',
      url: `/ui/pipelines/${rows[0]!.id}/edit`,
      headers: { cookie },
    });
    expect(edit.body).toMatch(/name="source_connection"\s+value="remote_pg"/);
    // The edit form's dry run reads the connection too.
    const editRun = await session.post(`/ui/pipelines/${rows[0]!.id}/edit`, {
      ...fields,
      version: '1',
      intent: 'validate',
    });
    expect(editRun.body).toContain('Dry run: valid');
  });
});

describe('a full pass into an empty target', () => {
  it('copies the source rows straight in, with text keys that need escapes; then merges into a full one', async () => {
    await remotePg.pool.query('CREATE TABLE public.words (w text PRIMARY KEY, n int NOT NULL, note text)');
    // Keys whose COPY text is escaped (tab, backslash, newline), non-ASCII, quotes, a NULL-looking word.
    await remotePg.pool.query(
      `INSERT INTO public.words VALUES (E'a\\tb', 1, NULL), (E'a\\\\b', 2, E'x\\ty'), (E'a\\nb', 3, ''),
        ('ü', 4, 'ü'), ('"q"', 5, '\\N'), ('z', 6, NULL), ('NULL', 7, 'NULL'), ('b', 8, 'b')`,
    );
    const pipeline = await createRemotePipeline({
      name: 'pg_words_full',
      source_connection: 'remote_pg',
      source_query: 'SELECT w, n, note FROM public.words',
      target_table: 'analytics.pg_words',
      unique_key: 'w',
      mode: 'full',
      batch_size: 2,
    });
    // After each committed batch: the pass's mark and the keys it staged for delete-not-seen. Read
    // after the event, so a read may come after the pass's end (which clears both): such a read says
    // `ended` and is not counted against the pass.
    const seen: { intoEmpty: boolean; staged: number; ended: boolean }[] = [];
    const onBatch = ({ pipelineId }: { pipelineId: string }) => {
      if (pipelineId !== pipeline.id) return;
      void db.admin
        .query<{ into_empty: boolean; staged: number; ended: boolean }>(
          `SELECT s.full_pass_into_empty AS into_empty, s.full_cursor IS NULL AS ended,
                  (SELECT count(*)::int FROM etl.remote_seen_keys k WHERE k.pipeline_id = s.pipeline_id) AS staged
             FROM etl.etl_state s WHERE s.pipeline_id = $1`,
          [pipeline.id],
        )
        .then(({ rows }) =>
          seen.push({ intoEmpty: rows[0]!.into_empty, staged: rows[0]!.staged, ended: rows[0]!.ended }),
        );
    };
    const during = () => seen.filter((s) => !s.ended);
    const remoteWords = async () => {
      const { rows } = await remotePg.pool.query<{ r: string }>(
        'SELECT row_to_json(x)::text AS r FROM (SELECT w, n, note FROM public.words) x',
      );
      return rows.map((r) => r.r).sort();
    };
    runner.events.on('batch:committed', onBatch);
    try {
      const first = await runToEnd(pipeline.id);
      expect(first.run).toMatchObject({ status: 'SUCCESS', error_code: null });
      await vi.waitFor(() => expect(seen.length).toBe(4));
      // Copied straight in: the pass was marked, and no key was staged.
      expect(during().length).toBeGreaterThan(0);
      expect(during().every((s) => s.intoEmpty && s.staged === 0)).toBe(true);
      expect(await localRows('SELECT w, n, note FROM analytics.pg_words')).toEqual(await remoteWords());

      // The target has rows now: the next pass merges and stages keys, and deletes what the source lost.
      await remotePg.pool.query("DELETE FROM public.words WHERE w IN ('ü', 'b')");
      await remotePg.pool.query("UPDATE public.words SET n = 70 WHERE w = 'NULL'");
      seen.length = 0;
      const second = await runToEnd(pipeline.id);
      expect(second.run).toMatchObject({ status: 'SUCCESS', error_code: null });
      await vi.waitFor(() => expect(seen.length).toBe(3));
      expect(during().length).toBeGreaterThan(0);
      expect(during().every((s) => !s.intoEmpty && s.staged > 0)).toBe(true);
      expect(await localRows('SELECT w, n, note FROM analytics.pg_words')).toEqual(await remoteWords());
      const state = await db.admin.query<{ into_empty: boolean }>(
        'SELECT full_pass_into_empty AS into_empty FROM etl.etl_state WHERE pipeline_id = $1',
        [pipeline.id],
      );
      expect(state.rows[0]!.into_empty).toBe(false);
    } finally {
      runner.events.off('batch:committed', onBatch);
    }
  });

  it('writes a change that equality would miss, and merges json, xml and point columns', async () => {
    await remotePg.pool.query(
      `CREATE TABLE public.images (id int PRIMARY KEY, n numeric, f float8, iv interval, jb jsonb, j json,
         doc xml, p point, b box, modified timestamptz NOT NULL DEFAULT '2025-01-01')`,
    );
    await remotePg.pool.query(
      `INSERT INTO public.images VALUES
         (1, 1.0, 0, '1 mon', '{"n": 1}', '{"a": 1}', '<r/>', '(1,2)', '((1,1),(0,0))'),
         (2, 2.5, 1.5, '1 day', '[]', '[]', '<s/>', '(3,4)', '((2,2),(0,0))')`,
    );
    const columns = 'id, n, f, iv, jb, j, doc, p, b';
    const remoteImages = async () => {
      const { rows } = await remotePg.pool.query<{ r: string }>(
        `SELECT row_to_json(x)::text AS r FROM (SELECT ${columns} FROM public.images) x`,
      );
      return rows.map((r) => r.r).sort();
    };
    const full = await createRemotePipeline({
      name: 'pg_images_full',
      source_connection: 'remote_pg',
      source_query: `SELECT ${columns} FROM public.images`,
      target_table: 'analytics.pg_images',
      unique_key: 'id',
      mode: 'full',
    });
    // Incremental merges from its first run: json, xml and point have no "=" to compare by.
    const incremental = await createRemotePipeline({
      name: 'pg_images_inc',
      source_connection: 'remote_pg',
      source_query: `SELECT ${columns}, modified FROM public.images`,
      target_table: 'analytics.pg_images_inc',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'modified',
    });
    for (const id of [full.id, incremental.id]) {
      expect((await runToEnd(id)).run).toMatchObject({ status: 'SUCCESS', error_code: null });
    }
    // Each new value is "=" to the old one (or, for a box, of the same area) and is still another value.
    await remotePg.pool.query(
      `UPDATE public.images SET n = 1.00, f = '-0', iv = '30 days', jb = '{"n": 1.0}', j = '{"a":1}',
         doc = '<r></r>', p = '(1,2.5)', b = '((6,6),(5,5))', modified = '2025-01-02' WHERE id = 1`,
    );
    for (const [id, table] of [
      [full.id, 'analytics.pg_images'],
      [incremental.id, 'analytics.pg_images_inc'],
    ] as const) {
      const second = await runToEnd(id);
      expect(second.run).toMatchObject({ status: 'SUCCESS', error_code: null });
      expect(await localRows(`SELECT ${columns} FROM ${table}`)).toEqual(await remoteImages());
      // The row that did not change was not written again.
      const { rows } = await db.admin.query<{ rows_written: number }>(
        'SELECT rows_written::int FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
        [id],
      );
      expect(rows[0]!.rows_written).toBe(1);
    }
  });

  it('reads a large pass in two lanes from one snapshot: changes made meanwhile wait for the next pass', async () => {
    await remotePg.pool.query('CREATE TABLE public.wide (id bigint PRIMARY KEY, v text NOT NULL)');
    await remotePg.pool.query(
      'INSERT INTO public.wide SELECT i, md5(i::text) FROM generate_series(1, 2000) i',
    );
    await remotePg.pool.query('ANALYZE public.wide');
    const original = await remotePg.pool.query<{ v: string }>('SELECT v FROM public.wide WHERE id = 1500');
    const pipeline = await createRemotePipeline({
      name: 'pg_wide_full',
      source_connection: 'remote_pg',
      // About 55 ms a batch on the source: the second lane is far from its end when the change lands.
      source_query: 'SELECT id, v FROM public.wide WHERE pg_sleep(0.0002) IS NOT NULL',
      target_table: 'analytics.pg_wide',
      unique_key: 'id',
      mode: 'full',
      batch_size: 50,
    });
    const lanesSeen: number[] = [];
    let changed: Promise<{ rows: { at: Date }[] }> | undefined;
    const onBatch = ({ pipelineId }: { pipelineId: string }) => {
      if (pipelineId !== pipeline.id) return;
      void db.admin
        .query<{ n: number }>('SELECT count(*)::int AS n FROM etl.full_pass_lanes WHERE pipeline_id = $1', [
          pipeline.id,
        ])
        .then(({ rows }) => lanesSeen.push(rows[0]!.n));
      // After the first commit, the source changes in the second lane's range, not read yet.
      changed ??= remotePg.pool.query<{ at: Date }>(
        `WITH d AS (DELETE FROM public.wide WHERE id > 1990), u AS (UPDATE public.wide SET v = 'changed' WHERE id = 1500)
         INSERT INTO public.wide VALUES (5000, 'new') RETURNING clock_timestamp() AS at`,
      );
    };
    const counts = () =>
      db.admin.query<{ n: number; max: string; v: string }>(
        `SELECT count(*)::int AS n, max(id)::text AS max, (SELECT v FROM analytics.pg_wide WHERE id = 1500) AS v
           FROM analytics.pg_wide`,
      );
    runner.events.on('batch:committed', onBatch);
    try {
      const first = await runToEnd(pipeline.id);
      expect(first.run).toMatchObject({ status: 'SUCCESS', error_code: null });
      const changedAt = (await changed)!.rows[0]!.at;
      // Two lanes while the pass ran, none after it.
      await vi.waitFor(() => expect(lanesSeen.length).toBe(40));
      expect(new Set(lanesSeen)).toEqual(new Set([2]));
      expect(
        (await db.admin.query('SELECT 1 FROM etl.full_pass_lanes WHERE pipeline_id = $1', [pipeline.id]))
          .rowCount,
      ).toBe(0);
      // The source as it was when the pass began: every row once, the change not yet.
      expect((await counts()).rows[0]).toEqual({ n: 2000, max: '2000', v: original.rows[0]!.v });
      // The ledger: 40 batches numbered 1..40 whichever lane committed them, 2000 rows in all; the
      // rows the source deleted meanwhile were read after the delete had committed (from the snapshot).
      const ledger = await db.admin.query<{ numbers: number[]; rows: number; last: Date }>(
        `SELECT array_agg(b.batch_no ORDER BY b.batch_no) AS numbers, sum(b.rows_read)::int AS rows,
                max(b.committed_at) FILTER (WHERE b.cursor_to = '["2000"]') AS last
           FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1`,
        [pipeline.id],
      );
      expect(ledger.rows[0]).toMatchObject({
        numbers: Array.from({ length: 40 }, (_, i) => i + 1),
        rows: 2000,
      });
      expect(ledger.rows[0]!.last.getTime()).toBeGreaterThan(changedAt.getTime());
    } finally {
      runner.events.off('batch:committed', onBatch);
    }
    // The next pass (the target has rows: one sequence, merged) brings the change.
    const second = await runToEnd(pipeline.id);
    expect(second.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect((await counts()).rows[0]).toEqual({ n: 1991, max: '5000', v: 'changed' });
  });

  it('pauses a pass in lanes after committed batches and resumes every lane where it stood', async () => {
    await remotePg.pool.query('CREATE TABLE public.paused (id int PRIMARY KEY, v text NOT NULL)');
    await remotePg.pool.query(
      'INSERT INTO public.paused SELECT i, md5(i::text) FROM generate_series(1, 1000) i',
    );
    await remotePg.pool.query('ANALYZE public.paused');
    const pipeline = await createRemotePipeline({
      name: 'pg_paused_full',
      source_connection: 'remote_pg',
      source_query: 'SELECT id, v FROM public.paused WHERE pg_sleep(0.0002) IS NOT NULL',
      target_table: 'analytics.pg_paused',
      unique_key: 'id',
      mode: 'full',
      batch_size: 50,
    });
    await runAndPauseAfterFirstBatch(db, runner, pipeline.id);
    const lanes = await db.admin.query<{ lane: number; position: string[] | null; done: boolean }>(
      'SELECT lane, position, done FROM etl.full_pass_lanes WHERE pipeline_id = $1 ORDER BY lane',
      [pipeline.id],
    );
    expect(lanes.rows.map((l) => l.lane)).toEqual([0, 1]);
    expect(lanes.rows.some((l) => l.position !== null && !l.done)).toBe(true);
    // The API shows where each lane stands.
    const state = await app.inject({
      method: 'GET',
      url: `/pipelines/${pipeline.id}/state`,
      headers: as(OPERATOR),
    });
    expect(state.json()).toMatchObject({
      state: { full_pass_into_empty: true },
      lanes: lanes.rows.map((l) => ({ lane: l.lane, position: l.position, done: l.done })),
    });
    const target = Number((await db.admin.query('SELECT count(*) FROM analytics.pg_paused')).rows[0].count);
    const midPass = await db.admin.query(
      "SELECT 1 FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = 'pg_paused'",
    );
    expect(midPass.rowCount).toBe(0);
    expect(target).toBeGreaterThan(0);
    expect(target).toBeLessThan(1000);
    expect(target % 50).toBe(0);

    const resumed = await runToEnd(pipeline.id);
    expect(resumed.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const { rows } = await db.admin.query<{ n: number; distinct_ids: number; max: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct_ids, max(id) AS max FROM analytics.pg_paused',
    );
    expect(rows[0]).toEqual({ n: 1000, distinct_ids: 1000, max: 1000 });
    const ledger = await db.admin.query<{ status: string; batches: number; rows: number }>(
      `SELECT r.status, count(b.*)::int AS batches, coalesce(sum(b.rows_read), 0)::int AS rows
         FROM etl.etl_runs r LEFT JOIN etl.etl_run_batches b ON b.run_id = r.id
        WHERE r.pipeline_id = $1 GROUP BY r.id, r.status, r.started_at ORDER BY r.started_at`,
      [pipeline.id],
    );
    expect(ledger.rows.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS']);
    expect(ledger.rows[0]!.rows).toBe(target);
    expect(ledger.rows[0]!.rows + ledger.rows[1]!.rows).toBe(1000);
    expect(
      (await db.admin.query('SELECT 1 FROM etl.full_pass_lanes WHERE pipeline_id = $1', [pipeline.id]))
        .rowCount,
    ).toBe(0);
    // The lanes copied into a table without its primary key, built again at the pass's end.
    const { rows: indexes } = await db.admin.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = 'pg_paused'",
    );
    expect(indexes.map((i) => i.indexdef)).toEqual([
      'CREATE UNIQUE INDEX pg_paused_pkey ON analytics.pg_paused USING btree (id)',
    ]);
  });

  it('starts a paused pass in lanes over when its source query changes', async () => {
    const pipeline = await createRemotePipeline({
      name: 'pg_lanes_changed',
      source_connection: 'remote_pg',
      source_query: 'SELECT id, v FROM public.paused WHERE pg_sleep(0.0002) IS NOT NULL',
      target_table: 'analytics.pg_lanes_changed',
      unique_key: 'id',
      mode: 'full',
      batch_size: 50,
    });
    await runAndPauseAfterFirstBatch(db, runner, pipeline.id);
    // A pass in lanes keeps its positions per lane, not in the pass's cursor.
    const { rows: before } = await db.admin.query<{ cursor: string[] | null; lanes: number }>(
      `SELECT s.full_cursor AS cursor, (SELECT count(*)::int FROM etl.full_pass_lanes l WHERE l.pipeline_id = s.pipeline_id) AS lanes
         FROM etl.etl_state s WHERE s.pipeline_id = $1`,
      [pipeline.id],
    );
    expect(before).toEqual([{ cursor: null, lanes: 2 }]);
    const patch = await changeSourceQuery(pipeline.id, 'SELECT id, v FROM public.paused WHERE id % 3 = 0');
    expect(patch.json()).toMatchObject({ applies_from: 'now', checkpoint_reset: true });
    const next = await runToEnd(pipeline.id);
    expect(next.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const { rows } = await db.admin.query<{ n: number; off: number }>(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE id % 3 <> 0)::int AS off FROM analytics.pg_lanes_changed',
    );
    expect(rows[0]).toEqual({ n: 333, off: 0 });
  });

  it('travels in binary where both sides have the same types: every value as the source holds it, every batch where the last ended', async () => {
    // Values whose text and binary forms differ most: NaN and long numerics, infinities, floats that
    // need every digit, bytea with every byte, NULL array elements, keys below zero.
    await remotePg.pool.query(`CREATE TABLE public.kinds (
      id bigint PRIMARY KEY, b boolean, s smallint, i integer, r real, d double precision, n numeric,
      n2 numeric(6,2), t text, vc varchar(12), c char(3), by bytea, dt date, tm time, tmtz timetz,
      ts timestamp(3), tstz timestamptz, u uuid, j json, jb jsonb, ip inet, cd cidr,
      mac macaddr, ia integer[], ta text[])`);
    await remotePg.pool.query(`INSERT INTO public.kinds
      SELECT (g - 150) * 7919000003, g % 2 = 0, (g - 150)::smallint, g * 1000003,
             CASE WHEN g % 50 = 0 THEN 'NaN'::real ELSE 1.0 / g END, pi() * g,
             CASE WHEN g % 40 = 0 THEN 'NaN'::numeric ELSE (10::numeric ^ 30) / g END, g / 3.0,
             CASE WHEN g % 13 = 0 THEN NULL ELSE E'a\\tb\n' || repeat('ü', g % 9) END, left(md5(g::text), 12), 'ab',
             CASE WHEN g = 7 THEN (SELECT string_agg(set_byte('\\x00'::bytea, 0, b), '') FROM generate_series(0, 255) b)
                  ELSE decode(md5(g::text), 'hex') END,
             CASE WHEN g = 1 THEN 'infinity'::date ELSE date '2000-02-29' + g END, time '23:59:59.999999' - g * interval '1 min',
             timetz '12:00:00+05:30', timestamp '1999-12-31 23:59:59.123' + g * interval '1 day',
             CASE WHEN g = 2 THEN '-infinity'::timestamptz ELSE timestamptz '2024-03-31 01:30:00+00' + g * interval '1 hour' END,
             md5(g::text)::uuid,
             json_build_object('g', g, 'k', 'v'), jsonb_build_object('g', g, 'a', jsonb_build_array(1, 'x', null)),
             ('10.0.' || (g % 256) || '.1')::inet, '192.168.0.0/16'::cidr, '08:00:2b:01:02:03'::macaddr,
             ARRAY[g, NULL, -g], ARRAY['q"uote', NULL, 'c,omma']
        FROM generate_series(1, 300) g`);
    const pipeline = await createRemotePipeline({
      name: 'pg_kinds_full',
      source_connection: 'remote_pg',
      source_query: 'SELECT * FROM public.kinds',
      target_table: 'analytics.pg_kinds',
      unique_key: 'id',
      mode: 'full',
      // Seven batches: one sequence (two lanes need eight).
      batch_size: 50,
    });
    logLines.length = 0;
    const run = await runToEnd(pipeline.id);
    expect(run.run, JSON.stringify(run.run)).toMatchObject({ status: 'SUCCESS', error_code: null });
    const formats = windowFormats('pg_kinds_full');
    expect(formats.length).toBeGreaterThan(0);
    expect(formats.every((f) => f === 'binary')).toBe(true);
    // Each batch went on exactly where the last one ended: no key read twice (merged), none skipped.
    expect(logsOf('pg_kinds_full').some((l) => String(l.msg).includes('de-duplicating'))).toBe(false);
    const ledger = await db.admin.query<{ cursor_to: string[] }>(
      'SELECT b.cursor_to FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1 ORDER BY b.batch_no',
      [pipeline.id],
    );
    const keys = await remotePg.pool.query<{ id: string }>(
      'SELECT k.id::text AS id FROM public.kinds k ORDER BY k.id OFFSET 49 ROWS',
    );
    expect(ledger.rows.map((r) => r.cursor_to[0])).toEqual(
      keys.rows.filter((_, i) => i % 50 === 0).map((r) => r.id),
    );
    // The rows as each server prints them, in UTC: identical (the target has its updated_at too).
    const KINDS =
      'id, b, s, i, r, d, n, n2, t, vc, c, by, dt, tm, tmtz, ts, tstz, u, j, jb, ip, cd, mac, ia, ta';
    const printed = async (pool: pg.Pool, table: string) => {
      const client = await pool.connect();
      try {
        await client.query("SET TimeZone = 'UTC'");
        const { rows } = await client.query<{ r: string }>(
          `SELECT row(${KINDS})::text AS r FROM ${table} ORDER BY id`,
        );
        return rows.map((r) => r.r);
      } finally {
        client.release();
      }
    };
    const expected = await printed(remotePg.pool, 'public.kinds');
    expect(expected).toHaveLength(300);
    expect(await printed(db.admin, 'analytics.pg_kinds')).toEqual(expected);
  });

  it('pauses a first load read in binary windows after a committed batch, and resumes it exactly', async () => {
    await remotePg.pool.query('CREATE TABLE public.halted (id int PRIMARY KEY, v text NOT NULL)');
    await remotePg.pool.query("INSERT INTO public.halted SELECT g, 'v' || g FROM generate_series(1, 700) g");
    const pipeline = await createRemotePipeline({
      name: 'pg_halted_full',
      source_connection: 'remote_pg',
      // Slow enough (2 ms a row, 0.2 s a batch) for the pause to land mid-pass even on a loaded
      // machine: at 0.5 ms a row the five batches after the first took 0.3 s, which a slow pause
      // request can miss.
      source_query: 'SELECT id, v FROM public.halted WHERE pg_sleep(0.002) IS NOT NULL',
      target_table: 'analytics.pg_halted',
      unique_key: 'id',
      mode: 'full',
      // Seven batches: one sequence (two lanes need eight).
      batch_size: 100,
    });
    await runAndPauseAfterFirstBatch(db, runner, pipeline.id);
    // The window's read ends with the pause: no transaction is left open, and the target holds exactly
    // the committed batches, up to the stored checkpoint.
    await vi.waitFor(
      async () => {
        const { rows } = await db.admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()`,
        );
        expect(rows[0]!.n).toBe(0);
      },
      { timeout: 10_000 },
    );
    const paused = await db.admin.query<{ n: number; last: number; cursor: string[] }>(
      `SELECT (SELECT count(*)::int FROM analytics.pg_halted) AS n, (SELECT max(id) FROM analytics.pg_halted) AS last,
              (SELECT full_cursor FROM etl.etl_state WHERE pipeline_id = $1) AS cursor`,
      [pipeline.id],
    );
    const { n, last, cursor } = paused.rows[0]!;
    expect(n % 100).toBe(0);
    expect(n).toBeGreaterThanOrEqual(200);
    expect(n).toBeLessThan(700);
    expect(cursor).toEqual([String(last)]);
    const resumed = await runToEnd(pipeline.id);
    expect(resumed.run, JSON.stringify(resumed.run)).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(await localRows('SELECT id, v FROM analytics.pg_halted')).toEqual(
      (await remotePg.pool.query<{ r: string }>('SELECT row_to_json(x)::text AS r FROM public.halted x')).rows
        .map((r) => r.r)
        .sort(),
    );
    // Every row written once (the held index's build would hide a row copied twice; the ledger does
    // not): the two runs' batches follow each other exactly, 700 rows in all.
    const ledger = await db.admin.query<{
      cursor_from: { after: string[] } | null;
      cursor_to: string[];
      rows_written: number;
    }>(
      `SELECT b.cursor_from, b.cursor_to, b.rows_written FROM etl.etl_run_batches b
         JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1 ORDER BY r.started_at, b.batch_no`,
      [pipeline.id],
    );
    expect(ledger.rows.map((b) => b.rows_written)).toEqual(Array(7).fill(100));
    expect(ledger.rows.map((b) => b.cursor_to[0])).toEqual(['100', '200', '300', '400', '500', '600', '700']);
    expect(ledger.rows.slice(1).map((b) => b.cursor_from?.after[0])).toEqual(
      ledger.rows.slice(0, -1).map((b) => b.cursor_to[0]),
    );
  });

  it('travels in text where a target column has another type than the source', async () => {
    await remotePg.pool.query('CREATE TABLE public.narrow (id int PRIMARY KEY, v numeric(6,2))');
    await remotePg.pool.query('INSERT INTO public.narrow SELECT g, g / 4.0 FROM generate_series(1, 120) g');
    await db.admin.query('CREATE TABLE analytics.pg_narrow (id bigint PRIMARY KEY, v numeric)');
    const pipeline = await createRemotePipeline({
      name: 'pg_narrow_full',
      source_connection: 'remote_pg',
      source_query: 'SELECT id, v FROM public.narrow',
      target_table: 'analytics.pg_narrow',
      unique_key: 'id',
      mode: 'full',
      batch_size: 40,
    });
    logLines.length = 0;
    const run = await runToEnd(pipeline.id);
    expect(run.run, JSON.stringify(run.run)).toMatchObject({ status: 'SUCCESS', error_code: null });
    const formats = windowFormats('pg_narrow_full');
    expect(formats.length).toBeGreaterThan(0);
    expect(formats.every((f) => f === 'text')).toBe(true);
    expect(await localRows('SELECT id, v FROM analytics.pg_narrow')).toEqual(
      (await remotePg.pool.query<{ r: string }>('SELECT row_to_json(x)::text AS r FROM public.narrow x')).rows
        .map((r) => r.r)
        .sort(),
    );
  });

  it('merges a batch instead when the source yields a key twice', async () => {
    const pipeline = await createRemotePipeline({
      name: 'pg_words_twice',
      source_connection: 'remote_pg',
      source_query: "SELECT w, n FROM public.words UNION ALL SELECT 'z', 60",
      target_table: 'analytics.pg_words_twice',
      unique_key: 'w',
      mode: 'full',
      batch_size: 100,
    });
    const run = await runToEnd(pipeline.id);
    expect(run.run, JSON.stringify(run.run)).toMatchObject({ status: 'SUCCESS', error_code: null });
    const { rows } = await db.admin.query<{ n: number; z: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE w = 'z')::int AS z FROM analytics.pg_words_twice",
    );
    const source = await remotePg.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM public.words');
    expect(rows[0]).toEqual({ n: source.rows[0]!.n, z: 1 });
  });
});

describe('a source server that restarts mid-run', () => {
  it.each(['postgres', 'mysql'] as const)(
    '%s: every connection reset and new ones refused for 2 s; the run retries and lands exactly',
    async (kind) => {
      const proxy = await startTcpProxy(kind === 'postgres' ? REMOTE_PG : REMOTE_MYSQL);
      const table = `restart_${kind}`;
      try {
        if (kind === 'postgres') {
          await remotePg.pool.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, v text NOT NULL)`);
          await remotePg.pool.query(
            `INSERT INTO public.${table} SELECT i, md5(i::text) FROM generate_series(1, 1200) i`,
          );
          await remotePg.pool.query(`ANALYZE public.${table}`);
        } else {
          await remoteMy.pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v varchar(40) NOT NULL)`);
          await remoteMy.pool.query(`INSERT INTO ${table} SELECT seq, md5(seq) FROM seq_1_to_1200`);
        }
        await createConnection({
          name: `via_proxy_${kind}`,
          kind,
          host: '127.0.0.1',
          port: proxy.port,
          database: kind === 'postgres' ? remotePg.database : remoteMy.database,
          user: kind === 'postgres' ? REMOTE_PG.user : REMOTE_MYSQL.user,
        });
        const pipeline = await createRemotePipeline({
          name: `${table}_full`,
          source_connection: `via_proxy_${kind}`,
          // PostgreSQL: about 55 ms a batch, read in two lanes; MariaDB: one sequence.
          source_query:
            kind === 'postgres'
              ? `SELECT id, v FROM public.${table} WHERE pg_sleep(0.0002) IS NOT NULL`
              : `SELECT id, v FROM ${table}`,
          target_table: `analytics.${table}`,
          unique_key: 'id',
          mode: 'full',
          batch_size: 50,
        });
        let retries = 0;
        let restarted: Promise<void> | undefined;
        const onBatch = ({ pipelineId }: { pipelineId: string }) => {
          if (pipelineId === pipeline.id) restarted ??= proxy.restart(2_000);
        };
        const onRetry = ({ pipelineId }: { pipelineId: string }) => {
          if (pipelineId === pipeline.id) retries += 1;
        };
        runner.events.on('batch:committed', onBatch);
        runner.events.on('batch:retry', onRetry);
        const connectionsBefore = proxy.connections;
        let run: Awaited<ReturnType<typeof runToEnd>>;
        try {
          run = await runToEnd(pipeline.id);
          await restarted;
        } finally {
          runner.events.off('batch:committed', onBatch);
          runner.events.off('batch:retry', onRetry);
        }
        expect(run.run, JSON.stringify(run.run)).toMatchObject({ status: 'SUCCESS', error_code: null });
        expect(retries).toBeGreaterThan(0);
        expect(proxy.connections).toBeGreaterThan(connectionsBefore);
        const source =
          kind === 'postgres'
            ? (
                await remotePg.pool.query<{ id: number; v: string }>(
                  `SELECT id, v FROM public.${table} ORDER BY id`,
                )
              ).rows
            : ((await remoteMy.pool.query(`SELECT id, v FROM ${table} ORDER BY id`))[0] as {
                id: number;
                v: string;
              }[]);
        const { rows: target } = await db.admin.query<{ id: number; v: string }>(
          `SELECT id, v FROM analytics.${table} ORDER BY id`,
        );
        expect(target).toEqual(source);
      } finally {
        await proxy.close();
      }
    },
  );
});

describe('a MariaDB source', () => {
  beforeAll(async () => {
    await remoteMy.pool.query(`CREATE TABLE items (
      id bigint unsigned PRIMARY KEY, name varchar(60) NOT NULL, price decimal(12,3), qty int,
      updated timestamp(6) NOT NULL DEFAULT '2025-01-01 00:00:00', made datetime, day date,
      data varbinary(16), state enum('new','old'), KEY (updated, id))`);
    const values: string[] = [];
    for (let i = 1; i <= 600; i += 1) {
      // Ten rows share every `updated` value: ties run across batch borders.
      const minute = Math.floor(i / 10);
      const big = i === 600 ? '18446744073709551000' : String(i);
      values.push(
        `(${big}, 'név ${i} \\'q\\'', ${i}.125, ${i % 7 === 0 ? 'NULL' : i}, '2025-01-01 00:00:00' + INTERVAL ${minute} MINUTE, '2024-06-01 12:00:00' + INTERVAL ${i} SECOND, '2024-06-01', UNHEX('${(i % 256).toString(16).padStart(2, '0')}FF00'), '${i % 2 ? 'new' : 'old'}')`,
      );
    }
    await remoteMy.pool.query(`INSERT INTO items VALUES ${values.join(',')}`);
  });

  const myRows = async () => {
    const [rows] = await remoteMy.pool.query<RowDataPacket[]>(
      `SELECT CAST(id AS CHAR) AS id, name, CAST(price AS CHAR) AS price, qty,
              DATE_FORMAT(CONVERT_TZ(updated, @@session.time_zone, '+00:00'), '%Y-%m-%d %H:%i:%s') AS updated,
              made, day, LOWER(HEX(data)) AS data, state FROM items`,
    );
    return rows
      .map((r) =>
        JSON.stringify([
          r.id,
          r.name,
          r.price,
          r.qty === null ? null : String(r.qty),
          r.updated,
          r.made,
          r.day,
          r.data,
          r.state,
        ]),
      )
      .sort();
  };
  const targetRows = async (table: string) => {
    const { rows } = await db.admin.query<{ r: string }>(
      `SELECT json_build_array(id::text, name, price::text, qty::text,
              to_char(updated AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), to_char(made, 'YYYY-MM-DD HH24:MI:SS'),
              day::text, encode(data, 'hex'), state)::text AS r FROM ${table}`,
    );
    return rows.map((r) => JSON.stringify(JSON.parse(r.r))).sort();
  };

  it('incremental with ties and late rows inside the lookback, read by a read-only login', async () => {
    const pipeline = await createRemotePipeline({
      name: 'my_items_inc',
      source_connection: 'remote_my_ro',
      source_query: 'SELECT id, name, price, qty, updated, made, day, data, state FROM items',
      target_table: 'analytics.my_items',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'updated',
      lookback: '10m',
      batch_size: 7,
    });
    // The MariaDB sessions of the runner are killed mid-run: the batch is retried, nothing is lost.
    let killed = 0;
    const onBatch = ({ pipelineId, batchNo }: { pipelineId: string; batchNo: number }) => {
      if (pipelineId !== pipeline.id || (batchNo !== 3 && batchNo !== 20)) return;
      void (async () => {
        const [sessions] = await remoteMy.pool.query<RowDataPacket[]>(
          'SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?',
          [READER_USER],
        );
        for (const session of sessions) {
          await remoteMy.pool.query(`KILL CONNECTION ${Number(session.ID)}`).catch(() => {});
          killed += 1;
        }
      })();
    };
    runner.events.on('batch:committed', onBatch);
    const first = await runToEnd(pipeline.id).finally(() => runner.events.off('batch:committed', onBatch));
    expect(first.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(killed).toBeGreaterThan(0);
    const types = await db.admin.query<{ t: string }>(
      `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS t
         FROM pg_attribute WHERE attrelid = 'analytics.my_items'::regclass AND attnum > 0`,
    );
    expect(types.rows[0]!.t).toBe(
      'id numeric(20,0), name text, price numeric(12,3), qty integer, updated timestamp with time zone, ' +
        'made timestamp without time zone, day date, data bytea, state text, updated_at timestamp with time zone',
    );
    expect(await targetRows('analytics.my_items')).toEqual(await myRows());

    // Late rows: committed after the run, with `updated` values 5 minutes behind the checkpoint (inside
    // the 10-minute lookback), tied with rows already read; and changes to rows already read.
    await remoteMy.pool.query(
      `INSERT INTO items (id, name, price, qty, updated, made, day, data, state)
       SELECT 10000 + seq, CONCAT('late ', seq), 1.5, seq, (SELECT MAX(updated) FROM items) - INTERVAL 5 MINUTE, NULL, NULL, NULL, 'new'
         FROM (SELECT 1 AS seq UNION ALL SELECT 2 UNION ALL SELECT 3) s`,
    );
    await remoteMy.pool.query(
      "UPDATE items SET name = 'moved', updated = (SELECT m FROM (SELECT MAX(updated) + INTERVAL 1 MINUTE AS m FROM items) x) WHERE id IN (3, 4)",
    );
    const second = await runToEnd(pipeline.id);
    expect(second.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(await targetRows('analytics.my_items')).toEqual(await myRows());
    const { rows } = await db.admin.query<{ rows_read: number }>(
      'SELECT rows_read FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [pipeline.id],
    );
    // The lookback window (10 minutes: ~110 rows), not the whole table again.
    expect(rows[0]!.rows_read).toBeGreaterThan(5);
    expect(rows[0]!.rows_read).toBeLessThan(200);
    const logs = logLines.join('');
    expect(logs).toContain('batch committed');
    expect(logs).not.toContain(READER_PASSWORD);
  });

  it('pauses after a committed batch, resumes from it, and deletes what the source lost', async () => {
    const pipeline = await createRemotePipeline({
      name: 'my_items_full',
      source_connection: 'remote_my',
      source_query:
        'SELECT id, name, price, qty, updated, made, day, data, state FROM items WHERE qty IS NOT NULL OR id > 0',
      target_table: 'analytics.my_items_full',
      unique_key: 'id',
      mode: 'full',
      batch_size: 40,
    });
    await runAndPauseAfterFirstBatch(db, runner, pipeline.id);
    const { rows: state } = await db.admin.query<{ full_cursor: string[] | null; into_empty: boolean }>(
      'SELECT full_cursor, full_pass_into_empty AS into_empty FROM etl.etl_state WHERE pipeline_id = $1',
      [pipeline.id],
    );
    const target = Number(
      (await db.admin.query('SELECT count(*) FROM analytics.my_items_full')).rows[0].count,
    );
    const staged = Number(
      (
        await db.admin.query('SELECT count(*) FROM etl.remote_seen_keys WHERE pipeline_id = $1', [
          pipeline.id,
        ])
      ).rows[0].count,
    );
    expect(state[0]!.full_cursor).not.toBeNull();
    expect(target % 40).toBe(0);
    expect(target).toBeGreaterThan(0);
    expect(target).toBeLessThan(603);
    // A pass into the empty target copies rows straight in (through COPY, from MariaDB's rows) and
    // stages no keys: it will have nothing to delete. The mark survives the pause.
    expect(state[0]!.into_empty).toBe(true);
    expect(staged).toBe(0);
    // While paused the source loses rows ahead of the cursor (500, 10001: the resumed pass never reads
    // them) and behind it (1, 2: read by this pass before they went; like any pass that is not a
    // snapshot, the next full run removes them).
    await remoteMy.pool.query('DELETE FROM items WHERE id IN (1, 2, 500, 10001)');
    const resumed = await runToEnd(pipeline.id);
    expect(resumed.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const ids = async () =>
      (
        await db.admin.query<{ id: string }>(
          'SELECT id::text FROM analytics.my_items_full WHERE id IN (1, 2, 500, 10001)',
        )
      ).rows
        .map((r) => r.id)
        .sort();
    expect(await ids()).toEqual(['1', '2']);
    expect(
      (await db.admin.query('SELECT 1 FROM etl.remote_seen_keys WHERE pipeline_id = $1', [pipeline.id]))
        .rowCount,
    ).toBe(0);
    const again = await runToEnd(pipeline.id);
    expect(again.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(await ids()).toEqual([]);
    expect(await targetRows('analytics.my_items_full')).toEqual(await myRows());
    const { rows: runs } = await db.admin.query<{ status: string }>(
      'SELECT status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
      [pipeline.id],
    );
    expect(runs.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS', 'SUCCESS']);
  });

  it('validate describes a remote source without saving: columns, mapped types, the target', async () => {
    const body = {
      name: 'my_dry_run',
      source_connection: 'remote_my_ro',
      source_query: 'SELECT id, price, updated, data FROM items',
      target_table: 'analytics.my_dry_run',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'modified',
    };
    const response = await post('/pipelines/validate', body);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      valid: false,
      columns: [
        { name: 'id', type: 'numeric(20,0)' },
        { name: 'price', type: 'numeric(12,3)' },
        { name: 'updated', type: 'timestamp with time zone' },
        { name: 'data', type: 'bytea' },
      ],
      target: { action: 'create', problems: ['incremental_key "modified" is not a result column'] },
    });
    const fixed = await post('/pipelines/validate', { ...body, incremental_key: 'updated' });
    expect(fixed.json()).toMatchObject({ valid: true, target: { exists: false, problems: [] } });
    expect(await db.admin.query("SELECT 1 FROM etl.etl_pipelines WHERE name = 'my_dry_run'")).toMatchObject({
      rowCount: 0,
    });
  });

  it('refuses a column type it cannot map, with a clear error', async () => {
    await remoteMy.pool.query('CREATE TABLE shapes (id int PRIMARY KEY, flags bit(8))');
    await remoteMy.pool.query("INSERT INTO shapes VALUES (1, b'101')");
    const pipeline = await createRemotePipeline({
      name: 'my_shapes',
      source_connection: 'remote_my',
      source_query: 'SELECT id, flags FROM shapes',
      target_table: 'analytics.my_shapes',
      unique_key: 'id',
    });
    const result = await runToEnd(pipeline.id);
    expect(result.run.status).toBe('FAILED');
    expect(result.run.error_code).toBe('SIPHON_ERR_SOURCE_TYPE_UNMAPPED');
    expect(result.run.error).toMatch(/flags/);
  });

  /** A MariaDB table of 3,000 rows and a full pipeline into an empty target, batches of 20. */
  async function firstLoadOf3000(table: string) {
    await remoteMy.pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v varchar(20) NOT NULL)`);
    await remoteMy.pool.query(`INSERT INTO ${table} SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000`);
    return createRemotePipeline({
      name: `my_${table}`,
      source_connection: 'remote_my',
      source_query: `SELECT id, v FROM ${table}`,
      target_table: `analytics.my_${table}`,
      unique_key: 'id',
      mode: 'full',
      batch_size: 20,
    });
  }

  /** The kinds of constraint a target has (`p`: its primary key is there). */
  async function constraintsOf(table: string): Promise<string[]> {
    const { rows } = await db.admin.query<{ contype: string }>(
      'SELECT contype FROM pg_constraint WHERE conrelid = $1::regclass',
      [table],
    );
    return rows.map((r) => r.contype);
  }

  it('ends a first load whole when its source query is changed mid-run, and reads under the new query next', async () => {
    const pipeline = await firstLoadOf3000('changing');
    // While the first load runs (150 batches), the API changes its source query for the next run,
    // which forgets the pass's position. The running pass still ends as the pass into an empty target
    // it is: nothing staged, so nothing may be deleted at its end.
    let changed: Promise<{ status: number; appliesFrom: string }> | undefined;
    const onBatch = ({ pipelineId, batchNo }: { pipelineId: string; batchNo: number }) => {
      if (pipelineId !== pipeline.id || batchNo !== 3 || changed) return;
      changed = changeSourceQuery(pipeline.id, 'SELECT id, v FROM changing WHERE id <= 100').then(
        (patch) => ({
          status: patch.statusCode,
          appliesFrom: patch.json().applies_from as string,
        }),
      );
    };
    runner.events.on('batch:committed', onBatch);
    const first = await runToEnd(pipeline.id).finally(() => runner.events.off('batch:committed', onBatch));
    // Made while the run was writing the pass.
    expect(await changed).toEqual({ status: 200, appliesFrom: 'next_run' });
    const { rows: after } = await db.admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1',
      [pipeline.id],
    );
    expect(after[0]!.n).toBe(150);
    expect(first.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const count = async () =>
      Number((await db.admin.query('SELECT count(*) FROM analytics.my_changing')).rows[0].count);
    expect(await count()).toBe(3000);
    const held = await db.admin.query(
      "SELECT 1 FROM etl.held_indexes WHERE target_schema = 'analytics' AND target_table = 'my_changing'",
    );
    expect(held.rowCount).toBe(0);
    // The next run reads under the new query, and deletes what it no longer yields.
    const second = await runToEnd(pipeline.id);
    expect(second.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    expect(await count()).toBe(100);
    expect(await constraintsOf('analytics.my_changing')).toContain('p');
  });

  it('starts a first load over under the new query when it is paused after its source query changed mid-run', async () => {
    const pipeline = await firstLoadOf3000('changing_then_paused');
    // The change applies from the next run: the running pass goes on under the old query, and is then
    // paused mid-pass. The next run must not resume that pass's position under the new query (it would
    // keep rows the new query no longer yields, and miss rows below the position).
    let changed: Promise<number> | undefined;
    let pausedAt: number | undefined;
    const onBatch = ({ pipelineId, batchNo }: { pipelineId: string; batchNo: number }) => {
      if (pipelineId !== pipeline.id) return;
      if (batchNo === 3 && !changed) {
        changed = changeSourceQuery(
          pipeline.id,
          'SELECT id, v FROM changing_then_paused WHERE id <= 100 OR id > 2990',
        ).then((patch) => patch.statusCode);
      } else if (batchNo >= 10 && changed && pausedAt === undefined) {
        pausedAt = batchNo;
        void changed.then(() => requestStatus(db.api, pipeline.id, 'pause', 'test', 'test'));
      }
    };
    runner.events.on('batch:committed', onBatch);
    try {
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['PAUSED'], 30_000);
    } finally {
      runner.events.off('batch:committed', onBatch);
    }
    expect(await changed).toBe(200);
    const state = await db.admin.query<{ cursor: string[] | null }>(
      'SELECT full_cursor AS cursor FROM etl.etl_state WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(Number(state.rows[0]!.cursor![0])).toBeGreaterThanOrEqual(200); // paused mid-pass, past id 100
    const next = await runToEnd(pipeline.id);
    expect(next.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const { rows } = await db.admin.query<{ ids: number[] }>(
      'SELECT array_agg(id ORDER BY id) AS ids FROM analytics.my_changing_then_paused',
    );
    expect(rows[0]!.ids).toEqual([
      ...Array.from({ length: 100 }, (_, i) => i + 1),
      ...Array.from({ length: 10 }, (_, i) => 2991 + i),
    ]);
    expect(await constraintsOf('analytics.my_changing_then_paused')).toContain('p');
  });

  it('a run claimed before the source query changed goes on with its pass; only a run of the new query restarts it', async () => {
    const pipeline = await firstLoadOf3000('restart_marked');
    await runAndPauseAfterFirstBatch(db, runner, pipeline.id);
    // As if the query changed right after this run's claim: the mark names a later version than the
    // one the resumed run reads.
    await db.admin.query(
      `UPDATE etl.etl_state SET full_pass_restart_version = (SELECT version + 1 FROM etl.etl_pipelines WHERE id = $1)
        WHERE pipeline_id = $1`,
      [pipeline.id],
    );
    const resumed = await runToEnd(pipeline.id);
    expect(resumed.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const { rows: ledger } = await db.admin.query<{ rows: number }>(
      `SELECT coalesce(sum(b.rows_read), 0)::int AS rows FROM etl.etl_runs r JOIN etl.etl_run_batches b ON b.run_id = r.id
        WHERE r.pipeline_id = $1 GROUP BY r.id, r.started_at ORDER BY r.started_at`,
      [pipeline.id],
    );
    // The pass went on from its position (3,000 rows over both runs, none read twice), and its end
    // cleared the mark.
    expect(ledger.map((r) => r.rows).reduce((a, b) => a + b, 0)).toBe(3000);
    const { rows: state } = await db.admin.query<{ mark: number | null }>(
      'SELECT full_pass_restart_version AS mark FROM etl.etl_state WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(state).toEqual([{ mark: null }]);
    expect(
      Number((await db.admin.query('SELECT count(*) FROM analytics.my_restart_marked')).rows[0].count),
    ).toBe(3000);
  });

  /**
   * A full pass of `my_<name>` in batches of 7, a change at the source, a second pass: after each the
   * target holds exactly the source's rows (as `r` text lines on each side), `rows` of them.
   */
  async function twoFullPasses(o: {
    name: string;
    sourceQuery: string;
    uniqueKey: string | string[];
    sourceText: string;
    targetText: string;
    change: string[];
    rows: [number, number];
  }) {
    const pipeline = await createRemotePipeline({
      name: `my_${o.name}`,
      source_connection: 'remote_my',
      source_query: o.sourceQuery,
      target_table: `analytics.my_${o.name}`,
      unique_key: o.uniqueKey,
      mode: 'full',
      batch_size: 7,
    });
    const expected = async () =>
      ((await remoteMy.pool.query<RowDataPacket[]>(o.sourceText))[0] as { r: string }[])
        .map((r) => r.r)
        .sort();
    const loaded = async () =>
      (await db.admin.query<{ r: string }>(o.targetText)).rows.map((r) => r.r).sort();
    for (const [pass, rows] of o.rows.entries()) {
      if (pass > 0) for (const sql of o.change) await remoteMy.pool.query(sql);
      const run = await runToEnd(pipeline.id);
      expect(run.run).toMatchObject({ status: 'SUCCESS', error_code: null });
      expect(await loaded()).toHaveLength(rows);
      expect(await loaded()).toEqual(await expected());
    }
  }

  it('reads an ENUM key in keyset order although MySQL sorts it by position and compares it as text', async () => {
    // 'us' sorts before 'eu' (its position in the list), but 'eu' < 'us' as text: a keyset that
    // sorted by position and compared as text would skip every 'eu' row after the first 'us' batch.
    await remoteMy.pool.query(
      "CREATE TABLE enum_keys (region enum('us','eu','apac') NOT NULL, id int NOT NULL, v int NOT NULL, PRIMARY KEY (region, id))",
    );
    await remoteMy.pool.query(
      `INSERT INTO enum_keys SELECT ELT(1 + seq % 3, 'us', 'eu', 'apac'), seq, seq FROM seq_1_to_90`,
    );
    await twoFullPasses({
      name: 'enum_keys',
      sourceQuery: 'SELECT region, id, v FROM enum_keys',
      uniqueKey: ['region', 'id'],
      sourceText: "SELECT CONCAT(region, ':', id, ':', v) AS r FROM enum_keys",
      targetText: "SELECT region || ':' || id || ':' || v AS r FROM analytics.my_enum_keys",
      // The second pass merges into the full target and deletes only what the source lost.
      change: [
        'DELETE FROM enum_keys WHERE id % 10 = 0',
        'UPDATE enum_keys SET v = v + 1000 WHERE id % 7 = 0',
      ],
      rows: [90, 81],
    });
  });

  it('reads a FLOAT exactly, and keys on FLOAT and on DECIMALs wider than (65,30) without stalling', async () => {
    // MySQL prints a FLOAT to 6 significant digits: each of these keys would print as "1", and each
    // value as a rounded one. A DECIMAL cursor cast to (65,30) clipped 10^40 and truncated 1e-38 to 0.
    await remoteMy.pool.query('CREATE TABLE float_keys (k float PRIMARY KEY, v float NOT NULL)');
    await remoteMy.pool.query(
      'INSERT INTO float_keys SELECT 1 + seq * POW(2, -23), seq * 123456.789 FROM seq_1_to_40',
    );
    await twoFullPasses({
      name: 'float_keys',
      sourceQuery: 'SELECT k, v FROM float_keys',
      uniqueKey: 'k',
      sourceText: "SELECT CONCAT(k + 0e0, ':', v + 0e0) AS r FROM float_keys",
      targetText: "SELECT k::float8::text || ':' || v::float8::text AS r FROM analytics.my_float_keys",
      change: [
        'DELETE FROM float_keys WHERE v > 4000000',
        'UPDATE float_keys SET v = v + 0.5 WHERE k < 1.000001',
      ],
      rows: [40, 32],
    });
    for (const [name, type, key] of [
      ['wide_keys', 'decimal(65,0)', "CAST(CONCAT('1', REPEAT('0', 40)) AS DECIMAL(65,0)) + seq"],
      ['fine_keys', 'decimal(40,38)', "seq * CAST('1e-38' AS DECIMAL(40,38))"],
    ] as const) {
      await remoteMy.pool.query(`CREATE TABLE ${name} (k ${type} PRIMARY KEY, v int NOT NULL)`);
      await remoteMy.pool.query(`INSERT INTO ${name} SELECT ${key}, seq FROM seq_1_to_30`);
      await twoFullPasses({
        name,
        sourceQuery: `SELECT k, v FROM ${name}`,
        uniqueKey: 'k',
        sourceText: `SELECT CONCAT(k, ':', v) AS r FROM ${name}`,
        targetText: `SELECT k::text || ':' || v AS r FROM analytics.my_${name}`,
        change: [`DELETE FROM ${name} WHERE v % 10 = 0`],
        rows: [30, 27],
      });
    }
  });

  it('names the column and the row of a value the target refuses', async () => {
    // A year 0 is a MySQL date; PostgreSQL has none.
    await remoteMy.pool.query('CREATE TABLE year_zero (id int PRIMARY KEY, d date NOT NULL)');
    await remoteMy.pool.query("INSERT INTO year_zero VALUES (1, '2024-02-29'), (2, '0000-01-01')");
    const pipeline = await createRemotePipeline({
      name: 'my_year_zero',
      source_connection: 'remote_my',
      source_query: 'SELECT id, d FROM year_zero',
      target_table: 'analytics.my_year_zero',
      unique_key: 'id',
      mode: 'full',
    });
    const { run } = await runToEnd(pipeline.id);
    expect(run).toMatchObject({ status: 'FAILED', error_code: 'SIPHON_ERR_BATCH_FAILED' });
    expect(run.error).toContain('"0000-01-01" (column d, row 2 of the batch)');
    const { rows } = await db.admin.query<{ details: { copy: unknown } }>(
      'SELECT error_details AS details FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(rows[0]!.details.copy).toEqual({ column: 'd', row: 2 });
  });

  it('reads a binary key in keyset order, whatever its first byte', async () => {
    // Keys on both sides of 0x5C (a backslash, the first byte of the `\x…` text a bytea cursor is
    // kept as): the keyset compares bytes with bytes.
    await remoteMy.pool.query('CREATE TABLE bin_keys (k varbinary(8) PRIMARY KEY, v int NOT NULL)');
    await remoteMy.pool.query(
      `INSERT INTO bin_keys SELECT UNHEX(CONCAT(LPAD(HEX(seq * 2 - 1), 2, '0'), 'FF', LPAD(HEX(seq), 2, '0'))), seq
         FROM seq_1_to_120`,
    );
    await twoFullPasses({
      name: 'bin_keys',
      sourceQuery: 'SELECT k, v FROM bin_keys',
      uniqueKey: 'k',
      sourceText: "SELECT CONCAT(LOWER(HEX(k)), ':', v) AS r FROM bin_keys",
      targetText: "SELECT encode(k, 'hex') || ':' || v AS r FROM analytics.my_bin_keys",
      change: [
        "DELETE FROM bin_keys WHERE v % 10 = 0 OR k = UNHEX('5DFF2F')",
        'UPDATE bin_keys SET v = v + 1000 WHERE v % 7 = 0',
      ],
      rows: [120, 107],
    });
  });

  it('builds the indexes a paused first load held once its source query changes, then reads under the new query', async () => {
    const pipeline = await firstLoadOf3000('changing_paused');
    await runAndPauseAfterFirstBatch(db, runner, pipeline.id);
    const midPass = await db.admin.query(
      "SELECT 1 FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = 'my_changing_paused'",
    );
    expect(midPass.rowCount).toBe(0);
    const patch = await changeSourceQuery(pipeline.id, 'SELECT id, v FROM changing_paused WHERE id > 2950');
    expect(patch.statusCode, patch.body).toBe(200);
    const next = await runToEnd(pipeline.id);
    expect(next.run).toMatchObject({ status: 'SUCCESS', error_code: null });
    const { rows } = await db.admin.query<{ ids: number[] }>(
      'SELECT array_agg(id ORDER BY id) AS ids FROM analytics.my_changing_paused',
    );
    expect(rows[0]!.ids).toEqual(Array.from({ length: 50 }, (_, i) => 2951 + i));
    expect(await constraintsOf('analytics.my_changing_paused')).toContain('p');
  });
});
