import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  decodePostsCursor,
  researchDate,
  TikTokAdapter,
  TikTokClient,
  type TikTokAdapterOptions,
} from '../../src/connectors/tiktok/index.js';
import type {
  AccountRef,
  CommentRow,
  CommentsPage,
  PostRow,
  PostsPage,
  StepContext,
  StepResult,
} from '../../src/connectors/connector.js';
import type { TruthComment, TruthVideo } from '../../src/simulators/tiktok/control.js';
import { startTikTokSimulator, type RunningTikTokSimulator } from '../../src/simulators/tiktok/index.js';

/**
 * A first sync against accounts with years of history and months-long silences, compared with the
 * simulator's own data field by field: every video and every reply read once, replies under their
 * parent, a search_id that expires deep in the history, and a pipeline's historySince.
 */
const DAY = 86_400_000;
const START = Date.parse('2026-03-04T18:30:00Z');
const clock = { now: START };
const now = () => clock.now;
let sim: RunningTikTokSimulator;

beforeAll(async () => {
  sim = await startTikTokSimulator({
    seed: 2024,
    users: 4,
    videosPerUser: [50, 80],
    commentsPerVideo: [0, 6],
    repliesPerComment: [0, 5],
    followersPerUser: [0, 0],
    followingPerUser: [0, 0],
    historyDays: 1300,
    silentStretches: 3,
    asOf: '2026-03-04T12:00:00Z',
    privateShare: 0,
    clients: { 'wh-key': 'wh-secret' },
    searchTtlMs: 60_000,
    now,
  });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  clock.now = START;
  sim.control.faults.clear();
});

function adapter(options: Partial<TikTokAdapterOptions> = {}): TikTokAdapter {
  const client = new TikTokClient({
    baseUrl: sim.baseUrl,
    clientKey: 'wh-key',
    clientSecret: 'wh-secret',
    now,
  });
  return new TikTokAdapter({ client, now, ...options });
}

function context(extra: Partial<StepContext> = {}): StepContext & { calls: string[] } {
  const calls: string[] = [];
  return { calls, beforeCall: async (method) => void calls.push(method), ...extra };
}

const account = (username: string): AccountRef => ({ external_id: username, handle: null });

