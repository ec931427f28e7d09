import type {
  YouTubeChannel,
  YouTubeComment,
  YouTubeCommentThread,
  YouTubeSubscription,
  YouTubeThumbnails,
  YouTubeVideo,
} from './youtube.types.js';
import { utcFromMatch } from '../../core/timestamps.js';

/**
 * Pure mappers: YouTube API items → unified records keyed by (platform, external_id). A record that
 * cannot be trusted (no id, a date that does not parse) becomes a quarantine entry, never a throw.
 */

export interface ProfileRecord {
  readonly platform: 'youtube';
  readonly external_id: string;
  /** `@handle` from `snippet.customUrl`. */
  readonly handle: string | null;
  readonly title: string | null;
  readonly description: string | null;
  readonly country: string | null;
  /** UTC ISO 8601. */
  readonly published_at: string;
  /** null when the channel hides it (or it is absent). */
  readonly subscriber_count: number | null;
  readonly view_count: number | null;
  readonly video_count: number | null;
  readonly uploads_playlist_id: string | null;
  readonly thumbnail_url: string | null;
}

export interface PostRecord {
  readonly platform: 'youtube';
  readonly external_id: string;
  readonly profile_external_id: string;
  readonly title: string | null;
  readonly description: string | null;
  readonly published_at: string;
  readonly duration_seconds: number | null;
  readonly view_count: number | null;
  /** null when the owner hides likes. */
  readonly like_count: number | null;
  /** null when comments are disabled. */
  readonly comment_count: number | null;
  readonly thumbnail_url: string | null;
}

export interface CommentRecord {
  readonly platform: 'youtube';
  readonly external_id: string;
  readonly post_external_id: string;
  /** The thread (top-level comment) id for replies; null for top-level comments. */
  readonly parent_external_id: string | null;
  readonly author_name: string | null;
  readonly author_external_id: string | null;
  readonly text: string;
  readonly like_count: number | null;
  /** `totalReplyCount` for top-level comments read from a thread; null otherwise. */
  readonly reply_count: number | null;
  readonly published_at: string;
  /** Later than published_at when the comment was edited. */
  readonly updated_at: string | null;
}

/** `subscriber_external_id` publicly subscribes to `channel_external_id`. */
export interface SubscriptionRecord {
  readonly platform: 'youtube';
  readonly subscriber_external_id: string;
  readonly channel_external_id: string;
  /** The subscribed-to channel's title. */
  readonly channel_title: string | null;
  /** When the subscription was made; null when absent or not a timestamp. */
  readonly subscribed_at: string | null;
}

export interface QuarantineEntry {
  readonly platform: 'youtube';
  readonly kind: 'profile' | 'post' | 'comment' | 'subscription';
  readonly external_id: string | null;
  readonly reason: string;
  readonly raw: unknown;
}

export type Mapped<T> =
  { readonly ok: true; readonly record: T } | { readonly ok: false; readonly quarantine: QuarantineEntry };

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 → UTC ISO (`2024-05-01T16:00:12.000Z`); null when absent or not a real instant. */
export function parseTimestamp(value: unknown): string | null {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  const parsed = m ? utcFromMatch(m) : null;
  if (!parsed) return null;
  return parsed.iso;
}

