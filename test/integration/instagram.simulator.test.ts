import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  InstagramAdapter,
  InstagramClient,
  MEDIA_FIELDS,
  USER_FIELDS,
  type InstagramResult,
} from '../../src/connectors/instagram/index.js';
import {
  instagramErrorBodies,
  startInstagramSimulator,
  type RunningInstagramSimulator,
} from '../../src/simulators/instagram/index.js';
import type {
  AccountRef,
  CommentsPage,
  ConnectorFailure,
  PostsPage,
  QuotaSignal,
  StepContext,
  StepResult,
} from '../../src/connectors/connector.js';
import type { CommentRow } from '../../src/connectors/connector.js';

const TOKEN = 'EAAB-sim-token-0123456789';
const PAGE = 7;

let sim: RunningInstagramSimulator;
let client: InstagramClient;
let adapter: InstagramAdapter;
const clock = { now: Date.parse('2026-03-04T18:00:00Z') };

/** A StepContext that records every beforeCall and usage report. */
function recordingContext() {
  const calls: { method: string; units: number }[] = [];
  const usage: QuotaSignal[] = [];
  const ctx: StepContext = {
    beforeCall: async (method, units) => {
      calls.push({ method, units });
    },
    reportUsage: (signal) => usage.push(signal),
  };
  return { ctx, calls, usage };
}

