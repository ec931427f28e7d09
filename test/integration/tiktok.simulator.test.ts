import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  mapVideo,
  parseTikTokJson,
  researchDate,
  researchDateMs,
  TikTokAdapter,
  TikTokClient,
  type TikTokAdapterOptions,
  type TikTokClientOptions,
} from '../../src/connectors/tiktok/index.js';
import {
  startTikTokSimulator,
  tiktokErrorBodies,
  type RunningTikTokSimulator,
} from '../../src/simulators/tiktok/index.js';
import type {
  AccountRef,
  CommentsPage,
  FollowsPage,
  PostsPage,
  StepContext,
  StepResult,
} from '../../src/connectors/connector.js';
import type { PostRow } from '../../src/connectors/connector.js';

const KEY = 'integration-key';
const SECRET = 'integration-secret-0123456789';
const DAY = 86_400_000;

/** Both sides read this clock; 2026-03-04 18:30 UTC. */
const clock = { now: Date.parse('2026-03-04T18:30:00Z') };
const now = () => clock.now;
let sim: RunningTikTokSimulator;
/** Every Authorization header the client sent, to prove tokens never leak into results. */
const seenTokens = new Set<string>();

const recordingFetch: typeof fetch = (input, init) => {
  const auth = new Headers(init?.headers).get('authorization');
  if (auth) seenTokens.add(auth.replace(/^Bearer /, ''));
  return fetch(input, init);
};

function client(options: Partial<TikTokClientOptions> = {}): TikTokClient {
  return new TikTokClient({
    baseUrl: sim.baseUrl,
    clientKey: KEY,
    clientSecret: SECRET,
    timeoutMs: 2000,
    fetch: recordingFetch,
    now,
    ...options,
  });
}

function adapter(options: Partial<TikTokAdapterOptions> = {}): TikTokAdapter {
  return new TikTokAdapter({ client: options.client ?? client(), now, ...options });
}

/** A step context that records every beforeCall. */
function context(): StepContext & { calls: string[] } {
  const calls: string[] = [];
  return { calls, beforeCall: async (method) => void calls.push(method) };
}

const account = (username: string): AccountRef => ({ external_id: username, handle: null });

