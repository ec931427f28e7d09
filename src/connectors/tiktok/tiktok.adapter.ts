import type {
  AccountRef,
  CommentsPage,
  ConnectorFailure,
  FollowRow,
  FollowsPage,
  PlatformAdapter,
  PostsPage,
  ProfileStep,
  RawPage,
  RawReplay,
  ReplayRows,
  StepContext,
  StepResult,
} from '../connector.js';
import type { TikTokCallOptions, TikTokClient, TikTokError, TikTokResult } from './tiktok.client.js';
import {
  decodeOffset,
  decodePostsCursor,
  encodePostsCursor,
  countsToward,
  firstWindow,
  olderWindow,
  seenInWindow,
  researchDateMs,
  TIKTOK_LAUNCH,
  decodeCommentsCursor,
  encodeCommentsCursor,
  type CommentsCursor,
  type PostsCursor,
} from './tiktok.cursor.js';
import { isSearchIdExpired } from './tiktok.errors.js';
import type { TikTokComment, TikTokFollowUser, TikTokUserInfo, TikTokVideo } from './tiktok.types.js';
import {
  mapComment,
  mapFollow,
  mapUserInfo,
  mapVideo,
  normalizeUsername,
  partition,
} from './tiktok.mapper.js';
import { NO_ROWS, objectOf, unreadableRaw } from '../replay-rows.js';

export interface TikTokAdapterOptions {
  readonly client: TikTokClient;
  /**
   * The oldest day a first sync or a backfill reads (epoch ms): windows are read newest first down to
   * it, or until the videos read reach the profile's `video_count`. Later syncs are cut short by the
   * engine at `last_synced_at − lookback`; a pipeline narrows it with `StepContext.historySince`.
   * @default TikTok's launch, 2016-09-01 (the whole history)
   */
  readonly historyFloor?: number;
  /** Deprecated: the floor as days before today; `historyFloor` wins when both are set. */
  readonly backfillDays?: number;
  /** Days per video query window, 1–30 (the API allows at most 30). @default 30 */
  readonly windowDays?: number;
  /** `max_count` of video pages, 1–100. @default 100 */
  readonly videoPageSize?: number;
  /** `max_count` of comment pages, 1–100. @default 100 */
  readonly commentPageSize?: number;
  /** `max_count` of follower/following pages, 1–100. @default 100 */
  readonly followPageSize?: number;
  /** "Today" for the first window. @default Date.now */
  readonly now?: () => number;
  /** What the quota limiter counts against. @default the client key */
  readonly credentialId?: string;
}

const ok = <T>(value: T): StepResult<T> => ({ ok: true, value });

function failure(error: TikTokError): { ok: false; error: ConnectorFailure } {
  return {
    ok: false,
    error: {
      kind: error.kind,
      code: error.code,
      message: error.message,
      method: error.method,
      ...(error.status > 0 ? { httpStatus: error.status } : {}),
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      ...(error.resetAt === undefined ? {} : { resetAt: error.resetAt }),
    },
  };
}

interface PostsSource {
  readonly username: string;
  /** The profile's video_count, when the profile step saw one. */
  readonly videoCount: number | null;
  /** Unix second of that profile read, when known. */
  readonly asOf: number | null;
}

/**
 * A posts stream is what the profile step saw: `username#video_count@unix_second` (now),
 * `username#video_count` (written before the read time was carried) or a plain `username` (written
 * before the count was carried). TikTok usernames are letters, digits, `_` and `.`, so `#` and `@`
 * cannot be part of one.
 */
export function parsePostsSource(source: string): PostsSource {
  const m = /^(.+)#(\d{1,12})(?:@(\d{1,12}))?$/.exec(source);
  if (m) {
    return {
      username: normalizeUsername(m[1]!),
      videoCount: Number(m[2]),
      asOf: m[3] === undefined ? null : Number(m[3]),
    };
  }
  return { username: normalizeUsername(source), videoCount: null, asOf: null };
}

/** A failure the adapter finds itself (an unreadable stored cursor, an answer that cannot be paged). */
function ownFailure(
  kind: 'bad-request' | 'transient',
  method: string,
  message: string,
): { ok: false; error: ConnectorFailure } {
  const code = kind === 'bad-request' ? 'SIPHON_ERR_CONNECTOR_BAD_REQUEST' : 'SIPHON_ERR_CONNECTOR_TRANSIENT';
  return { ok: false, error: { kind, code, message, method } };
}

function raw(kind: string, externalId: string, result: TikTokResult<unknown> & { ok: true }): RawPage {
  return { kind, externalId, request: result.request, payload: result.payload };
}

/**
 * The TikTok Research API behind the sync engine's adapter contract. Accounts are usernames. Posts
 * are read as 30-day windows newest first (see tiktok.cursor.ts); results inside a window are not
 * ordered, so `oldestPublishedAt` is null on a window's inner pages and the window's first day on
 * its last page: only then is everything from that day on known to be read.
 */
