import type { MlJobRequest } from '../connectors/ml/index.js';
import type { CommentRow, MediaRow, PostRow, ProfileRow } from '../connectors/connector.js';
import type { EnrichmentItem, EnrichmentItemKind } from '../db/repositories/enrichment.repository.js';

export type { EnrichmentItem, EnrichmentItemKind };

/** Pure: which rows of a committed page go to the ML service, and with what input. */

/** The rows one page wrote (any of them). */
export interface EnrichmentSource {
  readonly profile?: ProfileRow | null;
  readonly posts?: readonly PostRow[];
  readonly media?: readonly MediaRow[];
  readonly comments?: readonly CommentRow[];
}

/** The service's limit on `input.text`; longer texts are cut (a caption's head says what it is about). */
export const MAX_TEXT_CHARS = 20_000;
const MAX_URL_CHARS = 2048;

function textRequest(...parts: (string | null | undefined)[]): MlJobRequest | null {
  const text = parts
    .map((p) => p?.trim() ?? '')
    .filter((p) => p !== '')
    .join('\n\n');
  return text === '' ? null : { analysis: 'text', input: { text: text.slice(0, MAX_TEXT_CHARS) } };
}

/** Only an http(s) URL the service can fetch; anything else would be a certain bad request. */
function imageRequest(url: string | null | undefined): MlJobRequest | null {
  if (!url || url.length > MAX_URL_CHARS || !/^https?:\/\/\S+$/i.test(url)) return null;
  return { analysis: 'image', input: { url } };
}

/** The picture of a media row: the still of a video, else the image itself. */
function mediaPicture(media: MediaRow): string | null {
  const video = /VIDEO|REELS/i.test(media.media_type ?? '');
  return video ? media.thumbnail_url : (media.media_url ?? media.thumbnail_url);
}

/**
 * Text ML for a profile's bio, a post's caption (title and description) and a comment; image
 * recognition for each media row's picture, and for a post's thumbnail when the page has no media
 * rows for it (YouTube). Items without text or picture are left out.
 */
export function enrichmentItems(source: EnrichmentSource): EnrichmentItem[] {
  const items: EnrichmentItem[] = [];
  const add = (kind: EnrichmentItemKind, externalId: string, request: MlJobRequest | null) => {
    if (request) items.push({ kind, externalId, request });
  };
  if (source.profile) add('profile', source.profile.external_id, textRequest(source.profile.description));
  const withMedia = new Set((source.media ?? []).map((m) => m.post_external_id));
  for (const post of source.posts ?? []) {
    add('post', post.external_id, textRequest(post.title, post.description));
    if (!withMedia.has(post.external_id)) add('post', post.external_id, imageRequest(post.thumbnail_url));
  }
  for (const media of source.media ?? []) add('media', media.external_id, imageRequest(mediaPicture(media)));
  for (const comment of source.comments ?? []) add('comment', comment.external_id, textRequest(comment.text));
  return items;
}