function value<T>(result: StepResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** Reads the posts stream to its end (or `maxPages`); returns the pages. */
async function allPosts(
  a: TikTokAdapter,
  username: string,
  options: { cursor?: string | null; maxPages?: number; ctx?: StepContext } = {},
): Promise<{ pages: PostsPage[]; cursor: string | null }> {
  const pages: PostsPage[] = [];
  let cursor = options.cursor ?? null;
  do {
    const page = value(await a.fetchPostsPage(options.ctx ?? context(), account(username), username, cursor));
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < (options.maxPages ?? 1000));
  return { pages, cursor };
}

const ids = (pages: readonly PostsPage[]) => pages.flatMap((p) => p.posts.map((r) => r.external_id));

/** Live videos of the user inside the adapter's horizon (today and `days` before it, UTC). */
function expectedIds(username: string, days: number): string[] {
  const floor = researchDateMs(
    new Date(clock.now - days * DAY).toISOString().slice(0, 10).replaceAll('-', ''),
  );
  return sim.control
    .videos(username)
    .filter((v) => v.createTime * 1000 >= floor)
    .map((v) => v.id)
    .sort();
}

let busiest: string | undefined;
/** The public user with the most videos in the last 180 days (chosen once). */
function busiestUser(): string {
  if (busiest === undefined) {
    const counts = sim.control
      .usernames()
      .filter((u) => !sim.control.user(u)!.isPrivate)
      .map((u) => [u, expectedIds(u, 180).length] as const);
    busiest = counts.sort((a, b) => b[1] - a[1])[0]![0];
  }
  return busiest;
}

const requests = () => sim.control.requests();
const since = (n: number) => requests().slice(n);

beforeAll(async () => {
  sim = await startTikTokSimulator({
    seed: 7,
    users: 30,
    videosPerUser: [20, 160],
    commentsPerVideo: [0, 40],
    historyDays: 400,
    asOf: '2026-03-04T12:00:00Z',
    clients: { [KEY]: SECRET, 'other-key': 'other-secret' },
    searchTtlMs: 60_000,
    now,
  });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  clock.now = Date.parse('2026-03-04T18:30:00Z');
  sim.control.faults.clear();
  sim.control.quota.reset();
  sim.control.rate.setLimit(undefined);
});

describe('token flow', () => {
  it('fetches one client token, reuses it, renews it before expiry, and calls beforeCall for each request', async () => {
    const c = client();
    const ctx = context();
    const a = adapter({ client: c });
    const issued = sim.control.tokens.issued();
    const user = sim.control.usernames()[0]!;
    const start = requests().length;
    await a.fetchFollowsPage(ctx, account(user), 'following', null);
    await a.fetchFollowsPage(ctx, account(user), 'following', null);
    expect(sim.control.tokens.issued()).toBe(issued + 1);
    expect(ctx.calls).toEqual(['oauth/token', 'research/user/following', 'research/user/following']);
    expect(c.tokenExpiresAt).toBe(clock.now + 7200_000);

    // Within the renewal margin (60 s before expiry) the next call fetches a new token first.
    clock.now += 7200_000 - 30_000;
    await a.fetchFollowsPage(ctx, account(user), 'following', null);
    expect(sim.control.tokens.issued()).toBe(issued + 2);
    expect(ctx.calls.slice(3)).toEqual(['oauth/token', 'research/user/following']);
    expect(since(start).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it('a token the API rejects (401 access_token_invalid) is renewed once and the call retried', async () => {
    const c = client();
    const ctx = context();
    const user = sim.control.usernames()[1]!;
    value(await adapter({ client: c }).fetchFollowsPage(ctx, account(user), 'follower', null));
    sim.control.tokens.expireAll();
    const start = requests().length;
    ctx.calls.length = 0;
    const page = value(await adapter({ client: c }).fetchFollowsPage(ctx, account(user), 'follower', null));
    expect(page.follows.length).toBeGreaterThan(0);
    expect(since(start).map((r) => `${r.endpoint} ${r.status} ${r.code}`)).toEqual([
      'research/user/followers 401 access_token_invalid',
      'oauth/token 200 ok',
      'research/user/followers 200 ok',
    ]);
    expect(ctx.calls).toEqual(['research/user/followers', 'oauth/token', 'research/user/followers']);

    // A second 401 in a row is an auth failure, not a loop.
    sim.control.faults.respondNext(2, tiktokErrorBodies.accessTokenInvalid(), 'research/user/followers');
    const failed = await adapter({ client: c }).fetchFollowsPage(ctx, account(user), 'follower', null);
    expect(!failed.ok && failed.error).toMatchObject({
      kind: 'auth',
      code: 'SIPHON_ERR_CONNECTOR_AUTH',
      httpStatus: 401,
    });
  });

  it('a wrong secret is an auth failure of oauth/token; neither secret nor token appears in any result', async () => {
    const wrong = client({ clientSecret: 'wrong-secret-value' });
    const result = await adapter({ client: wrong }).fetchProfile(context(), account(busiestUser()));
    expect(!result.ok && result.error).toMatchObject({
      kind: 'auth',
      code: 'SIPHON_ERR_CONNECTOR_AUTH',
      method: 'oauth/token',
      httpStatus: 401,
      message: 'Client key or secret is incorrect.',
    });

    const c = client();
    const a = adapter({ client: c, videoPageSize: 20 });
    const username = busiestUser();
    const outputs: unknown[] = [
      result,
      c,
      await a.fetchProfile(context(), account(username)),
      await allPosts(a, username, { maxPages: 3 }),
      await c.queryVideos({ username, startDate: '20260101', endDate: '20260301' }),
    ];
    const text = JSON.stringify(outputs) + String(c);
    expect(seenTokens.size).toBeGreaterThan(0);
    for (const secret of [SECRET, 'wrong-secret-value', ...seenTokens]) expect(text).not.toContain(secret);
  });
});

describe('posts: date windows, cursor + search_id paging', () => {
  it('reads every video of the last 180 days exactly once, newest window first, and ends exactly', async () => {
    const username = busiestUser();
    const expected = expectedIds(username, 180);
    expect(expected.length).toBeGreaterThan(30);
    const ctx = context();
    const start = requests().length;
    const { pages } = await allPosts(adapter({ videoPageSize: 10, backfillDays: 180 }), username, { ctx });
    const got = ids(pages);
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual(expected);
    expect(pages.at(-1)!.nextCursor).toBeNull();

    // One request per page (plus the token), every one of them answered 200: no call wasted.
    const calls = since(start).filter((r) => r.endpoint === 'research/video/query');
    expect(calls.length).toBe(pages.length);
    expect(calls.every((r) => r.status === 200)).toBe(true);
    expect(ctx.calls.filter((m) => m === 'research/video/query').length).toBe(pages.length);

    // Windows: 30 days at most, newest first; oldestPublishedAt only on a window's last page.
    const windows = pages.map(
      (p) => p.raw[0]!.request.params as { body: { start_date: string; end_date: string } },
    );
    for (const [i, page] of pages.entries()) {
      const { start_date, end_date } = windows[i]!.body;
      expect(researchDateMs(end_date) - researchDateMs(start_date)).toBeLessThanOrEqual(29 * DAY);
      const lastOfWindow = i === pages.length - 1 || windows[i + 1]!.body.start_date !== start_date;
      expect(page.oldestPublishedAt).toBe(lastOfWindow ? researchDateMs(start_date) : null);
      for (const post of page.posts)
        expect(Date.parse(post.published_at!)).toBeGreaterThanOrEqual(researchDateMs(start_date));
    }
    const starts = [...new Set(windows.map((w) => w.body.start_date))];
    expect(starts).toEqual([...starts].sort().reverse());
    expect(starts.length).toBe(7); // 181 days: six windows of 30 and one of 1
  });

  it('a stored cursor resumes on exactly the next page, from a new adapter', async () => {
    const username = busiestUser();
    const first = await allPosts(adapter({ videoPageSize: 7, backfillDays: 180 }), username, { maxPages: 4 });
    expect(first.cursor).toMatch(/^tt3:/);
    const rest = await allPosts(adapter({ videoPageSize: 7, backfillDays: 180 }), username, {
      cursor: first.cursor,
    });
    const got = [...ids(first.pages), ...ids(rest.pages)];
    expect(new Set(got).size).toBe(got.length);
    expect([...got].sort()).toEqual(expectedIds(username, 180));
  });

  it('an expired search_id restarts its window; short pages with has_more keep going; the result is still exact', async () => {
    const username = busiestUser();
    const a = adapter({ videoPageSize: 5, backfillDays: 180 });
    const head = await allPosts(a, username, { maxPages: 1 });
    // Inside the first window: offset 5 with a search id, 0 found before it, no target, 5 seen in it.
    expect(head.cursor).toMatch(/:5:\d+:0::5:$/);
    clock.now += 61_000; // the simulator's search ids live 60 s
    const start = requests().length;
    sim.control.faults.shortPageNext(3);
    const rest = await allPosts(a, username, { cursor: head.cursor });
    expect(since(start)[0]).toMatchObject({
      endpoint: 'research/video/query',
      status: 400,
      code: 'invalid_params',
    });
    const got = new Set([...ids(head.pages), ...ids(rest.pages)]);
    expect([...got].sort()).toEqual(expectedIds(username, 180));
    // Three short-page faults: the refused request takes one, the restarted page and the next the others.
    expect(rest.pages.slice(0, 2).map((p) => [p.posts.length, p.nextCursor !== null])).toEqual([
      [2, true],
      [2, true],
    ]);
  });

  it('newly published videos, deletions and counter drift show on the next read', async () => {
    const username = busiestUser();
    const before = sim.control.videos(username);
    const added = sim.control.addVideo(username, { description: 'fresh #new' });
    sim.control.deleteVideo(before[0]!.id);
    sim.control.driftCounters(username, 3);
    const { pages } = await allPosts(adapter({ backfillDays: 10 }), username);
    const posts = new Map(pages.flatMap((p) => p.posts).map((p) => [p.external_id, p]));
    expect(posts.get(added)).toMatchObject({ description: 'fresh #new', media_type: 'VIDEO' });
    expect(posts.has(before[0]!.id)).toBe(false);
    for (const [id, post] of posts) expect(post.view_count).toBe(sim.control.video(id)!.viewCount);
    expect(posts.size).toBeGreaterThan(1);
  });

  it('fields: the simulator answers only what was asked for, and requires the parameter', async () => {
    const username = busiestUser();
    const result = await client().queryVideos({
      username,
      startDate: '20260201',
      endDate: '20260302',
      fields: ['id', 'create_time'],
    });
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.videos!.length).toBeGreaterThan(0);
    for (const video of result.value.videos!)
      expect(Object.keys(video).sort()).toEqual(['create_time', 'id']);
    const missing = await client().queryVideos({
      username,
      startDate: '20260201',
      endDate: '20260302',
      fields: [],
    });
    expect(!missing.ok && missing.error).toMatchObject({
      kind: 'bad-request',
      reason: 'invalid_params',
      status: 400,
    });
  });
});

describe('big ids', () => {
  it('an id above 2^53 survives simulator → client → mapper → row exactly; a rounded one finds nothing', async () => {
    const username = busiestUser();
    const truth = sim.control.videos(username).find((v) => v.commentCount > 0)!;
    expect(BigInt(truth.id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(String(Number(truth.id))).not.toBe(truth.id);

    // On the wire: a bare JSON number, which JSON.parse would round.
    const token = (await (
      await fetch(new URL('v2/oauth/token/', sim.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          client_key: KEY,
          client_secret: SECRET,
          grant_type: 'client_credentials',
        }),
      })
    ).json()) as { access_token: string };
    const day = new Date(truth.createTime * 1000).toISOString().slice(0, 10).replaceAll('-', '');
    const wire = await (
      await fetch(new URL('v2/research/video/query/?fields=id,username,create_time', sim.baseUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: { and: [{ operation: 'EQ', field_name: 'username', field_values: [username] }] },
          start_date: day,
          end_date: day,
        }),
      })
    ).text();
    expect(wire).toContain(`"id":${truth.id}`);
    const lossy = JSON.parse(wire) as { data: { videos: { id: number }[] } };
    expect(lossy.data.videos.map((v) => String(v.id))).not.toContain(truth.id);
    expect(
      (parseTikTokJson(wire) as { data: { videos: { id: string }[] } }).data.videos.map((v) => v.id),
    ).toContain(truth.id);

    // Client → mapper → row.
    const result = await client().queryVideos({ username, startDate: day, endDate: day });
    if (!result.ok) throw new Error(result.error.message);
    const video = result.value.videos!.find((v) => v.id === truth.id)!;
    const row = mapVideo(video, { username });
    expect(row.ok && row.row).toMatchObject({
      external_id: truth.id,
      url: `https://www.tiktok.com/@${username}/video/${truth.id}`,
    });

    // The id goes back out as a bare number too: comments of the exact id, not of its rounded neighbour.
    const c = client();
    const comments = await c.listComments({ videoId: truth.id });
    if (!comments.ok) throw new Error(comments.error.message);
    // The video_id form lists the top-level comments; replies come by comment_id.
    const topLevel = sim.control.comments(truth.id).filter((t) => t.parentId === null);
    expect(comments.value.comments!.length).toBe(topLevel.length);
    expect(comments.value.comments!.every((x) => x.video_id === truth.id)).toBe(true);
    const rounded = BigInt(Number(truth.id)).toString();
    expect(rounded).not.toBe(truth.id);
    const wrong = await c.listComments({ videoId: rounded });
    expect(!wrong.ok && wrong.error.kind).toBe('not-found');
  });

  it('the simulator dataset is deterministic from its seed and all its ids are exact strings above 2^53', async () => {
    const again = await startTikTokSimulator({
      seed: 7,
      users: 30,
      videosPerUser: [20, 160],
      historyDays: 400,
      asOf: '2026-03-04T12:00:00Z',
      now,
    });
    const other = await startTikTokSimulator({
      seed: 8,
      users: 30,
      videosPerUser: [20, 160],
      historyDays: 400,
      asOf: '2026-03-04T12:00:00Z',
      now,
    });
    try {
      const a = again.control.dataset({ withComments: true });
      expect(again.control.dataset({ withComments: true })).toEqual(a);
      const b = other.control.dataset();
      expect(b.users.map((u) => u.videos.length)).not.toEqual(a.users.map((u) => u.videos.length));
      const all = a.users.flatMap((u) =>
        u.videos.flatMap((v) => [v.id, ...(v.comments ?? []).map((c) => c.id)]),
      );
      expect(all.length).toBeGreaterThan(1000);
      expect(all.every((id) => /^\d+$/.test(id) && BigInt(id) > 2n ** 53n)).toBe(true);
      expect(new Set(all).size).toBe(all.length);
    } finally {
      await Promise.all([again.close(), other.close()]);
    }
  });
});

describe('comments and follows', () => {
  async function allComments(a: TikTokAdapter, username: string, videoId: string) {
    const rows = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: CommentsPage = value(
        await a.fetchCommentsPage(context(), account(username), videoId, cursor),
      );
      rows.push(...page.comments);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    return { rows, pages };
  }

  it("pages a video's comments and replies exactly, then sees deletions, new comments and replies", async () => {
    const username = busiestUser();
    const video = sim.control.videos(username).find((v) => v.commentCount > 40)!;
    const a = adapter({ commentPageSize: 7 });
    const truth = sim.control.comments(video.id);
    const { rows, pages } = await allComments(a, username, video.id);
    // Top-level pages by video_id, and each comment's replies by comment_id, 7 a page.
    const tops = truth.filter((t) => t.parentId === null);
    const replyPages = tops
      .map((t) => truth.filter((r) => r.parentId === t.id).length)
      .reduce((n, replies) => n + Math.ceil(replies / 7), 0);
    expect(replyPages).toBeGreaterThan(0);
    expect(pages).toBe(Math.ceil(tops.length / 7) + replyPages);
    const byKey = (a: string[], b: string[]) => (a[0]! < b[0]! ? -1 : 1);
    expect(
      rows.map((r) => [r.external_id, r.parent_external_id, r.text, r.like_count] as never[]).sort(byKey),
    ).toEqual(truth.map((t) => [t.id, t.parentId, t.text, t.likeCount] as never[]).sort(byKey));
    expect(rows.some((r) => r.parent_external_id !== null)).toBe(true);

    const top = truth.find((t) => t.parentId === null)!;
    sim.control.deleteComment(truth.at(-1)!.id);
    const fresh = sim.control.addComment(video.id, { text: 'new one' });
    const reply = sim.control.addComment(video.id, { text: 'a reply', parentId: top.id });
    const after = (await allComments(a, username, video.id)).rows;
    const byId = new Map(after.map((r) => [r.external_id, r]));
    expect(byId.has(truth.at(-1)!.id)).toBe(false);
    expect(byId.get(fresh)).toMatchObject({ parent_external_id: null, text: 'new one' });
    expect(byId.get(reply)).toMatchObject({ parent_external_id: top.id, post_external_id: video.id });
    expect(after.length).toBe(truth.length + 1);
  });

  it('reads followers and following to the end; the adapter offers both relations', async () => {
    const username = busiestUser();
    const a = adapter({ followPageSize: 9 });
    expect(a.relations).toEqual(['follower', 'following']);
    for (const relation of ['follower', 'following'] as const) {
      const got = [];
      let cursor: string | null = null;
      do {
        const page: FollowsPage = value(
          await a.fetchFollowsPage(context(), account(username), relation, cursor),
        );
        got.push(...page.follows);
        cursor = page.nextCursor;
      } while (cursor !== null);
      const truth =
        relation === 'follower' ? sim.control.followers(username) : sim.control.following(username);
      expect(got.map((f) => [f.other_external_id, f.other_title, f.relation])).toEqual(
        truth.map((t) => [t.username, t.displayName, relation]),
      );
    }
    const none = await a.fetchFollowsPage(context(), account(username), 'subscription', null);
    expect(!none.ok && none.error.kind).toBe('bad-request');
  });

  it('profile: the user info row and the posts source; unknown and private users are not-found', async () => {
    const username = busiestUser();
    const step = value(await adapter().fetchProfile(context(), account(`@${username}`)));
    const truth = sim.control.user(username)!;
    expect(step.profile).toMatchObject({
      external_id: username,
      title: truth.displayName,
      description: truth.bio,
      subscriber_count: truth.followerCount,
      post_count: truth.videoCount,
    });
    // The stream carries the video_count and when it was read (the simulator clock, in seconds): the
    // walk back through the history stops once it has read that many videos published by then.
    expect(step.postsSource).toBe(`${username}#${truth.videoCount}@${Math.floor(clock.now / 1000)}`);
    expect(step.raw[0]).toMatchObject({ kind: 'profile', externalId: username });

    const unknown = await adapter().fetchProfile(context(), account('nobody_here99'));
    expect(!unknown.ok && unknown.error).toMatchObject({ kind: 'not-found', httpStatus: 400 });
    const other = sim.control.usernames().find((u) => u !== username)!;
    sim.control.setPrivate(other, true);
    try {
      const hidden = await adapter().fetchProfile(context(), account(other));
      expect(!hidden.ok && hidden.error.code).toBe('SIPHON_ERR_CONNECTOR_NOT_FOUND');
    } finally {
      sim.control.setPrivate(other, false);
    }
  });
});

describe('faults: every failure class, classified', () => {
  const username = () => busiestUser();
  const profile = (options: Partial<TikTokAdapterOptions> = {}) =>
    adapter(options).fetchProfile(context(), account(username()));

  it('transient: 5xx, dropped connection, slow answer past the timeout', async () => {
    sim.control.faults.failNext(1, 503, 'research/user/info');
    expect(await profile()).toMatchObject({ ok: false, error: { kind: 'transient', httpStatus: 503 } });
    sim.control.faults.dropNext(1, 'research/user/info');
    const dropped = await profile();
    expect(!dropped.ok && dropped.error).toMatchObject({
      kind: 'transient',
      code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    });
    expect(!dropped.ok && dropped.error).not.toHaveProperty('httpStatus');
    sim.control.faults.slowNext(1, 600, 'research/user/info');
    const slow = await adapter({ client: client({ timeoutMs: 200 }) }).fetchProfile(
      context(),
      account(username()),
    );
    expect(!slow.ok && slow.error).toMatchObject({
      kind: 'transient',
      message: 'TikTok did not answer in time',
    });
    expect((await profile()).ok).toBe(true);
  });

  it('rate-limited: 429 rate_limit_exceeded with Retry-After, and the per-window limit', async () => {
    sim.control.faults.rateLimitNext(1, { retryAfterSeconds: 7, endpoint: 'research/user/info' });
    expect(await profile()).toMatchObject({
      ok: false,
      error: {
        kind: 'rate-limited',
        code: 'SIPHON_ERR_CONNECTOR_RATE_LIMITED',
        httpStatus: 429,
        retryAfterMs: 7000,
      },
    });
    // The clock stands still: 3 requests fit the minute, the 4th gets 429 until the window ends.
    clock.now = Date.parse('2026-03-04T18:30:15Z');
    sim.control.rate.setLimit({ requests: 3, windowMs: 60_000 });
    const c = client();
    expect((await adapter({ client: c }).fetchProfile(context(), account(username()))).ok).toBe(true); // token + 1
    expect((await adapter({ client: c }).fetchProfile(context(), account(username()))).ok).toBe(true);
    const limited = await adapter({ client: c }).fetchProfile(context(), account(username()));
    expect(!limited.ok && limited.error).toMatchObject({ kind: 'rate-limited', retryAfterMs: 45_000 });
    expect(sim.control.rate.windows()).toEqual([
      { start: Date.parse('2026-03-04T18:30:00Z'), arrived: 4, rejected: 1 },
    ]);
  });

  it('quota-exhausted: the daily request quota, until 00:00 UTC', async () => {
    sim.control.quota.exhaust(KEY);
    const result = await profile();
    expect(!result.ok && result.error).toMatchObject({
      kind: 'quota-exhausted',
      code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED',
      httpStatus: 429,
      resetAt: Date.parse('2026-03-05T00:00:00Z'),
      retryAfterMs: Date.parse('2026-03-05T00:00:00Z') - clock.now,
    });
    // Other credentials and the follower bucket are unaffected; the next UTC day starts afresh.
    expect(
      (await profile({ client: client({ clientKey: 'other-key', clientSecret: 'other-secret' }) })).ok,
    ).toBe(true);
    expect((await adapter().fetchFollowsPage(context(), account(username()), 'follower', null)).ok).toBe(
      true,
    );
    clock.now = Date.parse('2026-03-05T00:00:01Z');
    expect((await profile()).ok).toBe(true);
    expect(sim.control.quota.used(KEY)).toBe(1);

    // The daily limit itself: the 4th research request of the day is refused.
    sim.control.quota.setDailyLimit(3);
    try {
      const c = client();
      const outcomes = [];
      for (let i = 0; i < 3; i++)
        outcomes.push((await adapter({ client: c }).fetchProfile(context(), account(username()))).ok);
      expect(outcomes).toEqual([true, true, false]);
    } finally {
      sim.control.quota.setDailyLimit(1000);
    }
  });

  it('permission and bad-request are not retried; an unreadable stored cursor is a bad request', async () => {
    sim.control.faults.respondNext(1, tiktokErrorBodies.scopeNotAuthorized(), 'research/user/info');
    const start = requests().length;
    expect(await profile()).toMatchObject({
      ok: false,
      error: { kind: 'permission', code: 'SIPHON_ERR_CONNECTOR_PERMISSION' },
    });
    expect(since(start).filter((r) => r.endpoint === 'research/user/info')).toHaveLength(1);

    const window = await client().queryVideos({
      username: username(),
      startDate: '20260101',
      endDate: '20260215',
    });
    expect(!window.ok && window.error).toMatchObject({
      kind: 'bad-request',
      code: 'SIPHON_ERR_CONNECTOR_BAD_REQUEST',
      reason: 'invalid_params',
      message: 'end_date must be no more than 30 days after start_date',
    });
    const bad = await adapter().fetchPostsPage(context(), account(username()), username(), 'EAAaBlBUOkNESQ');
    expect(!bad.ok && bad.error.kind).toBe('bad-request');
  });

  it('not-found: comments of a deleted video', async () => {
    const video = sim.control.videos(username())[2]!;
    sim.control.deleteVideo(video.id);
    const result = await adapter().fetchCommentsPage(context(), account(username()), video.id, null);
    expect(!result.ok && result.error).toMatchObject({
      kind: 'not-found',
      method: 'research/video/comment/list',
      httpStatus: 400,
    });
  });
});

describe('a client paced through beforeCall never exceeds the per-window limit', () => {
  it('counts arrivals per window: a burst goes over, a paced full sync does not', async () => {
    const real = await startTikTokSimulator({
      seed: 3,
      users: 3,
      videosPerUser: [40, 60],
      historyDays: 60,
      asOf: new Date().toISOString(),
      clients: { [KEY]: SECRET },
      rateLimit: { requests: 4, windowMs: 250 },
    });
    try {
      const c = new TikTokClient({ baseUrl: real.baseUrl, clientKey: KEY, clientSecret: SECRET });
      const a = new TikTokAdapter({ client: c, backfillDays: 60, videoPageSize: 4 });
      const username = real.control.usernames()[0]!;

      // Unpaced: a burst of 8 calls lands in one window and some are refused.
      const burst = await Promise.all(
        Array.from({ length: 8 }, () => a.fetchFollowsPage(context(), account(username), 'follower', null)),
      );
      expect(burst.some((r) => !r.ok && r.error.kind === 'rate-limited')).toBe(true);
      expect(real.control.rate.maxArrived()).toBeGreaterThan(4);

      // Paced: at most 4 calls in any 250 ms (+ margin for transit), token requests included.
      real.control.rate.setLimit({ requests: 4, windowMs: 250 });
      const stamps: number[] = [];
      const paced: StepContext = {
        beforeCall: async () => {
          for (;;) {
            const recent = stamps.filter((t) => Date.now() - t < 280);
            if (recent.length < 4) break;
            await sleep(280 - (Date.now() - recent[0]!) + 1);
          }
          stamps.push(Date.now());
        },
      };
      c.dropToken();
      const posts: PostRow[] = [];
      let cursor: string | null = null;
      do {
        const page: PostsPage = value(await a.fetchPostsPage(paced, account(username), username, cursor));
        posts.push(...page.posts);
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(real.control.requests().filter((r) => r.status === 429).length).toBe(
        burst.filter((r) => !r.ok).length,
      );
      expect(real.control.rate.windows().length).toBeGreaterThan(2);
      expect(real.control.rate.maxArrived()).toBeLessThanOrEqual(4);
      expect(real.control.rate.windows().every((w) => w.rejected === 0)).toBe(true);
      const floor = researchDateMs(researchDate(Date.now() - 60 * DAY));
      expect(posts.length).toBe(
        real.control.videos(username).filter((v) => v.createTime * 1000 >= floor).length,
      );
      expect(posts.length).toBeGreaterThan(10);
    } finally {
      await real.close();
    }
  });
});
