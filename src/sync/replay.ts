import type { Logger } from 'pino';
import { truncateMessage } from '../core/errors.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { FollowRow, MediaRow, Platform, RawReplay, ReplayRows } from '../connectors/connector.js';
import * as repo from '../db/repositories/replay.repository.js';
import type { CommentRow, PostRow, ProfileRow, QuarantineInsert } from '../connectors/connector.js';
import * as tables from '../db/repositories/social-tables.repository.js';

/**
 * Re-runs transforms from the raw zone (`social.raw_responses`) without calling any platform: the
 * stored pages of one platform, in a range of fetched_at, go through the platform's own transform
 * (`PlatformAdapter.replayRaw`) into the unified tables.
 *
 * - Pages are replayed in fetched_at order (then insertion order): when two pages carry the same row,
 *   the later one wins.
 * - Upserts only. Nothing is deleted and `deleted_at` marks are left as they are (replay.repository.ts).
 * - An item the transform cannot trust, or a page it cannot read, becomes a quarantine entry (once:
 *   replaying again adds no copies); the rest goes on.
 * - One transaction per `pagesPerTransaction` pages: an interrupted replay keeps the batches it
 *   committed, and running it again is harmless (rows already right are not rewritten).
 * - No enrichment is queued and no sync state (tasks, cursors, run counters) changes.
 */

/** One platform's transform of one stored page: an adapter's `replayRaw`, or the connector's function. */
export type RawReplayer = (raw: RawReplay) => ReplayRows;

export interface ReplayDeps {
  /** The writer pool. */
  readonly pool: Pool;
  readonly replay: RawReplayer;
  readonly logger?: Logger;
  /** Stops between batches; the batches committed so far stay. */
  readonly signal?: AbortSignal;
}

export interface ReplayOptions {
  readonly platform: Platform;
  /** Pages fetched at or after this instant. @default the first page */
  readonly since?: Date;
  /** Pages fetched before this instant. @default no bound */
  readonly until?: Date;
  /** Only pages of this raw kind (`videos`, `comments_page`, …). @default every kind */
  readonly kind?: string;
  /** Raw pages per transaction. @default 100 */
  readonly pagesPerTransaction?: number;
}

export const REPLAY_TABLES = ['profiles', 'posts', 'media', 'comments', 'follows'] as const;
export type ReplayTable = (typeof REPLAY_TABLES)[number];

export interface ReplaySummary {
  readonly platform: Platform;
  readonly since: string | null;
  readonly until: string | null;
  readonly kind: string | null;
  /** Raw pages replayed. */
  readonly pages: number;
  readonly transactions: number;
  /** Rows the transforms produced, per table (after the later page won). */
  readonly mapped: Readonly<Record<ReplayTable, number>>;
  /** Rows inserted or changed, per table: a row that already held these values is not rewritten. */
  readonly rows: Readonly<Record<ReplayTable, number>>;
  /** Quarantine entries the transforms produced (bad items, unreadable pages). */
  readonly quarantined: number;
  /** Of those, the entries social.quarantine did not hold yet. */
  readonly quarantinedNew: number;
}

const counts = (): Record<ReplayTable, number> => ({
  profiles: 0,
  posts: 0,
  media: 0,
  comments: 0,
  follows: 0,
});

