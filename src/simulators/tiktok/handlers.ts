import { isLosslessNumber, LosslessNumber } from 'lossless-json';
import type { CommentState, FollowState, TikTokDataset, UserState, VideoState } from './dataset.js';
import { errors, type SimResponse } from './error-bodies.js';
import { randomFor, searchIdOf } from './ids.js';

/**
 * One handler per Research endpoint: (context, `fields`, JSON body) → `data`, or a thrown SimFailure
 * with the documented error body. Tokens, quotas, rate windows and faults are checked before, in the
 * simulator. Bodies arrive parsed losslessly: numbers are LosslessNumbers, so ids stay exact.
 */
export class SimFailure extends Error {
  readonly response: SimResponse;
  constructor(response: SimResponse) {
    super(`simulated TikTok error ${response.status}`);
    this.response = response;
  }
}

interface Search {
  readonly key: string;
  readonly ids: readonly string[];
  readonly createdAt: number;
}

export interface HandlerContext {
  readonly dataset: TikTokDataset;
  readonly now: () => number;
  /** How unknown or private users and videos are answered. */
  readonly notFoundStyle: 'invalid_params' | 'http_404';
  /** A `search_id` stops working this long after its first page. */
  readonly searchTtlMs: number;
  readonly searches: Map<string, Search>;
  /** Mints search ids. */
  readonly counter: { searches: number };
  /** This page comes back short (a fault). */
  readonly short: boolean;
}

export type Body = Readonly<Record<string, unknown>>;
type Handler = (ctx: HandlerContext, fields: string | undefined, body: Body) => unknown;

const invalid = (message: string) => new SimFailure(errors.invalidParams(message));
const DAY_MS = 86_400_000;

export const USER_FIELDS = [
  'display_name',
  'bio_description',
  'avatar_url',
  'is_verified',
  'follower_count',
  'following_count',
  'likes_count',
  'video_count',
  'bio_url',
] as const;

export const VIDEO_FIELDS = [
  'id',
  'video_description',
  'create_time',
  'region_code',
  'share_count',
  'view_count',
  'like_count',
  'comment_count',
  'music_id',
  'hashtag_names',
  'username',
  'effect_ids',
  'playlist_id',
  'voice_to_text',
  'is_stem_verified',
  'favorites_count',
  'video_duration',
] as const;

export const COMMENT_FIELDS = [
  'id',
  'video_id',
  'text',
  'like_count',
  'reply_count',
  'parent_comment_id',
  'create_time',
] as const;

/** The `fields` query parameter: required, every name known. */
function fieldList(fields: string | undefined, known: readonly string[]): string[] {
  if (fields === undefined || fields.trim() === '') throw invalid('The fields parameter is required.');
  const list = fields
    .split(',')
    .map((f) => f.trim())
    .filter((f) => f !== '');
  const unknown = list.find((f) => !known.includes(f));
  if (unknown !== undefined) throw invalid(`Invalid field: ${unknown}`);
  return [...new Set(list)];
}

/** A number parameter (a JSON integer; a decimal string is tolerated) within [min, max]. */
function intParam(body: Body, name: string, range: { min: number; max: number; fallback: number }): number {
  const value = body[name];
  if (value === undefined || value === null) return range.fallback;
  const text = isLosslessNumber(value)
    ? value.value
    : typeof value === 'number' || typeof value === 'string'
      ? String(value)
      : '';
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < range.min || n > range.max) {
    throw invalid(`${name} must be an integer in [${range.min}, ${range.max}]`);
  }
  return n;
}

/** An int64 id, exactly as sent. */
function idParam(value: unknown, name: string): string {
  const text = isLosslessNumber(value) ? value.value : typeof value === 'string' ? value : undefined;
  if (text === undefined || !/^\d{1,20}$/.test(text)) throw invalid(`${name} must be an int64`);
  return text;
}

function stringParam(body: Body, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value.trim() === '') throw invalid(`${name} is required`);
  return value;
}

const pick = (getters: Record<string, () => unknown>, fields: readonly string[]) =>
  Object.fromEntries(fields.map((f) => [f, getters[f]!()]));
const id = (value: string) => new LosslessNumber(value);

function liveUser(ctx: HandlerContext, username: string): UserState {
  const user = ctx.dataset.user(username);
  if (!user || user.isPrivate) throw new SimFailure(errors.notFound('user', username, ctx.notFoundStyle));
  return user;
}

function userInfo(ctx: HandlerContext, fields: string | undefined, body: Body): unknown {
  const wanted = fieldList(fields, USER_FIELDS);
  const user = liveUser(ctx, stringParam(body, 'username'));
  const videos = ctx.dataset.videos(user);
  return pick(
    {
      display_name: () => user.displayName,
      bio_description: () => user.bio,
      avatar_url: () => user.avatarUrl,
      is_verified: () => user.isVerified,
      follower_count: () => user.followers.length + user.hiddenFollowers,
      following_count: () => user.following.length,
      likes_count: () => videos.reduce((n, v) => n + v.likeCount, 0),
      video_count: () => videos.length,
      bio_url: () => user.bioUrl,
    },
    wanted,
  );
}