function value<T>(result: StepResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

function failure<T>(result: StepResult<T> | InstagramResult<T>): ConnectorFailure | Record<string, unknown> {
  if (result.ok) throw new Error('expected the step to fail');
  return result.error;
}

/** Pages posts until the adapter says the platform ended the list. */
async function allPosts(ctx: StepContext, account: AccountRef, source: string) {
  const pages: PostsPage[] = [];
  let cursor: string | null = null;
  do {
    const page: PostsPage = value(await adapter.fetchPostsPage(ctx, account, source, cursor));
    pages.push(page);
    cursor = page.nextCursor;
    if (pages.length > 500) throw new Error('paging does not end');
  } while (cursor !== null);
  return { pages, posts: pages.flatMap((p) => p.posts) };
}

async function allComments(ctx: StepContext, account: AccountRef, post: string) {
  const pages: CommentsPage[] = [];
  let cursor: string | null = null;
  do {
    const page: CommentsPage = value(await adapter.fetchCommentsPage(ctx, account, post, cursor));
    pages.push(page);
    cursor = page.nextCursor;
    if (pages.length > 500) throw new Error('paging does not end');
  } while (cursor !== null);
  return { pages, comments: pages.flatMap((p) => p.comments) };
}

/** The truth's comments of a media, flattened as the adapter returns them (top, then its replies). */
function truthComments(mediaId: string): { id: string; parent: string | null }[] {
  return sim.control.truth
    .comments(mediaId)
    .flatMap((c) => [{ id: c.id, parent: null }, ...c.replyIds.map((id) => ({ id, parent: c.id }))]);
}

/** An account index (not own) matching the predicate. */
function findAccount(
  predicate: (a: { professional: boolean; own: boolean; mediaCount: number }) => boolean,
): number {
  for (let i = 1; i < 40; i++) {
    const a = sim.control.truth.account(sim.control.userId(i))!;
    if (predicate(a)) return i;
  }
  throw new Error('no such account in the data set');
}

beforeAll(async () => {
  sim = await startInstagramSimulator({
    seed: 11,
    accounts: 40,
    mediaPerAccount: [5, 40],
    commentsPerMedia: [0, 25],
    repliesPerComment: [0, 7],
    nestedLimit: 2,
    accessTokens: [TOKEN],
    now: () => clock.now,
  });
  client = new InstagramClient({
    baseUrl: sim.baseUrl,
    accessToken: TOKEN,
    timeoutMs: 1000,
    now: () => clock.now,
  });
  adapter = new InstagramAdapter({
    client,
    userId: sim.userId,
    postsPageSize: PAGE,
    commentsPageSize: 6,
    repliesPageSize: 3,
  });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.control.faults.clear();
  sim.control.usage.reset();
  sim.control.usage.setLimit(200, 3_600_000);
});

const own = (): AccountRef => ({ external_id: sim.userId, handle: null });

describe('own account', () => {
  it('reads the profile with one call; the row matches the simulator', async () => {
    const { ctx, calls, usage } = recordingContext();
    const step = value(await adapter.fetchProfile(ctx, own()));
    const truth = sim.control.truth.account(sim.userId)!;
    expect(step.profile).toEqual({
      external_id: sim.userId,
      handle: truth.username,
      title: truth.name,
      description: truth.biography,
      country: null,
      published_at: null,
      subscriber_count: truth.followersCount,
      view_count: null,
      post_count: truth.mediaCount,
    });
    expect(step.postsSource).toBe(sim.userId);
    expect(calls).toEqual([{ method: 'GET /{ig-user-id}', units: 1 }]);
    expect(usage).toEqual([{ usedPercent: 1 }]);
    expect(step.raw).toEqual([
      {
        kind: 'profile',
        externalId: sim.userId,
        request: {
          method: 'GET /{ig-user-id}',
          path: `/v21.0/${sim.userId}`,
          params: { fields: USER_FIELDS.join(',') },
        },
        payload: expect.objectContaining({ id: sim.userId, username: truth.username }),
      },
    ]);
  });

  it('pages media newest first and stops exactly when paging.next is absent', async () => {
    const { ctx, calls } = recordingContext();
    const truth = sim.control.truth.media(sim.userId);
    const { pages, posts } = await allPosts(ctx, own(), sim.userId);
    expect(posts.map((p) => p.external_id)).toEqual(truth);
    expect(pages).toHaveLength(Math.ceil(truth.length / PAGE));
    expect(calls).toHaveLength(pages.length);
    expect(calls.every((c) => c.method === 'GET /{ig-user-id}/media' && c.units === 1)).toBe(true);
    expect(pages.at(-1)!.nextCursor).toBeNull();

    // Each page knows its oldest post; carousels bring their children, in order.
    for (const page of pages) {
      expect(page.oldestPublishedAt).toBe(Math.min(...page.posts.map((p) => Date.parse(p.published_at!))));
    }
    const media = pages.flatMap((p) => p.media);
    for (const id of truth) {
      const item = sim.control.truth.mediaItem(id)!;
      const rows = media.filter((m) => m.post_external_id === id);
      const expected = item.mediaType === 'CAROUSEL_ALBUM' ? item.children.map((c) => c.id) : [id];
      expect(rows.map((r) => r.external_id)).toEqual(expected);
      expect(rows.map((r) => r.position)).toEqual(expected.map((_, i) => i));
      const post = posts.find((p) => p.external_id === id)!;
      expect(post).toMatchObject({
        profile_external_id: sim.userId,
        description: item.caption,
        like_count: item.likeCount,
        comment_count: item.commentsCount,
        url: item.permalink,
        published_at: new Date(item.timestamp.replace('+0000', 'Z')).toISOString(),
      });
    }
    const commentable = pages.flatMap((p) => p.commentable);
    expect(commentable).toEqual(
      truth.filter((id) => {
        const m = sim.control.truth.mediaItem(id)!;
        return m.commentsEnabled && m.commentsCount > 0;
      }),
    );
  });

  it('reads live stories newest first, page by page; they leave the edge after 24 h', async () => {
    const { ctx, calls } = recordingContext();
    const step = value(await adapter.fetchProfile(ctx, own()));
    expect(step.storiesSource).toBe(sim.userId);
    const added = Array.from({ length: PAGE + 1 }, (_, k) =>
      sim.control.addStory(sim.userId, {
        caption: k === 0 ? 'today' : null,
        video: k % 2 === 1,
        timestampMs: clock.now - (k + 1) * 60_000,
      }),
    );
    const saved = clock.now;
    try {
      const live = sim.control.truth.stories(sim.userId);
      expect(live.slice(0, added.length)).toEqual(added);
      const pages: PostsPage[] = [];
      let cursor: string | null = null;
      calls.length = 0;
      do {
        const page: PostsPage = value(await adapter.fetchStoriesPage(ctx, own(), sim.userId, cursor));
        pages.push(page);
        cursor = page.nextCursor;
      } while (cursor !== null && pages.length < 50);
      const posts = pages.flatMap((p) => p.posts);
      expect(posts.map((p) => p.external_id)).toEqual(live);
      expect(pages).toHaveLength(Math.ceil(live.length / PAGE));
      expect(calls.every((c) => c.method === 'GET /{ig-user-id}/stories' && c.units === 1)).toBe(true);
      expect(calls).toHaveLength(pages.length);
      expect(pages.flatMap((p) => p.commentable)).toEqual([]);
      expect(pages.every((p) => p.raw.every((r) => r.kind === 'stories_page'))).toBe(true);
      expect(posts[0]).toMatchObject({
        profile_external_id: sim.userId,
        media_type: 'STORY',
        description: 'today',
        url: `https://www.instagram.com/stories/${sim.control.username(0)}/${added[0]}/`,
      });
      expect(pages.flatMap((p) => p.media).map((m) => m.post_external_id)).toEqual(live);

      // A day later every one of them has expired: the edge is empty and says it ended.
      clock.now = saved + 86_400_000;
      const later = value(await adapter.fetchStoriesPage(ctx, own(), sim.userId, null));
      expect(later.posts).toEqual([]);
      expect(later.nextCursor).toBeNull();
    } finally {
      clock.now = saved;
      for (const id of added) sim.control.expireStory(id);
    }
  });

  it('keeps going through an empty page that still has next (privacy filtering)', async () => {
    sim.control.faults.emptyPageNext(1, 'media');
    const { pages, posts } = await allPosts(recordingContext().ctx, own(), sim.userId);
    expect(pages[0]!.posts).toEqual([]);
    expect(pages[0]!.nextCursor).not.toBeNull();
    expect(posts.map((p) => p.external_id)).toEqual(sim.control.truth.media(sim.userId));
  });

  it('reads every comment and reply, completing inline replies from /replies within the step', async () => {
    const mediaIds = sim.control.truth.media(sim.userId);
    const busy = mediaIds.find((id) => sim.control.truth.comments(id).some((c) => c.replyIds.length > 5))!;
    expect(busy).toBeDefined();
    const { ctx, calls } = recordingContext();
    const before = sim.control.requests().length;
    const { pages, comments } = await allComments(ctx, own(), busy);
    const truth = truthComments(busy);
    expect(comments.map((c) => [c.external_id, c.parent_external_id])).toEqual(
      truth.map((t) => [t.id, t.parent]),
    );
    expect(comments.every((c) => c.post_external_id === busy)).toBe(true);
    expect(pages).toHaveLength(Math.ceil(sim.control.truth.comments(busy).length / 6));
    // One beforeCall per request the simulator saw, replies pages included.
    const seen = sim.control.requests().slice(before);
    expect(calls.map((c) => c.method)).toEqual(
      seen.map((r) =>
        r.endpoint === 'comments' ? 'GET /{ig-media-id}/comments' : 'GET /{ig-comment-id}/replies',
      ),
    );
    expect(seen.some((r) => r.endpoint === 'replies')).toBe(true);
    const raw = pages.flatMap((p) => p.raw);
    expect(raw.filter((r) => r.kind === 'replies_page').length).toBe(
      seen.filter((r) => r.endpoint === 'replies').length,
    );
    const sample = comments.find((c) => c.parent_external_id !== null)!;
    const t = sim.control.truth.comment(sample.external_id)!;
    expect(sample).toMatchObject({ author: t.username, text: t.text, like_count: t.likeCount });
  });

  it('follows changes between syncs: new post, edited caption, deleted and new comments, drifting counters', async () => {
    const ctx = recordingContext().ctx;
    const [first, second] = sim.control.truth.media(sim.userId);
    const target = sim.control.truth
      .media(sim.userId)
      .find((id) => sim.control.truth.comments(id).length >= 2)!;
    const [gone] = sim.control.truth.comments(target);
    const likesBefore = sim.control.truth.mediaItem(second!)!.likeCount;

    clock.now += 60_000;
    const added = sim.control.addMedia(sim.userId, {
      caption: 'fresh',
      mediaType: 'CAROUSEL_ALBUM',
      children: 4,
    });
    sim.control.editCaption(first!, 'edited caption');
    sim.control.deleteComment(gone!.id);
    const newComment = sim.control.addComment(target, { text: 'late comment' });
    sim.control.driftCounters(sim.userId, 1);

    const { posts, pages } = await allPosts(ctx, own(), sim.userId);
    expect(posts[0]!.external_id).toBe(added);
    expect(pages[0]!.media.filter((m) => m.post_external_id === added)).toHaveLength(4);
    expect(posts.find((p) => p.external_id === first)!.description).toBe('edited caption');
    const drifted = posts.find((p) => p.external_id === second)!.like_count!;
    expect(drifted).toBe(sim.control.truth.mediaItem(second!)!.likeCount);
    expect(drifted).toBeGreaterThanOrEqual(likesBefore);

    const { comments } = await allComments(ctx, own(), target);
    const ids = comments.map((c: CommentRow) => c.external_id);
    expect(ids[0]).toBe(newComment);
    expect(ids).not.toContain(gone!.id);
    expect(ids).toEqual(truthComments(target).map((t) => t.id));
    const profile = value(await adapter.fetchProfile(ctx, own())).profile!;
    expect(profile.subscriber_count).toBe(sim.control.truth.account(sim.userId)!.followersCount);
  });

  it('a post deleted between pages: the cursor keeps its place (no gap, no repeat)', async () => {
    const ctx = recordingContext().ctx;
    const first = value(await adapter.fetchPostsPage(ctx, own(), sim.userId, null));
    const lastOnPage = first.posts.at(-1)!.external_id;
    const truthBefore = sim.control.truth.media(sim.userId);
    sim.control.deleteMedia(lastOnPage);
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor !== null) {
      const page = value(await adapter.fetchPostsPage(ctx, own(), sim.userId, cursor));
      rest.push(...page.posts.map((p) => p.external_id));
      cursor = page.nextCursor;
    }
    expect([...first.posts.map((p) => p.external_id), ...rest]).toEqual(truthBefore);
  });
});