function value<T>(result: StepResult<T>): T {
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The profile step, then posts pages from `cursor` until the stream ends or `stop` says so. */
async function walk(
  a: TikTokAdapter,
  username: string,
  options: { ctx?: StepContext; source?: string; cursor?: string | null; stop?: (c: string) => boolean } = {},
) {
  const ctx = options.ctx ?? context();
  const source = options.source ?? value(await a.fetchProfile(ctx, account(username))).postsSource!;
  const pages: PostsPage[] = [];
  let cursor = options.cursor ?? null;
  do {
    const page = value(await a.fetchPostsPage(ctx, account(username), source, cursor));
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null && !options.stop?.(cursor) && pages.length < 1000);
  return { pages, cursor, source };
}

/** What a stored post row must say about a simulator video. */
const postOf = (v: TruthVideo) => ({
  external_id: v.id,
  profile_external_id: v.username,
  description: v.description,
  published_at: new Date(v.createTime * 1000).toISOString(),
  duration_seconds: v.durationSec,
  view_count: v.viewCount,
  like_count: v.likeCount,
  comment_count: v.commentCount,
});
const rowOf = (p: PostRow) => ({
  external_id: p.external_id,
  profile_external_id: p.profile_external_id,
  description: p.description,
  published_at: p.published_at,
  duration_seconds: p.duration_seconds,
  view_count: p.view_count,
  like_count: p.like_count,
  comment_count: p.comment_count,
});
const byId = <T extends { external_id: string }>(a: T, b: T) => (a.external_id < b.external_id ? -1 : 1);

/** The longest stretch between two consecutive videos of the user, in days. */
function longestSilenceDays(videos: readonly TruthVideo[]): number {
  const times = videos.map((v) => v.createTime * 1000).sort((a, b) => a - b);
  return Math.max(...times.slice(1).map((t, i) => (t - times[i]!) / DAY));
}

/** The user whose history reaches furthest back. */
function deepestUser(): string {
  const oldest = (u: string) => Math.min(...sim.control.videos(u).map((v) => v.createTime));
  return [...sim.control.usernames()].sort((a, b) => oldest(a) - oldest(b))[0]!;
}

describe('TikTok first sync over years of history, compared with the simulator field by field', () => {
  it('the simulator gives years of videos with silences of months, and counts them in video_count', () => {
    for (const username of sim.control.usernames()) {
      const videos = sim.control.videos(username);
      expect(sim.control.user(username)!.videoCount).toBe(videos.length);
      expect(longestSilenceDays(videos)).toBeGreaterThan(60);
    }
    const videos = sim.control.videos(deepestUser());
    expect(Math.min(...videos.map((v) => v.createTime * 1000))).toBeLessThan(START - 2 * 365 * DAY);
  });

  it('reads every video exactly once, with the simulator’s fields, and stops at the oldest one', async () => {
    const username = deepestUser();
    const truth = sim.control.videos(username);
    const ctx = context();
    const { pages } = await walk(adapter({ videoPageSize: 20 }), username, { ctx });
    const rows = pages.flatMap((p) => p.posts);
    expect(new Set(rows.map((r) => r.external_id)).size).toBe(rows.length);
    expect(rows.map(rowOf).sort(byId)).toEqual(truth.map(postOf).sort(byId));
    // The walk ended in the window of the oldest video, not at TikTok's launch (2016), and it went on
    // through every silent month on the way.
    const oldest = researchDate(Math.min(...truth.map((v) => v.createTime * 1000)));
    const windows = ctx.calls.filter((m) => m === 'research/video/query').length;
    const months = Math.ceil((START - Math.min(...truth.map((v) => v.createTime * 1000))) / (30 * DAY));
    expect(windows).toBeGreaterThanOrEqual(months);
    expect(windows).toBeLessThanOrEqual(months + 1 + Math.ceil(truth.length / 20));
    const lastPage = pages.at(-1)!;
    expect(lastPage.nextCursor).toBeNull();
    expect(researchDate(lastPage.oldestPublishedAt!) <= oldest).toBe(true);
  });

  it('a video published during the walk does not end it before the oldest video', async () => {
    const username = sim.control.usernames()[1]!;
    const a = adapter({ videoPageSize: 50 });
    const source = value(await a.fetchProfile(context(), account(username))).postsSource!;
    clock.now += 60_000;
    const fresh = sim.control.addVideo(username, { description: 'posted while the sync ran' });
    const { pages } = await walk(a, username, { source });
    const got = pages.flatMap((p) => p.posts.map((r) => r.external_id)).sort();
    expect(got).toContain(fresh);
    expect(got).toEqual(
      sim.control
        .videos(username)
        .map((v) => v.id)
        .sort(),
    );
  });

  it('an expired search_id deep in the history restarts only its window: nothing lost, the walk still ends at the oldest video', async () => {
    const username = sim.control.usernames()[2]!;
    const truth = sim.control.videos(username);
    // Stop inside a window more than a year back, after its first page (offset > 0, a search id).
    const yearAgo = researchDate(START - 365 * DAY);
    const head = await walk(adapter({ videoPageSize: 2 }), username, {
      stop: (c) => {
        const at = decodePostsCursor(c)!;
        return at.end < yearAgo && at.searchId !== null && (at.found ?? 0) > 0;
      },
    });
    const stopped = decodePostsCursor(head.cursor!)!;
    expect(stopped.cursor).toBeGreaterThan(0);
    clock.now += 61_000; // the simulator's search ids live 60 s
    const start = sim.control.requests().length;
    const rest = await walk(adapter({ videoPageSize: 2 }), username, {
      source: head.source,
      cursor: head.cursor,
    });
    const queries = sim.control
      .requests()
      .slice(start)
      .filter((r) => r.endpoint === 'research/video/query');
    expect(queries[0]).toMatchObject({ status: 400, code: 'invalid_params' });
    const before = head.pages.flatMap((p) => p.posts);
    const after = rest.pages.flatMap((p) => p.posts);
    // Every video is stored with the simulator's fields (rows are upserted by id) ...
    const stored = new Map([...before, ...after].map((r) => [r.external_id, r]));
    expect([...stored.values()].map(rowOf).sort(byId)).toEqual(truth.map(postOf).sort(byId));
    // ... and the only videos read twice are those of the restarted window's earlier pages.
    const inWindow = (r: PostRow) => {
      const day = researchDate(Date.parse(r.published_at!));
      return day >= stopped.start && day <= stopped.end;
    };
    const twice = after.filter((r) => before.some((b) => b.external_id === r.external_id));
    expect(twice.length).toBe(stopped.cursor);
    expect(twice.every(inWindow)).toBe(true);
    // The count of earlier windows survived the restart: the walk stopped at the oldest video.
    const oldestDay = researchDate(Math.min(...truth.map((v) => v.createTime * 1000)));
    expect(researchDate(rest.pages.at(-1)!.oldestPublishedAt!) <= oldestDay).toBe(true);
    expect(researchDate(rest.pages.at(-1)!.oldestPublishedAt!) > researchDate(Date.parse('2016-09-01'))).toBe(
      true,
    );
  });

  it('historySince stops the walk at its date, across silences; nothing older is asked for', async () => {
    const username = deepestUser();
    const since = START - 2 * 365 * DAY;
    const ctx = context({ historySince: since });
    const { pages } = await walk(adapter({ videoPageSize: 20 }), username, { ctx });
    const floorDay = Date.parse(new Date(since).toISOString().slice(0, 10));
    const truth = sim.control.videos(username);
    const expected = truth.filter((v) => v.createTime * 1000 >= floorDay);
    expect(expected.length).toBeLessThan(truth.length);
    expect(
      pages
        .flatMap((p) => p.posts)
        .map(rowOf)
        .sort(byId),
    ).toEqual(expected.map(postOf).sort(byId));
    // Every window asked for starts on or after the floor day, and the last one starts on it.
    const floor = researchDate(since);
    const starts = pages.map(
      (p) => (p.raw[0]!.request as { params: { body: { start_date: string } } }).params.body.start_date,
    );
    expect(starts.every((d) => d >= floor)).toBe(true);
    expect(starts.at(-1)).toBe(floor);
    expect(pages.at(-1)!.oldestPublishedAt).toBe(floorDay);
  });

  it('reads every comment and every reply of an account once, replies by comment_id under their parent', async () => {
    const username = sim.control.usernames()[3]!;
    const a = adapter({ videoPageSize: 100, commentPageSize: 3 });
    const ctx = context();
    const { pages } = await walk(a, username, { ctx });
    const commentable = pages.flatMap((p) => p.commentable);
    const rows: CommentRow[] = [];
    const kinds: string[] = [];
    let requests = 0;
    for (const videoId of commentable) {
      let cursor: string | null = null;
      do {
        const before = ctx.calls.length;
        const page: CommentsPage = value(await a.fetchCommentsPage(ctx, account(username), videoId, cursor));
        // One request per page here (the token is cached), announced to beforeCall first.
        expect(ctx.calls.slice(before).filter((m) => m !== 'oauth/token')).toEqual([
          'research/video/comment/list',
        ]);
        requests += 1;
        expect(page.raw).toHaveLength(1);
        kinds.push(page.raw[0]!.kind);
        expect(page.comments.every((c) => c.post_external_id === videoId)).toBe(true);
        rows.push(...page.comments);
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
    const truth: TruthComment[] = sim.control.videos(username).flatMap((v) => sim.control.comments(v.id));
    const replies = truth.filter((c) => c.parentId !== null);
    expect(replies.length).toBeGreaterThan(20);
    expect(new Set(rows.map((r) => r.external_id)).size).toBe(rows.length);
    const shape = (c: {
      id: string;
      parentId: string | null;
      videoId: string;
      text: string;
      likeCount: number;
    }) => ({
      external_id: c.id,
      post_external_id: c.videoId,
      parent_external_id: c.parentId,
      text: c.text,
      like_count: c.likeCount,
    });
    expect(
      rows
        .map((r) =>
          shape({
            id: r.external_id,
            videoId: r.post_external_id,
            parentId: r.parent_external_id,
            text: r.text!,
            likeCount: r.like_count!,
          }),
        )
        .sort(byId),
    ).toEqual(truth.map(shape).sort(byId));
    // Calls: the top-level pages of each video, and ceil(replies / 3) pages per comment with replies.
    const tops = truth.filter((c) => c.parentId === null);
    const topPages = sim.control
      .videos(username)
      .filter((v) => commentable.includes(v.id))
      .reduce((n, v) => n + Math.max(1, Math.ceil(tops.filter((t) => t.videoId === v.id).length / 3)), 0);
    const replyPages = tops.reduce((n, t) => n + Math.ceil(t.replyCount / 3), 0);
    expect(requests).toBe(topPages + replyPages);
    expect(kinds.filter((k) => k === 'replies_page')).toHaveLength(replyPages);
  });
});