export function renderVideo(ctx: HandlerContext, v: VideoState, fields: readonly string[]): unknown {
  return pick(
    {
      id: () => id(v.id),
      video_description: () => v.description,
      create_time: () => v.createSeconds,
      region_code: () => v.regionCode,
      share_count: () => v.shareCount,
      view_count: () => v.viewCount,
      like_count: () => v.likeCount,
      comment_count: () => ctx.dataset.comments(v).length,
      music_id: () => id(v.musicId),
      hashtag_names: () => v.hashtags,
      username: () => v.username,
      effect_ids: () => ['0'],
      playlist_id: () => 0,
      voice_to_text: () => '',
      is_stem_verified: () => false,
      favorites_count: () => v.favoritesCount,
      video_duration: () => v.durationSec,
    },
    fields,
  );
}

/** `YYYYMMDD` → 00:00 UTC, or a 400. */
function dateParam(body: Body, name: string): number {
  const text = body[name];
  const m = typeof text === 'string' ? /^(\d{4})(\d{2})(\d{2})$/.exec(text) : null;
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10).replaceAll('-', '') !== text) {
    throw invalid(`${name} must be a date YYYYMMDD`);
  }
  return ms;
}

interface Condition {
  readonly operation: string;
  readonly field: string;
  readonly values: readonly string[];
}

const QUERY_FIELDS = ['username', 'video_id', 'region_code', 'hashtag_name', 'keyword', 'create_date'];

function conditions(list: unknown, where: string): Condition[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw invalid(`query.${where} must be a list`);
  return list.map((c: unknown) => {
    const { operation, field_name, field_values } = (c ?? {}) as Record<string, unknown>;
    if (typeof operation !== 'string' || !['EQ', 'IN', 'GT', 'GTE', 'LT', 'LTE'].includes(operation)) {
      throw invalid(`invalid operation ${JSON.stringify(operation)}`);
    }
    if (typeof field_name !== 'string' || !QUERY_FIELDS.includes(field_name)) {
      throw invalid(`invalid field_name ${JSON.stringify(field_name)}`);
    }
    if (!Array.isArray(field_values) || field_values.length === 0) throw invalid('field_values is required');
    const values = field_values.map((v: unknown) => (isLosslessNumber(v) ? v.value : String(v)));
    return { operation, field: field_name, values };
  });
}

function matches(v: VideoState, c: Condition): boolean {
  const date = new Date(v.createSeconds * 1000).toISOString().slice(0, 10).replaceAll('-', '');
  const value: string[] =
    c.field === 'username'
      ? [v.username]
      : c.field === 'video_id'
        ? [v.id]
        : c.field === 'region_code'
          ? [v.regionCode]
          : c.field === 'hashtag_name'
            ? [...v.hashtags]
            : c.field === 'create_date'
              ? [date]
              : [];
  if (c.field === 'keyword')
    return c.values.some((k) => v.description.toLowerCase().includes(k.toLowerCase()));
  const [first] = c.values as [string];
  switch (c.operation) {
    case 'GT':
      return value.some((x) => x > first);
    case 'GTE':
      return value.some((x) => x >= first);
    case 'LT':
      return value.some((x) => x < first);
    case 'LTE':
      return value.some((x) => x <= first);
    default:
      return value.some((x) => c.values.some((w) => w.toLowerCase() === x.toLowerCase()));
  }
}

