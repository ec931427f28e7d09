import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../src/config/index.js';
import type { Runner } from '../../src/runner/index.js';
import type { SourceDeps } from '../../src/sources/index.js';
import { as, buildTestApp, OPERATOR } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createRemotePostgres, REMOTE_PG, type RemotePostgres } from '../helpers/remote-servers.js';
import { runAndPauseAfterFirstBatch, runToEnd, startTestRunner } from '../helpers/runner.js';

/**
 * A full pass from another server into an empty target holds the target's indexes back and builds
 * them at its end (docs/adr/0020), reading each batch while the one before is written. Real servers:
 * the system PostgreSQL as the source, the suite's PostgreSQL as the target.
 */

let db: TestDatabase;
let remote: RemotePostgres;
let app: FastifyInstance;
let runner: Runner;

const sources: SourceDeps = {
  resolveSecret: createSecretResolver({ secretEnv: {}, credentialsFile: undefined }),
  statementTimeoutMs: 20_000,
  applicationName: 'siphon-test-held-indexes',
  lanes: 1,
};
const ROWS = 600;
const BATCH = 50;

beforeAll(async () => {
  remote = await createRemotePostgres();
  db = await createTestDatabase();
  app = await buildTestApp(db, { sources });
  runner = await startTestRunner(db, { sources });
  await remote.pool.query(
    'CREATE TABLE public.films (id int PRIMARY KEY, title text NOT NULL, code text NOT NULL)',
  );
  await remote.pool.query(
    `INSERT INTO public.films SELECT i, 'film ' || i, 'c' || i FROM generate_series(1, ${ROWS}) i`,
  );
  const response = await app.inject({
    method: 'POST',
    url: '/connections',
    payload: {
      name: 'held_pg',
      kind: 'postgres',
      host: REMOTE_PG.host,
      port: REMOTE_PG.port,
      database: remote.database,
      user: REMOTE_PG.user,
    },
    headers: as(OPERATOR),
  });
  expect(response.statusCode, response.body).toBe(201);
});

afterAll(async () => {
  await runner?.stop();
  await app?.close();
  await remote?.drop();
  await db?.drop();
});

async function createPipeline(
  name: string,
  // ~0.2 ms a row on the source keeps the pass going long enough to pause it.
  sourceQuery = 'SELECT id, title, code FROM public.films WHERE pg_sleep(0.0002) IS NOT NULL',
): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/pipelines',
    payload: {
      name,
      source_connection: 'held_pg',
      source_query: sourceQuery,
      target_table: `analytics.${name}`,
      unique_key: 'id',
      mode: 'full',
      batch_size: BATCH,
    },
    headers: as(OPERATOR),
  });
  expect(response.statusCode, response.body).toBe(201);
  return (response.json() as { id: string }).id;
}

/** The target's indexes as the catalog writes them, sorted. */
async function indexesOf(table: string): Promise<string[]> {
  const { rows } = await db.admin.query<{ indexdef: string }>(
    "SELECT indexdef FROM pg_indexes WHERE schemaname = 'analytics' AND tablename = $1 ORDER BY indexname",
    [table],
  );
  return rows.map((r) => r.indexdef);
}

async function heldFor(table: string): Promise<string[]> {
  const { rows } = await db.admin.query<{ name: string }>(
    `SELECT x->>'name' AS name FROM etl.held_indexes, jsonb_array_elements(indexes) x
      WHERE target_schema = 'analytics' AND target_table = $1 ORDER BY 1`,
    [table],
  );
  return rows.map((r) => r.name);
}

