import type { FollowRow } from '../connector.js';
import type { CommentRow, PostRow, ProfileRow, QuarantineInsert } from '../connector.js';
import type { TikTokComment, TikTokFollowUser, TikTokUserInfo, TikTokVideo } from './tiktok.types.js';

/**
 * Pure mappers: TikTok Research API items → unified rows. The username is the account key (the
 * Research API returns no user id); ids are exact decimal strings. An item that cannot be trusted
 * (no id, an id that lost precision, a create_time that is not unix seconds, another owner) becomes
 * a quarantine entry with its reason, never a throw.
 */

export type Mapped<T> =
  { readonly ok: true; readonly row: T } | { readonly ok: false; readonly quarantine: QuarantineInsert };

export type QuarantineKind = 'profile' | 'post' | 'comment' | 'follow';

/** Latest instant a unix-seconds create_time may name (9999-12-31T23:59:59Z). */
const MAX_SECONDS = 253_402_300_799;

function quarantine(kind: QuarantineKind, externalId: string | null, reason: string, payload: unknown) {
  return { ok: false as const, quarantine: { platform: 'tiktok', kind, externalId, reason, payload } };
}

/** Unix seconds (number, or decimal string) → UTC ISO 8601; null when absent or not a plausible time. */
export function createTimeToIso(value: unknown): string | null {
  const seconds =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) return null;
  return new Date(seconds * 1000).toISOString();
}

/**
 * An id as an exact decimal string. A number is accepted only when it is a safe integer: a larger
 * one was already rounded by a lossy JSON parser, so it names a different video.
 */
export function exactId(value: unknown): { id: string } | { reason: string } {
  if (typeof value === 'string') {
    return /^\d{1,20}$/.test(value)
      ? { id: value }
      : { reason: `not a decimal id: ${JSON.stringify(value)}` };
  }
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0
      ? { id: String(value) }
      : { reason: `id ${value} lost precision in JSON parsing` };
  }
  return {
    reason: value === undefined || value === null ? 'missing' : `not an id: ${JSON.stringify(value)}`,
  };
}

/** A counter → number; null when absent, negative, fractional or beyond 2^53. */
export function parseCount(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return null;
}

