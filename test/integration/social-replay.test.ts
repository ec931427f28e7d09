import { afterEach, describe, expect, it } from 'vitest';
import {
  InstagramAdapter,
  InstagramClient,
  replayInstagramRaw,
} from '../../src/connectors/instagram/index.js';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { replayTikTokRaw, TikTokAdapter, TikTokClient } from '../../src/connectors/tiktok/index.js';
import { replayYouTubeRaw, YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { socialReplayRoutes } from '../../src/api/routes/sync.routes.js';
import type { SocialSpecInput } from '../../src/core/social-spec.schema.js';
import { startInstagramSimulator } from '../../src/simulators/instagram/index.js';
import { startTikTokSimulator } from '../../src/simulators/tiktok/index.js';
import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PlatformAdapter, RawPage, StepContext } from '../../src/connectors/connector.js';
import { mergeBatch, replayRawZone, type ReplaySummary } from '../../src/sync/replay.js';
import type { RawPageRow } from '../../src/db/repositories/replay.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { cliEnv, killAllSpawned, runCli } from '../helpers/processes.js';
import { runSocialPipeline, startTestRunner } from '../helpers/runner.js';
import { expectYouTubeTablesMatchTruth } from '../helpers/youtube-truth.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAllSpawned();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return db;
}

/** Runs one social pipeline to its end, then stops the runner: nothing else writes afterwards. */
async function syncOnce(
  db: TestDatabase,
  adapters: Map<string, PlatformAdapter>,
  social: SocialSpecInput,
): Promise<void> {
  const runner = await startTestRunner(db, { sync: { adapters, concurrency: 4, retryBaseMs: 100 } });
  cleanups.push(() => runner.stop());
  const run = await runSocialPipeline(db, `${social.platform}_replay`, social);
  expect(run).toMatchObject({ status: 'SUCCESS', error: null });
  await runner.stop();
}

const TABLES = {
  profiles: 'external_id',
  posts: 'external_id',
  media: 'external_id',
  comments: 'external_id',
  follows: 'profile_external_id, relation, other_external_id',
} as const;

type Snapshot = Record<keyof typeof TABLES, unknown[]>;

/** Every row of the unified tables for a platform, all columns but updated_at. */
async function snapshot(db: TestDatabase, platform: string): Promise<Snapshot> {
  const out: Partial<Snapshot> = {};
  for (const [table, order] of Object.entries(TABLES)) {
    const { rows } = await db.admin.query(
      `SELECT to_jsonb(t) - 'updated_at' AS row FROM social.${table} t WHERE platform = $1 ORDER BY ${order}`,
      [platform],
    );
    out[table as keyof Snapshot] = rows.map((r) => r.row);
  }
  return out as Snapshot;
}

async function rawRange(db: TestDatabase, platform: string): Promise<{ first: Date; last: Date; n: number }> {
  const { rows } = await db.admin.query(
    `SELECT min(fetched_at) AS first, max(fetched_at) AS last, count(*)::int AS n
       FROM social.raw_responses WHERE platform = $1`,
    [platform],
  );
  return rows[0];
}

