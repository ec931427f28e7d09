import { createHash } from 'node:crypto';
import { httpCall, isSuccess, parseJsonBody, httpTransport, type HttpTransport } from '../http-call.js';
import {
  classifyYouTubeError,
  classifyYouTubeNetworkError,
  type YouTubeErrorClassification,
} from './youtube.errors.js';
import type {
  YouTubeChannelListResponse,
  YouTubeCommentListResponse,
  YouTubeCommentThreadListResponse,
  YouTubePlaylistItemListResponse,
  YouTubeSubscriptionListResponse,
  YouTubeVideoListResponse,
} from './youtube.types.js';

/** HTTP only: YouTube Data API v3 list calls with an API key. No retries here; callers decide by class. */
export interface YouTubeClientOptions {
  /** Ends in `/youtube/v3/`, e.g. `https://www.googleapis.com/youtube/v3/` or a simulator's. */
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Per-request timeout, on top of the caller's signal. @default 30_000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** For HTTP-date Retry-After and the quota reset time. @default Date.now */
  readonly now?: () => number;
  /** The name the limiter, `siphon quota` and incidents know the key by. @default youtubeCredentialId(apiKey) */
  readonly credentialId?: string;
}

/** A failed call: its classification plus which call it was (the URL without the key). */
export type YouTubeError = YouTubeErrorClassification & { readonly method: string; readonly url: string };

export type YouTubeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: YouTubeError };

export type ChannelPart = 'id' | 'snippet' | 'contentDetails' | 'statistics' | 'status';
export type PlaylistItemPart = 'id' | 'snippet' | 'contentDetails' | 'status';
export type VideoPart =
  'id' | 'snippet' | 'contentDetails' | 'statistics' | 'status' | 'liveStreamingDetails';
export type CommentThreadPart = 'id' | 'snippet' | 'replies';
export type TextFormat = 'html' | 'plainText';

interface Paged {
  readonly maxResults?: number;
  readonly pageToken?: string;
}

/** Exactly one of `id`, `forHandle`, `forUsername`. */
export type ChannelsListParams = Paged & { readonly part: readonly ChannelPart[] } & (
    { readonly id: readonly string[] } | { readonly forHandle: string } | { readonly forUsername: string }
  );

export interface PlaylistItemsListParams extends Paged {
  readonly part: readonly PlaylistItemPart[];
  readonly playlistId: string;
}

export interface VideosListParams {
  readonly part: readonly VideoPart[];
  /** At most 50 ids per call. */
  readonly id: readonly string[];
}

export interface CommentThreadsListParams extends Paged {
  readonly part: readonly CommentThreadPart[];
  readonly videoId: string;
  /** @default 'time' (newest first) */
  readonly order?: 'time' | 'relevance';
  readonly textFormat?: TextFormat;
  readonly searchTerms?: string;
}

export type CommentsListParams = Paged & {
  readonly part: readonly ('id' | 'snippet')[];
  readonly textFormat?: TextFormat;
} & ({ readonly parentId: string } | { readonly id: readonly string[] });

export type SubscriptionPart = 'id' | 'snippet' | 'contentDetails' | 'subscriberSnippet';

/** A channel's public subscriptions (an API key can read nothing else). */
export interface SubscriptionsListParams extends Paged {
  readonly part: readonly SubscriptionPart[];
  readonly channelId: string;
  /** @default 'relevance' */
  readonly order?: 'relevance' | 'alphabetical' | 'unread';
  readonly forChannelId?: readonly string[];
}

/** A stable, non-secret name for an API key: the first 8 hex characters of its SHA-256. */
export function youtubeCredentialId(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('hex').slice(0, 8);
}

type QueryValue = string | number | readonly string[] | undefined;

export class YouTubeClient {
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #http: HttpTransport;
  readonly #now: () => number;
  /** Names the API key for quota accounting and logs without revealing it. */
  readonly credentialId: string;

  constructor(options: YouTubeClientOptions) {
    this.#baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.#apiKey = options.apiKey;
    this.#http = httpTransport(options);
    this.#now = options.now ?? Date.now;
    this.credentialId = options.credentialId ?? youtubeCredentialId(options.apiKey);
  }

  listChannels(
    params: ChannelsListParams,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<YouTubeChannelListResponse>> {
    return this.#get('channels', { ...params }, signal);
  }

  listPlaylistItems(
    params: PlaylistItemsListParams,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<YouTubePlaylistItemListResponse>> {
    return this.#get('playlistItems', { ...params }, signal);
  }

  listVideos(
    params: VideosListParams,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<YouTubeVideoListResponse>> {
    return this.#get('videos', { ...params }, signal);
  }

  listCommentThreads(
    params: CommentThreadsListParams,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<YouTubeCommentThreadListResponse>> {
    return this.#get('commentThreads', { ...params }, signal);
  }

  listComments(
    params: CommentsListParams,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<YouTubeCommentListResponse>> {
    return this.#get('comments', { ...params }, signal);
  }

  listSubscriptions(
    params: SubscriptionsListParams,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<YouTubeSubscriptionListResponse>> {
    return this.#get('subscriptions', { ...params }, signal);
  }

  /**
   * One GET. A non-2xx answer, a network failure or the timeout becomes `{ ok: false, error }`;
   * cancellation through the caller's `signal` rejects with the signal's reason instead.
   */
  async #get<T>(
    method: string,
    params: Record<string, QueryValue>,
    signal?: AbortSignal,
  ): Promise<YouTubeResult<T>> {
    const url = new URL(method, this.#baseUrl);
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined) continue;
      url.searchParams.set(name, typeof value === 'object' ? value.join(',') : String(value));
    }
    url.searchParams.set('prettyPrint', 'false');
    const shown = url.toString();
    url.searchParams.set('key', this.#apiKey);

    const fail = (classification: YouTubeErrorClassification): YouTubeResult<T> => ({
      ok: false,
      error: { ...classification, method, url: shown },
    });
    const sent = await httpCall(
      url,
      { headers: { accept: 'application/json' } },
      {
        ...this.#http,
        signal,
        onNoAnswer: classifyYouTubeNetworkError,
      },
    );
    if (!sent.ok) return fail(sent.failure);
    const { status, headers, text } = sent.answer;
    if (!isSuccess(status)) return fail(classifyYouTubeError(status, text, headers, { now: this.#now() }));
    const body = parseJsonBody(text);
    if (body.ok) return { ok: true, value: body.value as T };
    // A 2xx that is not JSON comes from a front-end hiccup, not from the API: try again later.
    return fail({
      kind: 'transient',
      code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
      status,
      reason: 'invalidJson',
      message: 'YouTube answered with a body that is not JSON',
    });
  }
}
