import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadDemo } from '../../src/demo/demo.service.js';
import { DEMO_PIPELINES } from '../../src/demo/demo-pipelines.js';
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
let runner: Runner | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  await loadDemo(db.admin, { films: 2_000, ratings: 10_000 });
});
afterAll(async () => {
  await runner?.stop();
  await db.drop();
});
beforeEach(async () => {
  await runner?.stop();
  runner = undefined;
});

const dimQuery = DEMO_PIPELINES[0]!.source_query!;
const aggQuery = DEMO_PIPELINES[1]!.source_query!;

describe('demo pipelines', () => {
  it('fills film_dim and film_rating_agg exactly from the sources, in batches', async () => {
    runner = await startTestRunner(db);
    await requestRun(db, 'film_dim_full');
    await requestRun(db, 'film_rating_agg_full');
    await waitForStatus(db, DEMO_PIPELINES[0]!.id, ['IDLE']);
    await waitForStatus(db, DEMO_PIPELINES[1]!.id, ['IDLE']);
    expect(
      await diffSourceTarget(db, dimQuery, 'analytics.film_dim', ['film_id', 'title', 'rating']),
    ).toEqual({ missing: 0, extra: 0 });
    expect(
      await diffSourceTarget(db, aggQuery, 'analytics.film_rating_agg', [
        'film_id',
        'avg_rating',
        'votes_count',
      ]),
    ).toEqual({
      missing: 0,
      extra: 0,
    });
    const { rows } = await db.admin.query(
      `SELECT status, rows_read, rows_written, batches FROM etl.etl_runs WHERE pipeline_id = $1`,
      [DEMO_PIPELINES[0]!.id],
    );
    expect(rows).toEqual([{ status: 'SUCCESS', rows_read: 2000, rows_written: 2000, batches: 1 }]);
  });

  it('re-running a full pipeline rewrites nothing and duplicates nothing', async () => {
    runner = await startTestRunner(db);
    await requestRun(db, 'film_dim_full');
    await waitForStatus(db, DEMO_PIPELINES[0]!.id, ['IDLE']);
    const { rows } = await db.admin.query(
      `SELECT rows_read, rows_written FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1`,
      [DEMO_PIPELINES[0]!.id],
    );
    expect(rows[0]).toEqual({ rows_read: 2000, rows_written: 0 });
    expect(await count(db, 'SELECT count(*) FROM analytics.film_dim')).toBe(2000);
  });
});

describe('merges in this database', () => {
  it('write a change that equality would miss, and merge json and xml columns', async () => {
    await createSourceTable(
      db,
      'content.images (id int PRIMARY KEY, n numeric, f float8, iv interval, j json, doc xml)',
    );
    await db.admin.query(
      `INSERT INTO content.images VALUES (1, 1.0, 0, '1 mon', '{"a": 1}', '<r/>'), (2, 2.5, 1.5, '1 day', '[]', '<s/>')`,
    );
    const pipeline = await createPipeline(db, {
      name: 'images_full',
      source_query: 'SELECT id, n, f, iv, j, doc FROM content.images',
      target_table: 'analytics.images',
      unique_key: 'id',
    });
    const printed = async (table: string) =>
      (
        await db.admin.query<{ r: string }>(
          `SELECT row_to_json(t)::text AS r FROM (SELECT id, n, f, iv, j, doc FROM ${table} ORDER BY id) t`,
        )
      ).rows.map((r) => r.r);
    runner = await startTestRunner(db);
    for (const change of [
      null,
      // Each value "=" to the one before, and another value.
      `UPDATE content.images SET n = 1.00, f = '-0', iv = '30 days', j = '{"a":1}', doc = '<r></r>' WHERE id = 1`,
    ]) {
      if (change) await db.admin.query(change);
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED']);
      const { rows } = await db.admin.query<{ status: string; rows_written: number }>(
        'SELECT status, rows_written FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
        [pipeline.id],
      );
      // The first run inserts both rows; the second writes only the changed one.
      expect(rows[0]).toEqual({ status: 'SUCCESS', rows_written: change ? 1 : 2 });
      expect(await printed('analytics.images')).toEqual(await printed('content.images'));
    }
  });
});

