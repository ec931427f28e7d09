import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  nextPacificMidnight,
  YouTubeAdapter,
  YouTubeClient,
  type YouTubeAdapterOptions,
} from '../../src/connectors/youtube/index.js';
import type {
  AccountRef,
  CommentsPage,
  FollowsPage,
  PostsPage,
  StepContext,
  StepResult,
} from '../../src/connectors/connector.js';
import {
  findBusyVideo,
  findChannel,
  KEY,
  SMALL_KEY,
  startYouTubeHarness,
  uploadsOf,
  type YouTubeHarness,
} from '../helpers/youtube.js';

let h: YouTubeHarness;
beforeAll(async () => {
  h = await startYouTubeHarness();
});
afterAll(async () => {
  await h.sim.close();
});
beforeEach(() => {
  h.sim.control.faults.clear();
});

interface Recorded {
  readonly method: string;
  readonly units: number;
  /** Requests the simulator had seen when the limiter was asked: the call must not have been made yet. */
  readonly seenBefore: number;
}

/** A StepContext that records every beforeCall with how many requests the simulator had seen then. */
function recorder(): { ctx: StepContext; calls: Recorded[]; start: number } {
  const calls: Recorded[] = [];
  const start = h.sim.control.requests().length;
  const ctx: StepContext = {
    beforeCall: async (method, units) => {
      calls.push({ method, units, seenBefore: h.sim.control.requests().length - start });
    },
  };
  return { ctx, calls, start };
}

/** One beforeCall per request, each before its request, with the request's own method and 1 unit. */
function expectOneCallPerRequest(r: { calls: Recorded[]; start: number }): void {
  const requests = h.sim.control.requests().slice(r.start);
  expect(r.calls.map((c) => c.method)).toEqual(requests.map((q) => `${q.method}.list`));
  expect(r.calls.map((c) => c.units)).toEqual(requests.map(() => 1));
  expect(r.calls.map((c) => c.seenBefore)).toEqual(requests.map((_, i) => i));
}

function adapter(options: Partial<YouTubeAdapterOptions> = {}): YouTubeAdapter {
  return new YouTubeAdapter({ client: h.client, ...options });
}

const account = (externalId: string): AccountRef => ({ external_id: externalId, handle: null });

