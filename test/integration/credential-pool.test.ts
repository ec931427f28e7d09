import { afterEach, describe, expect, it } from 'vitest';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { startYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PooledCredential } from '../../src/sync/credential-pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createPipeline,
  requestRun,
  runSocialPipeline,
  startTestRunner,
  waitForStatus,
} from '../helpers/runner.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const KEYS = ['pool-key-a', 'pool-key-b', 'pool-key-c'] as const;

async function setUp(dailyUnits: readonly [number, number, number]) {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const sim = await startYouTubeSimulator({
    seed: 91,
    channels: 6,
    videosPerChannel: [4, 12],
    commentThreadsPerVideo: [0, 2],
    repliesPerThread: [0, 1],
    subscriptionsPerChannel: [0, 0],
    apiKeys: [...KEYS],
    dailyQuotaUnits: 1_000_000,
    asOf: new Date(Date.now() - 3_600_000).toISOString(),
  });
  cleanups.push(() => sim.close());
  const pool: PooledCredential[] = KEYS.map((apiKey, i) => ({
    adapter: new YouTubeAdapter({
      client: new YouTubeClient({ baseUrl: sim.baseUrl, apiKey, fetch: retryAfterGuard() }),
    }),
    limit: {
      callsPerWindow: 20 * (i + 1),
      windowMs: 1000,
      dailyUnits: dailyUnits[i]!,
      dayZone: 'America/Los_Angeles',
    },
  }));
  const runner = await startTestRunner(db, {
    sync: { adapters: new Map(), pools: new Map([['youtube', pool]]), concurrency: 4, retryBaseMs: 100 },
  });
  cleanups.push(() => runner.stop());
  const channels = Array.from({ length: 6 }, (_, i) => sim.control.channelId(i));
  const credential = (i: number) => pool[i]!.adapter.credentialId;
  return { db, sim, channels, credential };
}

const limiterRows = async (db: TestDatabase) =>
  (
    await db.admin.query<{ credential: string; units: number; daily_units: number; rejected: boolean }>(
      `SELECT credential, units_used AS units, daily_units, coalesce(rejected_until > now(), false) AS rejected
         FROM etl.quota_limits WHERE platform = 'youtube' ORDER BY credential`,
    )
  ).rows;

