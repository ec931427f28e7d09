import type { ErrorCode } from '../core/errors.js';

/**
 * The connector contract: the one file both sides of the social sync import. The contract between the platform-neutral sync engine and one platform's connector. The engine
 * owns state (jobs, tasks, cursors), transactions, the raw zone, the quota limiter and retries; an
 * adapter only turns "read this page" into API calls and maps the responses to unified rows.
 *
 * Rules for adapters:
 * - Call `ctx.beforeCall(method, units)` before **every** HTTP request (the shared quota limiter
 *   waits there; `units` is the platform's own cost, 1 where the platform counts calls).
 * - Never throw for an API or network failure: return `{ ok: false, error }` with the failure
 *   classified. Throw only for programming errors.
 * - A page's `raw` lists every response body used to build it, in call order, so the engine can store
 *   them before any transform (the raw zone) and re-run transforms from them.
 * - Mapping is pure and per item: an item that fails validation goes to `quarantined` with its reason;
 *   the rest of the page goes on.
 * - Cursors are opaque strings the engine stores and hands back unchanged; `nextCursor: null` means
 *   the platform said this was the last page.
 */

export const PLATFORMS = ['youtube', 'instagram', 'tiktok'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** How a failure is handled: retry soon, wait for the window, pause until the daily reset, or stop. */
export type ConnectorFailureKind =
  'transient' | 'rate-limited' | 'quota-exhausted' | 'auth' | 'permission' | 'not-found' | 'bad-request';

export interface ConnectorFailure {
  readonly kind: ConnectorFailureKind;
  /** One of the SIPHON_ERR_CONNECTOR_* codes. */
  readonly code: Extract<ErrorCode, `SIPHON_ERR_CONNECTOR_${string}`>;
  /** A person-readable message; never contains a token or key. */
  readonly message: string;
  /** The API method that failed (`channels.list`, `GET /{ig-user-id}/media`, `video/query`). */
  readonly method: string;
  readonly httpStatus?: number;
  /** From Retry-After (rate-limited) or a platform hint: do not call again before this many ms. */
  readonly retryAfterMs?: number;
  /** quota-exhausted: epoch ms when the platform's daily quota resets. */
  readonly resetAt?: number;
  /**
   * The answer to a call another step made for this one too (YouTube reads profiles of concurrent
   * steps in one channels.list): that step's failure already counted it against the credential.
   */
  readonly shared?: boolean;
}

/** What the platform said about the credential's usage, when it says anything (headers, units). */
export interface QuotaSignal {
  /** Instagram X-App-Usage / X-Business-Use-Case-Usage: the highest percentage reported (0–100). */
  readonly usedPercent?: number;
}

export interface RawPage {
  /** `profile`, `posts_page`, `videos`, `comments_page`, `replies_page`, `children`, `followers_page`, … */
  readonly kind: string;
  readonly externalId: string;
  /** Path and parameters, never a token, key or secret. */
  readonly request: { readonly method: string; readonly path: string; readonly params: object };
  readonly payload: unknown;
}

/** What a raw response is: the page kind an adapter fetched (open: platforms add their own). */
export type RawKind = 'profile' | 'posts_page' | 'videos' | 'comments_page' | 'replies_page' | (string & {});

/** The normalized rows an adapter maps to: one shape per unified `social.*` table, whatever the platform. */

export interface ProfileRow {
  readonly external_id: string;
  readonly handle: string | null;
  readonly title: string | null;
  readonly description: string | null;
  readonly country: string | null;
  readonly published_at: string | null;
  readonly subscriber_count: number | null;
  readonly view_count: number | null;
  readonly post_count: number | null;
}

export interface PostRow {
  readonly external_id: string;
  readonly profile_external_id: string;
  readonly title: string | null;
  readonly description: string | null;
  readonly published_at: string | null;
  readonly duration_seconds: number | null;
  readonly view_count: number | null;
  readonly like_count: number | null;
  readonly comment_count: number | null;
  readonly thumbnail_url: string | null;
  /** VIDEO, IMAGE, CAROUSEL_ALBUM, REELS, STORY… (Instagram, TikTok); null when the platform has one kind. */
  readonly media_type?: string | null;
  /** The post's public URL (Instagram permalink, TikTok share URL), when the platform gives one. */
  readonly url?: string | null;
}

export interface CommentRow {
  readonly external_id: string;
  readonly post_external_id: string;
  readonly parent_external_id: string | null;
  readonly author: string | null;
  readonly text: string | null;
  readonly like_count: number | null;
  readonly published_at: string | null;
  readonly edited_at: string | null;
}

export interface QuarantineInsert {
  readonly platform: string;
  readonly kind: string;
  readonly externalId: string | null;
  readonly reason: string;
  readonly payload: unknown;
}

export interface MediaRow {
  /** The child media id (Instagram carousel child) or the post id for single media. */
  readonly external_id: string;
  readonly post_external_id: string;
  readonly position: number;
  readonly media_type: string | null;
  readonly media_url: string | null;
  readonly thumbnail_url: string | null;
}

export interface FollowRow {
  readonly profile_external_id: string;
  /** `follower` (other follows profile), `following` (profile follows other), `subscription` (YouTube). */
  readonly relation: 'follower' | 'following' | 'subscription';
  readonly other_external_id: string;
  readonly other_handle: string | null;
  readonly other_title: string | null;
}

export interface StepContext {
  readonly signal?: AbortSignal;
  /**
   * Read posts published at or after this (epoch ms): a pipeline's own history floor. Unset: the
   * adapter's floor (TikTok: the whole history). Only adapters that must walk history by date use it.
   */
  readonly historySince?: number;
  /** Waits for the shared limiter of (platform, credential); call before every request. */
  beforeCall(method: string, units: number): Promise<void>;
  /** Report the platform's own usage signal after a response, when it gives one. */
  reportUsage?(signal: QuotaSignal): void;
}

export type StepResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ConnectorFailure };