/** The platform cannot be reached any more: a connection to its base URL is refused. */
async function expectUnreachable(baseUrl: string): Promise<void> {
  await expect(fetch(baseUrl, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
}

const noLimiter: StepContext = { beforeCall: async () => {} };

/** A fetched page's raw responses as replay reads them back (through JSON, as jsonb stores them). */
function asStored(raw: readonly RawPage[], post: string | null): RawPageRow[] {
  return raw.map((r, i) => ({
    id: String(i + 1),
    kind: r.kind,
    external_id: r.externalId,
    payload: JSON.parse(JSON.stringify(r.payload)) as unknown,
    fetched_at: new Date(0),
    fetched_key: '1970-01-01T00:00:00.000000Z',
    task_kind: post === null ? null : 'comments',
    task_external_id: post,
    account_external_id: null,
    job_until: null,
  }));
}

const byId = <T extends { external_id: string }>(rows: readonly T[]): T[] =>
  [...rows].sort((a, b) => a.external_id.localeCompare(b.external_id));

describe('replaying the raw zone', () => {
  it('YouTube: restores corrupted and deleted rows from raw pages alone, with the platform gone', async () => {
    const db = await database();
    const key = 'replay-key';
    const sim: RunningYouTubeSimulator = await startYouTubeSimulator({
      seed: 71,
      channels: 3,
      videosPerChannel: [8, 16],
      commentThreadsPerVideo: [0, 5],
      repliesPerThread: [0, 6],
      inlineReplies: 2,
      apiKeys: [key],
      asOf: new Date(Date.now() - 3_600_000).toISOString(),
    });
    let simOpen = true;
    cleanups.push(async () => {
      if (simOpen) await sim.close();
    });
    const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: key, fetch: retryAfterGuard() });
    const adapter = new YouTubeAdapter({ client, postsPageSize: 5, commentsPageSize: 3 });
    const channels = [0, 1, 2].map((i) => sim.control.channelId(i));
    await syncOnce(db, new Map([['youtube', adapter]]), {
      platform: 'youtube',
      accounts: channels,
      rate: { calls: 1000, window: '1s' },
    });
    await expectYouTubeTablesMatchTruth(db, sim, channels);
    const synced = await snapshot(db, 'youtube');
    const range = await rawRange(db, 'youtube');
    const { rows: kinds } = await db.admin.query<{ kind: string }>(
      `SELECT DISTINCT kind FROM social.raw_responses ORDER BY kind`,
    );
    expect(kinds.map((k) => k.kind)).toEqual(
      expect.arrayContaining(['comments_page', 'posts_page', 'profile', 'replies_page', 'videos']),
    );
    const calls = sim.control.requests().length;

    // The platform goes away before anything is replayed.
    await sim.close();
    simOpen = false;
    await expectUnreachable(sim.baseUrl);

    await db.admin.query(`UPDATE social.posts SET title = 'corrupted', view_count = -1
                           WHERE external_id IN (SELECT external_id FROM social.posts ORDER BY external_id LIMIT 3)`);
    await db.admin.query(`UPDATE social.profiles SET title = NULL
                           WHERE external_id = (SELECT min(external_id) FROM social.profiles)`);
    const deleted = await db.admin.query(
      `DELETE FROM social.comments WHERE external_id IN
         (SELECT external_id FROM social.comments ORDER BY external_id DESC LIMIT 7)`,
    );
    expect(deleted.rowCount).toBe(7);
    await db.admin.query(
      `DELETE FROM social.media WHERE external_id = (SELECT min(external_id) FROM social.media)`,
    );
    // A row the sync marked deleted stays marked (its columns are refreshed): replay never touches deleted_at.
    const { rows: marked } = await db.admin.query<{ external_id: string }>(
      `UPDATE social.comments SET deleted_at = now(), text = 'corrupted'
        WHERE external_id = (SELECT min(external_id) FROM social.comments) RETURNING external_id`,
    );
    const corrupted = await snapshot(db, 'youtube');
    expect(corrupted).not.toEqual(synced);

    // A range that holds none of the pages (before the first, or from after the last) changes nothing.
    const replay = (options: { since?: Date; until?: Date; kind?: string; pagesPerTransaction?: number }) =>
      replayRawZone(
        { pool: db.writer, replay: adapter.replayRaw.bind(adapter) },
        { platform: 'youtube', ...options },
      );
    const before = await replay({ until: range.first });
    const after = await replay({ since: new Date(range.last.getTime() + 1) });
    for (const summary of [before, after]) {
      expect(summary).toMatchObject({ pages: 0, transactions: 0, quarantined: 0 });
      expect(Object.values(summary.rows)).toEqual([0, 0, 0, 0, 0]);
    }
    expect(await snapshot(db, 'youtube')).toEqual(corrupted);
    // Other platforms' pages are not this replay's: none of them exist here, so nothing happens either.
    const instagram = await replayRawZone(
      { pool: db.writer, replay: replayInstagramRaw },
      { platform: 'instagram' },
    );
    expect(instagram.pages).toBe(0);

    // The whole range, 7 pages per transaction: exactly the damaged rows are written back.
    const summary = await replay({
      since: range.first,
      until: new Date(range.last.getTime() + 1),
      pagesPerTransaction: 7,
    });
    expect(summary.pages).toBe(range.n);
    expect(summary.transactions).toBe(Math.ceil(range.n / 7));
    expect(summary.rows).toEqual({ profiles: 1, posts: 3, media: 1, comments: 8, follows: 0 });
    expect(summary.mapped.posts).toBe(synced.posts.length);
    expect(summary.quarantined).toBe(0);
    const restored = await snapshot(db, 'youtube');
    const markedRow = restored.comments.find(
      (c) => (c as { external_id: string }).external_id === marked[0]!.external_id,
    ) as { deleted_at: string | null };
    expect(markedRow.deleted_at).not.toBeNull();
    markedRow.deleted_at = null;
    expect(restored).toEqual(synced);
    expect(sim.control.requests().length).toBe(calls);
    await db.admin.query('UPDATE social.comments SET deleted_at = NULL WHERE external_id = $1', [
      marked[0]!.external_id,
    ]);
    await expectYouTubeTablesMatchTruth(db, sim, channels);

    // Again: every row already holds what the pages say, so nothing is rewritten.
    const again = await replay({ pagesPerTransaction: 50 });
    expect(again.rows).toEqual({ profiles: 0, posts: 0, media: 0, comments: 0, follows: 0 });
    expect(again.pages).toBe(range.n);
  });

  it('YouTube: the later page wins; unreadable pages and bad items are quarantined once; the CLI replays too', async () => {
    const db = await database();
    const sim = await startYouTubeSimulator({
      seed: 72,
      channels: 1,
      videosPerChannel: [4, 6],
      commentThreadsPerVideo: [1, 3],
      repliesPerThread: [0, 2],
      apiKeys: ['k'],
      asOf: new Date(Date.now() - 3_600_000).toISOString(),
    });
    cleanups.push(() => sim.close());
    const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: 'k', fetch: retryAfterGuard() });
    const channel = sim.control.channelId(0);
    await syncOnce(db, new Map([['youtube', new YouTubeAdapter({ client })]]), {
      platform: 'youtube',
      accounts: [channel],
      rate: { calls: 1000, window: '1s' },
    });
    const synced = await snapshot(db, 'youtube');

    // Two more copies of the videos page: one fetched an hour earlier, one a minute later, titles changed.
    const { rows: videos } = await db.admin.query<{
      id: string;
      payload: { items: { id: string; snippet: object }[] };
    }>(`SELECT id, payload FROM social.raw_responses WHERE kind = 'videos' ORDER BY id LIMIT 1`);
    const page = videos[0]!;
    const retitle = (title: string) => ({
      ...page.payload,
      items: page.payload.items.map((v) => ({
        ...v,
        snippet: { ...v.snippet, title },
      })),
    });
    const insertRaw = (kind: string, payload: unknown, offset: string) =>
      db.admin.query(
        `INSERT INTO social.raw_responses (platform, kind, external_id, request, payload, payload_hash, fetched_at)
         SELECT 'youtube', $1, external_id, request, $2, 'test', fetched_at + $3::interval
           FROM social.raw_responses WHERE id = $4`,
        [kind, JSON.stringify(payload), offset, page.id],
      );
    await insertRaw('videos', retitle('older'), '-1 hour');
    await insertRaw('videos', retitle('newer'), '1 minute');
    // An unreadable page, an item without an id, and a kind no transform knows.
    await insertRaw('videos', { items: 'not a list' }, '2 minutes');
    await insertRaw('videos', { items: [{ snippet: { title: 'no id' } }] }, '2 minutes');
    await insertRaw('playlists_page', { items: [] }, '2 minutes');

    const first = await replayRawZone(
      { pool: db.writer, replay: replayYouTubeRaw },
      { platform: 'youtube', pagesPerTransaction: 2 },
    );
    const ids = page.payload.items.map((v) => v.id);
    const { rows: titles } = await db.admin.query<{ title: string }>(
      'SELECT DISTINCT title FROM social.posts WHERE external_id = ANY($1::text[])',
      [ids],
    );
    expect(titles).toEqual([{ title: 'newer' }]);
    // The older copy, the synced page and the newer copy each changed the titles once at most.
    expect(first.rows.posts).toBeGreaterThanOrEqual(ids.length);
    expect(first.rows.posts).toBeLessThanOrEqual(3 * ids.length);
    expect(first.quarantined).toBe(3);
    expect(first.quarantinedNew).toBe(3);
    const { rows: quarantine } = await db.admin.query(`SELECT kind, reason FROM social.quarantine`);
    expect(quarantine).toEqual(
      expect.arrayContaining([
        { kind: 'playlists_page', reason: "no YouTube transform for raw kind 'playlists_page'" },
        { kind: 'videos', reason: 'the payload has no items array' },
      ]),
    );
    expect(quarantine.map((q) => q.kind).sort()).toEqual(['playlists_page', 'post', 'videos']);

    // The same through the CLI, limited to the videos pages: no new quarantine copies, same rows.
    const res = await runCli(
      ['sync', 'replay', '--platform', 'youtube', '--kind', 'videos', '--batch', '3', '--json'],
      cliEnv(db.adminUrl),
    );
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const cli = JSON.parse(res.stdout) as ReplaySummary;
    const videoPages = Number(
      (await db.admin.query(`SELECT count(*) FROM social.raw_responses WHERE kind = 'videos'`)).rows[0].count,
    );
    expect(cli).toMatchObject({ platform: 'youtube', kind: 'videos', pages: videoPages, quarantinedNew: 0 });
    expect(cli.quarantined).toBe(2);
    expect(cli.rows.posts).toBe(0);
    const { rows: quarantineAfter } = await db.admin.query(
      'SELECT count(*)::int AS n FROM social.quarantine',
    );
    expect(quarantineAfter[0].n).toBe(3);

    // Only the pages before the copies: the synced titles come back.
    const oldest = (await rawRange(db, 'youtube')).first;
    const { rows: copies } = await db.admin.query<{ first: Date }>(
      `SELECT min(c.fetched_at) AS first FROM social.raw_responses c, social.raw_responses o
        WHERE o.id = $1 AND c.payload_hash = 'test' AND c.fetched_at > o.fetched_at`,
      [page.id],
    );
    const upToSync = await replayRawZone(
      { pool: db.writer, replay: replayYouTubeRaw },
      { platform: 'youtube', since: oldest, until: copies[0]!.first },
    );
    expect(upToSync.rows.posts).toBe(ids.length);
    expect(await snapshot(db, 'youtube')).toEqual(synced);
  });

  it('YouTube: replaying a fetched page gives exactly the rows the fetch gave', async () => {
    const sim = await startYouTubeSimulator({
      seed: 73,
      channels: 2,
      videosPerChannel: [6, 10],
      commentThreadsPerVideo: [3, 6],
      repliesPerThread: [3, 8],
      inlineReplies: 2,
      apiKeys: ['k'],
    });
    cleanups.push(() => sim.close());
    const adapter = new YouTubeAdapter({
      client: new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: 'k' }),
      postsPageSize: 5,
      commentsPageSize: 4,
    });
    for (const channel of [0, 1].map((i) => sim.control.channelId(i))) {
      const account = { external_id: channel, handle: null };
      const profile = await adapter.fetchProfile(noLimiter, account);
      if (!profile.ok) throw new Error(profile.error.message);
      expect(mergeBatch('youtube', asStored(profile.value.raw, null), replayYouTubeRaw).profiles).toEqual([
        profile.value.profile,
      ]);
      const posts = await adapter.fetchPostsPage(noLimiter, account, profile.value.postsSource!, null);
      if (!posts.ok) throw new Error(posts.error.message);
      const replayedPosts = mergeBatch('youtube', asStored(posts.value.raw, null), replayYouTubeRaw);
      expect(posts.value.posts.length).toBeGreaterThan(0);
      expect(byId(replayedPosts.posts)).toEqual(byId(posts.value.posts));
      expect(byId(replayedPosts.media)).toEqual(byId(posts.value.media));
      const video = posts.value.commentable[0]!;
      const comments = await adapter.fetchCommentsPage(noLimiter, account, video, null);
      if (!comments.ok) throw new Error(comments.error.message);
      expect(comments.value.raw.map((r) => r.kind)).toContain('replies_page');
      const replayed = mergeBatch('youtube', asStored(comments.value.raw, video), replayYouTubeRaw);
      expect(byId(replayed.comments)).toEqual(byId(comments.value.comments));
      expect(replayed.quarantined).toEqual([]);
    }
  });

  it('Instagram: posts, carousel children, comments and paged replies come back from the raw zone', async () => {
    const db = await database();
    const sim = await startInstagramSimulator({
      seed: 74,
      accounts: 3,
      ownAccounts: 3,
      mediaPerAccount: [3, 8],
      commentsPerMedia: [1, 4],
      repliesPerComment: [0, 6],
      nestedLimit: 2,
      accessTokens: ['ig-token'],
    });
    let simOpen = true;
    cleanups.push(async () => {
      if (simOpen) await sim.close();
    });
    const client = new InstagramClient({
      baseUrl: sim.baseUrl,
      accessToken: 'ig-token',
      fetch: retryAfterGuard(),
    });
    const adapter = new InstagramAdapter({
      client,
      userId: sim.userId,
      postsPageSize: 4,
      repliesPageSize: 2,
    });
    const truth = sim.control.truth.all();
    await syncOnce(db, new Map([['instagram', adapter]]), {
      platform: 'instagram',
      accounts: truth.map((t) => t.account.id),
      rate: { calls: 500, window: '1s' },
    });
    const synced = await snapshot(db, 'instagram');
    expect(synced.comments.length).toBeGreaterThan(0);
    const { rows: replies } = await db.admin.query(
      `SELECT count(*)::int AS n FROM social.raw_responses WHERE kind = 'replies_page'`,
    );
    expect(replies[0].n).toBeGreaterThan(0);
    await sim.close();
    simOpen = false;
    await expectUnreachable(sim.baseUrl);

    await db.admin.query('DELETE FROM social.comments');
    await db.admin.query('DELETE FROM social.media');
    await db.admin.query(`UPDATE social.posts SET like_count = 0, url = NULL`);
    // Through the API: an operator's POST /social/replay, served with a writer pool.
    const app = await buildTestApp(db);
    cleanups.push(() => app.close());
    socialReplayRoutes(app, { writerPool: db.writer, replayers: { instagram: replayInstagramRaw } });
    const post = (token: string, body: object) =>
      app.inject({ method: 'POST', url: '/social/replay', headers: as(token), payload: body });
    expect((await post(VIEWER, { platform: 'instagram' })).statusCode).toBe(403);
    const backwards = await post(OPERATOR, {
      platform: 'instagram',
      since: '2024-02-01T00:00:00Z',
      until: '2024-01-01T00:00:00Z',
    });
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().error.code).toBe('SIPHON_ERR_REQUEST_INVALID');
    expect((await post(OPERATOR, { platform: 'myspace' })).statusCode).toBe(400);
    expect((await post(OPERATOR, { platform: 'tiktok' })).statusCode).toBe(400);
    expect(await snapshot(db, 'instagram')).not.toEqual(synced);
    const res = await post(OPERATOR, { platform: 'instagram', batch: 5 });
    expect(res.statusCode, res.body).toBe(200);
    const summary = res.json() as ReplaySummary;
    expect(summary.transactions).toBe(Math.ceil(summary.pages / 5));
    expect(summary.rows.comments).toBe(synced.comments.length);
    expect(summary.rows.media).toBe(synced.media.length);
    expect(summary.quarantined).toBe(0);
    expect(await snapshot(db, 'instagram')).toEqual(synced);
  });

  it('TikTok: 64-bit ids are stored as exact strings in the raw zone and come back exact', async () => {
    const db = await database();
    const sim = await startTikTokSimulator({
      seed: 75,
      users: 3,
      videosPerUser: [3, 8],
      commentsPerVideo: [0, 4],
      repliesPerComment: [0, 2],
      followersPerUser: [0, 20],
      followingPerUser: [0, 10],
      historyDays: 60,
      asOf: new Date().toISOString(),
      privateShare: 0,
      clients: { 'tt-key': 'tt-secret' },
    });
    let simOpen = true;
    cleanups.push(async () => {
      if (simOpen) await sim.close();
    });
    const client = new TikTokClient({
      baseUrl: sim.baseUrl,
      clientKey: 'tt-key',
      clientSecret: 'tt-secret',
      fetch: retryAfterGuard(),
    });
    const adapter = new TikTokAdapter({ client, backfillDays: 90 });
    await syncOnce(db, new Map([['tiktok', adapter]]), {
      platform: 'tiktok',
      accounts: sim.control.usernames(),
      relations: true,
      rate: { calls: 500, window: '1s' },
    });
    const data = sim.control.dataset({ withComments: true });
    const videos = data.users.flatMap((u) => u.videos.map((v) => v.id));
    const big = videos.filter((id) => BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER));
    expect(big.length).toBeGreaterThan(0);
    // The evidence: in the stored payloads every video and comment id is a JSON string, digit for digit.
    const { rows: stored } = await db.admin.query<{ type: string; id: string }>(
      `SELECT jsonb_typeof(v->'id') AS type, v->>'id' AS id
         FROM social.raw_responses r,
              jsonb_array_elements(coalesce(r.payload->'data'->'videos', r.payload->'data'->'comments')) v
        WHERE r.kind IN ('posts_page', 'comments_page')`,
    );
    expect(new Set(stored.map((s) => s.type))).toEqual(new Set(['string']));
    expect(stored.map((s) => s.id)).toEqual(expect.arrayContaining(big));
    const synced = await snapshot(db, 'tiktok');
    await sim.close();
    simOpen = false;
    await expectUnreachable(sim.baseUrl);

    await db.admin.query('DELETE FROM social.posts WHERE external_id = ANY($1::text[])', [big]);
    await db.admin.query('DELETE FROM social.comments');
    await db.admin.query('DELETE FROM social.follows');
    await db.admin.query('UPDATE social.profiles SET subscriber_count = NULL');
    const summary = await replayRawZone(
      { pool: db.writer, replay: replayTikTokRaw },
      { platform: 'tiktok', pagesPerTransaction: 4 },
    );
    expect(summary.rows).toMatchObject({
      posts: big.length,
      comments: synced.comments.length,
      follows: synced.follows.length,
    });
    expect(summary.quarantined).toBe(0);
    expect(await snapshot(db, 'tiktok')).toEqual(synced);
    const { rows: posts } = await db.admin.query<{ id: string }>(
      'SELECT external_id AS id FROM social.posts',
    );
    expect(posts.map((p) => p.id).sort()).toEqual([...videos].sort());
  });
});