describe('incremental mode', () => {
  it('crosses batch boundaries inside runs of equal incremental_key values without losing or repeating rows', async () => {
    await createSourceTable(
      db,
      `content.ties (id int PRIMARY KEY, v text NOT NULL, modified timestamptz NOT NULL)`,
    );
    // 95 rows, 19 per timestamp: every batch of 7 ends inside a run of ties.
    await db.admin.query(
      `INSERT INTO content.ties SELECT i, 'v' || i, timestamptz '2025-01-01' + make_interval(mins => i / 19) FROM generate_series(1, 95) i`,
    );
    const pipeline = await createPipeline(db, {
      name: 'ties_incremental',
      source_query: 'SELECT id, v, modified FROM content.ties',
      target_table: 'analytics.ties',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'modified',
      batch_size: 7,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    expect(await count(db, 'SELECT count(*) FROM analytics.ties')).toBe(95);
    let ledger = await db.admin.query(
      `SELECT sum(b.rows_read)::int AS read FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1`,
      [pipeline.id],
    );
    expect(ledger.rows[0].read).toBe(95);

    // New and changed rows, some with a timestamp equal to the checkpoint's.
    await db.admin.query(
      `INSERT INTO content.ties VALUES (200, 'new', timestamptz '2025-01-01' + interval '5 minutes')`,
    );
    await db.admin.query(
      `UPDATE content.ties SET v = 'changed', modified = timestamptz '2025-01-01' + interval '6 minutes' WHERE id = 3`,
    );
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    const diff = await diffSourceTarget(db, 'SELECT id, v FROM content.ties', 'analytics.ties', ['id', 'v']);
    expect(diff).toEqual({ missing: 0, extra: 0 });
    ledger = await db.admin.query(
      `SELECT rows_read FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1`,
      [pipeline.id],
    );
    expect(ledger.rows[0].rows_read).toBe(2);
  });

  it('picks up a row that committed late, inside the lookback window', async () => {
    await createSourceTable(db, `content.late (id int PRIMARY KEY, modified timestamptz NOT NULL)`);
    await db.admin.query(
      `INSERT INTO content.late SELECT i, timestamptz '2025-01-01 12:00' + make_interval(secs => i) FROM generate_series(1, 50) i`,
    );
    const pipeline = await createPipeline(db, {
      name: 'late_incremental',
      source_query: 'SELECT id, modified FROM content.late',
      target_table: 'analytics.late',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'modified',
      lookback: '2m',
      batch_size: 10,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    // A transaction that began earlier commits a row stamped before the checkpoint.
    await db.admin.query(`INSERT INTO content.late VALUES (999, timestamptz '2025-01-01 12:00:30')`);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    expect(await count(db, 'SELECT count(*) FROM analytics.late WHERE id = 999')).toBe(1);
    expect(await count(db, 'SELECT count(*) FROM analytics.late')).toBe(51);
  });
});

describe('incremental mode and NULL keys', () => {
  it('refuses a source whose incremental key is NULL for some rows, instead of skipping them', async () => {
    await createSourceTable(db, `content.nullable (id int PRIMARY KEY, modified timestamptz)`);
    await db.admin.query(
      `INSERT INTO content.nullable SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE timestamptz '2025-01-01' + make_interval(mins => i) END
         FROM generate_series(1, 300) i`,
    );
    const pipeline = await createPipeline(db, {
      name: 'nullable_incremental',
      source_query: 'SELECT id, modified FROM content.nullable',
      target_table: 'analytics.nullable',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'modified',
      batch_size: 100,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['FAILED']);
    const { rows } = await db.admin.query(
      'SELECT error_code, error FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(rows[0].error_code).toBe('SIPHON_ERR_SOURCE_QUERY');
    expect(rows[0].error).toMatch(/incremental_key "modified" is NULL/);
  });
});

describe('full mode', () => {
  it('removes rows deleted at the source, and the target is never empty meanwhile', async () => {
    await createSourceTable(db, `content.del (id int PRIMARY KEY, v int NOT NULL)`);
    await db.admin.query(`INSERT INTO content.del SELECT i, i FROM generate_series(1, 100) i`);
    const pipeline = await createPipeline(db, {
      name: 'del_full',
      source_query: 'SELECT id, v FROM content.del',
      target_table: 'analytics.del',
      unique_key: 'id',
      batch_size: 10,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    await db.admin.query(`DELETE FROM content.del WHERE id % 10 = 0`);
    await db.admin.query(`UPDATE content.del SET v = -v WHERE id = 1`);
    await requestRun(db, pipeline.id);
    let minSeen = Number.POSITIVE_INFINITY;
    for (;;) {
      minSeen = Math.min(minSeen, await count(db, 'SELECT count(*) FROM analytics.del'));
      const { rows } = await db.admin.query('SELECT status FROM etl.etl_pipelines WHERE id = $1', [
        pipeline.id,
      ]);
      if (rows[0].status === 'IDLE') break;
    }
    expect(minSeen).toBeGreaterThanOrEqual(90);
    expect(await diffSourceTarget(db, 'SELECT id, v FROM content.del', 'analytics.del', ['id', 'v'])).toEqual(
      { missing: 0, extra: 0 },
    );
    const { rows } = await db.admin.query(
      `SELECT rows_deleted, rows_written FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1`,
      [pipeline.id],
    );
    expect(rows[0]).toEqual({ rows_deleted: 10, rows_written: 1 });
    // Integer keys: the deletions happened batch by batch, inside each batch's key range.
    const { rows: ledger } = await db.admin.query(
      `SELECT count(*) FILTER (WHERE rows_deleted > 0)::int AS batches_with_deletes FROM etl.etl_run_batches
        WHERE run_id = (SELECT id FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1)`,
      [pipeline.id],
    );
    expect(ledger[0].batches_with_deletes).toBeGreaterThan(1);
  });
});

describe('full mode with text keys', () => {
  it('deletes rows gone from the source with the final anti-join (text keys may sort differently)', async () => {
    await createSourceTable(db, `content.words (w text PRIMARY KEY, n int NOT NULL)`);
    await db.admin.query(`INSERT INTO content.words SELECT 'Word-' || i, i FROM generate_series(1, 60) i`);
    const pipeline = await createPipeline(db, {
      name: 'words_full',
      source_query: 'SELECT w, n FROM content.words',
      target_table: 'analytics.words',
      unique_key: 'w',
      batch_size: 7,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    await db.admin.query(`DELETE FROM content.words WHERE n % 3 = 0`);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    expect(
      await diffSourceTarget(db, 'SELECT w, n FROM content.words', 'analytics.words', ['w', 'n']),
    ).toEqual({
      missing: 0,
      extra: 0,
    });
    const { rows } = await db.admin.query(
      'SELECT rows_deleted FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [pipeline.id],
    );
    expect(rows[0].rows_deleted).toBe(20);
  });
});

describe('a failure after the batches says where it happened', () => {
  it('the final delete fails: the run names delete-not-seen in its message and details', async () => {
    await createSourceTable(db, `content.tags (t text PRIMARY KEY, n int NOT NULL)`);
    await db.admin.query(`INSERT INTO content.tags SELECT 'tag-' || i, i FROM generate_series(1, 20) i`);
    const pipeline = await createPipeline(db, {
      name: 'tags_full',
      source_query: 'SELECT t, n FROM content.tags',
      target_table: 'analytics.tags',
      unique_key: 't',
      batch_size: 7,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    // The target refuses deletes: the anti-join after the last batch fails, not a batch.
    await db.admin.query(`CREATE FUNCTION analytics.no_deletes() RETURNS trigger LANGUAGE plpgsql AS
                          $$ BEGIN RAISE EXCEPTION 'deletes are not allowed here' USING ERRCODE = '22012'; END $$`);
    await db.admin.query(
      `CREATE TRIGGER no_deletes BEFORE DELETE ON analytics.tags FOR EACH ROW EXECUTE FUNCTION analytics.no_deletes()`,
    );
    await db.admin.query(`DELETE FROM content.tags WHERE n > 15`);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['FAILED']);
    const { rows } = await db.admin.query(
      'SELECT error_code, error, error_details, batches FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [pipeline.id],
    );
    expect(rows[0]).toMatchObject({
      error_code: 'SIPHON_ERR_BATCH_FAILED',
      error: 'delete-not-seen: deletes are not allowed here',
      error_details: { sqlstate: '22012', phase: 'delete-not-seen' },
      batches: 3,
    });
    expect(rows[0].error_details.batchNo).toBeUndefined();
  });
});

describe('pause and resume', () => {
  it('pauses after a committed batch and resumes to the same target as an uninterrupted run', async () => {
    await createSourceTable(db, `content.slow (id int PRIMARY KEY, v text NOT NULL)`);
    await db.admin.query(`INSERT INTO content.slow SELECT i, md5(i::text) FROM generate_series(1, 400) i`);
    const pipeline = await createPipeline(db, {
      name: 'slow_full',
      // pg_sleep per row keeps each batch ~100 ms so the pause lands mid-run.
      source_query: 'SELECT id, v FROM content.slow WHERE pg_sleep(0.005) IS NOT NULL',
      target_table: 'analytics.slow',
      unique_key: 'id',
      batch_size: 20,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['RUNNING']);
    // The run creates analytics.slow from the source's columns: wait for it, then for its first batch.
    const firstBatch = `SELECT CASE WHEN to_regclass('analytics.slow') IS NULL THEN 0
                                    ELSE (SELECT count(*) FROM etl.etl_run_batches b
                                            JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1) END`;
    while ((await count(db, firstBatch, [pipeline.id])) === 0) await new Promise((r) => setTimeout(r, 20));
    await db.api.query(`UPDATE etl.etl_pipelines SET status = 'PAUSE_REQUESTED' WHERE id = $1`, [
      pipeline.id,
    ]);
    await waitForStatus(db, pipeline.id, ['PAUSED']);
    const pausedRows = await count(db, 'SELECT count(*) FROM analytics.slow');
    expect(pausedRows).toBeGreaterThan(0);
    expect(pausedRows).toBeLessThan(400);
    expect(pausedRows % 20).toBe(0);
    const { rows: state } = await db.admin.query(
      'SELECT full_cursor FROM etl.etl_state WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(state[0].full_cursor).toEqual([String(pausedRows)]);

    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    expect(
      await diffSourceTarget(db, 'SELECT id, v FROM content.slow', 'analytics.slow', ['id', 'v']),
    ).toEqual({ missing: 0, extra: 0 });
    const { rows: runs } = await db.admin.query(
      'SELECT status, rows_read FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
      [pipeline.id],
    );
    expect(runs.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS']);
    expect(runs[0].rows_read + runs[1].rows_read).toBe(400);
  });
});

describe('failure', () => {
  it('a source error halfway fails the run with a code, keeps the last good checkpoint, and a fixed query resumes', async () => {
    await createSourceTable(db, `content.bad (id int PRIMARY KEY, d int NOT NULL)`);
    await db.admin.query(
      `INSERT INTO content.bad SELECT i, CASE WHEN i = 55 THEN 0 ELSE 1 END FROM generate_series(1, 100) i`,
    );
    const pipeline = await createPipeline(db, {
      name: 'bad_full',
      source_query: 'SELECT id, 100 / d AS q FROM content.bad',
      target_table: 'analytics.bad',
      unique_key: 'id',
      batch_size: 10,
    });
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    runner = await startTestRunner(db, { logger });
    await requestRun(db, pipeline.id);
    const failed = await waitForStatus(db, pipeline.id, ['FAILED']);
    expect(failed.lease_owner).toBeNull();
    const { rows } = await db.admin.query(
      'SELECT id, status, error_code, error, error_details, rows_read, batches FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(rows[0]).toMatchObject({
      status: 'FAILED',
      error_code: 'SIPHON_ERR_BATCH_FAILED',
      error_details: { sqlstate: '22012', batchNo: 6 },
      rows_read: 50,
      batches: 5,
    });
    expect(rows[0].error).toMatch(/division by zero/);
    // One log line says which pipeline, which run and which batch failed.
    expect(lines.filter((l) => l.level === 50)).toEqual([
      expect.objectContaining({
        pipelineId: pipeline.id,
        runId: rows[0].id,
        batchNo: 6,
        code: 'SIPHON_ERR_BATCH_FAILED',
        err: expect.stringMatching(/division by zero/),
      }),
    ]);
    const { rows: state } = await db.admin.query(
      'SELECT full_cursor FROM etl.etl_state WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(state[0].full_cursor).toEqual(['50']);
    expect(await count(db, 'SELECT count(*) FROM analytics.bad')).toBe(50);

    await db.admin.query('UPDATE content.bad SET d = 1 WHERE id = 55');
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    expect(await count(db, 'SELECT count(*) FROM analytics.bad')).toBe(100);
  });

  it('a target that does not fit the source fails with SIPHON_ERR_TARGET_SCHEMA and writes nothing', async () => {
    const pipeline = await createPipeline(db, {
      name: 'misfit',
      source_query: 'SELECT id AS film_id, title, rating, description FROM content.film_work',
      target_table: 'analytics.film_dim',
      unique_key: 'film_id',
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['FAILED']);
    const { rows } = await db.admin.query(
      'SELECT error_code, error FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(rows[0].error_code).toBe('SIPHON_ERR_TARGET_SCHEMA');
    expect(rows[0].error).toMatch(/no column for "description"/);
  });
});

describe('a new mart by configuration only', () => {
  it('creates the target table from the source columns with the declared key', async () => {
    const pipeline = await createPipeline(db, {
      name: 'films_per_year',
      source_query:
        'SELECT extract(year FROM creation_date)::int AS year, count(*) AS films, avg(rating) AS avg_rating FROM content.film_work GROUP BY 1',
      target_table: 'films_per_year',
      unique_key: 'year',
      batch_size: 10,
    });
    runner = await startTestRunner(db);
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
    expect(await count(db, 'SELECT count(*) FROM analytics.films_per_year')).toBe(
      await count(db, 'SELECT count(DISTINCT extract(year FROM creation_date)) FROM content.film_work'),
    );
    const { rows } = await db.admin.query(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = 'analytics.films_per_year'::regclass AND i.indisprimary`,
    );
    expect(rows.map((r) => r.attname)).toEqual(['year']);
    // The API role can read the new mart (default privileges for tables the runner creates).
    await expect(db.api.query('SELECT count(*) FROM analytics.films_per_year')).resolves.toBeTruthy();
  });
});

describe('a source that yields a key more than once', () => {
  // 300 ids, each one to three times; versions of an id are a millisecond apart, so in incremental
  // order they sit side by side and most land in the same batch.
  beforeAll(async () => {
    await createSourceTable(
      db,
      'content.dups (id int NOT NULL, version int NOT NULL, modified timestamptz NOT NULL)',
    );
    await db.admin.query(
      `INSERT INTO content.dups
       SELECT i, k, timestamptz '2025-01-01' + make_interval(secs => i) + make_interval(secs => k / 1000.0)
         FROM generate_series(1, 300) i, generate_series(1, 1 + i % 3) k`,
    );
  });
  const newest = `SELECT DISTINCT ON (id) id, version FROM content.dups ORDER BY id, version DESC`;

  it.each([
    ['pushdown', 'full', {}],
    ['pushdown', 'incremental', { incremental_key: 'modified' }],
    ['stream', 'incremental', { incremental_key: 'modified' }],
  ] as const)(
    '%s %s: keeps one row per key (the newest), and the run succeeds',
    async (transfer, mode, extra) => {
      const pipeline = await createPipeline(db, {
        name: `dups_${transfer}_${mode}`,
        source_query: 'SELECT id, version, modified FROM content.dups',
        target_table: `analytics.dups_${transfer}_${mode}`,
        unique_key: 'id',
        batch_size: 50,
        mode,
        ...extra,
      });
      runner =
        transfer === 'stream'
          ? await startTestRunner(db, { transfer: 'stream', readerPool: db.reader })
          : await startTestRunner(db);
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED']);
      const { rows: runs } = await db.admin.query(
        'SELECT status, error, rows_read FROM etl.etl_runs WHERE pipeline_id = $1',
        [pipeline.id],
      );
      expect(runs).toMatchObject([{ status: 'SUCCESS', error: null }]);
      const target = `analytics.dups_${transfer}_${mode}`;
      expect(await count(db, `SELECT count(*) FROM ${target}`)).toBe(300);
      if (mode === 'incremental') {
        // Every version is read (the cursor is unique per row); the newest of each id wins, in the
        // batch that held several and across batches.
        expect(runs[0].rows_read).toBe(600);
        expect(await diffSourceTarget(db, newest, target, ['id', 'version'])).toEqual({
          missing: 0,
          extra: 0,
        });
      }
    },
  );
});