describe('other accounts through business discovery', () => {
  it('reads profile and media by username; the list ends when the nested edge has no after cursor', async () => {
    const index = findAccount((a) => a.professional && a.mediaCount > 2 * PAGE);
    const id = sim.control.userId(index);
    const username = sim.control.username(index);
    const account: AccountRef = { external_id: `@${username}`, handle: username };
    const { ctx, calls } = recordingContext();

    const step = value(await adapter.fetchProfile(ctx, account));
    const truth = sim.control.truth.account(id)!;
    expect(step.profile).toMatchObject({
      external_id: id,
      handle: username,
      subscriber_count: truth.followersCount,
    });
    expect(step.postsSource).toBe(username);
    // Stories are the owner's only: none are asked for through business discovery.
    expect(step.storiesSource).toBeNull();

    const { pages, posts } = await allPosts(ctx, account, step.postsSource!);
    expect(posts.map((p) => p.external_id)).toEqual(sim.control.truth.media(id));
    expect(posts.every((p) => p.profile_external_id === id)).toBe(true);
    expect(pages).toHaveLength(Math.ceil(truth.mediaCount / PAGE));
    expect(pages.flatMap((p) => p.commentable)).toEqual([]);
    expect(calls.every((c) => c.method === 'GET /{ig-user-id}?fields=business_discovery')).toBe(true);
    expect(calls).toHaveLength(1 + pages.length);
    expect(pages[1]!.raw[0]!.request.params).toEqual({
      fields: expect.stringMatching(
        new RegExp(
          `^business_discovery\\.username\\(${username}\\)\\{id,media\\.limit\\(${PAGE}\\)\\.after\\(QVFI`,
        ),
      ),
    });
  });

  it("another account's media comments: never listed as commentable; asked anyway, the platform refuses (100/33)", async () => {
    // Business discovery pages list no post as commentable, so the engine opens no comments task for
    // them; an adapter asked anyway lets the platform answer, and its refusal is not-found (the task
    // is skipped), never a failure of the account.
    const other = sim.control.username(findAccount((a) => a.professional && !a.own));
    const page = await adapter.fetchPostsPage(
      recordingContext().ctx,
      { external_id: other, handle: null },
      other,
      null,
    );
    expect(page.ok && page.value.commentable).toEqual([]);
    const { ctx, calls } = recordingContext();
    const result = await adapter.fetchCommentsPage(
      ctx,
      { external_id: other, handle: null },
      '18000000100000001',
      null,
    );
    expect(failure(result)).toMatchObject({ kind: 'not-found' });
    expect(calls).toHaveLength(1);
  });

  it("refuses another account's stories: the edge (100/33) and business discovery (#10)", async () => {
    const other = sim.control.userId(findAccount((a) => a.professional));
    const edge = await client.listStories(other, { fields: ['id'] });
    expect(failure(edge)).toMatchObject({ status: 400 });
    const discovery = await client.businessDiscovery(sim.userId, sim.control.username(1), ['id', 'stories']);
    expect(failure(discovery)).toMatchObject({ kind: 'permission', status: 400 });
  });

  it('a personal or unknown username is not found (110/2207013)', async () => {
    const personal = findAccount((a) => !a.professional);
    for (const name of [sim.control.username(personal), 'nobody_here_999']) {
      const result = await adapter.fetchProfile(recordingContext().ctx, { external_id: name, handle: null });
      expect(failure(result)).toMatchObject({
        kind: 'not-found',
        httpStatus: 400,
        method: 'GET /{ig-user-id}?fields=business_discovery',
      });
    }
  });
});