function value<T>(result: StepResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code} (${result.error.method}): ${result.error.message}`);
  return result.value;
}

describe('YouTubeAdapter identity', () => {
  it('names the API key by a stable hash prefix that does not reveal it', () => {
    const a = adapter();
    expect(a.platform).toBe('youtube');
    expect(a.relations).toEqual(['subscription']);
    expect(a.credentialId).toBe(createHash('sha256').update(KEY).digest('hex').slice(0, 8));
    expect(a.credentialId).not.toContain(KEY);
    const other = new YouTubeClient({ baseUrl: h.sim.baseUrl, apiKey: SMALL_KEY });
    expect(new YouTubeAdapter({ client: other }).credentialId).not.toBe(a.credentialId);
  });
});

describe('fetchProfile', () => {
  it('reads channels.list once: the profile row, the uploads playlist, the raw page without the key', async () => {
    const channelId = h.sim.control.channelId(3);
    const truth = h.sim.control.truth.channel(channelId)!;
    const r = recorder();
    const step = value(await adapter().fetchProfile(r.ctx, account(channelId)));
    expect(step.profile).toEqual({
      external_id: channelId,
      handle: truth.handle,
      title: truth.title,
      description: expect.any(String),
      country: truth.country,
      published_at: new Date(truth.publishedAt).toISOString(),
      subscriber_count: truth.subscriberCount,
      view_count: truth.viewCount,
      post_count: truth.videoCount,
    });
    expect(step.postsSource).toBe(truth.uploadsId);
    expect(step.quarantined).toEqual([]);
    expect(step.raw).toHaveLength(1);
    expect(step.raw[0]).toMatchObject({
      kind: 'profile',
      externalId: channelId,
      request: { method: 'channels.list', path: 'channels', params: { id: [channelId] } },
    });
    expect(JSON.stringify(step.raw)).not.toContain(KEY);
    expectOneCallPerRequest(r);
    expect(r.calls).toHaveLength(1);
  });

  it('finds a channel by @handle, and answers an unknown channel with a not-found failure', async () => {
    const channelId = h.sim.control.channelId(4);
    const truth = h.sim.control.truth.channel(channelId)!;
    const byHandle = value(await adapter().fetchProfile(recorder().ctx, account(truth.handle)));
    expect(byHandle.profile?.external_id).toBe(channelId);

    const r = recorder();
    const missing = await adapter().fetchProfile(r.ctx, account('UCxxxxxxxxxxxxxxxxxxxxxx'));
    expect(missing).toEqual({
      ok: false,
      error: expect.objectContaining({
        kind: 'not-found',
        code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
        method: 'channels.list',
      }),
    });
    expectOneCallPerRequest(r);
  });
});

describe('fetchPostsPage', () => {
  it('pages the uploads exactly to the end: every video once, newest first, two calls a page', async () => {
    const channelId = findChannel(h.sim, (n) => n > 100 && n % 50 !== 0);
    const truth = h.sim.control.truth.uploads(channelId);
    const a = adapter();
    const r = recorder();
    const seen: string[] = [];
    const oldestPerPage: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: PostsPage = value(
        await a.fetchPostsPage(r.ctx, account(channelId), uploadsOf(channelId), cursor),
      );
      pages += 1;
      seen.push(...page.posts.map((p) => p.external_id));
      expect(page.raw.map((x) => x.kind)).toEqual(['posts_page', 'videos']);
      expect(page.raw.map((x) => x.request.method)).toEqual(['playlistItems.list', 'videos.list']);
      for (const post of page.posts) {
        expect(post.media_type).toBeNull();
        expect(post.url).toBe(`https://www.youtube.com/watch?v=${post.external_id}`);
        expect(post.profile_external_id).toBe(channelId);
      }
      expect(page.media.map((m) => m.post_external_id)).toEqual(page.posts.map((p) => p.external_id));
      expect(page.media.every((m) => m.thumbnail_url?.startsWith('https://i.ytimg.com/'))).toBe(true);
      const published = page.posts.map((p) => Date.parse(p.published_at!));
      expect(page.oldestPublishedAt).toBe(Math.min(...published));
      oldestPerPage.push(page.oldestPublishedAt!);
      const commentable = page.posts
        .filter((p) => (h.sim.control.truth.video(p.external_id)!.commentCount ?? 0) > 0)
        .map((p) => p.external_id);
      expect(page.commentable).toEqual(commentable);
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual(truth);
    expect(pages).toBe(Math.ceil(truth.length / 50));
    expect(oldestPerPage).toEqual([...oldestPerPage].sort((x, y) => y - x));
    expect(r.calls).toHaveLength(pages * 2);
    expectOneCallPerRequest(r);
  });

  it('reads an empty uploads playlist with one call and ends at once', async () => {
    const channelId = findChannel(h.sim, (n) => n === 0);
    const r = recorder();
    const page = value(await adapter().fetchPostsPage(r.ctx, account(channelId), uploadsOf(channelId), null));
    expect(page).toMatchObject({
      posts: [],
      media: [],
      commentable: [],
      nextCursor: null,
      oldestPublishedAt: null,
    });
    expect(page.raw.map((x) => x.kind)).toEqual(['posts_page']);
    expectOneCallPerRequest(r);
    expect(r.calls).toHaveLength(1);
  });

  it('quarantines a video that cannot be trusted and keeps the rest of the page', async () => {
    const channelId = findChannel(h.sim, (n) => n > 3 && n < 50);
    const ids = h.sim.control.truth.uploads(channelId);
    const a = new YouTubeAdapter({ client: h.client });
    // The simulator only serves valid data: corrupt one videos.list answer on the way.
    const page = await h.client.listVideos({ part: ['snippet', 'contentDetails', 'statistics'], id: ids });
    if (!page.ok) throw new Error('videos.list failed');
    const items = page.value.items!.map((v, i) =>
      i === 1 ? { ...v, snippet: { ...v.snippet, publishedAt: 'yesterday' } } : v,
    );
    h.sim.control.faults.respondNext(1, { status: 200, body: { ...page.value, items } }, 'videos');
    const result = value(
      await a.fetchPostsPage(recorder().ctx, account(channelId), uploadsOf(channelId), null),
    );
    expect(result.posts.map((p) => p.external_id)).toEqual(ids.filter((_, i) => i !== 1));
    expect(result.quarantined).toEqual([
      expect.objectContaining({ platform: 'youtube', kind: 'post', externalId: ids[1] }),
    ]);
  });
});

