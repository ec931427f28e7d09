import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../src/config/index.js';
import { ROLES } from '../../src/db/roles.js';
import type { Runner } from '../../src/runner/index.js';
import { createConnection } from '../../src/sources/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createRemotePostgres, REMOTE_PG, type RemotePostgres } from '../helpers/remote-servers.js';
import { createPipeline, runToEnd, startTestRunner } from '../helpers/runner.js';

/**
 * A first load travels in COPY's binary format only into columns of built-in types (ADR 0023): a
 * binary value is read by the target column's own type. `format_type` prints a type as the session's
 * search_path sees it, so a domain `shadow.macaddr` over text, in a schema the runner's search_path
 * puts before pg_catalog, prints as `macaddr`, the source's type. Taken as binary, the source's six
 * bytes would be stored as text; the load must go in text instead.
 */
let remote: RemotePostgres;
let db: TestDatabase;
let runner: Runner;
const logLines: string[] = [];

beforeAll(async () => {
  remote = await createRemotePostgres();
  db = await createTestDatabase();
  await remote.pool.query('CREATE TABLE public.macs (id int PRIMARY KEY, m macaddr)');
  await remote.pool.query(
    `INSERT INTO public.macs SELECT i, ('08:00:2b:01:' || lpad(to_hex(i / 256), 2, '0') || ':' || lpad(to_hex(i % 256), 2, '0'))::macaddr
       FROM generate_series(1, 120) i`,
  );
  await db.admin.query('CREATE SCHEMA shadow');
  await db.admin.query('CREATE DOMAIN shadow.macaddr AS text');
  await db.admin.query(`GRANT USAGE ON SCHEMA shadow TO ${ROLES.writer}`);
  await db.admin.query('CREATE TABLE analytics.shadowed (id int PRIMARY KEY, m shadow.macaddr)');
  // Only in this test's database: the runner's sessions see shadow.macaddr before pg_catalog's.
  await db.admin.query(
    `ALTER ROLE ${ROLES.writer} IN DATABASE ${db.name} SET search_path = shadow, pg_catalog, public`,
  );
  await createConnection(
    db.api,
    { name: 'shadow_pg', kind: 'postgres', ...REMOTE_PG, database: remote.database },
    'test',
  );
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  runner = await startTestRunner(db, {
    logger: pino({ level: 'debug' }, capture),
    sources: {
      resolveSecret: createSecretResolver({ secretEnv: {}, credentialsFile: undefined }),
      statementTimeoutMs: 20_000,
      applicationName: 'siphon-test-shadowed',
    },
  });
});

afterAll(async () => {
  await runner?.stop();
  await db?.drop();
  await remote?.drop();
});

describe('a first load into a column whose type only prints as the source type', () => {
  it('travels in text, and the target holds the source values', async () => {
    // The trap is real: the runner's session prints the domain as the built-in type's name.
    const printed = await db.writer.query<{ type: string }>(
      "SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'analytics.shadowed'::regclass AND attname = 'm'",
    );
    expect(printed.rows[0]!.type).toBe('macaddr');

    const pipeline = await createPipeline(db, {
      name: 'shadowed_full',
      source_connection: 'shadow_pg',
      source_query: 'SELECT id, m FROM public.macs',
      target_table: 'analytics.shadowed',
      unique_key: 'id',
      mode: 'full',
      batch_size: 40,
    });
    const run = await runToEnd(db, pipeline.id);
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'SUCCESS', error: null });
    const formats = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'reading the next batches in one source COPY')
      .map((l) => l.format);
    expect(formats.length).toBeGreaterThan(0);
    expect(formats.every((f) => f === 'text')).toBe(true);
    const target = await db.admin.query<{ id: number; m: string }>(
      'SELECT id, m FROM analytics.shadowed ORDER BY id',
    );
    const source = await remote.pool.query<{ id: number; m: string }>(
      'SELECT id, m::text AS m FROM public.macs ORDER BY id',
    );
    expect(target.rows).toEqual(source.rows);
  });
});
