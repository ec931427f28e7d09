import { afterEach, describe, expect, it } from 'vitest';
import { defineTier, importAccounts } from '../../src/accounts/index.js';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { startYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { Runner } from '../../src/runner/index.js';
import { createTestDatabase } from '../helpers/db.js';
import { createPipeline, runToEnd, startTestRunner } from '../helpers/runner.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const KEY = 'tier-reserve-key';

describe('quota spent the way the planner allocates it: shorter intervals first', () => {
  it('a slower tier’s regular sync is not started while the day’s rest is the faster tier’s; the account stays due', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const sim = await startYouTubeSimulator({
      seed: 17,
      channels: 24,
      videosPerChannel: [1, 3],
      commentThreadsPerVideo: [0, 1],
      repliesPerThread: [0, 0],
      subscriptionsPerChannel: [0, 0],
      apiKeys: [KEY],
      dailyQuotaUnits: 1_000_000,
    });
    cleanups.push(() => sim.close());
    const channels = Array.from({ length: 24 }, (_, i) => sim.control.channelId(i));
    await defineTier(db.api, 'every_minute', { interval: '1m' });
    await defineTier(db.api, 'nightly', { interval: '1d' });
    // 20 accounts synced every minute need 20 · 1440 · 4.5 = 129,600 units a day (YouTube's default
    // cost of a regular sync, no run measured yet): far more than the key's 50. Whatever the time of
    // day — except the last 30 s before Pacific midnight — the rest of the day is theirs.
    const report = await importAccounts(
      db.api,
      'youtube',
      {
        format: 'json',
        items: {
          accounts: channels.map((account, i) => ({ account, tier: i < 20 ? 'every_minute' : 'nightly' })),
        },
      },
      'test',
    );
    expect(report).toMatchObject({ inserted: 24 });
    const key = () =>
      new YouTubeAdapter({
        client: new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: KEY, fetch: retryAfterGuard() }),
      });
    const limit = { callsPerWindow: 1000, windowMs: 1000, dailyUnits: 50, dayZone: 'America/Los_Angeles' };
    const runnerWith = async (tierReserve: boolean): Promise<Runner> => {
      const runner = await startTestRunner(db, {
        sync: {
          adapters: new Map(),
          pools: new Map([['youtube', [{ adapter: key(), limit }]]]),
          concurrency: 4,
          tierReserve,
        },
      });
      cleanups.push(() => runner.stop());
      return runner;
    };
    const nightlyJobs = async (runId: string) =>
      (
        await db.admin.query<{ status: string; error_code: string | null; n: number }>(
          `SELECT status, error_code, count(*)::int AS n FROM etl.sync_jobs WHERE run_id = $1
            GROUP BY 1, 2 ORDER BY 1`,
          [runId],
        )
      ).rows;
    const due = async () =>
      (
        await db.admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM social.accounts
            WHERE tier = 'nightly' AND (next_due_at IS NULL OR next_due_at <= now())`,
        )
      ).rows[0]!.n;

    const pipeline = await createPipeline(db, {
      name: 'yt_nightly',
      kind: 'social',
      mode: 'incremental',
      social: { platform: 'youtube', select: { tier: 'nightly' } },
    });
    const runOnce = () => runToEnd(db, pipeline.id, 30_000);

    const reserving = await runnerWith(true);
    const held = await runOnce();
    // Not a failure: the run succeeds, the accounts wait, and no unit was spent on them.
    expect(held).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await nightlyJobs(held.id)).toEqual([
      { status: 'SKIPPED', error_code: 'SIPHON_ERR_QUOTA_RESERVED', n: 4 },
    ]);
    expect(sim.control.quota.used(KEY)).toBe(0);
    expect(await due()).toBe(4);
    const { rows: messages } = await db.admin.query<{ error: string }>(
      'SELECT DISTINCT error FROM etl.sync_jobs WHERE run_id = $1',
      [held.id],
    );
    expect(messages[0]!.error).toMatch(
      /^tier nightly: what the youtube credentials have left today \(50 calls\/units\) is kept for faster tiers \(\d+ still needed today\); the account stays due$/,
    );

    // First come, first served (SIPHON_QUOTA_TIER_RESERVE=off): the same run spends the units.
    await reserving.stop();
    await runnerWith(false);
    const spent = await runOnce();
    expect(spent).toMatchObject({ status: 'SUCCESS', error: null });
    expect(await nightlyJobs(spent.id)).toEqual([{ status: 'SUCCESS', error_code: null, n: 4 }]);
    expect(sim.control.quota.used(KEY)).toBeGreaterThan(0);
    expect(await due()).toBe(0);
  }, 60_000);
});
