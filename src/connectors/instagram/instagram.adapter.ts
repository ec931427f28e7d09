import type {
  AccountRef,
  CommentRow,
  CommentsPage,
  ConnectorFailure,
  MediaRow,
  PlatformAdapter,
  PostRow,
  PostsPage,
  ProfileStep,
  QuarantineInsert,
  RawPage,
  RawReplay,
  ReplayRows,
  StepContext,
  StepResult,
} from '../connector.js';
import {
  METHODS,
  type InstagramClient,
  type InstagramError,
  type InstagramResult,
} from './instagram.client.js';
import { CONNECTOR_ERROR_CODE } from '../connector-errors.js';
import { mapCommentWithReplies, mapComment, mapMedia, mapUser } from './instagram.mapper.js';
import type {
  InstagramComment,
  InstagramEdge,
  InstagramMedia,
  InstagramPaging,
  InstagramUser,
} from './instagram.types.js';
import { NO_ROWS, objectOf, unreadableRaw } from '../replay-rows.js';

/**
 * The Instagram side of the sync engine's contract (src/connectors/connector.ts).
 *
 * - An account whose `external_id` is numeric is read as a node the token may read (the token's own
 *   professional account): `/{id}`, `/{id}/media`, `/{media-id}/comments` and `/{comment-id}/replies`.
 * - Any other `external_id` is a username (a leading `@` is ignored) read through business discovery
 *   on `userId`: profile and media only; Instagram gives other accounts' comments to nobody. When the
 *   username is the token's own account (discovery answers with `userId`), it is read as a node.
 * - Every page ends exactly when the platform says so: no `paging.next` on an edge. Business discovery's
 *   nested media edge carries only cursors, so there the end is "no `after` cursor, or no data".
 * - One `ctx.beforeCall(method, 1)` per request; usage headers go to `ctx.reportUsage`.
 */
export interface InstagramAdapterOptions {
  readonly client: InstagramClient;
  /**
   * The professional account that owns the token (SIPHON_INSTAGRAM_USER_ID): the node business
   * discovery is asked through, and the credential the limiter counts (Instagram's BUC limits are
   * per account; the token itself rotates).
   */
  readonly userId: string;
  /** Media per posts page (`limit`). @default 50 */
  readonly postsPageSize?: number;
  /** Top-level comments per page. @default 50 */
  readonly commentsPageSize?: number;
  /** Replies per `/{comment-id}/replies` page when a comment's inline replies are incomplete. @default 50 */
  readonly repliesPageSize?: number;
}

export const USER_FIELDS = [
  'id',
  'username',
  'name',
  'biography',
  'website',
  'profile_picture_url',
  'followers_count',
  'follows_count',
  'media_count',
] as const;

const CHILD_FIELDS = 'children{id,media_type,media_url,thumbnail_url}';
/** Business discovery media: what other accounts' media expose. */
export const DISCOVERY_MEDIA_FIELDS = [
  'id',
  'caption',
  'comments_count',
  'like_count',
  'media_type',
  'media_product_type',
  'media_url',
  'thumbnail_url',
  'permalink',
  'shortcode',
  'timestamp',
  'username',
  CHILD_FIELDS,
] as const;
export const MEDIA_FIELDS = [...DISCOVERY_MEDIA_FIELDS, 'is_comment_enabled', 'owner'] as const;
/** Story fields: no counters or comments (Instagram gives none on stories), no children. */
export const STORY_FIELDS = [
  'id',
  'caption',
  'media_type',
  'media_product_type',
  'media_url',
  'thumbnail_url',
  'permalink',
  'timestamp',
  'username',
] as const;

const REPLY_FIELDS = ['id', 'text', 'timestamp', 'username', 'like_count', 'from', 'parent_id', 'hidden'];
export const COMMENT_FIELDS = [
  'id',
  'text',
  'timestamp',
  'username',
  'like_count',
  'from',
  'hidden',
  `replies{${REPLY_FIELDS.join(',')}}`,
] as const;

const isUserId = (externalId: string): boolean => /^\d+$/.test(externalId);
const usernameOf = (externalId: string): string => externalId.replace(/^@/, '');

/** The cursor of the next page: the `after` of the `next` URL, else `cursors.after`. */
export function nextAfter(paging: InstagramPaging | undefined): string | null {
  if (paging?.next === undefined) return null;
  try {
    const after = new URL(paging.next).searchParams.get('after');
    if (after) return after;
  } catch {
    // a malformed next URL still says "there is more"; use the cursor
  }
  return paging.cursors?.after ?? null;
}

type Failed = { readonly ok: false; readonly error: ConnectorFailure };
type Succeeded<T> = Extract<InstagramResult<T>, { readonly ok: true }>;

