import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPipeline, requestRun, startTestRunner, waitForStatus } from '../helpers/runner.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await createSourceTable(db, 'content.ticks (id int PRIMARY KEY, v text NOT NULL)');
  await db.admin.query(`INSERT INTO content.ticks SELECT i, md5(i::text) FROM generate_series(1, 250) i`);
});
afterAll(async () => {
  await db.drop();
});

/** A clock that moves `step` ms each time it is read, from a fixed instant: time without waiting. */
function steppingClock(start: number, step: number): Clock & { reads: number } {
  const clock = {
    reads: 0,
    now() {
      clock.reads += 1;
      return start + clock.reads * step;
    },
  };
  return clock;
}

describe('the clock in the executor deps', () => {
  it('times batches by the injected clock: each ledger entry is exactly one clock step', async () => {
    const clock = steppingClock(Date.UTC(2031, 0, 1), 7_000);
    const runner = await startTestRunner(db, { clock });
    try {
      const pipeline = await createPipeline(db, {
        name: 'ticks',
        source_query: 'SELECT id, v FROM content.ticks',
        target_table: 'analytics.ticks',
        unique_key: 'id',
        batch_size: 100,
      });
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['IDLE']);
      const { rows } = await db.admin.query<{ batch_no: number; duration_ms: number }>(
        `SELECT b.batch_no, b.duration_ms FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id
          WHERE r.pipeline_id = $1 ORDER BY b.batch_no`,
        [pipeline.id],
      );
      // 250 rows in batches of 100: three batches, each read the clock once after it began.
      expect(rows).toEqual([
        { batch_no: 1, duration_ms: 7_000 },
        { batch_no: 2, duration_ms: 7_000 },
        { batch_no: 3, duration_ms: 7_000 },
      ]);
      // A 7 s batch outlasts a third of the 5 s lease: each was renewed before COMMIT, and the run
      // still succeeded; nothing slept for those 21 "seconds".
      expect(clock.reads).toBeGreaterThan(3);
    } finally {
      await runner.stop();
    }
  });
});