describe('the token stays secret', () => {
  it('the API echoes it in paging.next, the client removes it from payloads, requests and errors', async () => {
    // The simulator, like the real API, puts the token in the next link…
    const direct = await fetch(`${sim.baseUrl}${sim.userId}/media?limit=2&access_token=${TOKEN}`);
    expect(((await direct.json()) as { paging: { next: string } }).paging.next).toContain(TOKEN);
    // …and it did arrive as the access_token query parameter.
    expect(sim.control.requests().at(-1)).toMatchObject({ endpoint: 'media', tokenInQuery: true });
    expect(JSON.stringify(sim.control.requests())).not.toContain(TOKEN);

    const ctx = recordingContext().ctx;
    const seen: unknown[] = [];
    seen.push(value(await adapter.fetchProfile(ctx, own())).raw);
    const { pages } = await allPosts(ctx, own(), sim.userId);
    seen.push(pages.map((p) => p.raw));
    const post = pages.flatMap((p) => p.commentable)[0]!;
    seen.push((await allComments(ctx, own(), post)).pages.map((p) => p.raw));
    sim.control.faults.failNext(1);
    seen.push(await client.listMedia(sim.userId, { fields: ['id'] }));
    seen.push(await adapter.fetchPostsPage(ctx, own(), 'x', null));
    const text = JSON.stringify(seen);
    expect(text).toContain('paging');
    expect(text).toContain('"next"');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('access_token');
  });
});

