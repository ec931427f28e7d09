import type {
  AccountRef,
  CommentsPage,
  ConnectorFailure,
  FollowRow,
  FollowsPage,
  MediaRow,
  PlatformAdapter,
  PostsPage,
  ProfileStep,
  RawPage,
  RawReplay,
  ReplayRows,
  StepContext,
  StepResult,
} from '../connector.js';
import {
  dedupeBy,
  oldest,
  partition,
  toCommentRow,
  toPostRow,
  toProfileRow,
  toQuarantineInsert,
} from './youtube.rows.js';
import type {
  ChannelsListParams,
  CommentsListParams,
  CommentThreadsListParams,
  PlaylistItemsListParams,
  SubscriptionsListParams,
  VideosListParams,
  YouTubeClient,
  YouTubeError,
  YouTubeResult,
} from './youtube.client.js';
import {
  mapChannel,
  mapComment,
  mapCommentThread,
  mapSubscription,
  mapVideo,
  parseCount,
  parseTimestamp,
  type CommentRecord,
  type Mapped,
} from './youtube.mapper.js';
import type {
  YouTubeChannel,
  YouTubeChannelListResponse,
  YouTubeComment,
  YouTubeCommentThread,
  YouTubeSubscription,
  YouTubeVideo,
} from './youtube.types.js';
import { NO_ROWS, unreadableRaw } from '../replay-rows.js';

/** YouTube Data API v3 units per call (SOCIAL-APIS.md §1.7): every list method costs 1, page or not. */
export const YOUTUBE_UNIT_COSTS = {
  'channels.list': 1,
  'playlistItems.list': 1,
  'videos.list': 1,
  'commentThreads.list': 1,
  'comments.list': 1,
  'subscriptions.list': 1,
} as const;

export type YouTubeMethod = keyof typeof YOUTUBE_UNIT_COSTS;

export interface YouTubeAdapterOptions {
  readonly client: YouTubeClient;
  /** playlistItems page size (1–50). @default 50 */
  readonly postsPageSize?: number;
  /** commentThreads and comments page size (1–100). @default 100 */
  readonly commentsPageSize?: number;
  /** subscriptions page size (1–50). @default 50 */
  readonly followsPageSize?: number;
  /**
   * Profiles asked for within this many milliseconds of each other (by concurrent steps on this
   * credential) are read by one channels.list call of up to 50 ids: 1 unit instead of one each.
   * 0 reads each profile by its own call. @default 10
   */
  readonly profileBatchWindowMs?: number;
}

/** channels.list takes at most 50 ids a call (SOCIAL-APIS.md §1.2). */
const CHANNELS_PER_CALL = 50;

type ChannelsAnswer = StepResult<{
  readonly params: ChannelsListParams;
  readonly response: YouTubeChannelListResponse;
}>;

/** Profile lookups waiting for the next batched channels.list call. */
interface ProfileBatch {
  readonly waiters: {
    readonly id: string;
    readonly ctx: StepContext;
    readonly resolve: (answer: ChannelsAnswer) => void;
    readonly reject: (error: unknown) => void;
  }[];
  timer?: NodeJS.Timeout;
}

export const watchUrl = (videoId: string): string =>
  `https://www.youtube.com/watch?v=${encodeURIComponent(videoId)}`;

/**
 * The YouTube side of the sync engine (src/connectors/connector.ts): each method reads one page (plus the
 * calls that page needs) and maps it to unified rows. No state, no retries, no throws for API
 * failures: the engine decides from the classified failure.
 */
export class YouTubeAdapter implements PlatformAdapter {
  readonly platform = 'youtube' as const;
  readonly relations = ['subscription'] as const satisfies readonly FollowRow['relation'][];
  readonly credentialId: string;
  readonly #client: YouTubeClient;
  readonly #postsPageSize: number;
  readonly #commentsPageSize: number;
  readonly #followsPageSize: number;
  readonly #profileBatchWindowMs: number;
  #profileBatch: ProfileBatch | null = null;

  constructor(options: YouTubeAdapterOptions) {
    this.#client = options.client;
    this.credentialId = options.client.credentialId;
    this.#postsPageSize = options.postsPageSize ?? 50;
    this.#commentsPageSize = options.commentsPageSize ?? 100;
    this.#followsPageSize = options.followsPageSize ?? 50;
    this.#profileBatchWindowMs = options.profileBatchWindowMs ?? 10;
  }

