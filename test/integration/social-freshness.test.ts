import { afterEach, describe, expect, it } from 'vitest';
import { InstagramAdapter, InstagramClient } from '../../src/connectors/instagram/index.js';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { TikTokAdapter, TikTokClient } from '../../src/connectors/tiktok/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { startInstagramSimulator } from '../../src/simulators/instagram/index.js';
import { startTikTokSimulator } from '../../src/simulators/tiktok/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { requestRun, runSocialPipeline, startTestRunner, waitForStatus } from '../helpers/runner.js';

// After changes on the platform (counter drift, an edited caption, a deleted post with its comments
// and children, a deleted comment, a new reply), ONE regular sync leaves social.* equal to the
// simulator's ground truth, field by field, for everything the pipeline's policy covers (here
// refresh "all" and comments "all": every post and every comment of the account).

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

async function syncAgain(db: TestDatabase, name: string): Promise<string> {
  const { rows: found } = await db.admin.query<{ id: string }>(
    'SELECT id FROM etl.etl_pipelines WHERE name = $1',
    [name],
  );
  const id = found[0]!.id;
  await requestRun(db, id);
  await waitForStatus(db, id, ['RUNNING', 'IDLE', 'FAILED'], 10_000);
  await waitForStatus(db, id, ['IDLE', 'FAILED'], 120_000);
  const { rows } = await db.admin.query<{ status: string }>(
    'SELECT status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
    [id],
  );
  return rows[0]!.status;
}