/** The public URL of a video (what `share_url` points at, without tracking parameters). */
export function videoUrl(username: string, videoId: string): string {
  return `https://www.tiktok.com/@${encodeURIComponent(username)}/video/${videoId}`;
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const nonEmpty = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

/** The username without a leading `@` (kept as given otherwise: it is the account's external id). */
export function normalizeUsername(value: string): string {
  return value.trim().replace(/^@/, '');
}

/** TikTok usernames are case-insensitive. */
export function sameUsername(a: string, b: string): boolean {
  return normalizeUsername(a).toLowerCase() === normalizeUsername(b).toLowerCase();
}

/** `user/info` data → profile. `username` is the one asked for (the answer does not repeat it). */
export function mapUserInfo(username: string, data: TikTokUserInfo | undefined): Mapped<ProfileRow> {
  const key = normalizeUsername(username);
  if (key === '') return quarantine('profile', null, 'username is empty', data);
  if (typeof data !== 'object' || data === null || Object.keys(data).length === 0) {
    return quarantine('profile', key, 'user info is empty', data);
  }
  return {
    ok: true,
    row: {
      external_id: key,
      handle: key,
      title: text(data.display_name),
      description: text(data.bio_description),
      country: null,
      published_at: null,
      subscriber_count: parseCount(data.follower_count),
      view_count: null,
      post_count: parseCount(data.video_count),
    },
  };
}

/** One video of `context.username`'s query → post. */
export function mapVideo(video: TikTokVideo, context: { username: string }): Mapped<PostRow> {
  const owner = normalizeUsername(context.username);
  const idValue = video?.id ?? video?.video_id;
  const id = exactId(idValue);
  if ('reason' in id) {
    const shown = typeof idValue === 'string' ? idValue : null;
    return quarantine('post', shown, `id: ${id.reason}`, video);
  }
  const author = nonEmpty(video.username);
  if (author !== null && !sameUsername(author, owner)) {
    return quarantine('post', id.id, `video belongs to @${author}, not @${owner}`, video);
  }
  const published = createTimeToIso(video.create_time);
  if (published === null) {
    const reason =
      video.create_time === undefined
        ? 'create_time is missing'
        : `create_time is not unix seconds: ${JSON.stringify(video.create_time)}`;
    return quarantine('post', id.id, reason, video);
  }
  return {
    ok: true,
    row: {
      external_id: id.id,
      profile_external_id: owner,
      title: null,
      description: text(video.video_description),
      published_at: published,
      duration_seconds: parseCount(video.video_duration),
      view_count: parseCount(video.view_count),
      like_count: parseCount(video.like_count),
      comment_count: parseCount(video.comment_count),
      thumbnail_url: null,
      media_type: 'VIDEO',
      url: nonEmpty(video.share_url) ?? videoUrl(owner, id.id),
    },
  };
}

/**
 * One comment of `context.videoId` → comment row. A top-level comment's `parent_comment_id` is the
 * video id (or absent, or 0): its parent is null; a reply's is its parent comment.
 */
export function mapComment(comment: TikTokComment, context: { videoId: string }): Mapped<CommentRow> {
  const id = exactId(comment?.id);
  if ('reason' in id) {
    return quarantine(
      'comment',
      typeof comment?.id === 'string' ? comment.id : null,
      `id: ${id.reason}`,
      comment,
    );
  }
  let postId = context.videoId;
  if (comment.video_id !== undefined) {
    const video = exactId(comment.video_id);
    if ('reason' in video) return quarantine('comment', id.id, `video_id: ${video.reason}`, comment);
    if (video.id !== context.videoId) {
      return quarantine('comment', id.id, `comment of video ${video.id}, not ${context.videoId}`, comment);
    }
    postId = video.id;
  }
  let parent: string | null = null;
  if (comment.parent_comment_id !== undefined && comment.parent_comment_id !== null) {
    const p = exactId(comment.parent_comment_id);
    if ('reason' in p) return quarantine('comment', id.id, `parent_comment_id: ${p.reason}`, comment);
    parent = p.id === postId || /^0+$/.test(p.id) ? null : p.id;
  }
  if (parent === id.id) return quarantine('comment', id.id, 'comment is its own parent', comment);
  const published = createTimeToIso(comment.create_time);
  if (published === null) {
    const reason =
      comment.create_time === undefined
        ? 'create_time is missing'
        : `create_time is not unix seconds: ${JSON.stringify(comment.create_time)}`;
    return quarantine('comment', id.id, reason, comment);
  }
  return {
    ok: true,
    row: {
      external_id: id.id,
      post_external_id: postId,
      parent_external_id: parent,
      author: null, // the Research API does not expose comment authors
      text: text(comment.text),
      like_count: parseCount(comment.like_count),
      published_at: published,
      edited_at: null,
    },
  };
}

/** One entry of `user/followers` (they follow the profile) or `user/following` (the profile follows them). */
export function mapFollow(
  user: TikTokFollowUser,
  context: { username: string; relation: 'follower' | 'following' },
): Mapped<FollowRow> {
  const other = nonEmpty(user?.username);
  if (other === null) return quarantine('follow', null, 'username is missing', user);
  const key = normalizeUsername(other);
  if (key === '') return quarantine('follow', null, 'username is missing', user);
  return {
    ok: true,
    row: {
      profile_external_id: normalizeUsername(context.username),
      relation: context.relation,
      other_external_id: key,
      other_handle: key,
      other_title: text(user.display_name),
    },
  };
}

/** Splits mapped items into rows and quarantine entries, keeping order. */
export function partition<T>(items: readonly Mapped<T>[]): { rows: T[]; quarantined: QuarantineInsert[] } {
  const rows: T[] = [];
  const quarantined: QuarantineInsert[] = [];
  for (const item of items) {
    if (item.ok) rows.push(item.row);
    else quarantined.push(item.quarantine);
  }
  return { rows, quarantined };
}
