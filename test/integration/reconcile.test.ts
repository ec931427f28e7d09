import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcilePipeline } from '../../src/reconcile/index.js';
import { getPipeline } from '../../src/pipelines/index.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createPipeline,
  diffSourceTarget,
  requestRun,
  startTestRunner,
  waitForStatus,
} from '../helpers/runner.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await createSourceTable(
    db,
    `content.rec (a int, b text, v numeric NOT NULL, modified timestamptz NOT NULL, PRIMARY KEY (a, b))`,
  );
  await db.admin.query(
    `INSERT INTO content.rec SELECT i / 10, 'k' || (i % 10), i * 1.5, timestamptz '2025-01-01' + make_interval(secs => i) FROM generate_series(1, 5000) i`,
  );
  await createPipeline(db, {
    name: 'rec',
    source_query: 'SELECT a, b, v, modified FROM content.rec',
    target_table: 'analytics.rec',
    unique_key: ['a', 'b'],
    mode: 'incremental',
    incremental_key: 'modified',
    batch_size: 1000,
  });
  const runner = await startTestRunner(db);
  await requestRun(db, 'rec');
  await waitForStatus(db, (await getPipeline(db.api, 'rec')).id, ['IDLE']);
  await runner.stop();
});
afterAll(async () => db.drop());

describe('reconcile', () => {
  it('reports a synced pipeline as CLEAN with equal counts and key ranges', async () => {
    const result = await reconcilePipeline(
      { source: db.writer, target: db.writer, writer: db.writer },
      await getPipeline(db.api, 'rec'),
      {
        requestedBy: 'test',
      },
    );
    expect(result).toMatchObject({
      status: 'CLEAN',
      source_rows: 5000,
      target_rows: 5000,
      differing_buckets: 0,
    });
    const summary = result.summary as { source: Record<string, string>; target: Record<string, string> };
    expect(summary.source.key_min).toBe(summary.target.key_min);
    expect(summary.source.inc_max).toBe(summary.target.inc_max);
  });

  it('narrows a drift down to the exact keys, and --repair re-syncs only those', async () => {
    await db.admin.query(`DELETE FROM analytics.rec WHERE (a, b) IN ((1, 'k1'), (200, 'k3'))`);
    await db.admin.query(`UPDATE analytics.rec SET v = -1 WHERE (a, b) = (300, 'k7')`);
    await db.admin.query(`INSERT INTO analytics.rec (a, b, v, modified) VALUES (9999, 'zz', 0, now())`);
    const pipeline = await getPipeline(db.api, 'rec');
    const found = await reconcilePipeline(
      { source: db.writer, target: db.writer, writer: db.writer },
      pipeline,
      { requestedBy: 'test' },
    );
    expect(found.status).toBe('DIFFERENT');
    expect(found.missing_keys.map((k) => k.join(':')).sort()).toEqual(['1:k1', '200:k3']);
    expect(found.changed_keys).toEqual([['300', 'k7']]);
    expect(found.extra_keys).toEqual([['9999', 'zz']]);
    expect(found.differing_buckets).toBeLessThanOrEqual(4);

    const before = await db.admin.query(`SELECT updated_at FROM analytics.rec WHERE (a, b) = (5, 'k5')`);
    const repaired = await reconcilePipeline(
      { source: db.writer, target: db.writer, writer: db.writer },
      pipeline,
      { requestedBy: 'test', repair: true },
    );
    expect(repaired).toMatchObject({ status: 'REPAIRED', repaired_rows: 4 });
    expect(
      await diffSourceTarget(db, 'SELECT a, b, v FROM content.rec', 'analytics.rec', ['a', 'b', 'v']),
    ).toEqual({
      missing: 0,
      extra: 0,
    });
    // Untouched rows were not rewritten.
    const after = await db.admin.query(`SELECT updated_at FROM analytics.rec WHERE (a, b) = (5, 'k5')`);
    expect(after.rows[0].updated_at).toEqual(before.rows[0].updated_at);
    expect(
      (
        await reconcilePipeline({ source: db.writer, target: db.writer, writer: db.writer }, pipeline, {
          requestedBy: 'test',
        })
      ).status,
    ).toBe('CLEAN');
  });
});