const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** ISO 8601 duration (`PT1H2M3S`, `P1DT2H`, `PT0S`, `P0D`) → whole seconds; null if not parseable. */
export function parseIsoDuration(value: unknown): number | null {
  if (typeof value !== 'string' || value === 'P' || value.endsWith('T')) return null;
  const m = DURATION.exec(value);
  if (!m) return null;
  const [weeks, days, hours, minutes, seconds] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v))) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return Math.round((((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds);
}

/** A counter (decimal string in `statistics`, or an integer) → number; null when absent or malformed. */
export function parseCount(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return null;
}

const THUMBNAIL_PREFERENCE = ['maxres', 'standard', 'high', 'medium', 'default'] as const;

/** The largest thumbnail's URL. */
export function bestThumbnail(thumbnails: YouTubeThumbnails | undefined): string | null {
  for (const size of THUMBNAIL_PREFERENCE) {
    const url = thumbnails?.[size]?.url;
    if (typeof url === 'string' && url !== '') return url;
  }
  return null;
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const id = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function quarantine(kind: QuarantineEntry['kind'], externalId: string | null, reason: string, raw: unknown) {
  return {
    ok: false as const,
    quarantine: { platform: 'youtube' as const, kind, external_id: externalId, reason, raw },
  };
}

/** Checks a required date; returns the ISO value or the reason it is unusable. */
function requiredDate(value: unknown, field: string): { iso: string } | { reason: string } {
  if (value === undefined || value === null) return { reason: `${field} is missing` };
  const iso = parseTimestamp(value);
  return iso === null
    ? { reason: `${field} is not an RFC 3339 timestamp: ${JSON.stringify(value)}` }
    : { iso };
}

export function mapChannel(item: YouTubeChannel): Mapped<ProfileRecord> {
  const externalId = id(item?.id);
  if (externalId === null) return quarantine('profile', null, 'id is missing', item);
  const published = requiredDate(item.snippet?.publishedAt, 'snippet.publishedAt');
  if ('reason' in published) return quarantine('profile', externalId, published.reason, item);
  const stats = item.statistics;
  return {
    ok: true,
    record: {
      platform: 'youtube',
      external_id: externalId,
      handle: id(item.snippet?.customUrl),
      title: text(item.snippet?.title),
      description: text(item.snippet?.description),
      country: id(item.snippet?.country),
      published_at: published.iso,
      subscriber_count: stats?.hiddenSubscriberCount === true ? null : parseCount(stats?.subscriberCount),
      view_count: parseCount(stats?.viewCount),
      video_count: parseCount(stats?.videoCount),
      uploads_playlist_id: id(item.contentDetails?.relatedPlaylists?.uploads),
      thumbnail_url: bestThumbnail(item.snippet?.thumbnails),
    },
  };
}

export function mapVideo(item: YouTubeVideo): Mapped<PostRecord> {
  const externalId = id(item?.id);
  if (externalId === null) return quarantine('post', null, 'id is missing', item);
  const channelId = id(item.snippet?.channelId);
  if (channelId === null) return quarantine('post', externalId, 'snippet.channelId is missing', item);
  const published = requiredDate(item.snippet?.publishedAt, 'snippet.publishedAt');
  if ('reason' in published) return quarantine('post', externalId, published.reason, item);
  return {
    ok: true,
    record: {
      platform: 'youtube',
      external_id: externalId,
      profile_external_id: channelId,
      title: text(item.snippet?.title),
      description: text(item.snippet?.description),
      published_at: published.iso,
      duration_seconds: parseIsoDuration(item.contentDetails?.duration),
      view_count: parseCount(item.statistics?.viewCount),
      like_count: parseCount(item.statistics?.likeCount),
      comment_count: parseCount(item.statistics?.commentCount),
      thumbnail_url: bestThumbnail(item.snippet?.thumbnails),
    },
  };
}

/**
 * One comment (top-level or reply). `context.postExternalId` fills in the video id when the
 * snippet lacks it; `context.parentExternalId` and `replyCount` come from the enclosing thread.
 */
export function mapComment(
  item: YouTubeComment,
  context: { postExternalId?: string; parentExternalId?: string | null; replyCount?: number | null } = {},
): Mapped<CommentRecord> {
  const externalId = id(item?.id);
  if (externalId === null) return quarantine('comment', null, 'id is missing', item);
  const s = item.snippet;
  const postId = id(s?.videoId) ?? context.postExternalId ?? null;
  if (postId === null) return quarantine('comment', externalId, 'snippet.videoId is missing', item);
  const published = requiredDate(s?.publishedAt, 'snippet.publishedAt');
  if ('reason' in published) return quarantine('comment', externalId, published.reason, item);
  const updated = s?.updatedAt === undefined ? null : requiredDate(s.updatedAt, 'snippet.updatedAt');
  if (updated !== null && 'reason' in updated) return quarantine('comment', externalId, updated.reason, item);
  return {
    ok: true,
    record: {
      platform: 'youtube',
      external_id: externalId,
      post_external_id: postId,
      parent_external_id: id(s?.parentId) ?? context.parentExternalId ?? null,
      author_name: text(s?.authorDisplayName),
      author_external_id: id(s?.authorChannelId?.value),
      text: text(s?.textOriginal) ?? text(s?.textDisplay) ?? '',
      like_count: parseCount(s?.likeCount),
      reply_count: context.replyCount ?? null,
      published_at: published.iso,
      updated_at: updated?.iso ?? null,
    },
  };
}

/** A thread → its top-level comment followed by the replies carried inline (a subset, see comments.list). */
export function mapCommentThread(item: YouTubeCommentThread): Mapped<CommentRecord>[] {
  const threadId = id(item?.id);
  const top = item?.snippet?.topLevelComment;
  if (threadId === null && id(top?.id) === null) return [quarantine('comment', null, 'id is missing', item)];
  if (top === undefined) return [quarantine('comment', threadId, 'snippet.topLevelComment is missing', item)];
  const videoId = id(item.snippet?.videoId) ?? undefined;
  const topLevel = mapComment(
    { ...top, id: id(top.id) ?? threadId ?? undefined },
    {
      ...(videoId === undefined ? {} : { postExternalId: videoId }),
      replyCount: parseCount(item.snippet?.totalReplyCount),
    },
  );
  const parent = topLevel.ok ? topLevel.record.external_id : threadId;
  const replies = (item.replies?.comments ?? []).map((reply) =>
    mapComment(reply, {
      ...(videoId === undefined ? {} : { postExternalId: videoId }),
      parentExternalId: parent,
    }),
  );
  return [topLevel, ...replies];
}

/**
 * One public subscription. `subscriberExternalId` stands in when the snippet lacks the subscriber
 * (the request named it); a missing subscribed-to channel id is a quarantine.
 */
export function mapSubscription(
  item: YouTubeSubscription,
  subscriberExternalId?: string,
): Mapped<SubscriptionRecord> {
  const target = id(item?.snippet?.resourceId?.channelId);
  const itemId = id(item?.id);
  if (target === null)
    return quarantine('subscription', itemId, 'snippet.resourceId.channelId is missing', item);
  const subscriber = id(item.snippet?.channelId) ?? subscriberExternalId ?? null;
  if (subscriber === null) return quarantine('subscription', itemId, 'snippet.channelId is missing', item);
  return {
    ok: true,
    record: {
      platform: 'youtube',
      subscriber_external_id: subscriber,
      channel_external_id: target,
      channel_title: text(item.snippet?.title),
      subscribed_at: parseTimestamp(item.snippet?.publishedAt),
    },
  };
}