export interface AccountRef {
  /** The platform's id: YouTube channel id, Instagram user id or username, TikTok username. */
  readonly external_id: string;
  readonly handle: string | null;
}

export interface ProfileStep {
  readonly raw: readonly RawPage[];
  /** null when the profile was quarantined. */
  readonly profile: ProfileRow | null;
  readonly quarantined: readonly QuarantineInsert[];
  /**
   * What the posts pages are read from (YouTube uploads playlist id, Instagram user id, TikTok
   * username); null when the account has nothing to read.
   */
  readonly postsSource: string | null;
  /**
   * What the account's stories are read from (Instagram: the token's own account id), when the
   * platform shows this account's stories; absent or null otherwise.
   */
  readonly storiesSource?: string | null;
}

export interface PostsPage {
  readonly raw: readonly RawPage[];
  readonly posts: readonly PostRow[];
  readonly media: readonly MediaRow[];
  readonly quarantined: readonly QuarantineInsert[];
  readonly nextCursor: string | null;
  /** The oldest published_at on the page (epoch ms), for the "stop at last_synced_at − lookback" rule. */
  readonly oldestPublishedAt: number | null;
  /** Posts whose comments the platform lets us read (comments enabled, count > 0 where known). */
  readonly commentable: readonly string[];
}

export interface CommentsPage {
  readonly raw: readonly RawPage[];
  readonly comments: readonly CommentRow[];
  readonly quarantined: readonly QuarantineInsert[];
  readonly nextCursor: string | null;
}

export interface FollowsPage {
  readonly raw: readonly RawPage[];
  readonly follows: readonly FollowRow[];
  readonly quarantined: readonly QuarantineInsert[];
  readonly nextCursor: string | null;
}

/** One stored raw response as replay hands it to an adapter (`social.raw_responses`). */
export interface RawReplay {
  /** The raw's kind, as the adapter named it when it fetched the page. */
  readonly kind: string;
  readonly externalId: string;
  /** The stored body, exactly as the page held it (TikTok: the envelope, ids as decimal strings). */
  readonly payload: unknown;
  /** The post the raw's sync task read comments of, when known (a replies page names only its thread). */
  readonly post?: string | null;
  /** The account (its external id) the raw's job synced, when known. */
  readonly account?: string | null;
}

/** What one raw response maps to: the rows its page wrote, and the items it could not trust. */
export interface ReplayRows {
  readonly profiles: readonly ProfileRow[];
  readonly posts: readonly PostRow[];
  readonly media: readonly MediaRow[];
  readonly comments: readonly CommentRow[];
  readonly follows: readonly FollowRow[];
  readonly quarantined: readonly QuarantineInsert[];
}

export interface PlatformAdapter {
  readonly platform: Platform;
  /** Identifies the credential the limiter counts against (never the secret itself). */
  readonly credentialId: string;
  fetchProfile(ctx: StepContext, account: AccountRef): Promise<StepResult<ProfileStep>>;
  fetchPostsPage(
    ctx: StepContext,
    account: AccountRef,
    postsSource: string,
    cursor: string | null,
  ): Promise<StepResult<PostsPage>>;
  /**
   * One page of the account's live stories (Instagram own accounts: the last 24 h). Stories are
   * posts that expire: the engine keeps them after they are gone and never marks them deleted.
   */
  fetchStoriesPage?(
    ctx: StepContext,
    account: AccountRef,
    storiesSource: string,
    cursor: string | null,
  ): Promise<StepResult<PostsPage>>;
  /** `post` is the post's external id; `account` the owner (Instagram/TikTok need it). */
  fetchCommentsPage(
    ctx: StepContext,
    account: AccountRef,
    post: string,
    cursor: string | null,
  ): Promise<StepResult<CommentsPage>>;
  /** The relation streams this platform offers (YouTube subscriptions, TikTok followers/following). */
  readonly relations: readonly FollowRow['relation'][];
  fetchFollowsPage?(
    ctx: StepContext,
    account: AccountRef,
    relation: FollowRow['relation'],
    cursor: string | null,
  ): Promise<StepResult<FollowsPage>>;
  /**
   * Re-runs the transform of one stored raw response (no call, no state): the same mappers as the
   * fetch that stored it. A payload it cannot read is a quarantine entry, never a throw. A raw that
   * builds no rows by itself (YouTube `posts_page`: the posts come from its `videos`) maps to none.
   */
  replayRaw?(raw: RawReplay): ReplayRows;
}