export class InstagramAdapter implements PlatformAdapter {
  readonly platform = 'instagram' as const;
  readonly credentialId: string;
  readonly relations = [] as const;
  readonly #client: InstagramClient;
  readonly #userId: string;
  readonly #postsPageSize: number;
  readonly #commentsPageSize: number;
  readonly #repliesPageSize: number;

  constructor(options: InstagramAdapterOptions) {
    if (!isUserId(options.userId)) throw new TypeError('userId must be a numeric Instagram user id');
    this.#client = options.client;
    this.#userId = options.userId;
    this.credentialId = `ig-user-${options.userId}`;
    this.#postsPageSize = options.postsPageSize ?? 50;
    this.#commentsPageSize = options.commentsPageSize ?? 50;
    this.#repliesPageSize = options.repliesPageSize ?? 50;
  }

  async fetchProfile(ctx: StepContext, account: AccountRef): Promise<StepResult<ProfileStep>> {
    let user: InstagramUser | undefined;
    let raw: RawPage;
    if (isUserId(account.external_id)) {
      const result = await this.#call(ctx, METHODS.user, () =>
        this.#client.getUser(account.external_id, USER_FIELDS, ctx.signal),
      );
      if (!result.ok) return result;
      user = result.value;
      raw = rawPage('profile', account.external_id, result);
    } else {
      const username = usernameOf(account.external_id);
      const result = await this.#call(
        ctx,
        METHODS.businessDiscovery,
        () => this.#client.businessDiscovery(this.#userId, username, USER_FIELDS, undefined, ctx.signal),
        discoveryFailureKind,
      );
      if (!result.ok) return result;
      user = result.value.business_discovery;
      raw = rawPage('profile', account.external_id, result);
      if (user === undefined) {
        return this.#fail(METHODS.businessDiscovery, 'not-found', `no business_discovery for ${username}`);
      }
    }
    const mapped = mapUser(user);
    if (!mapped.ok) {
      return {
        ok: true,
        value: { raw: [raw], profile: null, quarantined: [mapped.quarantine], postsSource: null },
      };
    }
    const empty = mapped.row.post_count === 0;
    // The token's own account named by its username is still its own: business discovery answered
    // with our user id, so it is read like a node (its comments and stories included).
    const own = isUserId(account.external_id) || mapped.row.external_id === this.#userId;
    // Own accounts page /{id}/media; others are paged through business discovery by username.
    const source = own ? mapped.row.external_id : usernameOf(account.external_id);
    return {
      ok: true,
      value: {
        raw: [raw],
        profile: mapped.row,
        quarantined: [],
        postsSource: empty ? null : source,
        // Stories are shown to the owner's token only (business discovery refuses them, #10).
        storiesSource: own ? mapped.row.external_id : null,
      },
    };
  }

  async fetchPostsPage(
    ctx: StepContext,
    account: AccountRef,
    postsSource: string,
    cursor: string | null,
  ): Promise<StepResult<PostsPage>> {
    const own = isUserId(postsSource);
    const after = cursor ?? undefined;
    let edge: InstagramEdge<InstagramMedia>;
    let profileId: string;
    let raw: RawPage;
    let nextCursor: string | null;
    if (own) {
      const params = { fields: MEDIA_FIELDS, limit: this.#postsPageSize, ...(after ? { after } : {}) };
      const result = await this.#call(ctx, METHODS.media, () =>
        this.#client.listMedia(postsSource, params, ctx.signal),
      );
      if (!result.ok) return result;
      edge = result.value;
      profileId = postsSource;
      raw = rawPage('posts_page', postsSource, result);
      nextCursor = nextAfter(edge.paging);
    } else {
      const media = {
        fields: DISCOVERY_MEDIA_FIELDS,
        limit: this.#postsPageSize,
        ...(after ? { after } : {}),
      };
      const result = await this.#call(ctx, METHODS.businessDiscovery, () =>
        this.#client.businessDiscovery(this.#userId, usernameOf(postsSource), ['id'], media, ctx.signal),
      );
      if (!result.ok) return result;
      const discovered = result.value.business_discovery;
      if (discovered === undefined) {
        return this.#fail(METHODS.businessDiscovery, 'not-found', `no business_discovery for ${postsSource}`);
      }
      edge = discovered.media ?? {};
      profileId = typeof discovered.id === 'string' ? discovered.id : account.external_id;
      raw = rawPage('posts_page', postsSource, result);
      // The nested edge carries cursors only: more pages while it names an `after` and gave data.
      const data = edge.data ?? [];
      nextCursor = nextAfter(edge.paging) ?? (data.length > 0 ? (edge.paging?.cursors?.after ?? null) : null);
    }

    const page = mapMediaPage(edge.data ?? [], profileId);
    const commentable = own
      ? page.posts
          .filter((post, i) => page.enabled[i] && (post.comment_count === null || post.comment_count > 0))
          .map((post) => post.external_id)
      : [];
    return { ok: true, value: { ...pageOf(raw, page, nextCursor), commentable } };
  }

  /** `/{ig-user-id}/stories`: the own account's live stories, newest first, paged like its media. */
  async fetchStoriesPage(
    ctx: StepContext,
    _account: AccountRef,
    storiesSource: string,
    cursor: string | null,
  ): Promise<StepResult<PostsPage>> {
    const params = { fields: STORY_FIELDS, limit: this.#postsPageSize, ...(cursor ? { after: cursor } : {}) };
    const result = await this.#call(ctx, METHODS.stories, () =>
      this.#client.listStories(storiesSource, params, ctx.signal),
    );
    if (!result.ok) return result;
    const page = mapMediaPage(result.value.data ?? [], storiesSource);
    const raw = rawPage('stories_page', storiesSource, result);
    return { ok: true, value: { ...pageOf(raw, page, nextAfter(result.value.paging)), commentable: [] } };
  }

  async fetchCommentsPage(
    ctx: StepContext,
    account: AccountRef,
    post: string,
    cursor: string | null,
  ): Promise<StepResult<CommentsPage>> {
    // Comment tasks exist only for posts a posts page listed as `commentable`, i.e. media of the
    // token's own account (named by id or by its username); Instagram refuses any other media's
    // comments itself, and that answer is classified like any other.
    const params = {
      fields: COMMENT_FIELDS,
      limit: this.#commentsPageSize,
      ...(cursor ? { after: cursor } : {}),
    };
    const result = await this.#call(ctx, METHODS.comments, () =>
      this.#client.listComments(post, params, ctx.signal),
    );
    if (!result.ok) return result;
    const raw: RawPage[] = [rawPage('comments_page', post, result)];
    const comments: CommentRow[] = [];
    const quarantined: QuarantineInsert[] = [];
    const keep = (mapped: ReturnType<typeof mapComment>): void => {
      if (mapped.ok) comments.push(mapped.row);
      else quarantined.push(mapped.quarantine);
    };

    for (const comment of result.value.data ?? []) {
      mapCommentWithReplies(comment, post).forEach(keep);
      // The inline replies edge is one page; the rest come from /{comment-id}/replies, in this step.
      let after = nextAfter(comment.replies?.paging);
      const parentId = typeof comment.id === 'string' ? comment.id : null;
      while (after !== null && parentId !== null) {
        const pageParams = { fields: REPLY_FIELDS, limit: this.#repliesPageSize, after };
        const replies = await this.#call(ctx, METHODS.replies, () =>
          this.#client.listReplies(parentId, pageParams, ctx.signal),
        );
        if (!replies.ok) return replies;
        raw.push(rawPage('replies_page', parentId, replies));
        for (const reply of replies.value.data ?? []) {
          keep(mapComment(reply, { postExternalId: post, parentExternalId: parentId }));
        }
        after = nextAfter(replies.value.paging);
      }
    }
    return {
      ok: true,
      value: { raw, comments, quarantined, nextCursor: nextAfter(result.value.paging) },
    };
  }

  /** The transform of one stored response, without a call: see {@link replayInstagramRaw}. */
  replayRaw(raw: RawReplay): ReplayRows {
    return replayInstagramRaw(raw);
  }

  /** beforeCall, the request, the usage report, and the failure in the engine's terms. */
  async #call<T>(
    ctx: StepContext,
    method: string,
    request: () => Promise<InstagramResult<T>>,
    kindOf: (error: InstagramError) => ConnectorFailure['kind'] = (error) => error.kind,
  ): Promise<Succeeded<T> | Failed> {
    await ctx.beforeCall(method, 1);
    const result = await request();
    const usage = result.ok ? result.usage : result.error.usage;
    if (usage.usedPercent !== undefined) ctx.reportUsage?.({ usedPercent: usage.usedPercent });
    if (result.ok) return result;
    const e = result.error;
    const kind = kindOf(e);
    const failure: ConnectorFailure = {
      kind,
      code: kind === e.kind ? e.code : CONNECTOR_ERROR_CODE[kind],
      message: e.message,
      method,
      ...(e.status === 0 ? {} : { httpStatus: e.status }),
      ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
    };
    return { ok: false, error: failure };
  }

  #fail(method: string, kind: 'not-found' | 'permission', message: string): Failed {
    const code = kind === 'not-found' ? 'SIPHON_ERR_CONNECTOR_NOT_FOUND' : 'SIPHON_ERR_CONNECTOR_PERMISSION';
    return { ok: false, error: { kind, code, message, method } };
  }
}