/** Replays the platform's raw pages in the range; returns what it did. */
export async function replayRawZone(deps: ReplayDeps, options: ReplayOptions): Promise<ReplaySummary> {
  const size = options.pagesPerTransaction ?? 100;
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`pagesPerTransaction must be ≥ 1, got ${size}`);
  const filter: repo.RawPageFilter = {
    platform: options.platform,
    since: options.since ?? null,
    until: options.until ?? null,
    kind: options.kind ?? null,
  };
  const mapped = counts();
  const rows = counts();
  let pages = 0;
  let transactions = 0;
  let quarantined = 0;
  let quarantinedNew = 0;
  let after: repo.RawPageKey | null = null;
  for (;;) {
    deps.signal?.throwIfAborted();
    const done: boolean = await withTransaction(deps.pool, async (tx) => {
      const batch = await repo.listRawPages(tx, filter, after, size);
      if (batch.length === 0) return true;
      const merged = mergeBatch(options.platform, batch, deps.replay);
      // The sync's upserts, except that a replay leaves deleted_at marks alone.
      const keep = { keepDeleted: true };
      rows.profiles += await tables.upsertProfiles(tx, options.platform, merged.profiles, keep);
      rows.posts += await tables.upsertPosts(tx, options.platform, merged.posts, keep);
      rows.media += await tables.upsertMedia(tx, options.platform, merged.media, keep);
      rows.comments += await tables.upsertComments(tx, options.platform, merged.comments, keep);
      rows.follows += await tables.upsertFollows(tx, options.platform, merged.follows, keep);
      quarantinedNew += await repo.insertQuarantineOnce(tx, merged.quarantined);
      for (const table of REPLAY_TABLES) mapped[table] += merged[table].length;
      quarantined += merged.quarantined.length;
      pages += batch.length;
      transactions += 1;
      const last = batch.at(-1)!;
      after = { fetchedAt: last.fetched_key, id: last.id };
      return batch.length < size;
    });
    deps.logger?.debug({ pages, transactions, rows }, 'replay batch committed');
    if (done) break;
  }
  const summary: ReplaySummary = {
    platform: options.platform,
    since: filter.since?.toISOString() ?? null,
    until: filter.until?.toISOString() ?? null,
    kind: filter.kind,
    pages,
    transactions,
    mapped,
    rows,
    quarantined,
    quarantinedNew,
  };
  deps.logger?.info(summary, 'raw zone replayed');
  return summary;
}

interface Merged {
  readonly profiles: ProfileRow[];
  readonly posts: PostRow[];
  readonly media: MediaRow[];
  readonly comments: CommentRow[];
  readonly follows: FollowRow[];
  readonly quarantined: QuarantineInsert[];
}

/**
 * Pure: the batch's pages through the transform, in order, one row per key (the later page wins, so
 * one upsert per table never meets the same key twice). A backfill job's posts published at or after
 * its `until` are left out, as the sync left them out.
 */
export function mergeBatch(platform: string, batch: readonly repo.RawPageRow[], replay: RawReplayer): Merged {
  const profiles = new Map<string, ProfileRow>();
  const posts = new Map<string, PostRow>();
  const media = new Map<string, MediaRow>();
  const comments = new Map<string, CommentRow>();
  const follows = new Map<string, FollowRow>();
  const quarantined: QuarantineInsert[] = [];
  const put = <T>(map: Map<string, T>, key: string, row: T): void => {
    map.delete(key);
    map.set(key, row);
  };
  for (const page of batch) {
    let out: ReplayRows;
    try {
      out = replay({
        kind: page.kind,
        externalId: page.external_id,
        payload: page.payload,
        post: page.task_kind === 'comments' ? page.task_external_id : null,
        account: page.account_external_id,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      quarantined.push({
        platform,
        kind: page.kind,
        externalId: page.external_id,
        reason: truncateMessage(`replay of raw response ${page.id} failed: ${message}`),
        payload: page.payload,
      });
      continue;
    }
    for (const r of out.profiles) put(profiles, r.external_id, r);
    for (const r of out.posts) {
      if (withinUntil(r.published_at, page.job_until)) put(posts, r.external_id, r);
    }
    for (const r of out.media) put(media, r.external_id, r);
    for (const r of out.comments) put(comments, r.external_id, r);
    for (const r of out.follows) {
      put(follows, `${r.profile_external_id}\u0000${r.relation}\u0000${r.other_external_id}`, r);
    }
    quarantined.push(...out.quarantined);
  }
  return {
    profiles: [...profiles.values()],
    posts: [...posts.values()],
    media: [...media.values()],
    comments: [...comments.values()],
    follows: [...follows.values()],
    quarantined,
  };
}

function withinUntil(publishedAt: string | null, until: Date | null): boolean {
  if (until === null || publishedAt === null) return true;
  return Date.parse(publishedAt) < until.getTime();
}