describe('every error class, classified and returned (never thrown)', () => {
  const posts = () => adapter.fetchPostsPage(recordingContext().ctx, own(), sim.userId, null);

  it('transient: 500 code 1, 503 code 2, dropped connection, timeout', async () => {
    sim.control.faults.failNext(1, 500);
    expect(failure(await posts())).toMatchObject({
      kind: 'transient',
      httpStatus: 500,
      code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    });
    sim.control.faults.failNext(1, 503, 'media');
    expect(failure(await posts())).toMatchObject({ kind: 'transient', httpStatus: 503 });
    sim.control.faults.dropNext(1);
    const dropped = failure(await posts());
    expect(dropped).toMatchObject({ kind: 'transient' });
    expect(dropped).not.toHaveProperty('httpStatus');
    sim.control.faults.setDelay(1500);
    expect(failure(await posts())).toMatchObject({
      kind: 'transient',
      message: 'Instagram did not answer in time',
    });
    sim.control.faults.setDelay(0);
    expect(value(await posts()).posts).toHaveLength(PAGE);
  });

  it('rate-limited: codes 4, 17, 32, 613, 80002 with the wait from Retry-After, BUC usage or the default', async () => {
    for (const code of [4, 17, 32, 613, 80002] as const) {
      sim.control.faults.rateLimitNext(1, { code });
      expect(failure(await posts())).toMatchObject({
        kind: 'rate-limited',
        httpStatus: 400,
        retryAfterMs: 60_000,
      });
    }
    sim.control.faults.rateLimitNext(1, { code: 4, httpStatus: 429, retryAfterSeconds: 7 });
    expect(failure(await posts())).toMatchObject({
      kind: 'rate-limited',
      httpStatus: 429,
      retryAfterMs: 7000,
    });
    sim.control.faults.rateLimitNext(1, { code: 80002, httpStatus: 403, regainAccessMinutes: 3 });
    expect(failure(await posts())).toMatchObject({
      kind: 'rate-limited',
      httpStatus: 403,
      retryAfterMs: 180_000,
    });
  });

  it('rate-limited by usage: the headers climb to 100 %, then code 80002 until the window rolls', async () => {
    sim.control.usage.setLimit(4, 600_000);
    const { ctx, usage } = recordingContext();
    for (let i = 0; i < 4; i++) value(await adapter.fetchProfile(ctx, own()));
    expect(usage.map((u) => u.usedPercent)).toEqual([25, 50, 75, 100]);
    const refused = failure(await adapter.fetchProfile(ctx, own()));
    expect(refused).toMatchObject({ kind: 'rate-limited', retryAfterMs: 600_000 });
    expect(usage.at(-1)).toEqual({ usedPercent: 100 });
    clock.now += 600_001;
    expect(value(await adapter.fetchProfile(ctx, own())).profile).not.toBeNull();
  });

  it('auth: an expired token (190/463), an unknown token (190), a changed password (190/460)', async () => {
    const stranger = new InstagramAdapter({
      client: new InstagramClient({ baseUrl: sim.baseUrl, accessToken: 'not-a-token' }),
      userId: sim.userId,
    });
    expect(failure(await stranger.fetchProfile(recordingContext().ctx, own()))).toMatchObject({
      kind: 'auth',
      code: 'SIPHON_ERR_CONNECTOR_AUTH',
    });
    sim.control.faults.respondNext(1, instagramErrorBodies.passwordChanged());
    expect(failure(await posts())).toMatchObject({
      kind: 'auth',
      message: expect.stringContaining('changed their password'),
    });

    sim.control.tokens.expire(TOKEN);
    const expired = failure(await posts());
    expect(expired).toMatchObject({
      kind: 'auth',
      httpStatus: 400,
      message: expect.stringContaining('Session has expired'),
    });
    sim.control.tokens.add(TOKEN);
    expect(value(await posts()).posts.length).toBeGreaterThan(0);
  });

  it('permission: comments of media the token does not own (code 10)', async () => {
    const other = sim.control.truth.media(sim.control.userId(findAccount((a) => a.mediaCount > 0)))[0]!;
    const result = await client.listComments(other, { fields: ['id'] });
    expect(failure(result)).toMatchObject({ kind: 'permission', graphCode: 10 });
  });

  it('not found: a deleted media (100/33) for comments', async () => {
    const mediaId = sim.control.addMedia(sim.userId, { caption: 'short-lived' });
    sim.control.deleteMedia(mediaId);
    const result = await adapter.fetchCommentsPage(recordingContext().ctx, own(), mediaId, null);
    expect(failure(result)).toMatchObject({
      kind: 'not-found',
      code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
      httpStatus: 400,
    });
  });

  it('bad request: a field the node does not have, a forged cursor', async () => {
    const field = await client.listMedia(sim.userId, { fields: ['id', 'view_counts'] });
    expect(failure(field)).toMatchObject({
      kind: 'bad-request',
      graphCode: 100,
      message: '(#100) Tried accessing nonexisting field (view_counts) on node type (IGMedia)',
    });
    const forged = await adapter.fetchPostsPage(recordingContext().ctx, own(), sim.userId, 'QVFInotacursor');
    expect(failure(forged)).toMatchObject({ kind: 'bad-request' });
  });

  it('the client sends what the adapter asks for, and never throws for API failures', async () => {
    const media = await client.listMedia(sim.userId, { fields: MEDIA_FIELDS, limit: 1000 });
    expect(media.ok && media.value.data).toHaveLength(
      Math.min(100, sim.control.truth.media(sim.userId).length),
    );
    const closed = new InstagramClient({
      baseUrl: 'http://127.0.0.1:9/v21.0/',
      accessToken: TOKEN,
      timeoutMs: 500,
    });
    expect(failure(await closed.getUser(sim.userId, ['id']))).toMatchObject({ kind: 'transient', status: 0 });
  });
});

