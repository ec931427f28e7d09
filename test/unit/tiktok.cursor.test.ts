import { describe, expect, it } from 'vitest';
import {
  countsToward,
  decodeCommentsCursor,
  decodePostsCursor,
  encodePostsCursor,
  firstWindow,
  olderWindow,
  parsePostsSource,
  researchDate,
  seenInWindow,
  TikTokAdapter,
  type CommentListParams,
  type PostsCursor,
  type TikTokCallOptions,
  type TikTokClient,
  type TikTokComment,
  type TikTokError,
  type TikTokResult,
  type TikTokVideo,
  type VideoQueryParams,
} from '../../src/connectors/tiktok/index.js';
import type { AccountRef, CommentsPage, PostsPage, StepContext } from '../../src/connectors/connector.js';

const NOW = Date.parse('2026-03-04T18:30:00Z');
const DAY = 86_400_000;
const ACCOUNT: AccountRef = { external_id: 'joe123456', handle: null };

function success<T>(method: string, body: Record<string, unknown>, data: T): TikTokResult<T> {
  return {
    ok: true,
    value: data,
    payload: { data, error: { code: 'ok', message: '', log_id: 'unit' } },
    request: { method: method as never, path: `/v2/${method}/`, params: { body } },
  } as TikTokResult<T>;
}

function gone(method: string, message: string): TikTokResult<never> {
  const error: TikTokError = {
    kind: 'not-found',
    code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
    status: 400,
    reason: 'invalid_params',
    message,
    method: method as never,
    path: `/v2/${method}/`,
  };
  return { ok: false, error };
}

/** A context that records every beforeCall, in order. */
function context(extra: Partial<StepContext> = {}): StepContext & { calls: string[] } {
  const calls: string[] = [];
  return { calls, beforeCall: async (method) => void calls.push(method), ...extra };
}

/**
 * An in-memory Research API behind the client's interface. A search holds every video of its window
 * (in `withheld` too: records the search counts but no longer returns, as a page "may contain fewer
 * than max_count"); `cursor` is the offset in it, like the API's.
 */
class FakeClient {
  readonly clientKey = 'unit-key';
  readonly videoRequests: VideoQueryParams[] = [];
  readonly commentRequests: CommentListParams[] = [];
  videoCount = 0;
  constructor(
    readonly videos: TikTokVideo[],
    readonly withheld: ReadonlySet<string> = new Set(),
    readonly comments: TikTokComment[] = [],
    readonly goneComments: ReadonlySet<string> = new Set(),
  ) {}

  async userInfo(_username: string, options: TikTokCallOptions = {}) {
    await options.beforeRequest?.('research/user/info');
    return success('research/user/info', {}, { video_count: this.videoCount, display_name: 'Joe' });
  }

  async queryVideos(params: VideoQueryParams, options: TikTokCallOptions = {}) {
    await options.beforeRequest?.('research/video/query');
    this.videoRequests.push(params);
    const inWindow = this.videos.filter((v) => {
      const day = researchDate(Number(v.create_time) * 1000);
      return day >= params.startDate && day <= params.endDate;
    });
    const offset = params.cursor ?? 0;
    const slice = inWindow.slice(offset, offset + (params.maxCount ?? 100));
    const next = offset + slice.length;
    return success(
      'research/video/query',
      { ...params },
      {
        videos: slice.filter((v) => !this.withheld.has(String(v.id))),
        cursor: next,
        search_id: '7201388525814961198',
        has_more: next < inWindow.length,
      },
    );
  }

  async listComments(params: CommentListParams, options: TikTokCallOptions = {}) {
    await options.beforeRequest?.('research/video/comment/list');
    this.commentRequests.push(params);
    if (params.commentId !== undefined && this.goneComments.has(params.commentId)) {
      return gone('research/video/comment/list', `The comment ${params.commentId} does not exist.`);
    }
    const parent = params.commentId ?? params.videoId;
    const list = this.comments.filter((c) => c.parent_comment_id === parent);
    const offset = params.cursor ?? 0;
    const slice = list.slice(offset, offset + (params.maxCount ?? 100));
    const next = offset + slice.length;
    return success(
      'research/video/comment/list',
      { ...params },
      {
        comments: slice,
        cursor: next,
        has_more: next < list.length,
      },
    );
  }
}

const VIDEO = '7028743950684949650';

function video(n: number, daysAgo: number): TikTokVideo {
  return {
    id: String(7_000_000_000_000_000_000n + BigInt(n)),
    username: 'joe123456',
    create_time: Math.floor((NOW - daysAgo * DAY) / 1000),
    video_description: `video ${n}`,
  };
}

function adapter(client: FakeClient, options: { videoPageSize?: number; commentPageSize?: number } = {}) {
  return new TikTokAdapter({ client: client as unknown as TikTokClient, now: () => NOW, ...options });
}

