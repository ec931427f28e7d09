import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneOnce } from '../../src/sync/index.js';
import { enqueueTasks, purgeRetiredSteps } from '../../src/db/repositories/sync-queue.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, runCli } from '../helpers/processes.js';
import { count, startTestRunner } from '../helpers/runner.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const HOUR = 3_600_000;

/** Raw responses fetched `ago` ago, and finished (or running) sync jobs that ended `ago` ago, each with a task. */
async function seed(label: string, ago: string, n: number, status = 'SUCCESS'): Promise<void> {
  await db.admin.query(
    `INSERT INTO social.raw_responses (platform, kind, external_id, request, payload, payload_hash, fetched_at)
     SELECT 'youtube', 'profile', $1 || g, '{}', '{}', 'h', now() - $2::interval FROM generate_series(1, $3) g`,
    [label, ago, n],
  );
  await db.admin.query(
    `WITH acc AS (
       INSERT INTO social.accounts (platform, external_id) SELECT 'youtube', $1 || g FROM generate_series(1, $3) g
       RETURNING id
     ), jobs AS (
       INSERT INTO etl.sync_jobs (account_id, platform, status, started_at, finished_at)
       SELECT id, 'youtube', $4, now() - $2::interval, CASE WHEN $4 <> 'RUNNING' THEN now() - $2::interval END FROM acc
       RETURNING id
     )
     INSERT INTO etl.sync_tasks (job_id, kind, external_id) SELECT id, 'profile', 'x' FROM jobs`,
    [label, ago, n, status],
  );
}

const left = async (older = '28 days') => ({
  raw: await count(db, 'SELECT count(*) FROM social.raw_responses'),
  oldRaw: await count(
    db,
    'SELECT count(*) FROM social.raw_responses WHERE fetched_at < now() - $1::interval',
    [older],
  ),
  jobs: await count(db, 'SELECT count(*) FROM etl.sync_jobs'),
  tasks: await count(db, 'SELECT count(*) FROM etl.sync_tasks'),
});

describe('retention', () => {
  it('deletes only what is past its retention, oldest first, in bounded batches; never a running job', async () => {
    await seed('old', '40 days', 23);
    await seed('new', '2 days', 5);
    await seed('running', '40 days', 2, 'RUNNING');
    expect(await left()).toEqual({ raw: 30, oldRaw: 25, jobs: 30, tasks: 30 });

    // A budget of 0: one batch of each, then it stops and says so.
    const partial = await pruneOnce(db.writer, {
      rawMs: 28 * 24 * HOUR,
      historyMs: 30 * 24 * HOUR,
      batch: 10,
      budgetMs: 0,
    });
    expect(partial).toMatchObject({ rawResponses: 10, syncJobs: 10, unfinished: true });

    const rest = await pruneOnce(db.writer, { rawMs: 28 * 24 * HOUR, historyMs: 30 * 24 * HOUR, batch: 10 });
    expect(rest).toMatchObject({ rawResponses: 15, syncJobs: 13, unfinished: false });
    // The 2-day-old rows and the running jobs (whatever their age) stay; tasks went with their jobs.
    expect(await left()).toEqual({ raw: 5, oldRaw: 0, jobs: 7, tasks: 7 });
    expect(await count(db, `SELECT count(*) FROM etl.sync_jobs WHERE status = 'RUNNING'`)).toBe(2);

    // 0 keeps everything.
    expect(await pruneOnce(db.writer, { rawMs: 0, historyMs: 0 })).toMatchObject({
      rawResponses: 0,
      syncJobs: 0,
    });
  });

  it('the queue keeps steps of open tasks and drops those of finished tasks (a page committed, its completion lost)', async () => {
    const { rows } = await db.admin.query<{ id: number; status: string }>(
      `WITH acc AS (
         INSERT INTO social.accounts (platform, external_id) VALUES ('youtube', 'queue-purge') RETURNING id
       ), job AS (
         INSERT INTO etl.sync_jobs (account_id, platform, status) SELECT id, 'youtube', 'RUNNING' FROM acc RETURNING id
       )
       INSERT INTO etl.sync_tasks (job_id, kind, external_id, status)
       SELECT job.id, k.kind, 'x', k.status FROM job,
              (VALUES ('profile', 'DONE'), ('posts', 'PENDING'), ('comments', 'WAITING')) AS k(kind, status)
       RETURNING id, status`,
    );
    await enqueueTasks(
      db.writer,
      rows.map((r) => r.id),
    );
    const queued = () =>
      db.admin
        .query<{ key: string }>(`SELECT key FROM graphile_worker.jobs WHERE key = ANY($1) ORDER BY key`, [
          rows.map((r) => `sync-task:${r.id}`),
        ])
        .then((r) => r.rows.map((x) => x.key));
    expect(await queued()).toHaveLength(3);
    expect(await purgeRetiredSteps(db.writer)).toBe(1);
    const open = rows.filter((r) => r.status !== 'DONE').map((r) => `sync-task:${r.id}`);
    expect(await queued()).toEqual(open.sort());
    await db.admin.query(`SELECT graphile_worker.remove_job(k) FROM unnest($1::text[]) AS k`, [open]);
  });

  it('a runner prunes on its own schedule; siphon prune runs one pass now', async () => {
    await seed('runner', '3 hours', 4);
    const runner = await startTestRunner(db, {
      retention: { rawMs: HOUR, historyMs: HOUR, everyMs: 200 },
    });
    try {
      const deadline = Date.now() + 20_000;
      while ((await left('1 hour')).oldRaw > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect((await left('1 hour')).oldRaw).toBe(0);
    } finally {
      await runner.stop();
    }

    await seed('cli', '3 hours', 3);
    const res = await runCli(
      ['prune', '--json'],
      cliEnv(db.adminUrl, { SIPHON_RAW_RETENTION: '1h', SIPHON_SYNC_HISTORY_RETENTION: '1h' }),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      rawResponses: 3,
      syncJobs: 3,
      unfinished: false,
      raw_responses: 0,
    });
    const bad = await runCli(['prune'], cliEnv(db.adminUrl, { SIPHON_RAW_RETENTION: 'a while' }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/SIPHON_RAW_RETENTION.*SIPHON_ERR_CONFIG_INVALID/);
  }, 60_000);
});
