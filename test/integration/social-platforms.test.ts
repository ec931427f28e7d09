import { afterEach, describe, expect, it } from 'vitest';
import { InstagramAdapter, InstagramClient } from '../../src/connectors/instagram/index.js';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { TikTokAdapter, TikTokClient } from '../../src/connectors/tiktok/index.js';
import { startInstagramSimulator } from '../../src/simulators/instagram/index.js';
import { startTikTokSimulator } from '../../src/simulators/tiktok/index.js';
import type { SocialSpecInput } from '../../src/core/social-spec.schema.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
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

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return db;
}

async function syncOnce(
  db: TestDatabase,
  adapters: Map<string, PlatformAdapter>,
  social: SocialSpecInput,
  concurrency = 4,
): Promise<{ id: string; status: string }> {
  const runner = await startTestRunner(db, { sync: { adapters, concurrency, retryBaseMs: 100 } });
  cleanups.push(() => runner.stop());
  const run = await runSocialPipeline(db, `${social.platform}_sync`, social);
  expect(run.error).toBeNull();
  return run;
}

const ids = async (db: TestDatabase, sql: string): Promise<string[]> =>
  (await db.admin.query<{ id: string }>(sql)).rows.map((r) => r.id).sort();

describe('social pipelines on Instagram and TikTok', () => {
  it('Instagram: profiles, posts with carousel children, comments and replies exactly as the platform holds them', async () => {
    const db = await database();
    const sim = await startInstagramSimulator({
      seed: 51,
      accounts: 3,
      ownAccounts: 3,
      mediaPerAccount: [4, 12],
      commentsPerMedia: [0, 5],
      repliesPerComment: [0, 3],
      accessTokens: ['ig-token'],
    });
    cleanups.push(() => sim.close());
    const client = new InstagramClient({
      baseUrl: sim.baseUrl,
      accessToken: 'ig-token',
      fetch: retryAfterGuard(),
    });
    const adapters = new Map<string, PlatformAdapter>([
      ['instagram', new InstagramAdapter({ client, userId: sim.userId, postsPageSize: 5 })],
    ]);
    const truth = sim.control.truth.all();
    const accounts = truth.map((t) => t.account.id);
    const run = await syncOnce(db, adapters, {
      platform: 'instagram',
      accounts,
      rate: { calls: 500, window: '1s' },
    });
    expect(run.status).toBe('SUCCESS');

    expect(await ids(db, 'SELECT external_id AS id FROM social.profiles')).toEqual([...accounts].sort());
    const media = truth.flatMap((t) => t.media);
    // Feed media and (the token's accounts being all own) their live stories.
    const stories = truth.flatMap((t) => t.stories.map((m) => m.id));
    expect(await ids(db, 'SELECT external_id AS id FROM social.posts')).toEqual(
      [...media.map((m) => m.id), ...stories].sort(),
    );
    const comments = media.flatMap((m) => m.comments.flatMap((c) => [c.id, ...c.replies.map((r) => r.id)]));
    expect(comments.length).toBeGreaterThan(0);
    expect(await ids(db, 'SELECT external_id AS id FROM social.comments')).toEqual(comments.sort());
    const { rows: posts } = await db.admin.query(
      'SELECT external_id, like_count, comment_count, url FROM social.posts',
    );
    const byId = new Map(posts.map((p) => [p.external_id, p]));
    for (const m of media) {
      expect(byId.get(m.id)).toMatchObject({
        like_count: m.likeCount,
        comment_count: m.commentsCount,
        url: m.permalink,
      });
    }
    const children = media.flatMap((m) => m.children.map((c) => c.id));
    if (children.length > 0) {
      const stored = await ids(db, 'SELECT external_id AS id FROM social.media');
      for (const child of children) expect(stored).toContain(child);
    }
  });

  it('Instagram stories: own accounts only, kept after they expire, never marked deleted by a feed pass', async () => {
    const db = await database();
    const sim = await startInstagramSimulator({
      seed: 54,
      accounts: 3,
      ownAccounts: 2,
      mediaPerAccount: [3, 6],
      commentsPerMedia: [0, 2],
      repliesPerComment: [0, 1],
      storiesPerAccount: [2, 4],
      asOf: new Date().toISOString(), // stories are dated in the day before: live now
      accessTokens: ['ig-token'],
    });
    cleanups.push(() => sim.close());
    const client = new InstagramClient({
      baseUrl: sim.baseUrl,
      accessToken: 'ig-token',
      fetch: retryAfterGuard(),
    });
    const adapters = new Map<string, PlatformAdapter>([
      ['instagram', new InstagramAdapter({ client, userId: sim.userId, postsPageSize: 2 })],
    ]);
    const runner = await startTestRunner(db, { sync: { adapters, concurrency: 4, retryBaseMs: 100 } });
    cleanups.push(() => runner.stop());
    const own = [sim.control.userId(0), sim.control.userId(1)];
    const other = sim.control.username(2);
    const runPipeline = async (name: string, mode: 'incremental' | 'full') => {
      const pipeline = await createPipeline(db, {
        name,
        kind: 'social',
        mode,
        social: { platform: 'instagram', accounts: [...own, other], rate: { calls: 500, window: '1s' } },
      });
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
      const { rows } = await db.admin.query('SELECT status, error FROM etl.etl_runs WHERE pipeline_id = $1', [
        pipeline.id,
      ]);
      expect(rows).toEqual([{ status: 'SUCCESS', error: null }]);
    };
    const storyRows = async () =>
      (
        await db.admin.query<{ id: string; deleted: boolean; profile: string }>(
          `SELECT external_id AS id, deleted_at IS NOT NULL AS deleted, profile_external_id AS profile
             FROM social.posts WHERE media_type = 'STORY' ORDER BY external_id`,
        )
      ).rows;

    await runPipeline('ig_regular', 'incremental');
    const first = own.flatMap((id) => sim.control.truth.stories(id));
    expect(first.length).toBeGreaterThanOrEqual(4);
    expect(await storyRows()).toEqual(
      own
        .flatMap((id) =>
          sim.control.truth.stories(id).map((story) => ({ id: story, deleted: false, profile: id })),
        )
        .sort((a, b) => a.id.localeCompare(b.id)),
    );
    // Stories are asked for the token's own accounts only (business discovery refuses them), and
    // every page of them: with two per page, at least two requests for an account holding 3-4.
    const storyRequests = sim.control.requests().filter((r) => r.endpoint === 'stories');
    expect(new Set(storyRequests.map((r) => r.path.split('/')[0]))).toEqual(new Set(own));
    expect(storyRequests.length).toBeGreaterThanOrEqual(own.length);
    // Every feed media is there too, each once: stories did not take a feed post's place.
    const feed = [...own, other].flatMap((id) => sim.control.truth.media(id));
    expect(await ids(db, `SELECT external_id AS id FROM social.posts WHERE media_type <> 'STORY'`)).toEqual(
      [...feed].sort(),
    );

    // A day later: one story expired, a new one went up, a feed post was deleted.
    const expired = sim.control.truth.stories(own[0]!)[0]!;
    sim.control.expireStory(expired);
    const fresh = sim.control.addStory(own[0]!, { caption: 'new today' });
    const gone = sim.control.truth.media(own[0]!)[0]!;
    sim.control.deleteMedia(gone);
    // A backfill is a complete pass over the feed: what it does not see is marked deleted.
    await runPipeline('ig_backfill', 'full');
    const after = await storyRows();
    expect(after.map((r) => r.id)).toEqual([...first, fresh].sort());
    expect(after.filter((r) => r.deleted)).toEqual([]);
    const { rows: deleted } = await db.admin.query(
      `SELECT external_id FROM social.posts WHERE deleted_at IS NOT NULL`,
    );
    expect(deleted).toEqual([{ external_id: gone }]);
    const { rows: story } = await db.admin.query(
      `SELECT description, url FROM social.posts WHERE external_id = $1`,
      [fresh],
    );
    expect(story[0]).toEqual({
      description: 'new today',
      url: `https://www.instagram.com/stories/${sim.control.username(0)}/${fresh}/`,
    });
  });

  it('TikTok: 64-bit ids stay exact from the API to the tables, follower lists included, across an expired token', async () => {
    const db = await database();
    const sim = await startTikTokSimulator({
      seed: 52,
      users: 3,
      videosPerUser: [3, 8],
      commentsPerVideo: [0, 4],
      repliesPerComment: [0, 2],
      followersPerUser: [0, 30],
      followingPerUser: [0, 20],
      historyDays: 60,
      asOf: new Date().toISOString(),
      privateShare: 0,
      clients: { 'tt-key': 'tt-secret' },
    });
    cleanups.push(() => sim.close());
    const client = new TikTokClient({
      baseUrl: sim.baseUrl,
      clientKey: 'tt-key',
      clientSecret: 'tt-secret',
      fetch: retryAfterGuard(),
    });
    const adapters = new Map<string, PlatformAdapter>([
      ['tiktok', new TikTokAdapter({ client, backfillDays: 90 })],
    ]);
    const users = sim.control.usernames();
    // Mid-sync, every issued token expires (401 access_token_invalid): the client takes a new one.
    let expired = false;
    const expire = setInterval(() => {
      if (!expired && sim.control.requests().length >= 15) {
        sim.control.tokens.expireAll();
        expired = true;
      }
    }, 5);
    const run = await syncOnce(db, adapters, {
      platform: 'tiktok',
      accounts: users,
      relations: true,
      rate: { calls: 500, window: '1s' },
    }).finally(() => clearInterval(expire));
    expect(run.status).toBe('SUCCESS');
    expect(expired).toBe(true);
    expect(sim.control.tokens.issued()).toBeGreaterThanOrEqual(2);
    const data = sim.control.dataset({ withComments: true });
    const videos = data.users.flatMap((u) => u.videos);
    expect(videos.some((v) => BigInt(v.id) > BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    expect(await ids(db, 'SELECT external_id AS id FROM social.posts')).toEqual(
      videos.map((v) => v.id).sort(),
    );
    const comments = videos.flatMap((v) => (v.comments ?? []).map((c) => c.id));
    expect(await ids(db, 'SELECT external_id AS id FROM social.comments')).toEqual(comments.sort());
    const follows = data.users.flatMap((u) => [
      ...u.followers.map((f) => `${u.username}|follower|${f.username}`),
      ...u.following.map((f) => `${u.username}|following|${f.username}`),
    ]);
    expect(
      await ids(
        db,
        `SELECT profile_external_id || '|' || relation || '|' || other_external_id AS id FROM social.follows`,
      ),
    ).toEqual(follows.sort());
  });

  it('paces calls to the credential limit: never above N per window, at least 90 % of it over a long sync', async () => {
    const db = await database();
    const limit = { requests: 6, windowMs: 1000 };
    const sim = await startTikTokSimulator({
      seed: 53,
      users: 12,
      videosPerUser: [2, 4],
      commentsPerVideo: [1, 3],
      repliesPerComment: [0, 0],
      historyDays: 25,
      asOf: new Date().toISOString(),
      privateShare: 0,
      clients: { 'tt-key': 'tt-secret' },
      dailyRequestLimit: 100_000,
      rateLimit: limit,
    });
    cleanups.push(() => sim.close());
    const client = new TikTokClient({
      baseUrl: sim.baseUrl,
      clientKey: 'tt-key',
      clientSecret: 'tt-secret',
      fetch: retryAfterGuard(),
    });
    const adapters = new Map<string, PlatformAdapter>([
      ['tiktok', new TikTokAdapter({ client, backfillDays: 30 })],
    ]);
    const run = await syncOnce(
      db,
      adapters,
      {
        platform: 'tiktok',
        accounts: sim.control.usernames(),
        rate: { calls: limit.requests, window: '1s' },
      },
      8,
    ); // enough workers holding slots that a slow step on a busy machine leaves none unused
    expect(run.status).toBe('SUCCESS');
    const windows = sim.control.rate.windows();
    expect(windows.every((w) => w.rejected === 0)).toBe(true);
    expect(sim.control.rate.maxArrived()).toBeLessThanOrEqual(limit.requests);
    // Between the first and the last (partial) windows the sync is never short of work.
    const full = windows.slice(1, -1);
    expect(full.length).toBeGreaterThanOrEqual(6);
    const used = full.reduce((sum, w) => sum + w.arrived, 0) / (full.length * limit.requests);
    process.stdout.write(
      `[rate] ${full.length} full windows, ${(used * 100).toFixed(1)} % of the limit used\n`,
    );
    expect(used).toBeGreaterThanOrEqual(0.9);
  });
});
