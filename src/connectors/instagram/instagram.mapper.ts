import type { MediaRow } from '../connector.js';
import type { CommentRow, PostRow, ProfileRow, QuarantineInsert } from '../connector.js';
import type { InstagramChild, InstagramComment, InstagramMedia, InstagramUser } from './instagram.types.js';
import { utcFromMatch } from '../../core/timestamps.js';

/**
 * Pure mappers: Instagram Graph API items → the unified rows of the sync engine. An item that cannot
 * be trusted (no id, an id that lost digits, a timestamp that does not parse) becomes a quarantine
 * entry with its reason, never a throw.
 */

export type Mapped<T> =
  { readonly ok: true; readonly row: T } | { readonly ok: false; readonly quarantine: QuarantineInsert };

export interface MappedPost {
  readonly post: PostRow;
  /** Carousel children in order, or the post itself as its only media. */
  readonly media: readonly MediaRow[];
  /** Children that could not be used (the post itself is kept). */
  readonly quarantined: readonly QuarantineInsert[];
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Graph timestamps (`2023-06-12T19:20:02+0000`, offset without a colon) and RFC 3339 → UTC ISO
 * (`2023-06-12T19:20:02.000Z`); null when absent or not a real instant.
 */
export function parseInstagramTimestamp(value: unknown): string | null {
  const m = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  const parsed = m ? utcFromMatch(m) : null;
  if (!parsed) return null;
  if (Math.abs(parsed.offsetMin) > 18 * 60) return null;
  return parsed.iso;
}

/** A counter (a JSON integer, or a decimal string) → number; null when absent or malformed. */
export function parseCount(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  if (typeof value === 'string' && /^\d+$/.test(value)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : null;
  }
  return null;
}

type IdCheck = { readonly id: string } | { readonly reason: string; readonly id: null };

/** Ids are strings of digits; a JSON number is accepted only while it is exact. */
function readId(value: unknown, field: string): IdCheck {
  if (typeof value === 'string' && value.trim() !== '') return { id: value };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0
      ? { id: String(value) }
      : { id: null, reason: `${field} arrived as a JSON number beyond 2^53; its digits cannot be trusted` };
  }
  return { id: null, reason: `${field} is missing` };
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const nonEmpty = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

function quarantine(kind: string, externalId: string | null, reason: string, payload: unknown) {
  return {
    ok: false as const,
    quarantine: { platform: 'instagram', kind, externalId, reason, payload } satisfies QuarantineInsert,
  };
}

/** Checks a required timestamp; returns the ISO value or the reason it is unusable. */
function requiredTime(value: unknown, field: string): { iso: string } | { reason: string } {
  if (value === undefined || value === null) return { reason: `${field} is missing` };
  const iso = parseInstagramTimestamp(value);
  return iso === null
    ? { reason: `${field} is not an ISO 8601 timestamp: ${JSON.stringify(value)}` }
    : { iso };
}

/**
 * An IG user (own node or `business_discovery`) → profile. Instagram has no channel creation date,
 * country or total views; `follows_count` has no column in the unified row (it stays in the raw zone).
 */
export function mapUser(user: InstagramUser): Mapped<ProfileRow> {
  const checked = readId(user?.id, 'id');
  if (checked.id === null) return quarantine('profile', null, checked.reason, user);
  return {
    ok: true,
    row: {
      external_id: checked.id,
      handle: nonEmpty(user.username),
      title: nonEmpty(user.name),
      description: text(user.biography),
      country: null,
      published_at: null,
      subscriber_count: parseCount(user.followers_count),
      view_count: null,
      post_count: parseCount(user.media_count),
    },
  };
}

/**
 * The post's kind as the unified row keeps it: `REELS` and `STORY` from `media_product_type`
 * (reels are `VIDEO` in `media_type`), else `IMAGE`, `VIDEO` or `CAROUSEL_ALBUM`.
 */
export function postMediaType(media: InstagramMedia): string | null {
  const product = nonEmpty(media.media_product_type);
  if (product === 'REELS' || product === 'STORY') return product;
  return nonEmpty(media.media_type);
}

function childRow(child: InstagramChild, postId: string, position: number): Mapped<MediaRow> {
  const checked = readId(child?.id, 'children.data[].id');
  if (checked.id === null) return quarantine('media', null, `${checked.reason} (post ${postId})`, child);
  return {
    ok: true,
    row: {
      external_id: checked.id,
      post_external_id: postId,
      position,
      media_type: nonEmpty(child.media_type),
      media_url: nonEmpty(child.media_url),
      thumbnail_url: nonEmpty(child.thumbnail_url),
    },
  };
}

/**
 * An IG media → post + its media rows (carousel children with their position, or the post itself at
 * position 0). `profileExternalId` is used when the item has no `owner.id` (business discovery).
 */
export function mapMedia(
  media: InstagramMedia,
  context: { readonly profileExternalId: string },
):
  | { readonly ok: true; readonly value: MappedPost }
  | { readonly ok: false; readonly quarantine: QuarantineInsert } {
  const checked = readId(media?.id, 'id');
  if (checked.id === null) return quarantine('post', null, checked.reason, media);
  const postId = checked.id;
  const published = requiredTime(media.timestamp, 'timestamp');
  if ('reason' in published) return quarantine('post', postId, published.reason, media);
  const owner = media.owner?.id === undefined ? null : readId(media.owner.id, 'owner.id');
  if (owner !== null && owner.id === null) return quarantine('post', postId, owner.reason, media);

  const mediaType = nonEmpty(media.media_type);
  const mediaRows: MediaRow[] = [];
  const quarantined: QuarantineInsert[] = [];
  if (mediaType === 'CAROUSEL_ALBUM') {
    (media.children?.data ?? []).forEach((child, position) => {
      const mapped = childRow(child, postId, position);
      if (mapped.ok) mediaRows.push(mapped.row);
      else quarantined.push(mapped.quarantine);
    });
  } else {
    mediaRows.push({
      external_id: postId,
      post_external_id: postId,
      position: 0,
      media_type: mediaType,
      media_url: nonEmpty(media.media_url),
      thumbnail_url: nonEmpty(media.thumbnail_url),
    });
  }
  return {
    ok: true,
    value: {
      post: {
        external_id: postId,
        profile_external_id: owner?.id ?? context.profileExternalId,
        title: null,
        description: text(media.caption),
        published_at: published.iso,
        duration_seconds: null,
        view_count: null,
        like_count: parseCount(media.like_count),
        comment_count: parseCount(media.comments_count),
        // Videos have a thumbnail; images and albums show their (first) picture.
        thumbnail_url: nonEmpty(media.thumbnail_url) ?? nonEmpty(media.media_url),
        media_type: postMediaType(media),
        url: nonEmpty(media.permalink),
      },
      media: mediaRows,
      quarantined,
    },
  };
}

/**
 * One comment or reply. `postExternalId` is the media the comments were read from; a reply's parent
 * is its `parent_id`, else `parentExternalId` (the comment whose replies edge carried it).
 */
export function mapComment(
  comment: InstagramComment,
  context: { readonly postExternalId: string; readonly parentExternalId?: string | null },
): Mapped<CommentRow> {
  const checked = readId(comment?.id, 'id');
  if (checked.id === null) return quarantine('comment', null, checked.reason, comment);
  const commentId = checked.id;
  const published = requiredTime(comment.timestamp, 'timestamp');
  if ('reason' in published) return quarantine('comment', commentId, published.reason, comment);
  const parent = comment.parent_id === undefined ? null : readId(comment.parent_id, 'parent_id');
  if (parent !== null && parent.id === null) return quarantine('comment', commentId, parent.reason, comment);
  return {
    ok: true,
    row: {
      external_id: commentId,
      post_external_id: context.postExternalId,
      parent_external_id: parent?.id ?? context.parentExternalId ?? null,
      author: nonEmpty(comment.username) ?? nonEmpty(comment.from?.username),
      text: text(comment.text),
      like_count: parseCount(comment.like_count),
      published_at: published.iso,
      // The Graph API says nothing about edits; a changed text shows up as a changed row.
      edited_at: null,
    },
  };
}

/** A top-level comment followed by the replies its `replies` edge carried on this page. */
export function mapCommentWithReplies(
  comment: InstagramComment,
  postExternalId: string,
): Mapped<CommentRow>[] {
  const top = mapComment(comment, { postExternalId });
  const parentId = top.ok ? top.row.external_id : nonEmpty(comment?.id);
  const replies = (comment?.replies?.data ?? []).map((reply) =>
    mapComment(reply, { postExternalId, parentExternalId: parentId }),
  );
  return [top, ...replies];
}