describe('a pool of credentials', () => {
  it('three keys with different daily budgets: each carries calls, none beyond its budget, the sync completes', async () => {
    const budgets = [20, 30, 40] as const;
    const { db, sim, channels, credential } = await setUp(budgets);
    const run = await runSocialPipeline(db, 'yt_pool', { platform: 'youtube', accounts: channels });
    expect(run).toMatchObject({ status: 'SUCCESS', error: null });
    const used = KEYS.map((k) => sim.control.quota.used(k));
    // The platform's own count per key: each key carried calls, none beyond its budget.
    for (const [i, units] of used.entries()) {
      expect(units, KEYS[i]).toBeGreaterThan(0);
      expect(units, KEYS[i]).toBeLessThanOrEqual(budgets[i]!);
    }
    // The limiter's count agrees with the platform's, key by key.
    const rows = await limiterRows(db);
    for (const [i, key] of KEYS.entries()) {
      expect(
        rows.find((r) => r.credential === credential(i)),
        key,
      ).toMatchObject({ units: used[i] });
    }
    const profiles = await db.admin.query('SELECT count(*)::int AS n FROM social.profiles');
    expect(profiles.rows[0]).toEqual({ n: 6 });
  });

  it('budgets too small for the sync: every key is spent exactly to its limit, never beyond, and the run waits', async () => {
    const budgets = [3, 4, 5] as const;
    const { db, sim, channels } = await setUp(budgets);
    const pipeline = await createPipeline(db, {
      name: 'yt_pool_small',
      kind: 'social',
      mode: 'incremental',
      social: { platform: 'youtube', accounts: channels },
    });
    await requestRun(db, pipeline.id);
    const deadline = Date.now() + 30_000;
    const spent = () => KEYS.map((k) => sim.control.quota.used(k));
    while (spent().some((u, i) => u < budgets[i]!) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500)); // nothing more may be sent
    expect(spent()).toEqual([...budgets]);
    const status = await db.admin.query<{ status: string }>(
      'SELECT status FROM etl.etl_pipelines WHERE id = $1',
      [pipeline.id],
    );
    expect(status.rows[0]!.status).toBe('RUNNING');
    const waiting = await db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM etl.sync_tasks WHERE status = 'WAITING' AND error_code = 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED'`,
    );
    expect(waiting.rows[0]!.n).toBeGreaterThan(0);
  });

  it('a revoked key leaves the pool with an incident, the others finish the sync; it comes back once valid', async () => {
    const { db, sim, channels, credential } = await setUp([10_000, 10_000, 10_000]);
    sim.control.keys.revoke(KEYS[1]);
    const run = await runSocialPipeline(db, 'yt_pool_revoked', { platform: 'youtube', accounts: channels });
    expect(run).toMatchObject({ status: 'SUCCESS', error: null });
    expect(sim.control.quota.used(KEYS[1])).toBe(0);
    expect((await limiterRows(db)).find((r) => r.credential === credential(1))).toMatchObject({
      rejected: true,
    });
    const incidents = await db.admin.query<{ kind: string; fingerprint: string; status: string }>(
      `SELECT kind, fingerprint, status FROM etl.incidents WHERE kind = 'credential_rejected'`,
    );
    expect(incidents.rows).toEqual([
      expect.objectContaining({
        status: 'OPEN',
        fingerprint: expect.stringContaining(`youtube:${credential(1)}`),
      }),
    ]);

    // Valid again, and its time out of the pool over: it carries calls again.
    sim.control.keys.add(KEYS[1]);
    await db.admin.query(`UPDATE etl.quota_limits SET rejected_until = now() - interval '1 second'`);
    for (const channel of channels) sim.control.addVideo(channel, { title: 'new' });
    const pipeline = (
      await db.admin.query<{ id: string }>(`SELECT id FROM etl.etl_pipelines WHERE name = 'yt_pool_revoked'`)
    ).rows[0]!.id;
    await requestRun(db, pipeline);
    await waitForStatus(db, pipeline, ['RUNNING', 'IDLE'], 10_000);
    await waitForStatus(db, pipeline, ['IDLE', 'FAILED'], 60_000);
    expect(sim.control.quota.used(KEYS[1])).toBeGreaterThan(0);
  });

  it('every key of the pool revoked: the accounts fail as with a single refused credential', async () => {
    const { db, sim, channels } = await setUp([10_000, 10_000, 10_000]);
    for (const key of KEYS) sim.control.keys.revoke(key);
    const run = await runSocialPipeline(db, 'yt_pool_dead', {
      platform: 'youtube',
      accounts: channels.slice(0, 2),
    });
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(/SIPHON_ERR_CONNECTOR_AUTH/);
  });
});

