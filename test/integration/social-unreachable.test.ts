import { afterEach, describe, expect, it } from 'vitest';
import { InstagramAdapter, InstagramClient } from '../../src/connectors/instagram/index.js';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { TikTokAdapter, TikTokClient } from '../../src/connectors/tiktok/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { readSyncSummary } from '../../src/sync/index.js';
import { startInstagramSimulator } from '../../src/simulators/instagram/index.js';
import { startTikTokSimulator } from '../../src/simulators/tiktok/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { requestRun, runSocialPipeline, startTestRunner, waitForStatus } from '../helpers/runner.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(adapters: Map<string, PlatformAdapter>): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  const runner = await startTestRunner(db, { sync: { adapters, concurrency: 4, retryBaseMs: 100 } });
  cleanups.push(() => runner.stop());
  return db;
}

async function tiktok(clientSecret = 'tt-secret') {
  const sim = await startTikTokSimulator({
    seed: 61,
    users: 3,
    videosPerUser: [2, 5],
    commentsPerVideo: [0, 2],
    repliesPerComment: [0, 1],
    followersPerUser: [0, 0],
    followingPerUser: [0, 0],
    historyDays: 30,
    asOf: new Date().toISOString(),
    privateShare: 0,
    clients: { 'tt-key': 'tt-secret' },
  });
  cleanups.push(() => sim.close());
  const client = new TikTokClient({
    baseUrl: sim.baseUrl,
    clientKey: 'tt-key',
    clientSecret,
    fetch: retryAfterGuard(),
  });
  return {
    sim,
    adapters: new Map<string, PlatformAdapter>([['tiktok', new TikTokAdapter({ client, backfillDays: 60 })]]),
  };
}

/** An Instagram simulator with one own account, its professional usernames, and an adapter (userId: ours unless given). */
async function instagram(seed: number, userId?: string) {
  const sim = await startInstagramSimulator({
    seed,
    accounts: 3,
    ownAccounts: 1,
    mediaPerAccount: [1, 4],
    commentsPerMedia: [0, 0],
    repliesPerComment: [0, 0],
    accessTokens: ['ig-token'],
  });
  cleanups.push(() => sim.close());
  const client = new InstagramClient({
    baseUrl: sim.baseUrl,
    accessToken: 'ig-token',
    fetch: retryAfterGuard(),
  });
  const adapter = new InstagramAdapter({ client, userId: userId ?? sim.userId });
  const usernames = sim.control.truth
    .all()
    .filter((t) => t.account.professional)
    .map((t) => t.account.username);
  return { adapters: new Map<string, PlatformAdapter>([['instagram', adapter]]), usernames };
}

interface AccountState {
  external_id: string;
  status: string;
  unreachable_code: string | null;
  checks: number;
  next_check_in_hours: number | null;
}

const accountStates = async (db: TestDatabase): Promise<AccountState[]> =>
  (
    await db.admin.query<AccountState>(
      `SELECT external_id, status, unreachable_code, unreachable_checks AS checks,
              round(extract(epoch FROM next_check_at - now()) / 3600)::int AS next_check_in_hours
         FROM social.accounts ORDER BY external_id`,
    )
  ).rows;