/**
 * Business discovery names two accounts: ours (the node asked, SIPHON_INSTAGRAM_USER_ID) and the
 * target. Only `110`/`2207013` is about the target (unknown or personal: the account is unreachable);
 * any other "not found" (`100`/`33`) is our own node missing: a configuration problem that must fail
 * the run, not mark every account unreachable.
 */
function discoveryFailureKind(error: InstagramError): ConnectorFailure['kind'] {
  if (error.kind !== 'not-found') return error.kind;
  return error.graphCode === 110 || error.subcode === 2207013 ? 'not-found' : 'permission';
}

function rawPage(
  kind: string,
  externalId: string,
  result: { readonly value: unknown; readonly request: InstagramResult<unknown>['request'] },
): RawPage {
  return { kind, externalId, request: result.request, payload: result.value };
}

interface MappedMedia {
  readonly posts: PostRow[];
  readonly media: MediaRow[];
  readonly quarantined: QuarantineInsert[];
  /** Per post: whether its owner left comments on (`is_comment_enabled` not false). */
  readonly enabled: boolean[];
}

/** Maps an edge's media items; an item that fails validation is quarantined, the rest go on. */
function mapMediaPage(items: readonly unknown[], profileId: string): MappedMedia {
  const out: MappedMedia = { posts: [], media: [], quarantined: [], enabled: [] };
  for (const item of items) {
    const mapped = mapMedia(item as InstagramMedia, { profileExternalId: profileId });
    if (!mapped.ok) {
      out.quarantined.push(mapped.quarantine);
      continue;
    }
    out.posts.push(mapped.value.post);
    out.media.push(...mapped.value.media);
    out.quarantined.push(...mapped.value.quarantined);
    out.enabled.push((item as InstagramMedia).is_comment_enabled !== false);
  }
  return out;
}

