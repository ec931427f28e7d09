import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPipeline } from '../../src/db/repositories/lease.repository.js';
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

beforeAll(async () => {
  db = await createTestDatabase();
  await createSourceTable(db, `content.items (id int PRIMARY KEY, grp int NOT NULL, v text NOT NULL)`);
  await db.admin.query(
    `INSERT INTO content.items SELECT i, i % 6, md5(i::text) FROM generate_series(1, 3000) i`,
  );
});
afterAll(async () => db.drop());

describe('several runners against one database', () => {
  it('three runners racing for six pipelines: every run is executed by exactly one runner', async () => {
    const ids: string[] = [];
    for (let g = 0; g < 6; g += 1) {
      const p = await createPipeline(db, {
        name: `race_${g}`,
        source_query: `SELECT id, v FROM content.items WHERE grp = ${g}`,
        target_table: `analytics.race_${g}`,
        unique_key: 'id',
        batch_size: 50,
      });
      ids.push(p.id);
    }
    const runners: Runner[] = [];
    for (let i = 0; i < 3; i += 1)
      runners.push(await startTestRunner(db, { id: `racer-${i}`, concurrency: 2 }));
    const claims: Record<string, string[]> = {};
    for (const r of runners) r.events.on('run:claimed', (e) => (claims[e.pipelineId] ??= []).push(r.id));
    await Promise.all(ids.map((id) => requestRun(db, id)));
    for (const id of ids) await waitForStatus(db, id, ['IDLE']);
    await Promise.all(runners.map((r) => r.stop()));

    for (const id of ids) expect(claims[id]).toHaveLength(1);
    const { rows } = await db.admin.query(
      `SELECT pipeline_id, count(*)::int AS runs, min(status) AS status, sum(rows_read)::int AS rows_read
         FROM etl.etl_runs WHERE pipeline_id = ANY($1::uuid[]) GROUP BY 1`,
      [ids],
    );
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row).toMatchObject({ runs: 1, status: 'SUCCESS', rows_read: 500 });
    // The work was shared out.
    expect(new Set(Object.values(claims).flat()).size).toBeGreaterThan(1);
    for (let g = 0; g < 6; g += 1) {
      expect(
        await diffSourceTarget(
          db,
          `SELECT id, v FROM content.items WHERE grp = ${g}`,
          `analytics.race_${g}`,
          ['id', 'v'],
        ),
      ).toEqual({
        missing: 0,
        extra: 0,
      });
    }
  });

  it('a runner whose lease was taken over cannot commit another batch', async () => {
    const p = await createPipeline(db, {
      name: 'fenced',
      source_query: 'SELECT id, v FROM content.items WHERE pg_sleep(0.002) IS NOT NULL',
      target_table: 'analytics.fenced',
      unique_key: 'id',
      batch_size: 50,
    });
    const runner = await startTestRunner(db, { id: 'victim', leaseMs: 60_000 });
    const lost = new Promise((resolve) => runner.events.once('lease:lost', resolve));
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['RUNNING']);
    // The run creates analytics.fenced itself: wait for its first committed batch, not for the table.
    const batches = `SELECT count(*) FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id
                      WHERE r.pipeline_id = $1`;
    while ((await count(db, batches, [p.id])) === 0) await new Promise((r) => setTimeout(r, 10));
    // Another owner takes over (what claimPipeline does after an expiry): a new epoch.
    const { rows } = await db.admin.query(
      `UPDATE etl.etl_pipelines SET lease_owner = 'usurper', lease_epoch = lease_epoch + 1 WHERE id = $1 RETURNING current_run_id`,
      [p.id],
    );
    const takenAt = await count(db, 'SELECT count(*) FROM etl.etl_run_batches WHERE run_id = $1', [
      rows[0].current_run_id,
    ]);
    await lost;
    const after = await count(db, 'SELECT count(*) FROM etl.etl_run_batches WHERE run_id = $1', [
      rows[0].current_run_id,
    ]);
    // At most the batch whose transaction had already passed the fence (it held the row lock) commits.
    expect(after - takenAt).toBeLessThanOrEqual(1);
    const { rows: state } = await db.admin.query(
      'SELECT lease_owner, status FROM etl.etl_pipelines WHERE id = $1',
      [p.id],
    );
    expect(state[0]).toEqual({ lease_owner: 'usurper', status: 'RUNNING' });
    await runner.stop();
  });

  it('overlapping upserts into one table from two pipelines in opposite key orders do not deadlock', async () => {
    await db.admin.query(
      `CREATE TABLE analytics.shared (id int PRIMARY KEY, v text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
    );
    const asc = await createPipeline(db, {
      name: 'shared_asc',
      source_query: 'SELECT id, v FROM content.items',
      target_table: 'analytics.shared',
      unique_key: 'id',
      batch_size: 500,
    });
    const desc = await createPipeline(db, {
      name: 'shared_desc',
      source_query: 'SELECT 3001 - id AS id, v, -id AS k FROM content.items',
      target_table: 'analytics.shared',
      unique_key: 'id',
      mode: 'incremental',
      incremental_key: 'k',
      batch_size: 500,
    });
    const runner = await startTestRunner(db, { concurrency: 2 });
    await Promise.all([requestRun(db, asc.id), requestRun(db, desc.id)]);
    await waitForStatus(db, asc.id, ['IDLE', 'FAILED']);
    await waitForStatus(db, desc.id, ['IDLE', 'FAILED']);
    await runner.stop();
    const { rows } = await db.admin.query(
      `SELECT status, error_code FROM etl.etl_runs WHERE pipeline_id = ANY($1::uuid[])`,
      [[asc.id, desc.id]],
    );
    expect(rows.every((r) => r.status === 'SUCCESS')).toBe(true);
    expect(await count(db, 'SELECT count(*) FROM analytics.shared')).toBe(3000);
  });

  it('a lapsed lease: another runner takes over at once, the owner still executing it only a lease later', async () => {
    const p = await createPipeline(db, {
      name: 'lapsed',
      source_query: 'SELECT id, v FROM content.items',
      target_table: 'analytics.lapsed',
      unique_key: 'id',
    });
    const lapse = (ms: number) =>
      db.admin.query(
        `UPDATE etl.etl_pipelines SET status = 'RUNNING', lease_owner = 'owner', lease_epoch = 7,
                lease_expires_at = clock_timestamp() - make_interval(secs => $2::double precision / 1000)
          WHERE id = $1`,
        [p.id, ms],
      );
    // Expired 1 s ago, lease 3 s: its owner, whose executor still runs it, leaves it alone...
    await lapse(1000);
    expect(await claimPipeline(db.writer, 'owner', 3000, [p.id])).toBeUndefined();
    // ...unless that executor is gone (a restarted process has no executor for it).
    await lapse(1000);
    expect(await claimPipeline(db.writer, 'owner', 3000, [])).toMatchObject({ id: p.id, lease_epoch: 8 });
    // Any other runner takes it over at once.
    await lapse(1000);
    expect(await claimPipeline(db.writer, 'other', 3000, [p.id])).toMatchObject({
      id: p.id,
      lease_owner: 'other',
      lease_epoch: 8,
      previous_owner: 'owner',
    });
    // An executor that hangs past a second lease is taken over by its own runner too.
    await lapse(3500);
    expect(await claimPipeline(db.writer, 'owner', 3000, [p.id])).toMatchObject({ id: p.id, lease_epoch: 8 });
    await db.admin.query(
      `UPDATE etl.etl_pipelines SET status = 'IDLE', lease_owner = NULL, lease_expires_at = NULL WHERE id = $1`,
      [p.id],
    );
  });
});