export class TikTokAdapter implements PlatformAdapter {
  readonly platform = 'tiktok' as const;
  readonly relations: readonly FollowRow['relation'][] = ['follower', 'following'];
  readonly credentialId: string;
  readonly #client: TikTokClient;
  readonly #historyFloor: number | undefined;
  readonly #backfillDays: number | undefined;
  readonly #windowDays: number;
  readonly #videoPageSize: number;
  readonly #commentPageSize: number;
  readonly #followPageSize: number;
  readonly #now: () => number;

  constructor(options: TikTokAdapterOptions) {
    const inRange = (value: number, min: number, max: number, name: string): number => {
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
      }
      return value;
    };
    this.#client = options.client;
    this.credentialId = options.credentialId ?? options.client.clientKey;
    this.#historyFloor = options.historyFloor;
    this.#backfillDays =
      options.backfillDays === undefined
        ? undefined
        : inRange(options.backfillDays, 0, 36_500, 'backfillDays');
    this.#windowDays = inRange(options.windowDays ?? 30, 1, 30, 'windowDays');
    this.#videoPageSize = inRange(options.videoPageSize ?? 100, 1, 100, 'videoPageSize');
    this.#commentPageSize = inRange(options.commentPageSize ?? 100, 1, 100, 'commentPageSize');
    this.#followPageSize = inRange(options.followPageSize ?? 100, 1, 100, 'followPageSize');
    this.#now = options.now ?? Date.now;
  }

  async fetchProfile(ctx: StepContext, account: AccountRef): Promise<StepResult<ProfileStep>> {
    const username = normalizeUsername(account.external_id);
    const result = await this.#client.userInfo(username, call(ctx));
    if (!result.ok) {
      // User info takes one parameter, the username: `invalid_params` here is the documented answer for
      // an unknown or private user (SOCIAL-APIS.md §5.3), whatever its message says. The account is
      // unreachable, not a malformed request.
      if (result.error.kind === 'bad-request') {
        return failure({
          ...result.error,
          kind: 'not-found',
          code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
          message: `TikTok user "${username}" is unknown or not public: ${result.error.message}`,
        });
      }
      return failure(result.error);
    }
    const mapped = mapUserInfo(username, result.value);
    return ok({
      raw: [raw('profile', username, result)],
      profile: mapped.ok ? mapped.row : null,
      quarantined: mapped.ok ? [] : [mapped.quarantine],
      // An account that says it has no videos has no posts stream to read. The stream carries the
      // video_count and when it was read, so the walk back through the history stops once it has
      // read them all (videos published after this read are not counted toward it).
      postsSource:
        mapped.ok && mapped.row.post_count === 0
          ? null
          : mapped.ok && mapped.row.post_count !== null
            ? `${username}#${mapped.row.post_count}@${Math.floor(this.#now() / 1000)}`
            : username,
    });
  }

  async fetchPostsPage(
    ctx: StepContext,
    _account: AccountRef,
    postsSource: string,
    cursor: string | null,
  ): Promise<StepResult<PostsPage>> {
    const method = 'research/video/query';
    const { username, videoCount, asOf } = parsePostsSource(postsSource);
    let position =
      cursor === null
        ? firstWindow(this.#now(), this.#floor(ctx), this.#windowDays, videoCount, asOf)
        : decodePostsCursor(cursor);
    if (position === undefined) return ownFailure('bad-request', method, `unreadable posts cursor ${cursor}`);
    let result = await this.#queryVideos(ctx, username, position);
    if (!result.ok && position.searchId !== null && isSearchIdExpired(result.error)) {
      // The search expired (a long pause between pages): read the window again from its start.
      // Rows are upserted by id, so the pages already committed are harmless to see twice.
      position = { ...position, cursor: 0, searchId: null, seen: 0 };
      result = await this.#queryVideos(ctx, username, position);
    }
    if (!result.ok) return failure(result.error);

    const data = result.value;
    const { rows, quarantined } = partition((data.videos ?? []).map((v) => mapVideo(v, { username })));
    const posts = [...new Map(rows.map((p) => [p.external_id, p])).values()];
    // Toward video_count count only videos this page returned (not the offset's move), published by
    // the profile read: see tiktok.cursor.ts for why.
    const seen =
      seenInWindow(position) +
      posts.filter((p) => countsToward(position, Date.parse(p.published_at ?? ''))).length;
    let next: PostsCursor | null;
    if (data.has_more === true) {
      const searchId = data.search_id ?? position.searchId;
      if (typeof data.cursor !== 'number' || data.cursor <= position.cursor || !searchId) {
        return ownFailure(
          'transient',
          method,
          'video/query said has_more without a usable cursor and search_id',
        );
      }
      next = { ...position, cursor: data.cursor, searchId: String(searchId), seen };
    } else {
      next = olderWindow(position, this.#windowDays, seen);
    }
    return ok({
      raw: [raw('posts_page', username, result)],
      posts,
      media: [],
      quarantined,
      nextCursor: next === null ? null : encodePostsCursor(next),
      oldestPublishedAt: data.has_more === true ? null : researchDateMs(position.start),
      commentable: posts
        .filter((p) => p.comment_count === null || p.comment_count > 0)
        .map((p) => p.external_id),
    });
  }

  /** The oldest day to read: the pipeline's `historySince`, else the adapter's floor, else the launch. */
  #floor(ctx: StepContext): number {
    if (ctx.historySince !== undefined) return ctx.historySince;
    if (this.#historyFloor !== undefined) return this.#historyFloor;
    if (this.#backfillDays !== undefined) return this.#now() - this.#backfillDays * 86_400_000;
    return researchDateMs(TIKTOK_LAUNCH);
  }

  /**
   * One page of a video's comments stream: the top-level comments (the `video_id` form), and after
   * each top-level page the replies of its comments that have any (`reply_count` > 0), read with the
   * documented `comment_id` form, page by page, before the next top-level page. The cursor carries
   * where both stand (tiktok.cursor.ts, CommentsCursor); replies are stored with their parent.
   */
  async fetchCommentsPage(
    ctx: StepContext,
    _account: AccountRef,
    post: string,
    cursor: string | null,
  ): Promise<StepResult<CommentsPage>> {
    const method = 'research/video/comment/list';
    const state = decodeCommentsCursor(cursor);
    if (state === undefined) return ownFailure('bad-request', method, `unreadable comments cursor ${cursor}`);
    const parent = state.queue[0];
    const offset = parent === undefined ? state.top! : state.replyOffset;
    const result = await this.#client.listComments(
      {
        videoId: post,
        ...(parent === undefined ? {} : { commentId: parent }),
        maxCount: this.#commentPageSize,
        cursor: offset,
      },
      call(ctx),
    );
    if (!result.ok && parent !== undefined && result.error.kind === 'not-found') {
      // The parent comment was deleted after its top-level page was read: its replies went with it.
      // Go on with the next queued parent instead of ending the whole video's comments (the engine
      // skips a stream that answers not-found); the replies already stored are then not seen on
      // this pass and are marked deleted with it.
      return ok({
        raw: [],
        comments: [],
        quarantined: [],
        nextCursor: encodeCommentsCursor({ top: state.top, queue: state.queue.slice(1), replyOffset: 0 }),
      });
    }
    if (!result.ok) return failure(result.error);
    const data = result.value;
    const next = nextOffset(data, offset);
    if (next === undefined)
      return ownFailure('transient', method, 'comment/list said has_more without a usable cursor');
    const { rows, quarantined } = partition(
      (data.comments ?? []).map((c) => mapComment(c, { videoId: post })),
    );
    const comments = [...new Map(rows.map((c) => [c.external_id, c])).values()];
    let following: CommentsCursor;
    if (parent === undefined) {
      // Top-level comments with replies: their replies are read next, in this order.
      const withReplies = (data.comments ?? [])
        .filter((c) => typeof c.reply_count === 'number' && c.reply_count > 0)
        .map((c) => String(c.id))
        .filter((id) => comments.some((row) => row.external_id === id && row.parent_external_id === null));
      following = { top: next === null ? null : Number(next), queue: withReplies, replyOffset: 0 };
    } else if (next !== null) {
      following = { ...state, replyOffset: Number(next) };
    } else {
      following = { top: state.top, queue: state.queue.slice(1), replyOffset: 0 };
    }
    return ok({
      raw: [raw(parent === undefined ? 'comments_page' : 'replies_page', post, result)],
      comments,
      quarantined,
      nextCursor: encodeCommentsCursor(following),
    });
  }

  async fetchFollowsPage(
    ctx: StepContext,
    account: AccountRef,
    relation: FollowRow['relation'],
    cursor: string | null,
  ): Promise<StepResult<FollowsPage>> {
    const method = relation === 'following' ? 'research/user/following' : 'research/user/followers';
    if (relation !== 'follower' && relation !== 'following') {
      return ownFailure('bad-request', method, `TikTok has no ${relation} relation`);
    }
    const offset = decodeOffset(cursor);
    if (offset === undefined) return ownFailure('bad-request', method, `unreadable follows cursor ${cursor}`);
    const username = normalizeUsername(account.external_id);
    const params = { username, maxCount: this.#followPageSize, cursor: offset };
    const result =
      relation === 'follower'
        ? await this.#client.listFollowers(params, call(ctx))
        : await this.#client.listFollowing(params, call(ctx));
    if (!result.ok) return failure(result.error);
    const data = result.value;
    const lists = data as {
      user_followers?: readonly TikTokFollowUser[];
      user_following?: readonly TikTokFollowUser[];
    };
    const users = relation === 'follower' ? lists.user_followers : lists.user_following;
    // The follower cursors are not documented as offsets: require only that they move.
    const next = nextOffset(data, offset, (c) => c !== offset);
    if (next === undefined)
      return ownFailure('transient', method, `${relation} list said has_more without a usable cursor`);
    const { rows, quarantined } = partition((users ?? []).map((u) => mapFollow(u, { username, relation })));
    return ok({
      raw: [raw(relation === 'follower' ? 'followers_page' : 'following_page', username, result)],
      follows: [...new Map(rows.map((f) => [f.other_external_id, f])).values()],
      quarantined,
      nextCursor: next,
    });
  }

  /** The transform of one stored response, without a call: see {@link replayTikTokRaw}. */
  replayRaw(raw: RawReplay): ReplayRows {
    return replayTikTokRaw(raw);
  }

  #queryVideos(ctx: StepContext, username: string, position: PostsCursor) {
    return this.#client.queryVideos(
      {
        username,
        startDate: position.start,
        endDate: position.end,
        maxCount: this.#videoPageSize,
        ...(position.searchId === null ? {} : { cursor: position.cursor, searchId: position.searchId }),
      },
      call(ctx),
    );
  }
}

