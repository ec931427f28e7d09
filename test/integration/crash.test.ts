import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  cliEnv,
  exited,
  killAllSpawned,
  seededRandom,
  spawnCli,
  waitForOutput,
} from '../helpers/processes.js';
import { count, createPipeline, diffSourceTarget, requestRun, waitForStatus } from '../helpers/runner.js';

let db: TestDatabase;
const ROWS = 4000;

beforeAll(async () => {
  db = await createTestDatabase();
  await createSourceTable(
    db,
    `content.crash (id int PRIMARY KEY, v text NOT NULL, modified timestamptz NOT NULL)`,
  );
  await db.admin.query(`CREATE INDEX ON content.crash (modified, id)`);

  await db.admin.query(
    `INSERT INTO content.crash SELECT i, md5(i::text), timestamptz '2025-01-01' + make_interval(secs => i / 7) FROM generate_series(1, ${ROWS}) i`,
  );
});
afterAll(async () => {
  await killAllSpawned();
  await db.drop();
});

// A 3 s lease renewed every second: short enough for quick take-overs, long enough that a runner
// starved of CPU on a loaded machine rarely misses its own renewal and takes its run over from itself
// (correct behaviour; the counts below allow such an extra INTERRUPTED attempt).
const runnerEnv = () =>
  cliEnv(db.adminUrl, { SIPHON_RUNNER_LEASE: '3s', SIPHON_RUNNER_POLL_INTERVAL: '100ms' });
// ~1 ms per row keeps a 100-row batch around 100 ms, so kills land mid-batch as well as between batches.
const SLOW = 'WHERE pg_sleep(0.001) IS NOT NULL';

describe('kill -9 of a runner process', () => {
  it.each([
    ['full', { mode: 'full' as const }],
    ['incremental', { mode: 'incremental' as const, incremental_key: 'modified' }],
  ])(
    '%s: killed at random points many times, the restarted runners converge exactly',
    async (label, mode) => {
      const seed = Number(process.env.SIPHON_CRASH_SEED ?? Date.now() % 100_000);
      const random = seededRandom(seed);
      const pipeline = await createPipeline(db, {
        name: `crash_${label}`,
        source_query: `SELECT id, v, modified FROM content.crash ${SLOW}`,
        target_table: `analytics.crash_${label}`,
        unique_key: 'id',
        batch_size: 100,
        ...mode,
      });
      await requestRun(db, pipeline.id);
      const kills = 6;
      for (let i = 0; i < kills; i += 1) {
        const child = spawnCli(['runner'], runnerEnv());
        try {
          await waitForOutput(child, 'batch committed', 60_000);
          await sleep(Math.floor(random() * 400));
        } finally {
          child.kill('SIGKILL');
          await exited(child);
        }
      }
      const before = await count(db, `SELECT count(*) FROM analytics.crash_${label}`);
      expect(before, `seed ${seed}`).toBeLessThan(ROWS);

      const survivor = spawnCli(['runner'], runnerEnv());
      try {
        await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 90_000);
      } finally {
        survivor.kill('SIGTERM');
        await exited(survivor);
      }
      const final = await waitForStatus(db, pipeline.id, ['IDLE']);
      expect(final.lease_owner).toBeNull();
      expect(
        await diffSourceTarget(db, 'SELECT id, v, modified FROM content.crash', `analytics.crash_${label}`, [
          'id',
          'v',
        ]),
        `seed ${seed}`,
      ).toEqual({ missing: 0, extra: 0 });
      const { rows } = await db.admin.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM etl.etl_runs WHERE pipeline_id = $1 GROUP BY 1 ORDER BY 1',
        [pipeline.id],
      );
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      // Each killed attempt is closed as INTERRUPTED by the runner that took over; exactly one succeeded.
      // On a loaded machine a live runner starved past its own lease may also be taken over (by itself
      // or the next one): that is correct and adds an INTERRUPTED attempt, so kills is a lower bound.
      expect(Object.keys(byStatus).sort(), `seed ${seed}`).toEqual(['INTERRUPTED', 'SUCCESS']);
      expect(byStatus.SUCCESS, `seed ${seed}`).toBe(1);
      expect(byStatus.INTERRUPTED, `seed ${seed}`).toBeGreaterThanOrEqual(kills);
      expect(byStatus.INTERRUPTED, `seed ${seed}`).toBeLessThanOrEqual(kills + 2);
      const { rows: interrupted } = await db.admin.query(
        `SELECT DISTINCT error_code FROM etl.etl_runs WHERE pipeline_id = $1 AND status = 'INTERRUPTED'`,
        [pipeline.id],
      );
      expect(interrupted).toEqual([{ error_code: 'SIPHON_ERR_RUNNER_LEASE_EXPIRED' }]);
      // The ledger holds each batch once per attempt; committed rows were never lost.
      const { rows: ledger } = await db.admin.query(
        `SELECT sum(b.rows_read)::int AS rows FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1`,
        [pipeline.id],
      );
      expect(ledger[0].rows).toBeGreaterThanOrEqual(ROWS);
    },
    // Process-level: each kill waits for a fresh runner's first batch; generous under CPU contention.
    300_000,
  );
});