describe('a pipeline that names its credentials', () => {
  it('every runner that takes part uses only those: a runner configured for another platform endpoint leaves the pages alone', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const simulator = (seed: number, key: string) =>
      startYouTubeSimulator({
        seed,
        channels: 4,
        videosPerChannel: [2, 5],
        commentThreadsPerVideo: [0, 1],
        repliesPerThread: [0, 0],
        subscriptionsPerChannel: [0, 0],
        apiKeys: [key],
        asOf: new Date(Date.now() - 3_600_000).toISOString(),
      });
    // The user's platform (with the channels) and a demo simulator that knows none of them.
    const real = await simulator(92, 'real-key');
    const demo = await simulator(93, 'demo-key');
    cleanups.push(
      () => real.close(),
      () => demo.close(),
    );
    const adapterFor = (baseUrl: string, apiKey: string, credentialId: string) =>
      new YouTubeAdapter({
        client: new YouTubeClient({ baseUrl, apiKey, credentialId, fetch: retryAfterGuard() }),
      });
    // Two runners on one database: the "server" one holds only the demo credential.
    const server = await startTestRunner(db, {
      sync: {
        adapters: new Map([['youtube', adapterFor(demo.baseUrl, 'demo-key', 'demo')]]),
        concurrency: 4,
      },
    });
    cleanups.push(() => server.stop());
    const mine = await startTestRunner(db, {
      sync: {
        adapters: new Map([['youtube', adapterFor(real.baseUrl, 'real-key', 'mine')]]),
        concurrency: 4,
      },
    });
    cleanups.push(() => mine.stop());
    const channels = Array.from({ length: 4 }, (_, i) => real.control.channelId(i));
    const run = await runSocialPipeline(db, 'yt_named', {
      platform: 'youtube',
      accounts: channels,
      credentials: ['mine'],
    });
    expect(run).toMatchObject({ status: 'SUCCESS', error: null });
    expect(demo.control.requests()).toEqual([]); // the demo credential was never used
    expect(real.control.quota.used('real-key')).toBeGreaterThan(0);
    const profiles = await db.admin.query<{ id: string }>(
      'SELECT external_id AS id FROM social.profiles ORDER BY 1',
    );
    expect(profiles.rows.map((r) => r.id)).toEqual([...channels].sort());
    const skipped = await db.admin.query(
      `SELECT count(*)::int AS n FROM etl.sync_jobs WHERE status <> 'SUCCESS'`,
    );
    expect(skipped.rows[0]).toEqual({ n: 0 });
  });
});

describe('a runner that coordinates a pipeline whose credentials it does not hold', () => {
  it('starts their limiter at the pipeline’s rate, and the runner that holds one makes the calls', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const sim = await startYouTubeSimulator({
      seed: 94,
      channels: 2,
      videosPerChannel: [1, 3],
      commentThreadsPerVideo: [0, 1],
      repliesPerThread: [0, 0],
      subscriptionsPerChannel: [0, 0],
      apiKeys: ['held-key'],
      asOf: new Date(Date.now() - 3_600_000).toISOString(),
    });
    cleanups.push(() => sim.close());
    // Only a runner without the credential exists when the run is claimed: it coordinates.
    const coordinator = await startTestRunner(db, { sync: { adapters: new Map(), concurrency: 0 } });
    cleanups.push(() => coordinator.stop());
    const channels = [sim.control.channelId(0), sim.control.channelId(1)];
    const pipeline = await createPipeline(db, {
      name: 'yt_coordinated',
      kind: 'social',
      mode: 'incremental',
      social: {
        platform: 'youtube',
        accounts: channels,
        credentials: ['held'],
        rate: { calls: 7, window: '1s' },
      },
    });
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['RUNNING'], 10_000);
    const deadline = Date.now() + 10_000;
    const limiter = async () =>
      (
        await db.admin.query<{ calls_per_window: number; window_ms: number }>(
          `SELECT calls_per_window, window_ms FROM etl.quota_limits WHERE platform = 'youtube' AND credential = 'held'`,
        )
      ).rows;
    while ((await limiter()).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await limiter()).toEqual([{ calls_per_window: 7, window_ms: 1000 }]);
    expect(sim.control.requests()).toEqual([]); // nobody holds the credential yet: no call
    const holder = await startTestRunner(db, {
      sync: {
        adapters: new Map([
          [
            'youtube',
            new YouTubeAdapter({
              client: new YouTubeClient({
                baseUrl: sim.baseUrl,
                apiKey: 'held-key',
                credentialId: 'held',
                fetch: retryAfterGuard(),
              }),
            }),
          ],
        ]),
        concurrency: 2,
      },
    });
    cleanups.push(() => holder.stop());
    await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
    const { rows } = await db.admin.query<{ status: string }>(
      'SELECT status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [pipeline.id],
    );
    expect(rows[0]!.status).toBe('SUCCESS');
    expect(sim.control.quota.used('held-key')).toBeGreaterThan(0);
  });
});