async function count(table: string): Promise<{ n: number; distinct_ids: number }> {
  const { rows } = await db.admin.query<{ n: number; distinct_ids: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct_ids FROM analytics.${table}`,
  );
  return rows[0]!;
}

/** A target loaded once, given an index and a unique constraint of its own, then emptied. */
async function loadedThenEmptied(name: string): Promise<{ id: string; indexes: string[] }> {
  const id = await createPipeline(name);
  expect(await runToEnd(db, id)).toMatchObject({ status: 'SUCCESS', error: null });
  await db.admin.query(`CREATE INDEX ${name}_title_idx ON analytics.${name} (title)`);
  await db.admin.query(`ALTER TABLE analytics.${name} ADD CONSTRAINT ${name}_code_key UNIQUE (code)`);
  const indexes = await indexesOf(name);
  expect(indexes).toHaveLength(3);
  await db.admin.query(`TRUNCATE analytics.${name}`);
  return { id, indexes };
}

describe('a full pass into an empty target from another server', () => {
  it('holds every index of the target while it copies, and builds them again at its end', async () => {
    const { id, indexes } = await loadedThenEmptied('held_films');
    await runAndPauseAfterFirstBatch(db, runner, id);
    // Mid-pass: the rows of the committed batches, no index, and the record of how to build them.
    expect(await indexesOf('held_films')).toEqual([]);
    expect(await heldFor('held_films')).toEqual([
      'held_films_code_key',
      'held_films_pkey',
      'held_films_title_idx',
    ]);
    const partial = await count('held_films');
    expect(partial.n).toBeGreaterThan(0);
    expect(partial.n).toBeLessThan(ROWS);
    expect(partial.n % BATCH).toBe(0);
    // The API still sees a target fit for its pipeline while its indexes are held.
    const validated = await app.inject({
      method: 'POST',
      url: '/pipelines/validate',
      payload: {
        name: 'held_films_probe',
        source_connection: 'held_pg',
        source_query: 'SELECT id, title, code FROM public.films',
        target_table: 'analytics.held_films',
        unique_key: 'id',
      },
      headers: as(OPERATOR),
    });
    expect(validated.statusCode, validated.body).toBe(200);
    expect(validated.json().target.problems).toEqual([]);

    // Resumed: the rest is copied, then every index is built as it was, and the record is gone.
    expect(await runToEnd(db, id)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await count('held_films')).toEqual({ n: ROWS, distinct_ids: ROWS });
    expect(await indexesOf('held_films')).toEqual(indexes);
    expect(await heldFor('held_films')).toEqual([]);
    const { rows } = await db.admin.query<{ contype: string; conname: string }>(
      `SELECT contype, conname FROM pg_constraint WHERE conrelid = 'analytics.held_films'::regclass
        AND contype IN ('p', 'u') ORDER BY conname`,
    );
    expect(rows).toEqual([
      { contype: 'u', conname: 'held_films_code_key' },
      { contype: 'p', conname: 'held_films_pkey' },
    ]);
    // Each batch was committed with its checkpoint: the ledger chains over exactly the source's rows.
    const ledger = await db.admin.query<{ rows: number }>(
      `SELECT coalesce(sum(b.rows_read), 0)::int AS rows FROM etl.etl_run_batches b
         JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1 AND r.status IN ('PAUSED', 'SUCCESS')
          AND r.started_at > (SELECT min(started_at) FROM etl.etl_runs WHERE pipeline_id = $1)`,
      [id],
    );
    expect(ledger.rows[0]!.rows).toBe(ROWS);
  });

  it('builds the held indexes before reading when the pass is not resumed (a reset checkpoint)', async () => {
    const { id, indexes } = await loadedThenEmptied('held_reset');
    await runAndPauseAfterFirstBatch(db, runner, id);
    expect(await heldFor('held_reset')).toHaveLength(3);
    const reset = await app.inject({
      method: 'POST',
      url: `/pipelines/${id}/state/reset`,
      headers: as(OPERATOR),
    });
    expect(reset.statusCode, reset.body).toBe(200);
    // The new pass finds rows there: it merges (an upsert needs the unique index back) and ends exact.
    expect(await runToEnd(db, id)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await count('held_reset')).toEqual({ n: ROWS, distinct_ids: ROWS });
    expect(await indexesOf('held_reset')).toEqual(indexes);
    expect(await heldFor('held_reset')).toEqual([]);
  });

  it('builds them before another pipeline writes into the same target, here one reading this database', async () => {
    const remoteId = await createPipeline('held_shared');
    await runAndPauseAfterFirstBatch(db, runner, remoteId);
    expect(await heldFor('held_shared')).toEqual(['held_shared_pkey']);
    const response = await app.inject({
      method: 'POST',
      url: '/pipelines',
      payload: {
        name: 'held_shared_local',
        source_query: "SELECT 1 AS id, 'from here' AS title, 'c1' AS code",
        target_table: 'analytics.held_shared',
        unique_key: 'id',
        mode: 'incremental',
        incremental_key: 'id',
      },
      headers: as(OPERATOR),
    });
    expect(response.statusCode, response.body).toBe(201);
    const localId = (response.json() as { id: string }).id;
    // Its upsert needs the unique index: the run builds the held ones first.
    expect(await runToEnd(db, localId)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await heldFor('held_shared')).toEqual([]);
    expect(await indexesOf('held_shared')).toEqual([
      'CREATE UNIQUE INDEX held_shared_pkey ON analytics.held_shared USING btree (id)',
    ]);
    // The paused pass goes on, through the index now, and ends with every source row once.
    expect(await runToEnd(db, remoteId)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await count('held_shared')).toEqual({ n: ROWS, distinct_ids: ROWS });
  });

  it('keeps the indexes of a target that a foreign key points at', async () => {
    const id = await createPipeline('held_parent');
    expect(await runToEnd(db, id)).toMatchObject({ status: 'SUCCESS', error: null });
    await db.admin.query(
      'CREATE TABLE analytics.held_child (film_id int REFERENCES analytics.held_parent (id))',
    );
    await db.admin.query('TRUNCATE analytics.held_parent CASCADE');
    const indexes = await indexesOf('held_parent');
    await runAndPauseAfterFirstBatch(db, runner, id);
    expect(await indexesOf('held_parent')).toEqual(indexes);
    expect(await heldFor('held_parent')).toEqual([]);
    expect(await runToEnd(db, id)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await count('held_parent')).toEqual({ n: ROWS, distinct_ids: ROWS });
  });

  it('keeps one row of a key the source yields twice, then builds the unique index', async () => {
    // id 7 twice: the COPY into a table without indexes takes both; the index build keeps one.
    const id = await createPipeline(
      'held_twice',
      "SELECT id, title, code FROM public.films UNION ALL SELECT 7, 'film 7 again', 'c7'",
    );
    expect(await runToEnd(db, id)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await count('held_twice')).toEqual({ n: ROWS, distinct_ids: ROWS });
    const { rows } = await db.admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM analytics.held_twice WHERE id = 7 AND title IN ('film 7', 'film 7 again')",
    );
    expect(rows[0]!.n).toBe(1);
    expect(await indexesOf('held_twice')).toEqual([
      'CREATE UNIQUE INDEX held_twice_pkey ON analytics.held_twice USING btree (id)',
    ]);
  });

  it('builds, at a runner start, the indexes a first load held when its pipeline was deleted or moved', async () => {
    const goneId = await createPipeline('held_gone');
    const movedId = await createPipeline('held_moved');
    const pausedId = await createPipeline('held_paused');
    for (const id of [goneId, movedId, pausedId]) await runAndPauseAfterFirstBatch(db, runner, id);
    for (const table of ['held_gone', 'held_moved', 'held_paused']) {
      expect(await indexesOf(table)).toEqual([]);
      expect(await heldFor(table)).toEqual([`${table}_pkey`]);
    }
    const deleted = await app.inject({
      method: 'DELETE',
      url: `/pipelines/${goneId}`,
      headers: as(OPERATOR),
    });
    expect(deleted.statusCode, deleted.body).toBe(200);
    const current = await app.inject({ method: 'GET', url: `/pipelines/${movedId}`, headers: as(OPERATOR) });
    const moved = await app.inject({
      method: 'PATCH',
      url: `/pipelines/${movedId}`,
      payload: { target_table: 'analytics.held_moved_elsewhere' },
      headers: { ...as(OPERATOR), 'if-match': current.headers.etag as string },
    });
    expect(moved.statusCode, moved.body).toBe(200);

    // No pipeline will end those two passes: a runner that starts builds their indexes.
    const second = await startTestRunner(db, { sources });
    try {
      for (const table of ['held_gone', 'held_moved']) {
        await expect.poll(() => heldFor(table), { timeout: 10_000, interval: 100 }).toEqual([]);
      }
    } finally {
      await second.stop();
    }
    for (const table of ['held_gone', 'held_moved']) {
      expect(await indexesOf(table)).toEqual([
        `CREATE UNIQUE INDEX ${table}_pkey ON analytics.${table} USING btree (id)`,
      ]);
    }
    // A paused pass still owns its target: its indexes stay held, and its resume ends it exact.
    expect(await heldFor('held_paused')).toEqual(['held_paused_pkey']);
    expect(await indexesOf('held_paused')).toEqual([]);
    expect(await runToEnd(db, pausedId)).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await count('held_paused')).toEqual({ n: ROWS, distinct_ids: ROWS });
    expect(await indexesOf('held_paused')).toEqual([
      'CREATE UNIQUE INDEX held_paused_pkey ON analytics.held_paused USING btree (id)',
    ]);
  });

  it('refuses, rather than de-duplicates, a key found twice in the target of a deleted first load', async () => {
    // id 7 twice, both in the first batch (ids 1-49 and the second 7).
    const id = await createPipeline(
      'held_orphan_twice',
      "SELECT id, title, code FROM public.films WHERE pg_sleep(0.0002) IS NOT NULL UNION ALL SELECT 7, 'film 7 again', 'c7'",
    );
    await runAndPauseAfterFirstBatch(db, runner, id);
    const twice = () =>
      db.admin
        .query<{ n: number }>('SELECT count(*)::int AS n FROM analytics.held_orphan_twice WHERE id = 7')
        .then((r) => r.rows[0]!.n);
    expect(await twice()).toBe(2);
    const deleted = await app.inject({ method: 'DELETE', url: `/pipelines/${id}`, headers: as(OPERATOR) });
    expect(deleted.statusCode, deleted.body).toBe(200);

    // The look at start finds the orphan and tries; no pipeline owns the rows now, so none is deleted.
    const lines: { level: number; msg: string; target?: string; code?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const about = (level: number) =>
      lines.filter((l) => l.target === 'analytics.held_orphan_twice' && l.level === level);
    let now = Date.now();
    const second = await startTestRunner(db, { sources, logger, clock: { now: () => now } });
    try {
      await expect.poll(() => about(40).length, { timeout: 10_000, interval: 100 }).toBe(1);
      expect(about(40)[0]).toMatchObject({ code: 'SIPHON_ERR_TARGET_WRITE' });
      // A minute later the next look fails the same way: logged again, but not as a warning.
      now += 61_000;
      await expect.poll(() => about(20).length, { timeout: 10_000, interval: 100 }).toBe(1);
      expect(about(20)[0]).toMatchObject({
        code: 'SIPHON_ERR_TARGET_WRITE',
        msg: expect.stringMatching(/^still cannot/),
      });
      expect(about(40)).toHaveLength(1);
    } finally {
      await second.stop();
    }
    expect(await twice()).toBe(2);
    expect(await indexesOf('held_orphan_twice')).toEqual([]);
    expect(await heldFor('held_orphan_twice')).toEqual(['held_orphan_twice_pkey']);
    // Once someone removes the extra row, the next look builds the key.
    await db.admin.query("DELETE FROM analytics.held_orphan_twice WHERE id = 7 AND title = 'film 7 again'");
    const third = await startTestRunner(db, { sources });
    try {
      await expect.poll(() => heldFor('held_orphan_twice'), { timeout: 10_000, interval: 100 }).toEqual([]);
    } finally {
      await third.stop();
    }
    expect(await indexesOf('held_orphan_twice')).toEqual([
      'CREATE UNIQUE INDEX held_orphan_twice_pkey ON analytics.held_orphan_twice USING btree (id)',
    ]);
  });
});