/** Rows of a social table keyed by external_id, with numbers as numbers and times as ISO strings. */
async function table(db: TestDatabase, sql: string): Promise<Map<string, Record<string, unknown>>> {
  const { rows } = await db.admin.query<Record<string, unknown> & { external_id: string }>(sql);
  return new Map(rows.map((r) => [r.external_id, r]));
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

describe('one regular sync brings social.* back to the platform, field by field', () => {
  it('Instagram: drifted counters, an edited caption, a deleted carousel with its comments and children, comment changes', async () => {
    const sim = await startInstagramSimulator({
      seed: 71,
      accounts: 3,
      ownAccounts: 1,
      mediaPerAccount: [6, 12],
      commentsPerMedia: [1, 4],
      repliesPerComment: [0, 2],
      accessTokens: ['ig-token'],
    });
    cleanups.push(() => sim.close());
    const client = new InstagramClient({
      baseUrl: sim.baseUrl,
      accessToken: 'ig-token',
      fetch: retryAfterGuard(),
    });
    const db = await setUp(
      new Map([['instagram', new InstagramAdapter({ client, userId: sim.userId, postsPageSize: 5 })]]),
    );
    const accounts = sim.control.truth
      .all()
      .filter((t) => t.account.professional)
      .map((t) => t.account.id);
    expect(accounts.length).toBeGreaterThanOrEqual(2);
    // Business discovery reads other accounts by username (the own one answers to it too).
    const usernames = accounts.map((id) => sim.control.truth.account(id)!.username);
    const first = await runSocialPipeline(db, 'ig_fresh', {
      platform: 'instagram',
      accounts: usernames,
      comments: 'all',
      rate: { calls: 500, window: '1s' },
    });
    expect(first).toMatchObject({ status: 'SUCCESS', error: null });

    // Changes on the platform, on old media (far outside any lookback) as much as on new ones.
    const dumps = accounts.map((id) => sim.control.truth.dump(id));
    for (const [round, id] of accounts.entries()) sim.control.driftCounters(id, round + 1);
    const media = dumps.flatMap((d) => d.media);
    const ownMedia = dumps.filter((d) => d.account.own).flatMap((d) => d.media);
    const oldest = [...media].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    const edited = oldest[0]!;
    sim.control.editCaption(edited.id, 'caption edited two years later');
    const ownOldest = oldest.filter((m) => ownMedia.includes(m));
    const gone =
      ownOldest.find((m) => m.id !== edited.id && m.children.length > 0 && m.comments.length > 0) ??
      ownOldest.find((m) => m.id !== edited.id && m.comments.length > 0)!;
    sim.control.deleteMedia(gone.id);
    const withComments = ownOldest.filter((m) => m.id !== gone.id && m.comments.length > 0);
    const removedThread = withComments[0]!.comments[0]!;
    const removed = [removedThread.id, ...removedThread.replies.map((r) => r.id)];
    sim.control.deleteComment(removedThread.id);
    const target = withComments.at(-1)!;
    const reply = sim.control.addComment(target.id, {
      text: 'a new reply on an old post',
      parentId: target.comments.at(-1)!.id,
    });

    expect(await syncAgain(db, 'ig_fresh')).toBe('SUCCESS');

    const profiles = await table(
      db,
      `SELECT external_id, handle, title, description, subscriber_count::int, post_count::int, deleted_at
         FROM social.profiles`,
    );
    for (const id of accounts) {
      const a = sim.control.truth.account(id)!;
      expect(profiles.get(id), `profile ${id}`).toEqual({
        external_id: id,
        handle: a.username,
        title: a.name,
        description: a.biography,
        subscriber_count: a.followersCount,
        post_count: a.mediaCount,
        deleted_at: null,
      });
    }
    const posts = await table(
      db,
      `SELECT external_id, profile_external_id, description, like_count::int, comment_count::int, url,
              to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS published_at, deleted_at
         FROM social.posts WHERE media_type IS DISTINCT FROM 'STORY'`,
    );
    const live = accounts.flatMap((id) => sim.control.truth.media(id));
    expect(live).not.toContain(gone.id);
    for (const id of live) {
      const m = sim.control.truth.mediaItem(id)!;
      expect(posts.get(id), `post ${id}`).toEqual({
        external_id: id,
        profile_external_id: m.ownerId,
        description: m.caption,
        like_count: m.likeCount,
        comment_count: m.commentsCount,
        url: m.permalink,
        published_at: m.timestamp.replace(/\.\d{3}Z$|\+0000$/, 'Z'),
        deleted_at: null,
      });
    }
    expect(posts.get(edited.id)!.description).toBe('caption edited two years later');
    // The deleted carousel is kept, marked, with its comments and children.
    expect(posts.get(gone.id)!.deleted_at).not.toBeNull();
    expect([...posts.keys()].sort()).toEqual([...live, gone.id].sort());

    const comments = await table(
      db,
      `SELECT external_id, post_external_id, parent_external_id, text, like_count::int, deleted_at IS NOT NULL AS deleted
         FROM social.comments`,
    );
    // Comments are readable on the token's own accounts only (business discovery gives other
    // accounts' comments_count, never the comments): the policy covers those.
    const own = new Set(accounts.filter((id) => sim.control.truth.account(id)!.own));
    const liveComments = live
      .filter((id) => own.has(sim.control.truth.mediaItem(id)!.ownerId))
      .flatMap((id) => sim.control.truth.comments(id).flatMap((c) => [c.id, ...c.replyIds]));
    expect(liveComments).toContain(reply);
    for (const id of liveComments) {
      const c = sim.control.truth.comment(id)!;
      expect(comments.get(id), `comment ${id}`).toEqual({
        external_id: id,
        post_external_id: c.mediaId,
        parent_external_id: c.parentId,
        text: c.text,
        like_count: c.likeCount,
        deleted: false,
      });
    }
    const goneComments = gone.comments.flatMap((c) => [c.id, ...c.replies.map((r) => r.id)]);
    // A deleted comment goes with its replies.
    for (const id of [...removed, ...goneComments]) expect(comments.get(id)?.deleted, id).toBe(true);
    expect(comments.size).toBe(liveComments.length + goneComments.length + removed.length);
    const children = await table(
      db,
      'SELECT external_id, deleted_at IS NOT NULL AS deleted FROM social.media',
    );
    for (const child of gone.children) expect(children.get(child.id)?.deleted, child.id).toBe(true);
    for (const id of live)
      for (const child of sim.control.truth.mediaItem(id)!.children)
        expect(children.get(child.id)?.deleted, child.id).toBe(false);
  });

  it('TikTok (refresh "all"): drifted counters and followers, a deleted old video with its comments, comment changes', async () => {
    const sim = await startTikTokSimulator({
      seed: 72,
      users: 3,
      videosPerUser: [5, 12],
      commentsPerVideo: [1, 4],
      repliesPerComment: [0, 2],
      followersPerUser: [0, 0],
      followingPerUser: [0, 0],
      historyDays: 400,
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
    const db = await setUp(new Map([['tiktok', new TikTokAdapter({ client })]]));
    const users = sim.control.usernames();
    const first = await runSocialPipeline(db, 'tt_fresh', {
      platform: 'tiktok',
      accounts: users,
      refresh: 'all',
      comments: 'all',
      rate: { calls: 500, window: '1s' },
    });
    expect(first).toMatchObject({ status: 'SUCCESS', error: null });

    for (const user of users) sim.control.driftCounters(user, 3);
    const videos = users.flatMap((u) => sim.control.videos(u));
    const oldest = [...videos].sort((a, b) => a.createTime - b.createTime);
    const gone = oldest.find((v) => sim.control.comments(v.id).length > 0)!;
    const goneComments = sim.control.comments(gone.id).map((c) => c.id);
    sim.control.deleteVideo(gone.id);
    const withComments = oldest.filter((v) => v.id !== gone.id && sim.control.comments(v.id).length > 0);
    const thread = sim.control.comments(withComments[0]!.id);
    const removedComment = thread.find((c) => c.parentId === null)!.id;
    const removed = [removedComment, ...thread.filter((c) => c.parentId === removedComment).map((c) => c.id)];
    sim.control.deleteComment(removedComment);
    const target = withComments.at(-1)!;
    const parent = sim.control.comments(target.id).find((c) => c.parentId === null)!;
    const reply = sim.control.addComment(target.id, { text: 'a late reply', parentId: parent.id });

    expect(await syncAgain(db, 'tt_fresh')).toBe('SUCCESS');

    const profiles = await table(
      db,
      'SELECT external_id, title, description, subscriber_count::int, post_count::int FROM social.profiles',
    );
    for (const username of users) {
      const u = sim.control.user(username)!;
      expect(profiles.get(username), username).toEqual({
        external_id: username,
        title: u.displayName,
        description: u.bio,
        subscriber_count: u.followerCount,
        post_count: u.videoCount,
      });
    }
    const posts = await table(
      db,
      `SELECT external_id, profile_external_id, description, view_count::int, like_count::int, comment_count::int,
              duration_seconds, to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS published_at,
              deleted_at
         FROM social.posts`,
    );
    const live = users.flatMap((u) => sim.control.videos(u));
    for (const v of live) {
      expect(posts.get(v.id), `video ${v.id}`).toEqual({
        external_id: v.id,
        profile_external_id: v.username,
        description: v.description,
        view_count: v.viewCount,
        like_count: v.likeCount,
        comment_count: v.commentCount,
        duration_seconds: v.durationSec,
        published_at: iso(v.createTime),
        deleted_at: null,
      });
    }
    expect(posts.get(gone.id)!.deleted_at).not.toBeNull();
    expect(posts.size).toBe(live.length + 1);

    const comments = await table(
      db,
      `SELECT external_id, post_external_id, parent_external_id, text, like_count::int,
              deleted_at IS NOT NULL AS deleted FROM social.comments`,
    );
    const liveComments = live.flatMap((v) => sim.control.comments(v.id));
    expect(liveComments.map((c) => c.id)).toContain(reply);
    for (const c of liveComments) {
      expect(comments.get(c.id), `comment ${c.id}`).toEqual({
        external_id: c.id,
        post_external_id: c.videoId,
        parent_external_id: c.parentId,
        text: c.text,
        like_count: c.likeCount,
        deleted: false,
      });
    }
    // A deleted comment goes with its replies (the Research API lists neither any more).
    for (const id of [...removed, ...goneComments]) expect(comments.get(id)?.deleted, id).toBe(true);
    expect(comments.size).toBe(liveComments.length + goneComments.length + removed.length);
  });
});