describe('the simulator', () => {
  it('is deterministic for a seed and exposes its whole data set', async () => {
    const again = await startInstagramSimulator({ seed: 11, accounts: 40, mediaPerAccount: [5, 40] });
    try {
      expect(again.userId).toBe(sim.userId);
      const index = findAccount((a) => a.professional);
      expect(again.control.truth.dump(again.control.userId(index)).media.length).toBeGreaterThan(0);
      const all = again.control.truth.all();
      expect(all).toHaveLength(40);
      expect(all.filter((d) => d.account.own).map((d) => d.account.id)).toEqual([again.userId]);
    } finally {
      await again.close();
    }
  });

  it('refuses a cursor whose item was deleted when configured to', async () => {
    const strict = await startInstagramSimulator({
      seed: 5,
      accessTokens: [TOKEN],
      mediaPerAccount: [10, 20],
      cursorOnDeletedItem: 'error',
    });
    try {
      const c = new InstagramClient({ baseUrl: strict.baseUrl, accessToken: TOKEN });
      const first = await c.listMedia(strict.userId, { fields: ['id'], limit: 3 });
      if (!first.ok) throw new Error(first.error.message);
      strict.control.deleteMedia(first.value.data!.at(-1)!.id!);
      const next = await c.listMedia(strict.userId, {
        fields: ['id'],
        limit: 3,
        after: first.value.paging!.cursors!.after!,
      });
      expect(failure(next)).toMatchObject({ kind: 'bad-request', graphCode: 100 });
    } finally {
      await strict.close();
    }
  });
});