  /**
   * channels.list by id (or by `@handle` when the account is named by one: forHandle takes one).
   * Ids asked for by concurrent steps share one call (see `profileBatchWindowMs`); the raw page each
   * step keeps is the call's response narrowed to its own channel.
   */
  async fetchProfile(ctx: StepContext, account: AccountRef): Promise<StepResult<ProfileStep>> {
    const wanted = account.external_id;
    const byHandle = wanted.startsWith('@');
    const method = 'channels.list';
    let answer: ChannelsAnswer =
      byHandle || this.#profileBatchWindowMs <= 0
        ? await this.#channels(ctx, byHandle ? { forHandle: wanted } : { id: [wanted] })
        : await this.#batchedChannel(ctx, wanted);
    if (!answer.ok) return answer;
    let items = answer.value.response.items ?? [];
    // A platform that paged a batched answer (maxResults) left this channel out: ask for it alone.
    if (!byHandle && answer.value.response.nextPageToken && !items.some((c) => c.id === wanted)) {
      answer = await this.#channels(ctx, { id: [wanted] });
      if (!answer.ok) return answer;
      items = answer.value.response.items ?? [];
    }
    const { params } = answer.value;
    const channel = byHandle ? items[0] : items.find((c) => c.id === wanted);
    if (channel === undefined) {
      const message = `channel ${wanted} not found`;
      return fail({
        kind: 'not-found',
        code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
        message,
        method,
        httpStatus: 200,
      });
    }
    const mapped = mapChannel(channel);
    // The uploads playlist is readable even when the profile itself had to be quarantined.
    const uploads = channel.contentDetails?.relatedPlaylists?.uploads;
    const response = { ...answer.value.response, items: [channel] };
    return {
      ok: true,
      value: {
        raw: [raw('profile', channel.id ?? wanted, method, params, response)],
        profile: mapped.ok ? toProfileRow(mapped.record) : null,
        quarantined: mapped.ok ? [] : [toQuarantineInsert(mapped.quarantine)],
        postsSource: typeof uploads === 'string' && uploads !== '' ? uploads : null,
      },
    };
  }

