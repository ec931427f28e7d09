import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import { createTestDatabase } from '../helpers/db.js';
import { cliEnv, exited, killAllSpawned, spawnCli, waitForOutput } from '../helpers/processes.js';
import { count, createPipeline, requestRun, waitForStatus } from '../helpers/runner.js';
import { expectYouTubeTablesMatchTruth } from '../helpers/youtube-truth.js';

const KEY = 'crash-key';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAllSpawned();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('kill -9 of a runner in the middle of a social sync', () => {
  it(
    'another runner takes over: the steps the dead one held are freed, the end state is exact',
    { timeout: 150_000 },
    async () => {
      const db = await createTestDatabase();
      const sim = await startYouTubeSimulator({
        seed: 41,
        channels: 5,
        videosPerChannel: [20, 40],
        commentThreadsPerVideo: [0, 5],
        repliesPerThread: [0, 6],
        apiKeys: [KEY],
      });
      cleanups.push(async () => {
        await sim.close();
        await db.drop();
      });
      sim.control.faults.setDelay(15); // long enough to kill it mid-sync
      const env = () =>
        cliEnv(db.adminUrl, {
          SIPHON_RUNNER_LEASE: '3s',
          SIPHON_RUNNER_POLL_INTERVAL: '100ms',
          SIPHON_YOUTUBE_BASE_URL: sim.baseUrl,
          SIPHON_YOUTUBE_API_KEY: KEY,
          SIPHON_SYNC_CONCURRENCY: '4',
        });
      const channels = Array.from({ length: 5 }, (_, i) => sim.control.channelId(i));
      const pipeline = await createPipeline(db, {
        name: 'youtube_crash',
        kind: 'social',
        mode: 'incremental',
        social: { platform: 'youtube', accounts: channels, rate: { calls: 1000, window: '1s' } },
      });

      const victim = spawnCli(['runner'], env());
      await waitForOutput(victim, 'runner started');
      await requestRun(db, pipeline.id);
      const deadline = Date.now() + 30_000;
      while ((await count(db, `SELECT count(*) FROM etl.sync_tasks WHERE status = 'DONE'`)) < 20) {
        if (Date.now() > deadline) throw new Error('the sync made no progress');
        await sleep(20);
      }
      victim.kill('SIGKILL');
      await exited(victim);
      const locked = await count(db, 'SELECT count(*) FROM graphile_worker.jobs WHERE locked_at IS NOT NULL');

      const rescuer = spawnCli(['runner'], env());
      await waitForOutput(rescuer, 'runner started');
      sim.control.faults.setDelay(0);
      await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 40_000).catch(async (e: unknown) => {
        const t = await db.admin.query(
          `SELECT t.id, t.kind, t.status, t.cursor, t.not_before, t.error_code, j.status AS js, j.run_id FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id WHERE t.status IN ('PENDING','WAITING')`,
        );
        const g = await db.admin.query(
          'SELECT key, locked_by, attempts, max_attempts, run_at, last_error FROM graphile_worker.jobs',
        );
        const r = await db.admin.query(
          'SELECT id, heartbeat_at, queue_worker_id, stopped_at FROM etl.etl_runners',
        );
        const p = await db.admin.query('SELECT status, current_run_id FROM etl.etl_pipelines');
        // What was left open, to tell a stuck run from a slow one.
        console.log(
          'open sync state',
          JSON.stringify({ t: t.rows, g: g.rows, r: r.rows, p: p.rows, now: new Date() }),
        );
        throw e;
      });
      rescuer.kill('SIGTERM');
      await exited(rescuer);

      const { rows: runs } = await db.admin.query(
        'SELECT status, trigger FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
        [pipeline.id],
      );
      expect(runs.map((r) => r.status)).toEqual(['INTERRUPTED', 'SUCCESS']);
      expect(runs[1].trigger).toBe('takeover');
      await expectYouTubeTablesMatchTruth(db, sim, channels);
      // Nothing is left in the queue: not the steps the dead runner held, nor the copies
      // graphile-worker retired when their task was queued again.
      expect(await count(db, 'SELECT count(*) FROM graphile_worker.jobs')).toBe(0);
      expect(await count(db, `SELECT count(*) FROM etl.sync_jobs WHERE status <> 'SUCCESS'`)).toBe(0);
      // Only the pages in flight at the kill can have been asked for twice (at most one per worker).
      const refetched = await count(
        db,
        'SELECT count(*) FROM (SELECT request FROM social.raw_responses GROUP BY request HAVING count(*) > 1) d',
      );
      expect(refetched).toBeLessThanOrEqual(Math.max(locked, 4));
    },
  );
});