async function walkPosts(a: TikTokAdapter, source: string, ctx: StepContext = context()) {
  const pages: PostsPage[] = [];
  let cursor: string | null = null;
  do {
    const page = await a.fetchPostsPage(ctx, ACCOUNT, source, cursor);
    if (!page.ok) throw new Error(page.error.message);
    pages.push(page.value);
    cursor = page.value.nextCursor;
  } while (cursor !== null && pages.length < 500);
  return pages;
}

describe('posts stream: what counts toward video_count', () => {
  it('the posts source carries the count and when it was read; older sources still parse', () => {
    expect(parsePostsSource('joe123456#44@1772649000')).toEqual({
      username: 'joe123456',
      videoCount: 44,
      asOf: 1772649000,
    });
    expect(parsePostsSource('joe123456#44')).toEqual({ username: 'joe123456', videoCount: 44, asOf: null });
    expect(parsePostsSource('@Joe.123_456')).toEqual({
      username: 'Joe.123_456',
      videoCount: null,
      asOf: null,
    });
  });

  it('only videos returned and published by the profile read count; old cursors count by offset', () => {
    const c = firstWindow(NOW, 0, 30, 10, 1_772_600_000);
    expect(countsToward(c, 1_772_600_000_000)).toBe(true);
    expect(countsToward(c, 1_772_600_001_000)).toBe(false);
    expect(countsToward(c, Number.NaN)).toBe(false);
    expect(countsToward(firstWindow(NOW, 0, 30, 10), NOW + DAY)).toBe(true);
    const tt2 = decodePostsCursor('tt2:20260203:20260304:20250905:200:7201388525814961198:40:567')!;
    expect(seenInWindow(tt2)).toBe(200);
    expect(seenInWindow({ ...tt2, seen: 3 })).toBe(3);
  });

  it('tt3 carries the window count and read time; malformed ones are refused', () => {
    const c: PostsCursor = {
      ...firstWindow(NOW, 0, 30, 567, 1_772_649_000),
      cursor: 100,
      searchId: '7201388525814961198',
      seen: 97,
    };
    const text = encodePostsCursor(c);
    expect(text).toBe('tt3:20260203:20260304:20160901:100:7201388525814961198:0:567:97:1772649000');
    expect(decodePostsCursor(text)).toEqual(c);
    for (const bad of [
      'tt3:20260203:20260304:20160901:100:7201388525814961198:0:567:97',
      'tt3:20260203:20260304:20160901:100:7201388525814961198:0:567:x:1772649000',
      'tt3:20260203:20260304:20160901:100:7201388525814961198:0:567:97:-1',
      'tt2:20260203:20260304:20160901:100:7201388525814961198:0:567:97:1772649000',
    ])
      expect(decodePostsCursor(bad)).toBeUndefined();
  });

  it('records the search counts but no longer returns do not end the walk before the oldest video', async () => {
    // Five live videos; two more were deleted and are still held by the newest window's search. A
    // count by offset reaches 5 in the first window and would never read the four older ones.
    const videos = [video(1, 1), video(2, 2), video(3, 3), video(4, 4), video(5, 5)];
    videos.push(video(6, 40), video(7, 300), video(8, 301), video(9, 700));
    const client = new FakeClient(videos, new Set([videos[0]!.id, videos[1]!.id].map(String)));
    const pages = await walkPosts(adapter(client, { videoPageSize: 2 }), `joe123456#7@${NOW / 1000}`);
    const got = pages.flatMap((p) => p.posts.map((r) => r.external_id));
    expect(got).toEqual(videos.slice(2).map((v) => String(v.id)));
    // It stopped at the video that made seven, 700 days back, not at TikTok's launch.
    const last = client.videoRequests.at(-1)!;
    expect(last.startDate <= researchDate(NOW - 700 * DAY)).toBe(true);
    expect(last.startDate > researchDate(NOW - 760 * DAY)).toBe(true);
    // Months without a video between them did not end it either.
    expect(client.videoRequests.length).toBeGreaterThan(20);
  });

  it('a video published after the profile read does not end the walk one window early', async () => {
    const videos = [video(1, 0), video(2, 10), video(3, 400)];
    const client = new FakeClient(videos);
    // The profile was read an hour before the newest video: its video_count (2) does not count it.
    const source = `joe123456#2@${Math.floor((NOW - 2 * 3_600_000) / 1000)}`;
    const got = (await walkPosts(adapter(client), source)).flatMap((p) => p.posts.map((r) => r.external_id));
    expect(got).toEqual(videos.map((v) => String(v.id)));
  });

  it('an old tt2 cursor stored mid-window resumes, counting its offset as before', async () => {
    const videos = [video(1, 1), video(2, 2), video(3, 3), video(4, 90)];
    const client = new FakeClient(videos);
    const stored = 'tt2:20260203:20260304:20160901:2:7201388525814961198:0:4';
    const pages: PostsPage[] = [];
    let cursor: string | null = stored;
    while (cursor !== null) {
      const page = await adapter(client, { videoPageSize: 2 }).fetchPostsPage(
        context(),
        ACCOUNT,
        'joe123456#4',
        cursor,
      );
      if (!page.ok) throw new Error(page.error.message);
      pages.push(page.value);
      cursor = page.value.nextCursor;
    }
    expect(pages.flatMap((p) => p.posts.map((r) => r.external_id))).toEqual(
      videos.slice(2).map((v) => String(v.id)),
    );
    expect(client.videoRequests[0]).toMatchObject({ cursor: 2, searchId: '7201388525814961198' });
  });
});