/** Every request goes through the engine's limiter first, the token request included. */
function call(ctx: StepContext): TikTokCallOptions {
  return {
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    beforeRequest: (method) => ctx.beforeCall(method, 1),
  };
}

/** The next page's cursor: null at the end; undefined when `has_more` comes without progress. */
function nextOffset(
  data: { has_more?: boolean; cursor?: number },
  offset: number,
  moved: (cursor: number) => boolean = (c) => c > offset,
): string | null | undefined {
  if (data.has_more !== true) return null;
  return typeof data.cursor === 'number' &&
    Number.isSafeInteger(data.cursor) &&
    data.cursor >= 0 &&
    moved(data.cursor)
    ? String(data.cursor)
    : undefined;
}

/**
 * Re-runs the transform of one stored TikTok response (src/sync/replay.ts), with the mappers the
 * fetch used. The stored payload is the whole envelope as `parseTikTokJson` read it: ids are decimal
 * strings there, so they come back exact; an id stored as a number beyond 2^53 is quarantined by the
 * mapper, never rounded into another video's id.
 */
export function replayTikTokRaw(raw: RawReplay): ReplayRows {
  const envelope = objectOf(raw.payload);
  if (envelope === null) return unreadable(raw, 'the payload is not an envelope object');
  const data = envelope.data === undefined ? {} : objectOf(envelope.data);
  if (data === null) return unreadable(raw, 'the envelope data is not an object');
  const list = (key: string): unknown[] => {
    const value = data[key];
    return Array.isArray(value) ? value : [];
  };
  switch (raw.kind) {
    case 'profile': {
      const mapped = mapUserInfo(raw.externalId, data as TikTokUserInfo);
      return mapped.ok
        ? { ...NO_ROWS, profiles: [mapped.row] }
        : { ...NO_ROWS, quarantined: [mapped.quarantine] };
    }
    case 'posts_page': {
      const username = normalizeUsername(raw.externalId);
      const { rows, quarantined } = partition(
        list('videos').map((v) => mapVideo(v as TikTokVideo, { username })),
      );
      return { ...NO_ROWS, posts: [...new Map(rows.map((p) => [p.external_id, p])).values()], quarantined };
    }
    case 'comments_page':
    case 'replies_page': {
      const { rows, quarantined } = partition(
        list('comments').map((c) => mapComment(c as TikTokComment, { videoId: raw.externalId })),
      );
      return {
        ...NO_ROWS,
        comments: [...new Map(rows.map((c) => [c.external_id, c])).values()],
        quarantined,
      };
    }
    case 'followers_page':
    case 'following_page': {
      const relation = raw.kind === 'followers_page' ? 'follower' : 'following';
      const users = list(relation === 'follower' ? 'user_followers' : 'user_following');
      const username = normalizeUsername(raw.externalId);
      const { rows, quarantined } = partition(
        users.map((u) => mapFollow(u as TikTokFollowUser, { username, relation })),
      );
      return {
        ...NO_ROWS,
        follows: [...new Map(rows.map((f) => [f.other_external_id, f])).values()],
        quarantined,
      };
    }
    default:
      return unreadable(raw, `no TikTok transform for raw kind '${raw.kind}'`);
  }
}

const unreadable = (raw: RawReplay, reason: string): ReplayRows => unreadableRaw('tiktok', raw, reason);