describe('an account the platform does not show is skipped, not a failure', () => {
  it('TikTok: an unknown user is SKIPPED, the run succeeds, later runs wait, a returning account is active again', async () => {
    const { sim, adapters } = await tiktok();
    const db = await setUp(adapters);
    const users = sim.control.usernames();
    const accounts = [...users, 'nobody_here_7731'];

    const first = await runSocialPipeline(db, 'tt_unreachable', {
      platform: 'tiktok',
      accounts,
      rate: { calls: 500, window: '1s' },
    });
    expect(first).toMatchObject({ status: 'SUCCESS', error: null });
    // Every reachable account was synced completely.
    const profiles = await db.admin.query<{ id: string }>('SELECT external_id AS id FROM social.profiles');
    expect(profiles.rows.map((r) => r.id).sort()).toEqual([...users].sort());
    const states = await accountStates(db);
    expect(states.find((a) => a.external_id === 'nobody_here_7731')).toEqual({
      external_id: 'nobody_here_7731',
      status: 'unreachable',
      unreachable_code: 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE',
      checks: 1,
      next_check_in_hours: 24,
    });
    expect(states.filter((a) => a.status === 'active')).toHaveLength(users.length);

    const pipeline = (
      await db.admin.query<{ id: string }>(`SELECT id FROM etl.etl_pipelines WHERE name = 'tt_unreachable'`)
    ).rows[0]!;
    const summary = await readSyncSummary(db.api, pipeline.id, first.id);
    expect(summary.jobs.by_status).toMatchObject({ SUCCESS: users.length, SKIPPED: 1, FAILED: 0 });
    expect(summary.skipped.total).toBe(1);
    expect(summary.skipped.items[0]).toMatchObject({
      account: 'nobody_here_7731',
      error_code: 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE',
    });
    expect(summary.skipped.items[0]!.message).toMatch(
      /^tiktok account nobody_here_7731: .*\[SIPHON_ERR_CONNECTOR_NOT_FOUND\]$/,
    );

    // The next run does not ask for it before next_check_at: its job is SKIPPED at once, no task.
    // Meanwhile one reachable account is marked unreachable with its check due: it is read again.
    await db.admin.query(
      `UPDATE social.accounts SET status = 'unreachable', unreachable_code = 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE',
              unreachable_reason = 'was private', unreachable_since = now() - interval '3 days',
              unreachable_checks = 2, next_check_at = now() - interval '1 minute'
        WHERE external_id = $1`,
      [users[0]],
    );
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 120_000);
    const second = (
      await db.admin.query<{ id: string; status: string }>(
        'SELECT id, status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
        [pipeline.id],
      )
    ).rows[0]!;
    expect(second.status).toBe('SUCCESS');
    const waited = await db.admin.query<{ status: string; tasks: number; error: string }>(
      `SELECT j.status, (SELECT count(*)::int FROM etl.sync_tasks t WHERE t.job_id = j.id) AS tasks, j.error
         FROM etl.sync_jobs j JOIN social.accounts a ON a.id = j.account_id
        WHERE j.run_id = $1 AND a.external_id = 'nobody_here_7731'`,
      [second.id],
    );
    expect(waited.rows).toEqual([
      { status: 'SKIPPED', tasks: 0, error: expect.stringMatching(/checked again from/) },
    ]);
    const after = await accountStates(db);
    expect(after.find((a) => a.external_id === users[0])).toMatchObject({ status: 'active', checks: 0 });
    expect(after.find((a) => a.external_id === 'nobody_here_7731')).toMatchObject({
      status: 'unreachable',
      checks: 1,
    });
  });

  it('TikTok: a refused credential still fails the run', async () => {
    const { sim, adapters } = await tiktok('wrong-secret');
    const db = await setUp(adapters);
    const run = await runSocialPipeline(db, 'tt_revoked', {
      platform: 'tiktok',
      accounts: sim.control.usernames(),
      rate: { calls: 500, window: '1s' },
    });
    expect(run.status).toBe('FAILED');
    expect((await accountStates(db)).every((a) => a.status === 'active')).toBe(true);
  });

  it('Instagram: a username business discovery cannot read (110/2207013: unknown or personal) is skipped', async () => {
    const { adapters, usernames } = await instagram(62);
    const db = await setUp(adapters);
    const run = await runSocialPipeline(db, 'ig_unreachable', {
      platform: 'instagram',
      accounts: [...usernames, 'personal.account.0042'],
      rate: { calls: 500, window: '1s' },
    });
    expect(run).toMatchObject({ status: 'SUCCESS', error: null });
    const states = await accountStates(db);
    expect(states.find((a) => a.external_id === 'personal.account.0042')).toMatchObject({
      status: 'unreachable',
      checks: 1,
    });
    expect(
      states
        .filter((a) => a.status === 'active')
        .map((a) => a.external_id)
        .sort(),
    ).toEqual([...usernames].sort());
  });

  it('Instagram: a wrong SIPHON_INSTAGRAM_USER_ID (100/33 on our own node) fails the run, no account is marked', async () => {
    const { adapters, usernames } = await instagram(63, '17841400000000999');
    const db = await setUp(adapters);
    const run = await runSocialPipeline(db, 'ig_wrong_user', {
      platform: 'instagram',
      accounts: usernames,
      rate: { calls: 500, window: '1s' },
    });
    expect(run.status).toBe('FAILED');
    expect((await accountStates(db)).every((a) => a.status === 'active')).toBe(true);
  });
});