function videoQuery(ctx: HandlerContext, fields: string | undefined, body: Body): unknown {
  const wanted = fieldList(fields, VIDEO_FIELDS);
  const query = (body.query ?? {}) as Record<string, unknown>;
  const and = conditions(query.and, 'and');
  const or = conditions(query.or, 'or');
  const not = conditions(query.not, 'not');
  if (and.length + or.length === 0) throw invalid('query must have at least one and/or condition');
  const start = dateParam(body, 'start_date');
  const end = dateParam(body, 'end_date');
  if (end < start) throw invalid('end_date must not be before start_date');
  if (end - start > 30 * DAY_MS) throw invalid('end_date must be no more than 30 days after start_date');
  const size = intParam(body, 'max_count', { min: 1, max: 100, fallback: 20 });
  const cursor = intParam(body, 'cursor', { min: 0, max: 1_000_000, fallback: 0 });
  const key = JSON.stringify({ and, or, not, start, end, random: body.is_random === true });

  let searchId = typeof body.search_id === 'string' && body.search_id !== '' ? body.search_id : undefined;
  let search = searchId === undefined ? undefined : ctx.searches.get(searchId);
  if (searchId !== undefined) {
    if (!search || ctx.now() - search.createdAt > ctx.searchTtlMs)
      throw new SimFailure(errors.searchIdExpired(searchId));
    if (search.key !== key) throw invalid(`Search Id ${searchId} belongs to another query`);
  } else {
    searchId = searchIdOf(ctx.dataset.options.seed, (ctx.counter.searches += 1));
    const usernames = and.filter(
      (c) => c.field === 'username' && (c.operation === 'IN' || c.operation === 'EQ'),
    );
    const users: UserState[] =
      usernames.length > 0
        ? usernames.flatMap((c) => c.values).flatMap((u) => ctx.dataset.user(u) ?? [])
        : ctx.dataset.usernames().map((u) => ctx.dataset.user(u)!);
    const ids = users
      .filter((u) => !u.isPrivate)
      .flatMap((u) => ctx.dataset.videos(u))
      .filter((v) => v.createSeconds * 1000 >= start && v.createSeconds * 1000 < end + DAY_MS)
      .filter((v) => and.every((c) => matches(v, c)))
      .filter((v) => or.length === 0 || or.some((c) => matches(v, c)))
      .filter((v) => !not.some((c) => matches(v, c)))
      .map((v) => v.id);
    // The Research API promises no order: a seeded shuffle per search.
    const r = randomFor(ctx.dataset.options.seed, 'search', searchId);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    search = { key, ids, createdAt: ctx.now() };
    ctx.searches.set(searchId, search);
  }
  const take = ctx.short ? Math.max(1, Math.floor(size / 2)) : size;
  const slice = search.ids.slice(cursor, cursor + take);
  // Videos deleted since the search began drop out: the page comes back shorter.
  const videos = slice.flatMap((v) => ctx.dataset.video(v) ?? []);
  const next = cursor + slice.length;
  return {
    videos: videos.map((v) => renderVideo(ctx, v, wanted)),
    cursor: next,
    search_id: searchId,
    has_more: next < search.ids.length,
  };
}

function page<T>(ctx: HandlerContext, body: Body, all: readonly T[], fallback: number) {
  const size = intParam(body, 'max_count', { min: 1, max: 100, fallback });
  const cursor = intParam(body, 'cursor', { min: 0, max: 1_000_000_000, fallback: 0 });
  const take = ctx.short ? Math.max(1, Math.floor(size / 2)) : size;
  const items = all.slice(cursor, cursor + take);
  const next = cursor + items.length;
  return { items, cursor: next, has_more: next < all.length };
}

function commentList(ctx: HandlerContext, fields: string | undefined, body: Body): unknown {
  const wanted = fieldList(fields, COMMENT_FIELDS);
  const byVideo = body.video_id !== undefined;
  if (byVideo === (body.comment_id !== undefined))
    throw invalid('exactly one of video_id and comment_id is required');
  let all: CommentState[];
  if (byVideo) {
    const videoId = idParam(body.video_id, 'video_id');
    const video = ctx.dataset.video(videoId);
    if (!video || ctx.dataset.userByIndex(video.user)!.isPrivate) {
      throw new SimFailure(errors.notFound('video', videoId, ctx.notFoundStyle));
    }
    // The video_id form lists the video's top-level comments; their replies are listed by the
    // documented comment_id form (SOCIAL-APIS.md §3.3.3: "or {"comment_id": …} for replies").
    all = ctx.dataset.comments(video).filter((c) => c.parentId === null);
  } else {
    const commentId = idParam(body.comment_id, 'comment_id');
    const parent = ctx.dataset.comment(commentId);
    if (!parent) throw invalid(`The comment ${commentId} does not exist.`);
    all = ctx.dataset.comments(ctx.dataset.video(parent.videoId)!).filter((c) => c.parentId === parent.id);
  }
  const { items, cursor, has_more } = page(ctx, body, all, 10);
  const comments = items.map((c) =>
    pick(
      {
        id: () => id(c.id),
        video_id: () => id(c.videoId),
        text: () => c.text,
        like_count: () => c.likeCount,
        reply_count: () => ctx.dataset.replyCount(c),
        parent_comment_id: () => id(c.parentId ?? c.videoId),
        create_time: () => c.createSeconds,
      },
      wanted,
    ),
  );
  return { comments, cursor, has_more };
}

function follows(relation: 'followers' | 'following'): Handler {
  return (ctx, _fields, body) => {
    const user = liveUser(ctx, stringParam(body, 'username'));
    const list: FollowState[] = relation === 'followers' ? user.followers : user.following;
    const { items, cursor, has_more } = page(ctx, body, list, 20);
    const users = items.map((f) => ({ display_name: f.displayName, username: f.username }));
    return { [relation === 'followers' ? 'user_followers' : 'user_following']: users, cursor, has_more };
  };
}

/** Research endpoints by path after `/v2/`, with the daily quota bucket each one counts against. */
export const HANDLERS: Readonly<Record<string, { handler: Handler; bucket: 'research' | 'follows' }>> = {
  'research/user/info': { handler: userInfo, bucket: 'research' },
  'research/video/query': { handler: videoQuery, bucket: 'research' },
  'research/video/comment/list': { handler: commentList, bucket: 'research' },
  'research/user/followers': { handler: follows('followers'), bucket: 'follows' },
  'research/user/following': { handler: follows('following'), bucket: 'follows' },
};