describe('a frozen runner (SIGSTOP past its lease)', () => {
  it('is taken over, and after SIGCONT it cannot commit', { timeout: 300_000 }, async () => {
    const pipeline = await createPipeline(db, {
      name: 'frozen',
      source_query: `SELECT id, v FROM content.crash ${SLOW}`,
      target_table: 'analytics.frozen',
      unique_key: 'id',
      batch_size: 100,
    });
    await requestRun(db, pipeline.id);
    const frozen = spawnCli(['runner'], runnerEnv());
    let frozenLog = '';
    frozen.stderr!.on('data', (c: Buffer) => (frozenLog += c.toString()));
    await waitForOutput(frozen, 'batch committed', 60_000);
    frozen.kill('SIGSTOP');
    const { rows: before } = await db.admin.query(
      'SELECT current_run_id, lease_epoch FROM etl.etl_pipelines WHERE id = $1',
      [pipeline.id],
    );
    const frozenRun = before[0].current_run_id as string;

    const rescuer = spawnCli(['runner'], runnerEnv());
    try {
      // The lease (3 s) expires; the rescuer takes over with a higher epoch and finishes.
      await waitForStatus(db, pipeline.id, ['IDLE'], 90_000);
      const batchesAtTakeover = await count(
        db,
        'SELECT count(*) FROM etl.etl_run_batches WHERE run_id = $1',
        [frozenRun],
      );
      frozen.kill('SIGCONT');
      await waitForOutputText(() => frozenLog, 'lease lost', 60_000);
      await sleep(300);
      expect(await count(db, 'SELECT count(*) FROM etl.etl_run_batches WHERE run_id = $1', [frozenRun])).toBe(
        batchesAtTakeover,
      );
    } finally {
      frozen.kill('SIGKILL');
      rescuer.kill('SIGTERM');
      await Promise.all([exited(frozen), exited(rescuer)]);
    }
    const { rows: runs } = await db.admin.query(
      `SELECT id, status, lease_epoch, error_code, error, runner_id FROM etl.etl_runs
        WHERE pipeline_id = $1 ORDER BY started_at`,
      [pipeline.id],
    );
    const story = JSON.stringify(runs);
    // The frozen run was taken over; the last run succeeded. A rescuer that misses its lease (a stalled
    // commit, a starved process) no longer takes over its own live run, but one that hangs past a second
    // lease is: any run between is a fenced takeover too.
    expect(runs[0].id, story).toBe(frozenRun);
    expect(runs.at(-1).status, story).toBe('SUCCESS');
    for (const run of runs.slice(0, -1)) {
      expect(run, story).toMatchObject({
        status: 'INTERRUPTED',
        error_code: 'SIPHON_ERR_RUNNER_LEASE_EXPIRED',
      });
    }
    for (let i = 1; i < runs.length; i += 1) {
      expect(runs[i].lease_epoch, story).toBeGreaterThan(runs[i - 1].lease_epoch);
    }
    expect(runs.length, story).toBeLessThanOrEqual(3);
    expect(
      await diffSourceTarget(db, 'SELECT id, v FROM content.crash', 'analytics.frozen', ['id', 'v']),
    ).toEqual({
      missing: 0,
      extra: 0,
    });
  });
});

async function waitForOutputText(read: () => string, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!read().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in: ${read().slice(-2000)}`);
    await sleep(50);
  }
}
