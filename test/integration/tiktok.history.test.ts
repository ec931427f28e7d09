import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TikTokAdapter, TikTokClient } from '../../src/connectors/tiktok/index.js';
import type { PostsPage, StepContext } from '../../src/connectors/connector.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { createTestDatabase } from '../helpers/db.js';
import { runSocialPipeline, startTestRunner } from '../helpers/runner.js';
import { startTikTokSimulator, type RunningTikTokSimulator } from '../../src/simulators/tiktok/index.js';

/** 2026-03-04 18:30 UTC, read by the simulator and the adapter alike. */
const NOW = Date.parse('2026-03-04T18:30:00Z');
const DAY = 86_400_000;
let sim: RunningTikTokSimulator;

beforeAll(async () => {
  sim = await startTikTokSimulator({
    seed: 71,
    users: 2,
    videosPerUser: [20, 30],
    commentsPerVideo: [0, 0],
    repliesPerComment: [0, 0],
    followersPerUser: [0, 0],
    followingPerUser: [0, 0],
    historyDays: 1100,
    asOf: new Date(NOW).toISOString(),
    privateShare: 0,
    clients: { 'tt-key': 'tt-secret' },
    now: () => NOW,
  });
});
afterAll(async () => {
  await sim.close();
});

function adapter(): TikTokAdapter {
  const client = new TikTokClient({
    baseUrl: sim.baseUrl,
    clientKey: 'tt-key',
    clientSecret: 'tt-secret',
    now: () => NOW,
  });
  return new TikTokAdapter({ client, now: () => NOW, videoPageSize: 10 });
}

async function walk(a: TikTokAdapter, username: string, ctx: StepContext) {
  const profile = await a.fetchProfile(ctx, { external_id: username, handle: null });
  if (!profile.ok) throw new Error(profile.error.message);
  const pages: PostsPage[] = [];
  let cursor: string | null = null;
  do {
    const page = await a.fetchPostsPage(
      ctx,
      { external_id: username, handle: null },
      profile.value.postsSource!,
      cursor,
    );
    if (!page.ok) throw new Error(page.error.message);
    pages.push(page.value);
    cursor = page.value.nextCursor;
  } while (cursor !== null && pages.length < 500);
  return pages;
}

describe('TikTok: the whole history, not the last 180 days', () => {
  it('a first sync reads every video of a three-year history once, across silent months, and stops at the video_count', async () => {
    const username = sim.control.usernames()[0]!;
    // A silent stretch: a video 2.5 years back, nothing for the eight months after it.
    const old = sim.control.addVideo(username, {
      description: 'from long ago',
      createTime: Math.floor((NOW - 900 * DAY) / 1000),
    });
    const truth = sim.control.videos(username);
    expect(truth.some((v) => v.createTime * 1000 < NOW - 2 * 365 * DAY)).toBe(true);
    const calls: string[] = [];
    const pages = await walk(adapter(), username, { beforeCall: async (m) => void calls.push(m) });
    const got = pages.flatMap((p) => p.posts.map((r) => r.external_id));
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual(truth.map((v) => v.id).sort());
    expect(got).toContain(old);
    // The walk ended when it had read video_count videos: well before TikTok's launch (~116 windows).
    const oldest = Math.min(...truth.map((v) => v.createTime * 1000));
    const windows = calls.filter((m) => m === 'research/video/query').length;
    expect(windows).toBeLessThanOrEqual(
      Math.ceil((NOW - oldest) / (30 * DAY)) + 1 + Math.ceil(truth.length / 10),
    );
    expect(windows).toBeLessThan(80);
  });

  it("a pipeline's historySince stops the walk at its date", async () => {
    const username = sim.control.usernames()[1]!;
    const since = NOW - 365 * DAY;
    const pages = await walk(adapter(), username, { beforeCall: async () => {}, historySince: since });
    const got = pages.flatMap((p) => p.posts.map((r) => r.external_id)).sort();
    const floorDay = Date.parse(new Date(since).toISOString().slice(0, 10));
    const expected = sim.control
      .videos(username)
      .filter((v) => v.createTime * 1000 >= floorDay)
      .map((v) => v.id)
      .sort();
    expect(expected.length).toBeLessThan(sim.control.videos(username).length);
    expect(got).toEqual(expected);
  });

  it('a social pipeline with history: "365d" syncs exactly the last year of an account (the engine passes it on)', async () => {
    const db = await createTestDatabase();
    const runner = await startTestRunner(db, {
      sync: { adapters: new Map<string, PlatformAdapter>([['tiktok', adapter()]]), concurrency: 2 },
    });
    try {
      const username = sim.control.usernames()[1]!;
      const run = await runSocialPipeline(db, 'tt_history', {
        platform: 'tiktok',
        accounts: [username],
        history: '365d',
        comments: 'none',
        rate: { calls: 500, window: '1s' },
      });
      expect(run.status).toBe('SUCCESS');
      // The engine's clock is the real one: a year back from now reaches past the simulator's "today".
      const floor = Date.now() - 365 * DAY;
      const floorDay = Date.parse(new Date(floor).toISOString().slice(0, 10));
      const expected = sim.control
        .videos(username)
        .filter((v) => v.createTime * 1000 >= floorDay)
        .map((v) => v.id)
        .sort();
      const stored = await db.admin.query<{ id: string }>(
        'SELECT external_id AS id FROM social.posts ORDER BY 1',
      );
      expect(stored.rows.map((r) => r.id)).toEqual(expected);
      expect(expected.length).toBeLessThan(sim.control.videos(username).length);
    } finally {
      await runner.stop();
      await db.drop();
    }
  });
});