describe('comments stream: top-level pages, then the replies of each comment with replies', () => {
  const comment = (id: string, parent: string, replies = 0): TikTokComment => ({
    id,
    video_id: VIDEO,
    parent_comment_id: parent,
    text: `comment ${id}`,
    like_count: 1,
    reply_count: replies,
    create_time: 1_700_000_000,
  });
  // Three top-level comments (2 a page); replies: 3 on c1, none on c2, 1 on c3.
  const tops = [comment('101', VIDEO, 3), comment('102', VIDEO, 0), comment('103', VIDEO, 1)];
  const replies = [
    comment('201', '101'),
    comment('202', '101'),
    comment('203', '101'),
    comment('204', '103'),
  ];

  async function walkComments(a: TikTokAdapter, ctx: StepContext, start: string | null = null) {
    const pages: CommentsPage[] = [];
    const cursors: (string | null)[] = [];
    let cursor = start;
    do {
      const page = await a.fetchCommentsPage(ctx, ACCOUNT, VIDEO, cursor);
      if (!page.ok) throw new Error(page.error.message);
      pages.push(page.value);
      cursor = page.value.nextCursor;
      cursors.push(cursor);
    } while (cursor !== null && pages.length < 100);
    return { pages, cursors };
  }

  it('reads each top-level page, then pages of replies by comment_id, each reply once with its parent', async () => {
    const client = new FakeClient([], new Set(), [...tops, ...replies]);
    const ctx = context();
    const { pages, cursors } = await walkComments(adapter(client, { commentPageSize: 2 }), ctx);
    expect(client.commentRequests.map((r) => [r.commentId ?? `video ${r.videoId}`, r.cursor])).toEqual([
      [`video ${VIDEO}`, 0],
      ['101', 0],
      ['101', 2],
      [`video ${VIDEO}`, 2],
      ['103', 0],
    ]);
    // One beforeCall per request, one raw response per page, replies under their own kind.
    expect(ctx.calls).toEqual(Array(5).fill('research/video/comment/list'));
    expect(pages.map((p) => p.raw.map((r) => r.kind))).toEqual([
      ['comments_page'],
      ['replies_page'],
      ['replies_page'],
      ['comments_page'],
      ['replies_page'],
    ]);
    expect(pages.every((p) => p.raw.every((r) => r.externalId === VIDEO))).toBe(true);
    const rows = pages.flatMap((p) => p.comments);
    expect(rows.map((r) => [r.external_id, r.parent_external_id])).toEqual([
      ['101', null],
      ['102', null],
      ['201', '101'],
      ['202', '101'],
      ['203', '101'],
      ['103', null],
      ['204', '103'],
    ]);
    expect(cursors).toEqual(['ttc1:2:0:101', 'ttc1:2:2:101', 'ttc1:2:0:', 'ttc1::0:103', null]);
    expect(cursors.slice(0, -1).map((c) => decodeCommentsCursor(c))).toEqual([
      { top: 2, queue: ['101'], replyOffset: 0 },
      { top: 2, queue: ['101'], replyOffset: 2 },
      { top: 2, queue: [], replyOffset: 0 },
      { top: null, queue: ['103'], replyOffset: 0 },
    ]);
  });

  it('resumes from a stored cursor in the middle of a comment’s replies, with a new adapter', async () => {
    const client = new FakeClient([], new Set(), [...tops, ...replies]);
    const { pages } = await walkComments(adapter(client, { commentPageSize: 2 }), context(), 'ttc1:2:2:101');
    expect(pages.flatMap((p) => p.comments.map((r) => r.external_id))).toEqual(['203', '103', '204']);
  });

  it('a parent deleted before its replies are read is skipped; the other comments are still read', async () => {
    const client = new FakeClient([], new Set(), [...tops, ...replies], new Set(['101']));
    const ctx = context();
    const { pages } = await walkComments(adapter(client, { commentPageSize: 2 }), ctx);
    expect(pages.flatMap((p) => p.comments.map((r) => r.external_id))).toEqual(['101', '102', '103', '204']);
    expect(pages[1]).toMatchObject({ raw: [], comments: [], nextCursor: 'ttc1:2:0:' });
    expect(ctx.calls).toHaveLength(4);
  });
});

describe('firstWindow / olderWindow keep the read time through the walk', () => {
  it('carries asOf and target into every older window; seen restarts at 0', () => {
    const first = firstWindow(NOW, NOW - 100 * DAY, 30, 9, 1_772_649_000);
    const second = olderWindow({ ...first, seen: 4, cursor: 5, searchId: '1' }, 30, 4)!;
    expect(second).toMatchObject({ found: 4, target: 9, seen: 0, asOf: 1_772_649_000, cursor: 0 });
    expect(second.searchId).toBeNull();
  });
});
