import { isLosslessNumber, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';
import { httpCall, httpTransport, type HttpTransport } from '../http-call.js';
import {
  classifyTikTokError,
  classifyTikTokNetworkError,
  type TikTokErrorClassification,
} from './tiktok.errors.js';
import type {
  TikTokCommentListData,
  TikTokEnvelope,
  TikTokFollowersData,
  TikTokFollowingData,
  TikTokTokenResponse,
  TikTokUserInfo,
  TikTokVideoQueryData,
} from './tiktok.types.js';

/**
 * HTTP only: the TikTok Research API with a client-credentials token. The token is fetched on first
 * use, cached until shortly before it expires, and fetched again after a 401 (one retry). No other
 * retries: callers decide by the failure's class. Neither the client secret nor the token ever
 * appears in a result, an error or the request descriptions kept for the raw zone.
 */
export interface TikTokClientOptions {
  /** The API host, e.g. `https://open.tiktokapis.com/` or a simulator's base URL. */
  readonly baseUrl: string;
  readonly clientKey: string;
  readonly clientSecret: string;
  /** Per-request timeout, on top of the caller's signal. @default 30_000 */
  readonly timeoutMs?: number;
  /** A token is renewed this long before it expires. @default 60_000 */
  readonly tokenSkewMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** For token expiry, HTTP-date Retry-After and the quota reset. @default Date.now */
  readonly now?: () => number;
}

export interface TikTokCallOptions {
  readonly signal?: AbortSignal;
  /**
   * Awaited before every HTTP request the call makes (the token request and the retry after a 401
   * included), with that request's method name: where a quota limiter waits.
   */
  readonly beforeRequest?: (method: TikTokMethod) => Promise<void>;
}

export type TikTokMethod =
  | 'oauth/token'
  | 'research/user/info'
  | 'research/video/query'
  | 'research/video/comment/list'
  | 'research/user/followers'
  | 'research/user/following';

/** What was asked, for logs and the raw zone: path, `fields` and JSON body; never a credential. */
export interface TikTokRequestInfo {
  readonly method: TikTokMethod;
  readonly path: string;
  readonly params: { readonly fields?: string; readonly body: Readonly<Record<string, unknown>> };
}

export type TikTokError = TikTokErrorClassification & {
  readonly method: TikTokMethod;
  readonly path: string;
};

export type TikTokResult<T> =
  | {
      readonly ok: true;
      /** `data` of the envelope (`{}` when absent). */
      readonly value: T;
      /** The whole parsed answer, ids as exact strings. */
      readonly payload: TikTokEnvelope<T>;
      readonly request: TikTokRequestInfo;
    }
  | { readonly ok: false; readonly error: TikTokError; readonly request?: TikTokRequestInfo };

export const USER_INFO_FIELDS = [
  'display_name',
  'bio_description',
  'avatar_url',
  'is_verified',
  'follower_count',
  'following_count',
  'likes_count',
  'video_count',
] as const;

export const VIDEO_FIELDS = [
  'id',
  'username',
  'create_time',
  'region_code',
  'video_description',
  'hashtag_names',
  'music_id',
  'view_count',
  'like_count',
  'comment_count',
  'share_count',
  'video_duration',
] as const;

export const COMMENT_FIELDS = [
  'id',
  'video_id',
  'text',
  'like_count',
  'reply_count',
  'parent_comment_id',
  'create_time',
] as const;

export interface VideoQueryParams {
  readonly username: string;
  /** `YYYYMMDD` (UTC), inclusive; `endDate` at most 30 days after `startDate`. */
  readonly startDate: string;
  readonly endDate: string;
  /** 1–100. @default 100 */
  readonly maxCount?: number;
  /** Offset from the previous page; send with `searchId`. */
  readonly cursor?: number;
  readonly searchId?: string;
  readonly fields?: readonly string[];
}

export interface CommentListParams {
  /** The video id as an exact decimal string; it is sent as a bare JSON number. */
  readonly videoId: string;
  /**
   * The documented `comment_id` form: the replies of this comment (exact decimal string) instead of
   * the video's comments. The API takes one of the two, never both; `videoId` then only names the
   * video the replies belong to (for mapping), it is not sent.
   */
  readonly commentId?: string;
  /** 1–100. @default 100 */
  readonly maxCount?: number;
  readonly cursor?: number;
  readonly fields?: readonly string[];
}

export interface FollowListParams {
  readonly username: string;
  /** 1–100. @default 100 */
  readonly maxCount?: number;
  readonly cursor?: number;
}

/** Keys whose numbers are ids: always exact strings, whatever their size. */
const ID_KEYS = new Set(['id', 'video_id', 'comment_id', 'parent_comment_id', 'music_id', 'search_id']);

/**
 * JSON.parse that keeps 64-bit ids exact: numbers under an id key become decimal strings, other
 * integers beyond 2^53 too; everything else is an ordinary number.
 */
export function parseTikTokJson(text: string): unknown {
  return parse(text, (key, value) => {
    if (!isLosslessNumber(value)) return value;
    return ID_KEYS.has(key) || !isSafeNumber(value.value) ? value.value : value.valueOf();
  });
}

export class TikTokClient {
  readonly #baseUrl: string;
  readonly #clientKey: string;
  readonly #clientSecret: string;
  readonly #skewMs: number;
  readonly #http: HttpTransport;
  readonly #now: () => number;
  #token: { readonly value: string; readonly expiresAt: number } | undefined;
  /** A token request in flight: concurrent calls wait for it instead of asking for more tokens. */
  #pending: Promise<{ ok: true; value: string } | { ok: false; error: TikTokError }> | undefined;

  constructor(options: TikTokClientOptions) {
    this.#baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.#clientKey = options.clientKey;
    this.#clientSecret = options.clientSecret;
    this.#skewMs = options.tokenSkewMs ?? 60_000;
    this.#http = httpTransport(options);
    this.#now = options.now ?? Date.now;
  }

  /** The client key: names the credential for a quota limiter (it is not a secret). */
  get clientKey(): string {
    return this.#clientKey;
  }

  /** When the cached token expires (epoch ms), or undefined when none is cached. */
  get tokenExpiresAt(): number | undefined {
    return this.#token?.expiresAt;
  }

  userInfo(
    username: string,
    options: TikTokCallOptions & { fields?: readonly string[] } = {},
  ): Promise<TikTokResult<TikTokUserInfo>> {
    return this.#post('research/user/info', options.fields ?? USER_INFO_FIELDS, { username }, options);
  }

  queryVideos(
    params: VideoQueryParams,
    options: TikTokCallOptions = {},
  ): Promise<TikTokResult<TikTokVideoQueryData>> {
    const body: Record<string, unknown> = {
      query: { and: [{ operation: 'IN', field_name: 'username', field_values: [params.username] }] },
      start_date: params.startDate,
      end_date: params.endDate,
      max_count: params.maxCount ?? 100,
      ...(params.cursor === undefined ? {} : { cursor: params.cursor }),
      ...(params.searchId === undefined ? {} : { search_id: params.searchId }),
    };
    return this.#post('research/video/query', params.fields ?? VIDEO_FIELDS, body, options);
  }

  listComments(
    params: CommentListParams,
    options: TikTokCallOptions = {},
  ): Promise<TikTokResult<TikTokCommentListData>> {
    const method: TikTokMethod = 'research/video/comment/list';
    const id = params.commentId ?? params.videoId;
    if (!/^\d{1,20}$/.test(id)) {
      const what = params.commentId === undefined ? 'video' : 'comment';
      return Promise.resolve(this.#invalid(method, `${what} id ${JSON.stringify(id)} is not an integer`));
    }
    const body = {
      ...(params.commentId === undefined
        ? { video_id: new LosslessNumber(params.videoId) }
        : { comment_id: new LosslessNumber(params.commentId) }),
      max_count: params.maxCount ?? 100,
      cursor: params.cursor ?? 0,
    };
    return this.#post(method, params.fields ?? COMMENT_FIELDS, body, options);
  }

  listFollowers(
    params: FollowListParams,
    options: TikTokCallOptions = {},
  ): Promise<TikTokResult<TikTokFollowersData>> {
    return this.#post('research/user/followers', undefined, follows(params), options);
  }

  listFollowing(
    params: FollowListParams,
    options: TikTokCallOptions = {},
  ): Promise<TikTokResult<TikTokFollowingData>> {
    return this.#post('research/user/following', undefined, follows(params), options);
  }

  /** Forgets the cached token (the next call fetches a new one). */
  dropToken(): void {
    this.#token = undefined;
  }

  #invalid(method: TikTokMethod, message: string): TikTokResult<never> {
    return {
      ok: false,
      error: {
        kind: 'bad-request',
        code: 'SIPHON_ERR_CONNECTOR_BAD_REQUEST',
        status: 0,
        reason: 'invalid_params',
        message,
        method,
        path: `v2/${method}/`,
      },
    };
  }

  async #post<T>(
    method: TikTokMethod,
    fields: readonly string[] | undefined,
    body: Readonly<Record<string, unknown>>,
    options: TikTokCallOptions,
  ): Promise<TikTokResult<T>> {
    const path = `v2/${method}/`;
    const url = new URL(path, this.#baseUrl);
    if (fields !== undefined) url.searchParams.set('fields', fields.join(','));
    const request: TikTokRequestInfo = {
      method,
      path,
      // The body as stored: ids are exact strings (JSON cannot hold them as numbers).
      params: {
        ...(fields === undefined ? {} : { fields: fields.join(',') }),
        body: parseTikTokJson(stringify(body)!) as Record<string, unknown>,
      },
    };
    for (let attempt = 1; ; attempt += 1) {
      const token = await this.#ensureToken(options);
      if (!token.ok) return { ...token, request };
      await options.beforeRequest?.(method);
      const answer = await this.#send(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token.value}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: stringify(body)!,
        },
        options.signal,
      );
      const fail = (classification: TikTokErrorClassification): TikTokResult<T> => ({
        ok: false,
        error: { ...classification, message: this.#scrub(classification.message), method, path },
        request,
      });
      if ('network' in answer) return fail(answer.network);
      const parsed = safeParse(answer.text);
      const envelope = parsed as TikTokEnvelope<T> | undefined;
      const apiCode = envelope?.error?.code;
      const success = answer.status >= 200 && answer.status < 300;
      if (success && parsed !== undefined && (apiCode === undefined || apiCode === 'ok')) {
        return { ok: true, value: (envelope?.data ?? {}) as T, payload: envelope!, request };
      }
      if (success && parsed === undefined) {
        return fail({
          kind: 'transient',
          code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
          status: answer.status,
          reason: 'invalidJson',
          message: 'TikTok answered with a body that is not JSON',
        });
      }
      const classification = classifyTikTokError(answer.status, parsed ?? answer.text, answer.headers, {
        now: this.#now(),
      });
      if (classification.kind === 'auth' && attempt === 1) {
        // Expired or revoked token: fetch a new one and try once more.
        if (this.#token?.value === token.value) this.#token = undefined;
        continue;
      }
      return fail(classification);
    }
  }

  async #ensureToken(
    options: TikTokCallOptions,
  ): Promise<{ ok: true; value: string } | { ok: false; error: TikTokError }> {
    const cached = this.#token;
    if (cached !== undefined && this.#now() < cached.expiresAt - this.#skewMs) {
      return { ok: true, value: cached.value };
    }
    if (this.#pending === undefined) {
      this.#pending = this.#fetchToken(options).finally(() => {
        this.#pending = undefined;
      });
    }
    return this.#pending;
  }

  async #fetchToken(
    options: TikTokCallOptions,
  ): Promise<{ ok: true; value: string } | { ok: false; error: TikTokError }> {
    const method: TikTokMethod = 'oauth/token';
    const path = 'v2/oauth/token/';
    await options.beforeRequest?.(method);
    const form = new URLSearchParams({
      client_key: this.#clientKey,
      client_secret: this.#clientSecret,
      grant_type: 'client_credentials',
    });
    const answer = await this.#send(
      new URL(path, this.#baseUrl),
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
      },
      options.signal,
    );
    const fail = (c: TikTokErrorClassification) => ({
      ok: false as const,
      error: { ...c, message: this.#scrub(c.message), method, path },
    });
    if ('network' in answer) return fail(answer.network);
    const parsed = safeParse(answer.text) as TikTokTokenResponse | undefined;
    const token = parsed?.access_token;
    if (answer.status >= 200 && answer.status < 300 && typeof token === 'string' && token !== '') {
      const ttlSeconds = typeof parsed?.expires_in === 'number' ? parsed.expires_in : 7200;
      this.#token = { value: token, expiresAt: this.#now() + ttlSeconds * 1000 };
      return { ok: true, value: token };
    }
    const status = answer.status >= 200 && answer.status < 300 ? 401 : answer.status;
    return fail(classifyTikTokError(status, parsed ?? answer.text, answer.headers, { now: this.#now() }));
  }

  async #send(
    url: URL,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; headers: Headers; text: string } | { network: TikTokErrorClassification }> {
    const sent = await httpCall(url, init, {
      ...this.#http,
      signal,
      onNoAnswer: classifyTikTokNetworkError,
    });
    return sent.ok ? sent.answer : { network: sent.failure };
  }

  /** An API message never carries the credential out of the client. */
  #scrub(message: string): string {
    let out = message;
    for (const secret of [this.#clientSecret, this.#token?.value]) {
      if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('[redacted]');
    }
    return out;
  }
}

function follows(params: FollowListParams): Record<string, unknown> {
  return { username: params.username, max_count: params.maxCount ?? 100, cursor: params.cursor ?? 0 };
}

function safeParse(text: string): unknown {
  try {
    return parseTikTokJson(text);
  } catch {
    return undefined;
  }
}
