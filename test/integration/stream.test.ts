import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../src/db/pool.js';
import type { Runner } from '../../src/runner/index.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  count,
  createPipeline,
  diffSourceTarget,
  requestRun,
  startTestRunner,
  waitForStatus,
} from '../helpers/runner.js';

let db: TestDatabase;
let reader: Pool;
let runner: Runner;

beforeAll(async () => {
  db = await createTestDatabase();
  reader = createPool({ connectionString: db.urls.reader, applicationName: 'test-reader', max: 2 });
  runner = await startTestRunner(db, { transfer: 'stream', readerPool: reader });
  // Values whose text form must survive the trip through Node exactly.
  await createSourceTable(
    db,
    `content.zoo (
    id bigint PRIMARY KEY, ts timestamptz NOT NULL, d date, n numeric(30, 10), f double precision, b boolean,
    j jsonb, arr int[], t text, u uuid, iv interval, by bytea)`,
  );
  await db.admin.query(`INSERT INTO content.zoo
    SELECT i, timestamptz '2025-03-01 10:00:00.123456+03' + make_interval(secs => i / 3), date '2024-02-29' + i,
           (i * 1234567.0123456789)::numeric(30, 10), i / 7.0, i % 2 = 0,
           jsonb_build_object('i', i, 'quote', 'it''s "q"', 'nested', jsonb_build_array(1, null, 'x')),
           ARRAY[i, NULL, -i], CASE WHEN i % 5 = 0 THEN NULL ELSE E'line\\nbreak,comma "quoted" \\\\ ' || i END,
           md5(i::text)::uuid, make_interval(days => i, secs => 1.5), decode(md5(i::text), 'hex')
      FROM generate_series(1, 1000) i`);
});
afterAll(async () => {
  await runner.stop();
  await reader.end();
  await db.drop();
});

const ZOO_COLUMNS = ['id', 'ts', 'd', 'n', 'f', 'b', 'j', 'arr', 't', 'u', 'iv', 'by'];

describe('streaming transfer (reader role, READ ONLY, rows through Node)', () => {
  it('copies every type exactly, in full mode, creating the target', async () => {
    const p = await createPipeline(db, {
      name: 'zoo_stream',
      source_query: `SELECT ${ZOO_COLUMNS.join(', ')} FROM content.zoo`,
      target_table: 'analytics.zoo_stream',
      unique_key: 'id',
      batch_size: 64,
    });
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['IDLE']);
    expect(
      await diffSourceTarget(db, 'SELECT * FROM content.zoo', 'analytics.zoo_stream', ZOO_COLUMNS),
    ).toEqual({
      missing: 0,
      extra: 0,
    });
    const { rows } = await db.admin.query(
      'SELECT rows_read, rows_written, batches FROM etl.etl_runs WHERE pipeline_id = $1',
      [p.id],
    );
    expect(rows).toEqual([{ rows_read: 1000, rows_written: 1000, batches: 16 }]);
  });

  it('incremental over a timestamp with ties, then a re-run that reads only the changes', async () => {
    const p = await createPipeline(db, {
      name: 'zoo_incremental',
      source_query: 'SELECT id, ts, t FROM content.zoo',
      target_table: 'analytics.zoo_incremental',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'ts',
      batch_size: 50,
    });
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['IDLE']);
    expect(await count(db, 'SELECT count(*) FROM analytics.zoo_incremental')).toBe(1000);
    await db.admin.query(
      `UPDATE content.zoo SET t = 'changed', ts = ts + interval '1 day' WHERE id IN (10, 11)`,
    );
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['IDLE']);
    expect(
      await diffSourceTarget(db, 'SELECT id, ts, t FROM content.zoo', 'analytics.zoo_incremental', [
        'id',
        'ts',
        't',
      ]),
    ).toEqual({
      missing: 0,
      extra: 0,
    });
    const { rows } = await db.admin.query(
      'SELECT rows_read, rows_written FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [p.id],
    );
    expect(rows[0]).toEqual({ rows_read: 2, rows_written: 2 });
  });

  it('reads through the reader role: a source it may not read fails the run with a clear error', async () => {
    await db.admin.query(`CREATE TABLE content.secret (id int PRIMARY KEY)`);
    await db.admin.query(`REVOKE ALL ON content.secret FROM siphon_reader`);
    await db.admin.query(`GRANT SELECT ON content.secret TO siphon_writer`);
    const p = await createPipeline(db, {
      name: 'secret_stream',
      source_query: 'SELECT id FROM content.secret',
      target_table: 'analytics.secret_copy',
      unique_key: 'id',
    });
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['FAILED']);
    const { rows } = await db.admin.query('SELECT error FROM etl.etl_runs WHERE pipeline_id = $1', [p.id]);
    expect(rows[0].error).toMatch(/permission denied for table secret/);
  });

  it('the reader session refuses writes even through a function call (READ ONLY transaction)', async () => {
    const client = new pg.Client({ connectionString: db.urls.reader });
    await client.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await expect(
        client.query(`SELECT set_config('default_transaction_read_only', 'off', false)`),
      ).resolves.toBeTruthy();
      await expect(client.query('CREATE TEMP TABLE sneaky (id int)')).rejects.toMatchObject({
        code: '25006',
      });
    } finally {
      await client.end();
    }
  });
});
