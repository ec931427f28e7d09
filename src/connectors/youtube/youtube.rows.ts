import type { CommentRecord, Mapped, PostRecord, ProfileRecord, QuarantineEntry } from './youtube.mapper.js';
import type { CommentRow, PostRow, ProfileRow, QuarantineInsert } from '../connector.js';

/** Pure glue between the YouTube records and the unified table rows (the adapter's `rows`). */

export function toProfileRow(r: ProfileRecord): ProfileRow {
  return {
    external_id: r.external_id,
    handle: r.handle,
    title: r.title,
    description: r.description,
    country: r.country,
    published_at: r.published_at,
    subscriber_count: r.subscriber_count,
    view_count: r.view_count,
    post_count: r.video_count,
  };
}

export function toPostRow(r: PostRecord): PostRow {
  return {
    external_id: r.external_id,
    profile_external_id: r.profile_external_id,
    title: r.title,
    description: r.description,
    published_at: r.published_at,
    duration_seconds: r.duration_seconds,
    view_count: r.view_count,
    like_count: r.like_count,
    comment_count: r.comment_count,
    thumbnail_url: r.thumbnail_url,
  };
}

/** `edited_at` is set only when the comment was changed after it was published. */
export function toCommentRow(r: CommentRecord): CommentRow {
  const edited =
    r.updated_at !== null && Date.parse(r.updated_at) > Date.parse(r.published_at) ? r.updated_at : null;
  return {
    external_id: r.external_id,
    post_external_id: r.post_external_id,
    parent_external_id: r.parent_external_id,
    author: r.author_name,
    text: r.text,
    like_count: r.like_count,
    published_at: r.published_at,
    edited_at: edited,
  };
}

export function toQuarantineInsert(q: QuarantineEntry): QuarantineInsert {
  return { platform: q.platform, kind: q.kind, externalId: q.external_id, reason: q.reason, payload: q.raw };
}

/** Splits mapped items into records and quarantine entries. */
export function partition<T>(mapped: readonly Mapped<T>[]): { records: T[]; quarantined: QuarantineEntry[] } {
  const records: T[] = [];
  const quarantined: QuarantineEntry[] = [];
  for (const m of mapped) {
    if (m.ok) records.push(m.record);
    else quarantined.push(m.quarantine);
  }
  return { records, quarantined };
}

/** One row per key, the last occurrence winning (a page may repeat an item). */
export function dedupeBy<T>(rows: readonly T[], key: (row: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    if (byKey.has(k)) byKey.delete(k);
    byKey.set(k, row);
  }
  return [...byKey.values()];
}

/** The oldest instant among ISO timestamps (null if none parse). */
export function oldest(timestamps: readonly (string | null | undefined)[]): number | null {
  let min: number | null = null;
  for (const t of timestamps) {
    const ms = t ? Date.parse(t) : Number.NaN;
    if (!Number.isNaN(ms) && (min === null || ms < min)) min = ms;
  }
  return min;
}
