import { createHash } from 'node:crypto';
import type { ChannelState, CommentState, VideoState } from './generate.js';
import type { Page } from './params.js';

/**
 * Internal state → the API's JSON resources (SOCIAL-APIS.md §1.3): counters in `statistics` are
 * strings, comment `likeCount` / `totalReplyCount` are integers, timestamps RFC 3339 UTC.
 */

export type TextFormat = 'html' | 'plainText';

export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function etagOf(value: unknown): string {
  return createHash('sha1').update(JSON.stringify(value)).digest('base64url').slice(0, 27);
}

function resource(kind: string, rest: Record<string, unknown>): Record<string, unknown> {
  return { kind, etag: etagOf(rest), ...rest };
}

/** ISO 8601 duration as YouTube writes it: `PT15M51S`, `PT1H2M3S`, `P1DT2H`, `P0D` for zero. */
export function isoDuration(totalSeconds: number): string {
  if (totalSeconds === 0) return 'P0D';
  const days = Math.floor(totalSeconds / 86_400);
  const hours = Math.floor((totalSeconds % 86_400) / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}

function channelThumbnails(id: string): Record<string, unknown> {
  const url = (size: number) => `https://yt3.ggpht.com/sim-${id}=s${size}-c-k-c0x00ffffff-no-rj`;
  return {
    default: { url: url(88), width: 88, height: 88 },
    medium: { url: url(240), width: 240, height: 240 },
    high: { url: url(800), width: 800, height: 800 },
  };
}

function videoThumbnails(id: string): Record<string, unknown> {
  return {
    default: { url: `https://i.ytimg.com/vi/${id}/default.jpg`, width: 120, height: 90 },
    medium: { url: `https://i.ytimg.com/vi/${id}/mqdefault.jpg`, width: 320, height: 180 },
    high: { url: `https://i.ytimg.com/vi/${id}/hqdefault.jpg`, width: 480, height: 360 },
  };
}

export function channelResource(c: ChannelState, videoCount: number, parts: Set<string>): unknown {
  const out: Record<string, unknown> = { id: c.id };
  if (parts.has('snippet')) {
    out.snippet = {
      title: c.title,
      description: c.description,
      customUrl: c.handle,
      publishedAt: rfc3339(c.publishedAtMs),
      thumbnails: channelThumbnails(c.id),
      localized: { title: c.title, description: c.description },
      ...(c.country === null ? {} : { country: c.country }),
    };
  }
  if (parts.has('contentDetails'))
    out.contentDetails = { relatedPlaylists: { likes: '', uploads: c.uploadsId } };
  if (parts.has('statistics')) {
    out.statistics = {
      viewCount: String(c.viewCount),
      ...(c.hiddenSubscriberCount ? {} : { subscriberCount: String(c.subscriberCount) }),
      hiddenSubscriberCount: c.hiddenSubscriberCount,
      videoCount: String(videoCount),
    };
  }
  if (parts.has('status')) {
    out.status = {
      privacyStatus: 'public',
      isLinked: true,
      longUploadsStatus: 'longUploadsUnspecified',
      madeForKids: false,
    };
  }
  return resource('youtube#channel', out);
}

export function playlistItemResource(
  v: VideoState,
  c: ChannelState,
  position: number,
  parts: Set<string>,
): unknown {
  const out: Record<string, unknown> = { id: Buffer.from(`${c.uploadsId}.${v.id}`).toString('base64') };
  if (parts.has('snippet')) {
    out.snippet = {
      publishedAt: rfc3339(v.publishedAtMs),
      channelId: c.id,
      title: v.title,
      description: v.description,
      thumbnails: videoThumbnails(v.id),
      channelTitle: c.title,
      playlistId: c.uploadsId,
      position,
      resourceId: { kind: 'youtube#video', videoId: v.id },
      videoOwnerChannelTitle: c.title,
      videoOwnerChannelId: c.id,
    };
  }
  if (parts.has('contentDetails'))
    out.contentDetails = { videoId: v.id, videoPublishedAt: rfc3339(v.publishedAtMs) };
  if (parts.has('status')) out.status = { privacyStatus: 'public' };
  return resource('youtube#playlistItem', out);
}

export function videoResource(
  v: VideoState,
  c: ChannelState,
  commentCount: number,
  parts: Set<string>,
): unknown {
  const out: Record<string, unknown> = { id: v.id };
  if (parts.has('snippet')) {
    out.snippet = {
      publishedAt: rfc3339(v.publishedAtMs),
      channelId: c.id,
      title: v.title,
      description: v.description,
      thumbnails: videoThumbnails(v.id),
      channelTitle: c.title,
      ...(v.tags.length > 0 ? { tags: v.tags } : {}),
      categoryId: v.categoryId,
      liveBroadcastContent: v.durationSec === 0 ? 'upcoming' : 'none',
      defaultAudioLanguage: 'en',
      localized: { title: v.title, description: v.description },
    };
  }
  if (parts.has('contentDetails')) {
    out.contentDetails = {
      duration: isoDuration(v.durationSec),
      dimension: '2d',
      definition: v.index % 4 === 0 ? 'sd' : 'hd',
      caption: 'false',
      licensedContent: false,
      projection: 'rectangular',
      contentRating: {},
    };
  }
  if (parts.has('statistics')) {
    out.statistics = {
      viewCount: String(v.viewCount),
      ...(v.likesHidden ? {} : { likeCount: String(v.likeCount) }),
      favoriteCount: '0',
      ...(v.commentsDisabled ? {} : { commentCount: String(commentCount) }),
    };
  }
  if (parts.has('status')) {
    out.status = {
      uploadStatus: 'processed',
      privacyStatus: 'public',
      license: 'youtube',
      embeddable: true,
      publicStatsViewable: true,
      madeForKids: false,
    };
  }
  return resource('youtube#video', out);
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function commentResource(c: CommentState, format: TextFormat): unknown {
  const display =
    format === 'html'
      ? c.text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!).replaceAll('\n', '<br>')
      : c.text;
  const author = c.authorName.replace(/^@/, '');
  return resource('youtube#comment', {
    id: c.id,
    snippet: {
      channelId: c.channelId,
      videoId: c.videoId,
      textDisplay: display,
      textOriginal: c.text,
      ...(c.parentId === null ? {} : { parentId: c.parentId }),
      authorDisplayName: c.authorName,
      authorProfileImageUrl: `https://yt3.ggpht.com/ytc/sim-${author}=s48-c-k-c0x00ffffff-no-rj`,
      authorChannelUrl: `http://www.youtube.com/${c.authorName}`,
      authorChannelId: { value: c.authorChannelId },
      canRate: true,
      viewerRating: 'none',
      likeCount: c.likeCount,
      publishedAt: rfc3339(c.publishedAtMs),
      updatedAt: rfc3339(c.updatedAtMs),
    },
  });
}

/** `replies.comments` carries only the first `inline` replies, as the real API returns a subset. */
export function threadResource(
  thread: CommentState,
  replies: readonly CommentState[],
  parts: Set<string>,
  format: TextFormat,
  inline: number,
): unknown {
  const out: Record<string, unknown> = { id: thread.id };
  if (parts.has('snippet')) {
    out.snippet = {
      channelId: thread.channelId,
      videoId: thread.videoId,
      topLevelComment: commentResource(thread, format),
      canReply: true,
      totalReplyCount: replies.length,
      isPublic: true,
    };
  }
  if (parts.has('replies') && replies.length > 0 && inline > 0) {
    out.replies = { comments: replies.slice(0, inline).map((r) => commentResource(r, format)) };
  }
  return resource('youtube#commentThread', out);
}

/**
 * One public subscription of `subscriber` to `target`. The id is opaque and stable (43 characters,
 * as observed); `contentDetails.totalItemCount` is the target's upload count.
 */
export function subscriptionResource(
  subscriber: ChannelState,
  target: ChannelState,
  subscribedAtMs: number,
  targetUploads: number,
  parts: Set<string>,
): unknown {
  const id = createHash('sha256').update(`${subscriber.id}>${target.id}`).digest('base64url').slice(0, 43);
  const out: Record<string, unknown> = { id };
  if (parts.has('snippet')) {
    out.snippet = {
      publishedAt: rfc3339(subscribedAtMs),
      title: target.title,
      description: target.description,
      resourceId: { kind: 'youtube#channel', channelId: target.id },
      channelId: subscriber.id,
      thumbnails: channelThumbnails(target.id),
    };
  }
  if (parts.has('contentDetails')) {
    out.contentDetails = { totalItemCount: targetUploads, newItemCount: 0, activityType: 'all' };
  }
  if (parts.has('subscriberSnippet')) {
    out.subscriberSnippet = {
      title: subscriber.title,
      description: subscriber.description,
      channelId: subscriber.id,
      thumbnails: channelThumbnails(subscriber.id),
    };
  }
  return resource('youtube#subscription', out);
}

/** A list response; an empty `items` is omitted, as the API does. */
export function listResponse(
  kind: string,
  page: Page<unknown>,
  totalResults: number,
  perPage: number,
): unknown {
  const rest = {
    ...(page.nextPageToken === undefined ? {} : { nextPageToken: page.nextPageToken }),
    ...(page.prevPageToken === undefined ? {} : { prevPageToken: page.prevPageToken }),
    pageInfo: { totalResults, resultsPerPage: perPage },
    ...(page.items.length > 0 ? { items: page.items } : {}),
  };
  return { kind, etag: etagOf(rest), ...rest };
}