  /** One playlistItems page of the uploads playlist, then one videos.list for its ids. */
  async fetchPostsPage(
    ctx: StepContext,
    _account: AccountRef,
    postsSource: string,
    cursor: string | null,
  ): Promise<StepResult<PostsPage>> {
    const params: PlaylistItemsListParams = {
      part: ['snippet', 'contentDetails'],
      playlistId: postsSource,
      maxResults: this.#postsPageSize,
      ...(cursor === null ? {} : { pageToken: cursor }),
    };
    const page = await call(ctx, 'playlistItems.list', () =>
      this.#client.listPlaylistItems(params, ctx.signal),
    );
    if (!page.ok) return page;
    const items = page.value.items ?? [];
    const raws: RawPage[] = [raw('posts_page', postsSource, 'playlistItems.list', params, page.value)];
    const ids = [
      ...new Set(
        items
          .map((i) => i.contentDetails?.videoId ?? i.snippet?.resourceId?.videoId)
          .filter((v): v is string => typeof v === 'string' && v !== ''),
      ),
    ];
    let videos: ReturnType<typeof mapVideo>[] = [];
    if (ids.length > 0) {
      const videoParams: VideosListParams = { part: ['snippet', 'contentDetails', 'statistics'], id: ids };
      const details = await call(ctx, 'videos.list', () => this.#client.listVideos(videoParams, ctx.signal));
      if (!details.ok) return details;
      raws.push(raw('videos', postsSource, 'videos.list', videoParams, details.value));
      // Deleted and private videos are silently absent from videos.list: they simply yield no post.
      videos = (details.value.items ?? []).map(mapVideo);
    }
    const { records, quarantined } = partition(videos);
    const posts = dedupeBy(records, (r) => r.external_id);
    const media = thumbnailMedia(posts);
    return {
      ok: true,
      value: {
        raw: raws,
        posts: posts.map((p) => ({ ...toPostRow(p), media_type: null, url: watchUrl(p.external_id) })),
        media,
        quarantined: quarantined.map(toQuarantineInsert),
        nextCursor: page.value.nextPageToken ?? null,
        oldestPublishedAt: oldest([
          ...items.map((i) => parseTimestamp(i.contentDetails?.videoPublishedAt ?? i.snippet?.publishedAt)),
          ...posts.map((p) => p.published_at),
        ]),
        // commentCount is absent when comments are disabled; a video without comments costs a call for nothing.
        commentable: posts.filter((p) => (p.comment_count ?? 0) > 0).map((p) => p.external_id),
      },
    };
  }

  /**
   * One commentThreads page of a video, newest first. Threads carry only their first replies inline;
   * the rest are read with comments.list in this same step, so a page comes back complete.
   */
  async fetchCommentsPage(
    ctx: StepContext,
    _account: AccountRef,
    post: string,
    cursor: string | null,
  ): Promise<StepResult<CommentsPage>> {
    const params: CommentThreadsListParams = {
      part: ['snippet', 'replies'],
      videoId: post,
      order: 'time',
      textFormat: 'plainText',
      maxResults: this.#commentsPageSize,
      ...(cursor === null ? {} : { pageToken: cursor }),
    };
    const page = await call(ctx, 'commentThreads.list', () =>
      this.#client.listCommentThreads(params, ctx.signal),
    );
    if (!page.ok) return page;
    const threads = page.value.items ?? [];
    const raws: RawPage[] = [raw('comments_page', post, 'commentThreads.list', params, page.value)];
    const mapped: Mapped<CommentRecord>[] = [];
    for (const thread of threads) {
      const replies = await this.#missingReplies(ctx, thread, raws);
      if (!replies.ok) return replies;
      const parent = thread.snippet?.topLevelComment?.id ?? thread.id ?? null;
      // Each thread's comment first, then its replies; the complete list repeats the inline ones.
      mapped.push(
        ...mapCommentThread(thread),
        ...replies.value.map((reply) =>
          mapComment(reply, { postExternalId: post, parentExternalId: parent }),
        ),
      );
    }
    const { records, quarantined } = partition(mapped);
    return {
      ok: true,
      value: {
        raw: raws,
        comments: dedupeBy(records, (r) => r.external_id).map(toCommentRow),
        quarantined: quarantined.map(toQuarantineInsert),
        nextCursor: page.value.nextPageToken ?? null,
      },
    };
  }

  /** One page of a channel's public subscriptions; private ones fail as `permission`. */
  async fetchFollowsPage(
    ctx: StepContext,
    account: AccountRef,
    relation: FollowRow['relation'],
    cursor: string | null,
  ): Promise<StepResult<FollowsPage>> {
    if (relation !== 'subscription') {
      throw new Error(`YouTube has no '${relation}' relation; it offers ${this.relations.join(', ')}`);
    }
    const params: SubscriptionsListParams = {
      part: ['snippet'],
      channelId: account.external_id,
      maxResults: this.#followsPageSize,
      ...(cursor === null ? {} : { pageToken: cursor }),
    };
    const page = await call(ctx, 'subscriptions.list', () =>
      this.#client.listSubscriptions(params, ctx.signal),
    );
    if (!page.ok) return page;
    const mapped = (page.value.items ?? []).map((item) => mapSubscription(item, account.external_id));
    const { records, quarantined } = partition(mapped);
    const follows: FollowRow[] = dedupeBy(records, (r) => r.channel_external_id).map((r) => ({
      profile_external_id: r.subscriber_external_id,
      relation: 'subscription',
      other_external_id: r.channel_external_id,
      other_handle: null,
      other_title: r.channel_title,
    }));
    return {
      ok: true,
      value: {
        raw: [raw('subscriptions_page', account.external_id, 'subscriptions.list', params, page.value)],
        follows,
        quarantined: quarantined.map(toQuarantineInsert),
        nextCursor: page.value.nextPageToken ?? null,
      },
    };
  }

  /** One channels.list call through `ctx`'s limiter. */
  async #channels(
    ctx: StepContext,
    filter: { readonly id: readonly string[] } | { readonly forHandle: string },
    signal: AbortSignal | undefined = ctx.signal,
  ): Promise<ChannelsAnswer> {
    const ids = 'id' in filter ? filter.id.length : 1;
    // maxResults defaults to 5: a longer id list says it wants them all.
    const params: ChannelsListParams = {
      part: ['snippet', 'contentDetails', 'statistics'],
      ...filter,
      ...(ids > 5 ? { maxResults: CHANNELS_PER_CALL } : {}),
    };
    const result = await call(ctx, 'channels.list', () => this.#client.listChannels(params, signal));
    return result.ok ? { ok: true, value: { params, response: result.value } } : result;
  }

  /**
   * Joins the batch of channel ids being gathered (or starts one); the batch is read by one call when
   * its window ends or it holds 50 ids. The first step's limiter slot pays for the call (1 unit), so the
   * units and calls counted stay exact; a limiter wait (QuotaWait) reaches every step of the batch.
   */
  #batchedChannel(ctx: StepContext, id: string): Promise<ChannelsAnswer> {
    return new Promise<ChannelsAnswer>((resolve, reject) => {
      let batch = this.#profileBatch;
      if (batch === null) {
        const started: ProfileBatch = { waiters: [] };
        started.timer = setTimeout(() => void this.#flushProfiles(started), this.#profileBatchWindowMs);
        this.#profileBatch = batch = started;
      }
      batch.waiters.push({ id, ctx, resolve, reject });
      if (new Set(batch.waiters.map((w) => w.id)).size >= CHANNELS_PER_CALL) {
        clearTimeout(batch.timer);
        void this.#flushProfiles(batch);
      }
    });
  }

  async #flushProfiles(batch: ProfileBatch): Promise<void> {
    if (this.#profileBatch === batch) this.#profileBatch = null;
    const [first] = batch.waiters;
    if (!first) return;
    const ids = [...new Set(batch.waiters.map((w) => w.id))];
    try {
      // One step's pause must not abort the others' lookup: a shared call runs to its client timeout.
      const signal = batch.waiters.length === 1 ? first.ctx.signal : undefined;
      const answer = await this.#channels(first.ctx, { id: ids }, signal);
      first.resolve(answer);
      const shared: ChannelsAnswer = answer.ok
        ? answer
        : { ok: false, error: { ...answer.error, shared: true } };
      for (const w of batch.waiters.slice(1)) w.resolve(shared);
    } catch (error) {
      for (const w of batch.waiters) w.reject(error);
    }
  }

  /** The transform of one stored response, without a call: see {@link replayYouTubeRaw}. */
  replayRaw(raw: RawReplay): ReplayRows {
    return replayYouTubeRaw(raw);
  }

  /** comments.list pages for a thread whose totalReplyCount exceeds the replies it carries inline. */
  async #missingReplies(
    ctx: StepContext,
    thread: YouTubeCommentThread,
    raws: RawPage[],
  ): Promise<StepResult<YouTubeComment[]>> {
    const inline = thread.replies?.comments?.length ?? 0;
    const total = parseCount(thread.snippet?.totalReplyCount) ?? 0;
    const parentId = thread.id ?? thread.snippet?.topLevelComment?.id;
    if (parentId === undefined || total <= inline) return { ok: true, value: [] };
    const replies: YouTubeComment[] = [];
    let pageToken: string | undefined;
    do {
      const params: CommentsListParams = {
        part: ['snippet'],
        parentId,
        textFormat: 'plainText',
        maxResults: this.#commentsPageSize,
        ...(pageToken === undefined ? {} : { pageToken }),
      };
      const page = await call(ctx, 'comments.list', () => this.#client.listComments(params, ctx.signal));
      // The thread was deleted meanwhile: keep what it carried inline, go on with the page.
      if (!page.ok && page.error.kind === 'not-found') break;
      if (!page.ok) return page;
      raws.push(raw('replies_page', parentId, 'comments.list', params, page.value));
      replies.push(...(page.value.items ?? []));
      pageToken = page.value.nextPageToken;
    } while (pageToken !== undefined);
    return { ok: true, value: replies };
  }
}

/** Waits for the limiter, makes the call, classifies a failure for the engine. */
async function call<T>(
  ctx: StepContext,
  method: YouTubeMethod,
  request: () => Promise<YouTubeResult<T>>,
): Promise<StepResult<T>> {
  await ctx.beforeCall(method, YOUTUBE_UNIT_COSTS[method]);
  const result = await request();
  return result.ok ? result : fail(toConnectorFailure(result.error, method));
}

const fail = (error: ConnectorFailure): { readonly ok: false; readonly error: ConnectorFailure } => ({
  ok: false,
  error,
});

/**
 * The client's classification in the engine's terms. A private subscriptions list is a permission
 * matter for this one account (the engine skips the stream), not a missing resource.
 */
export function toConnectorFailure(error: YouTubeError, method: string): ConnectorFailure {
  const forbidden = error.reason === 'subscriptionForbidden';
  const retryAfterMs = 'retryAfterMs' in error ? error.retryAfterMs : undefined;
  return {
    kind: forbidden ? 'permission' : error.kind,
    code: forbidden ? 'SIPHON_ERR_CONNECTOR_PERMISSION' : error.code,
    message: error.message,
    method,
    ...(error.status > 0 ? { httpStatus: error.status } : {}),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(error.kind === 'quota-exhausted' ? { resetAt: Date.parse(error.retryAt) } : {}),
  };
}

function raw(
  kind: string,
  externalId: string,
  method: YouTubeMethod,
  params: object,
  payload: unknown,
): RawPage {
  return { kind, externalId, request: { method, path: method.replace(/\.list$/, ''), params }, payload };
}

/**
 * Re-runs the transform of one stored YouTube response (src/sync/replay.ts), with the mappers the
 * fetch used: `profile` (channels.list), `videos` (the posts and their thumbnails), `comments_page`
 * (threads with their inline replies), `replies_page` (comments.list of one thread; the video id
 * comes from the snippet, else from `raw.post`), `subscriptions_page`. A `posts_page`
 * (playlistItems) builds no rows: its posts come from the `videos` stored beside it.
 */
export function replayYouTubeRaw(raw: RawReplay): ReplayRows {
  const items = itemsOf(raw.payload);
  if (items === null) return unreadable(raw, 'the payload has no items array');
  switch (raw.kind) {
    case 'profile': {
      const channels = items as YouTubeChannel[];
      const channel =
        channels.find((c) => c?.id === raw.externalId) ?? (items.length === 1 ? channels[0] : undefined);
      if (channel === undefined) return unreadable(raw, `no channel ${raw.externalId} in the payload`);
      const mapped = mapChannel(channel);
      return mapped.ok
        ? { ...NO_ROWS, profiles: [toProfileRow(mapped.record)] }
        : { ...NO_ROWS, quarantined: [toQuarantineInsert(mapped.quarantine)] };
    }
    case 'posts_page':
      return NO_ROWS;
    case 'videos': {
      const { records, quarantined } = partition((items as YouTubeVideo[]).map(mapVideo));
      const posts = dedupeBy(records, (r) => r.external_id);
      return {
        ...NO_ROWS,
        posts: posts.map((p) => ({ ...toPostRow(p), media_type: null, url: watchUrl(p.external_id) })),
        media: thumbnailMedia(posts),
        quarantined: quarantined.map(toQuarantineInsert),
      };
    }
    case 'comments_page':
    case 'replies_page': {
      const mapped =
        raw.kind === 'comments_page'
          ? (items as YouTubeCommentThread[]).flatMap(mapCommentThread)
          : (items as YouTubeComment[]).map((reply) =>
              mapComment(reply, {
                ...(raw.post ? { postExternalId: raw.post } : {}),
                parentExternalId: raw.externalId,
              }),
            );
      const { records, quarantined } = partition(mapped);
      return {
        ...NO_ROWS,
        comments: dedupeBy(records, (r) => r.external_id).map(toCommentRow),
        quarantined: quarantined.map(toQuarantineInsert),
      };
    }
    case 'subscriptions_page': {
      const mapped = (items as YouTubeSubscription[]).map((item) => mapSubscription(item, raw.externalId));
      const { records, quarantined } = partition(mapped);
      return {
        ...NO_ROWS,
        follows: dedupeBy(records, (r) => r.channel_external_id).map((r) => ({
          profile_external_id: r.subscriber_external_id,
          relation: 'subscription' as const,
          other_external_id: r.channel_external_id,
          other_handle: null,
          other_title: r.channel_title,
        })),
        quarantined: quarantined.map(toQuarantineInsert),
      };
    }
    default:
      return unreadable(raw, `no YouTube transform for raw kind '${raw.kind}'`);
  }
}

/** A list response's `items` (absent: none); null when the payload is not a list response. */
function itemsOf(payload: unknown): unknown[] | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const items = (payload as { items?: unknown }).items;
  if (items === undefined) return [];
  return Array.isArray(items) ? items : null;
}

/** A video's thumbnail as its one media row (YouTube has no other media to list). */
function thumbnailMedia(posts: readonly { external_id: string; thumbnail_url: string | null }[]): MediaRow[] {
  return posts.flatMap((p) =>
    p.thumbnail_url === null
      ? []
      : [
          {
            external_id: p.external_id,
            post_external_id: p.external_id,
            position: 0,
            media_type: null,
            media_url: null,
            thumbnail_url: p.thumbnail_url,
          },
        ],
  );
}

const unreadable = (raw: RawReplay, reason: string): ReplayRows => unreadableRaw('youtube', raw, reason);