describe('fetchCommentsPage', () => {
  it('reads every thread page and completes long reply lists with comments.list inside the step', async () => {
    const videoId = findBusyVideo(h.sim, 10, 6);
    const truth = h.sim.control.truth.threads(videoId);
    const pageSize = 3;
    const a = adapter({ commentsPageSize: pageSize });
    const r = recorder();
    const rows: { external_id: string; parent_external_id: string | null }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: CommentsPage = value(await a.fetchCommentsPage(r.ctx, account('owner'), videoId, cursor));
      pages += 1;
      rows.push(...page.comments);
      expect(page.raw[0]!.kind).toBe('comments_page');
      expect(page.raw.slice(1).every((x) => x.kind === 'replies_page')).toBe(true);
      expect(page.comments.every((c) => c.post_external_id === videoId)).toBe(true);
      cursor = page.nextCursor;
    } while (cursor !== null);

    const expected = truth.flatMap((t) => [
      { external_id: t.id, parent_external_id: null },
      ...t.replyIds.map((id) => ({ external_id: id, parent_external_id: t.id })),
    ]);
    const pick = ({ external_id, parent_external_id }: (typeof rows)[number]) => ({
      external_id,
      parent_external_id,
    });
    expect(rows.map(pick)).toEqual(expected);
    expect(pages).toBe(Math.ceil(truth.length / pageSize));
    // comments.list only for threads with more replies than the 5 carried inline, page by page.
    const replyCalls = truth
      .filter((t) => t.replyIds.length > 5)
      .reduce((n, t) => n + Math.ceil(t.replyIds.length / pageSize), 0);
    expect(replyCalls).toBeGreaterThan(0);
    expect(r.calls.filter((c) => c.method === 'comments.list')).toHaveLength(replyCalls);
    expect(r.calls.filter((c) => c.method === 'commentThreads.list')).toHaveLength(pages);
    expectOneCallPerRequest(r);
  });

  it('maps texts, authors and edits of the simulator truth', async () => {
    const videoId = findBusyVideo(h.sim, 2, 0);
    const page = value(await adapter().fetchCommentsPage(recorder().ctx, account('owner'), videoId, null));
    for (const row of page.comments) {
      const truth = h.sim.control.truth.comment(row.external_id)!;
      expect(row).toMatchObject({ author: truth.authorName, text: truth.text, like_count: truth.likeCount });
      expect(row.published_at).toBe(new Date(truth.publishedAt).toISOString());
      expect(row.edited_at).toBe(
        truth.updatedAt === truth.publishedAt ? null : new Date(truth.updatedAt).toISOString(),
      );
    }
  });

  it('answers disabled comments with a classified not-found, not a throw', async () => {
    const videoId = findBusyVideo(h.sim, 0, 0);
    h.sim.control.setCommentsDisabled(videoId, true);
    try {
      const r = recorder();
      const result = await adapter().fetchCommentsPage(r.ctx, account('owner'), videoId, null);
      expect(result).toEqual({
        ok: false,
        error: expect.objectContaining({
          kind: 'not-found',
          code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
          method: 'commentThreads.list',
          httpStatus: 403,
        }),
      });
      expectOneCallPerRequest(r);
    } finally {
      h.sim.control.setCommentsDisabled(videoId, false);
    }
  });
});