function pageOf(raw: RawPage, page: MappedMedia, nextCursor: string | null): Omit<PostsPage, 'commentable'> {
  const times = page.posts.map((p) => Date.parse(p.published_at ?? '')).filter((t) => !Number.isNaN(t));
  return {
    raw: [raw],
    posts: page.posts,
    media: page.media,
    quarantined: page.quarantined,
    nextCursor,
    oldestPublishedAt: times.length > 0 ? Math.min(...times) : null,
  };
}

/**
 * Re-runs the transform of one stored Instagram response (src/sync/replay.ts), with the mappers the
 * fetch used. Own-account answers and business discovery answers (`{ business_discovery: … }`) are
 * told apart by their shape. A `replies_page` names only its comment: the media it belongs to comes
 * from `raw.post` (the comments task that read it); without it the page is quarantined.
 */
export function replayInstagramRaw(raw: RawReplay): ReplayRows {
  const body = objectOf(raw.payload);
  if (body === null) return unreadable(raw, 'the payload is not an object');
  const discovery = 'business_discovery' in body ? objectOf(body.business_discovery) : undefined;
  if (discovery === null) return unreadable(raw, 'business_discovery is not an object');
  switch (raw.kind) {
    case 'profile': {
      const mapped = mapUser((discovery ?? body) as InstagramUser);
      return mapped.ok
        ? { ...NO_ROWS, profiles: [mapped.row] }
        : { ...NO_ROWS, quarantined: [mapped.quarantine] };
    }
    case 'posts_page':
    case 'stories_page': {
      const edge = (
        discovery === undefined ? body : (objectOf(discovery.media) ?? {})
      ) as InstagramEdge<InstagramMedia>;
      const profileId =
        discovery === undefined
          ? raw.externalId
          : typeof discovery.id === 'string'
            ? discovery.id
            : (raw.account ?? raw.externalId);
      const { posts, media, quarantined } = mapMediaPage(dataOf(edge), profileId);
      return { ...NO_ROWS, posts, media, quarantined };
    }
    case 'comments_page':
    case 'replies_page': {
      const post = raw.kind === 'comments_page' ? raw.externalId : raw.post;
      if (!post) return unreadable(raw, 'the media of these replies is unknown (no comments task)');
      const items = dataOf(body) as InstagramComment[];
      const mapped =
        raw.kind === 'comments_page'
          ? items.flatMap((comment) => mapCommentWithReplies(comment, post))
          : items.map((reply) =>
              mapComment(reply, { postExternalId: post, parentExternalId: raw.externalId }),
            );
      const comments: CommentRow[] = [];
      const quarantined: QuarantineInsert[] = [];
      for (const m of mapped) {
        if (m.ok) comments.push(m.row);
        else quarantined.push(m.quarantine);
      }
      return { ...NO_ROWS, comments, quarantined };
    }
    default:
      return unreadable(raw, `no Instagram transform for raw kind '${raw.kind}'`);
  }
}

/** An edge's `data` (absent or not a list: none). */
function dataOf(edge: object): unknown[] {
  const data = (edge as { data?: unknown }).data;
  return Array.isArray(data) ? data : [];
}

const unreadable = (raw: RawReplay, reason: string): ReplayRows => unreadableRaw('instagram', raw, reason);