describe('fetchFollowsPage (subscriptions)', () => {
  const publicWith = (test: (n: number) => boolean): string => {
    for (let i = 0; i < 500; i++) {
      const id = h.sim.control.channelId(i);
      const subs = h.sim.control.truth.subscriptions(id);
      if (subs !== null && test(subs.length)) return id;
    }
    throw new Error('no such channel');
  };

  it('pages public subscriptions exactly to the end', async () => {
    const channelId = publicWith((n) => n > 20 && n % 7 !== 0);
    const truth = h.sim.control.truth.subscriptions(channelId)!;
    const a = adapter({ followsPageSize: 7 });
    const r = recorder();
    const others: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: FollowsPage = value(
        await a.fetchFollowsPage(r.ctx, account(channelId), 'subscription', cursor),
      );
      pages += 1;
      expect(page.raw.map((x) => x.kind)).toEqual(['subscriptions_page']);
      for (const row of page.follows) {
        expect(row).toEqual({
          profile_external_id: channelId,
          relation: 'subscription',
          other_external_id: row.other_external_id,
          other_handle: null,
          other_title: h.sim.control.truth.channel(row.other_external_id)!.title,
        });
      }
      others.push(...page.follows.map((f) => f.other_external_id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(others).toEqual(truth);
    expect(pages).toBe(Math.ceil(truth.length / 7));
    expectOneCallPerRequest(r);
    expect(r.calls.every((c) => c.method === 'subscriptions.list' && c.units === 1)).toBe(true);
  });

  it('classifies private subscriptions (403 subscriptionForbidden) as permission', async () => {
    const hidden = (() => {
      for (let i = 0; i < 500; i++) {
        const id = h.sim.control.channelId(i);
        if (h.sim.control.truth.subscriptions(id) === null) return id;
      }
      throw new Error('no channel with private subscriptions');
    })();
    const r = recorder();
    const result = await adapter().fetchFollowsPage(r.ctx, account(hidden), 'subscription', null);
    expect(result).toEqual({
      ok: false,
      error: expect.objectContaining({
        kind: 'permission',
        code: 'SIPHON_ERR_CONNECTOR_PERMISSION',
        method: 'subscriptions.list',
        httpStatus: 403,
      }),
    });
    expectOneCallPerRequest(r);

    // Made public, the same channel answers.
    h.sim.control.setSubscriptionsPrivate(hidden, false);
    try {
      const open = await adapter().fetchFollowsPage(recorder().ctx, account(hidden), 'subscription', null);
      expect(open.ok).toBe(true);
    } finally {
      h.sim.control.setSubscriptionsPrivate(hidden, true);
    }
  });

  it('quarantines a subscription without the subscribed channel and keeps the others', async () => {
    const channelId = publicWith((n) => n >= 3);
    const base = {
      kind: 'youtube#subscription',
      snippet: { title: 'x', channelId, resourceId: { kind: 'youtube#channel', channelId: 'UCa' } },
    };
    const body = {
      kind: 'youtube#subscriptionListResponse',
      items: [
        { ...base, id: 's1' },
        { ...base, id: 's2', snippet: { title: 'broken', channelId } },
      ],
    };
    h.sim.control.faults.respondNext(1, { status: 200, body }, 'subscriptions');
    const page = value(
      await adapter().fetchFollowsPage(recorder().ctx, account(channelId), 'subscription', null),
    );
    expect(page.follows.map((f) => f.other_external_id)).toEqual(['UCa']);
    expect(page.quarantined).toEqual([
      expect.objectContaining({
        kind: 'subscription',
        externalId: 's2',
        reason: expect.stringMatching(/resourceId/),
      }),
    ]);
    expect(page.nextCursor).toBeNull();
  });

  it('answers an unknown channel with not-found, and refuses relations YouTube does not have', async () => {
    const unknown = await adapter().fetchFollowsPage(
      recorder().ctx,
      account('UCxxxxxxxxxxxxxxxxxxxxxx'),
      'subscription',
      null,
    );
    expect(unknown).toMatchObject({ ok: false, error: { kind: 'not-found', httpStatus: 404 } });
    await expect(
      adapter().fetchFollowsPage(recorder().ctx, account(h.sim.control.channelId(0)), 'follower', null),
    ).rejects.toThrow(/no 'follower' relation/);
  });
});

describe('failures come back classified, never thrown', () => {
  it('5xx, 429 with Retry-After and a dropped connection', async () => {
    const channelId = h.sim.control.channelId(0);
    h.sim.control.faults.failNext(1, 503);
    expect(await adapter().fetchProfile(recorder().ctx, account(channelId))).toMatchObject({
      ok: false,
      error: { kind: 'transient', code: 'SIPHON_ERR_CONNECTOR_TRANSIENT', httpStatus: 503 },
    });
    h.sim.control.faults.rateLimitNext(1, { variant: '429', retryAfterSeconds: 7 });
    expect(await adapter().fetchProfile(recorder().ctx, account(channelId))).toMatchObject({
      ok: false,
      error: { kind: 'rate-limited', code: 'SIPHON_ERR_CONNECTOR_RATE_LIMITED', retryAfterMs: 7000 },
    });
    h.sim.control.faults.dropNext(1);
    const dropped = await adapter().fetchProfile(recorder().ctx, account(channelId));
    expect(dropped).toMatchObject({ ok: false, error: { kind: 'transient', method: 'channels.list' } });
    expect(dropped.ok || dropped.error.httpStatus).toBeUndefined();
  });

  it('a failing second call fails the whole step with that call named', async () => {
    const channelId = findChannel(h.sim, (n) => n > 3);
    h.sim.control.faults.failNext(1, 500, 'videos');
    const r = recorder();
    const posts = await adapter().fetchPostsPage(r.ctx, account(channelId), uploadsOf(channelId), null);
    expect(posts).toMatchObject({ ok: false, error: { kind: 'transient', method: 'videos.list' } });
    expect(r.calls.map((c) => c.method)).toEqual(['playlistItems.list', 'videos.list']);
    expectOneCallPerRequest(r);

    const videoId = findBusyVideo(h.sim, 0, 6);
    h.sim.control.faults.rateLimitNext(1, { method: 'comments' });
    const comments = await adapter().fetchCommentsPage(recorder().ctx, account('owner'), videoId, null);
    expect(comments).toMatchObject({
      ok: false,
      error: { kind: 'rate-limited', method: 'comments.list', httpStatus: 403 },
    });
  });

  it('an exhausted daily quota carries the reset at midnight Pacific Time; a bad key is auth', async () => {
    h.sim.control.quota.setDailyLimit(0, SMALL_KEY);
    const small = new YouTubeClient({ baseUrl: h.sim.baseUrl, apiKey: SMALL_KEY, now: () => h.now });
    const spent = await new YouTubeAdapter({ client: small }).fetchProfile(
      recorder().ctx,
      account(h.sim.control.channelId(0)),
    );
    expect(spent).toEqual({
      ok: false,
      error: expect.objectContaining({
        kind: 'quota-exhausted',
        code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED',
        resetAt: nextPacificMidnight(h.now),
        retryAfterMs: nextPacificMidnight(h.now) - h.now,
      }),
    });
    expect(spent.ok || spent.error.message).not.toContain(SMALL_KEY);

    const wrong = new YouTubeClient({ baseUrl: h.sim.baseUrl, apiKey: 'not-a-key' });
    const refused = await new YouTubeAdapter({ client: wrong }).fetchProfile(
      recorder().ctx,
      account(h.sim.control.channelId(0)),
    );
    expect(refused).toMatchObject({ ok: false, error: { kind: 'auth', code: 'SIPHON_ERR_CONNECTOR_AUTH' } });
  });
});

describe('simulator: subscriptions.list', () => {
  it('orders alphabetically, filters forChannelId, charges 1 unit, needs OAuth for mine', async () => {
    let channelId = '';
    for (let i = 0; i < 500 && channelId === ''; i++) {
      const id = h.sim.control.channelId(i);
      if ((h.sim.control.truth.subscriptions(id)?.length ?? 0) > 5) channelId = id;
    }
    const truth = h.sim.control.truth.subscriptions(channelId)!;
    const before = h.sim.control.quota.used(KEY);
    const sorted = await h.client.listSubscriptions({
      part: ['snippet', 'contentDetails'],
      channelId,
      order: 'alphabetical',
      maxResults: 50,
    });
    expect(h.sim.control.quota.used(KEY)).toBe(before + 1);
    if (!sorted.ok) throw new Error(sorted.error.message);
    const titles = sorted.value.items!.map((s) => s.snippet!.title!);
    expect(titles).toEqual([...titles].sort((a, b) => a.localeCompare(b, 'en')));
    expect(sorted.value.pageInfo?.totalResults).toBe(truth.length);
    expect(typeof sorted.value.items![0]!.contentDetails!.totalItemCount).toBe('number');

    const only = await h.client.listSubscriptions({ part: ['id'], channelId, forChannelId: [truth[2]!] });
    expect(only.ok && only.value.items!.length).toBe(1);

    const mine = await fetch(`${h.sim.baseUrl}subscriptions?part=snippet&mine=true&key=${KEY}`);
    expect(mine.status).toBe(401);
  });
});

describe('fetchProfile of concurrent steps: one channels.list of up to 50 ids', () => {
  const unknown = (i: number) => `UCunknown${String(i).padStart(13, '0')}`;

  it('profiles asked for together share one call; each step gets its own channel, raw page and not-found', async () => {
    const a = adapter();
    const ids = [0, 1, 2, 3].map((i) => h.sim.control.channelId(i));
    const wanted = [...ids, unknown(1)];
    const start = h.sim.control.requests().length;
    const recorders = wanted.map(() => recorder());
    const results = await Promise.all(wanted.map((id, i) => a.fetchProfile(recorders[i]!.ctx, account(id))));
    expect(
      h.sim.control
        .requests()
        .slice(start)
        .map((q) => q.method),
    ).toEqual(['channels']);
    // One limiter slot (1 unit) for the call, taken by one step.
    expect(recorders.map((r) => r.calls.length).sort()).toEqual([0, 0, 0, 0, 1]);
    for (const [i, id] of ids.entries()) {
      const step = value(results[i]!);
      expect(step.profile?.external_id).toBe(id);
      expect(step.postsSource).toBe(h.sim.control.truth.channel(id)!.uploadsId);
      expect(step.raw).toHaveLength(1);
      expect(step.raw[0]).toMatchObject({
        kind: 'profile',
        externalId: id,
        request: { method: 'channels.list', params: { id: wanted } },
      });
      // The raw page keeps only this account's channel, not the other 4.
      const payload = step.raw[0]!.payload as { items: { id: string }[] };
      expect(payload.items.map((c) => c.id)).toEqual([id]);
    }
    expect(results[4]).toMatchObject({ ok: false, error: { kind: 'not-found', method: 'channels.list' } });
  });

  it('51 ids take two calls, 50 and 1, and ask for all 50 with maxResults', async () => {
    const a = adapter();
    const wanted = Array.from({ length: 51 }, (_, i) => (i < 3 ? h.sim.control.channelId(i) : unknown(i)));
    const r = recorder();
    const results = await Promise.all(wanted.map((id) => a.fetchProfile(r.ctx, account(id))));
    expect(r.calls.map((c) => c.method)).toEqual(['channels.list', 'channels.list']);
    expect(results.filter((x) => x.ok)).toHaveLength(3);
    const first = value(results[0]!).raw[0]!.request.params as { id: string[]; maxResults?: number };
    expect(first.id).toHaveLength(50);
    expect(first.maxResults).toBe(50);
  });

  it('a 429 on the shared call reaches every step; only the step that made it counts it', async () => {
    const a = adapter();
    h.sim.control.faults.rateLimitNext(1, { variant: '429', retryAfterSeconds: 3 });
    const ids = [0, 1, 2].map((i) => h.sim.control.channelId(i));
    const results = await Promise.all(ids.map((id) => a.fetchProfile(recorder().ctx, account(id))));
    const errors = results.map((x) => (x.ok ? null : x.error));
    expect(errors.map((e) => e?.kind)).toEqual(['rate-limited', 'rate-limited', 'rate-limited']);
    expect(errors.map((e) => e?.retryAfterMs)).toEqual([3000, 3000, 3000]);
    expect(errors.map((e) => e?.shared ?? false)).toEqual([false, true, true]);
  });

  it('profileBatchWindowMs 0 reads each profile by its own call', async () => {
    const a = adapter({ profileBatchWindowMs: 0 });
    const ids = [0, 1, 2].map((i) => h.sim.control.channelId(i));
    const r = recorder();
    const results = await Promise.all(ids.map((id) => a.fetchProfile(r.ctx, account(id))));
    expect(results.every((x) => x.ok)).toBe(true);
    expect(r.calls).toHaveLength(3);
  });
});
