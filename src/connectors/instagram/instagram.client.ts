import {
  classifyInstagramError,
  classifyInstagramNetworkError,
  parseInstagramUsage,
  type InstagramErrorClassification,
  type InstagramUsage,
} from './instagram.errors.js';
import { httpCall, isSuccess, parseJsonBody, httpTransport, type HttpTransport } from '../http-call.js';
import type {
  InstagramBusinessDiscoveryResponse,
  InstagramChild,
  InstagramComment,
  InstagramEdge,
  InstagramMedia,
  InstagramUser,
} from './instagram.types.js';

/**
 * HTTP only: Instagram Graph API reads with a user access token (`access_token` query parameter).
 * No retries here; callers decide by class. The token is sent and nothing else: it never appears in
 * a returned request, URL, payload (`paging.next` echoes it on the real API) or error message.
 */
export interface InstagramClientOptions {
  /** Ends in the version, e.g. `https://graph.facebook.com/v21.0/` or a simulator's. */
  readonly baseUrl: string;
  readonly accessToken: string;
  /** Per-request timeout, on top of the caller's signal. @default 30_000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** For HTTP-date Retry-After. @default Date.now */
  readonly now?: () => number;
}

/** A call as it may be logged or stored: path and parameters, never the token. */
export interface InstagramRequest {
  /** `GET /{ig-user-id}/media`, … (the documented endpoint, ids abstracted). */
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
}

export type InstagramError = InstagramErrorClassification & {
  readonly method: string;
  /** The URL without the token. */
  readonly url: string;
  readonly usage: InstagramUsage;
};

export type InstagramResult<T> =
  | {
      readonly ok: true;
      readonly value: T;
      readonly request: InstagramRequest;
      readonly usage: InstagramUsage;
    }
  | { readonly ok: false; readonly error: InstagramError; readonly request: InstagramRequest };

export interface EdgeParams {
  readonly fields: readonly string[];
  readonly limit?: number;
  readonly after?: string;
}

export const METHODS = {
  user: 'GET /{ig-user-id}',
  media: 'GET /{ig-user-id}/media',
  stories: 'GET /{ig-user-id}/stories',
  businessDiscovery: 'GET /{ig-user-id}?fields=business_discovery',
  mediaNode: 'GET /{ig-media-id}',
  children: 'GET /{ig-media-id}/children',
  comments: 'GET /{ig-media-id}/comments',
  replies: 'GET /{ig-comment-id}/replies',
} as const;

/**
 * The `fields` value of a business discovery request: `business_discovery.username(x){…}` with,
 * optionally, the nested media edge `media.limit(n).after(c){…}` (SOCIAL-APIS.md §2.3).
 */
export function businessDiscoveryFields(
  username: string,
  userFields: readonly string[],
  media?: EdgeParams,
): string {
  const inner = [...userFields];
  if (media) {
    const modifiers =
      (media.limit === undefined ? '' : `.limit(${media.limit})`) +
      (media.after === undefined ? '' : `.after(${media.after})`);
    inner.push(`media${modifiers}{${media.fields.join(',')}}`);
  }
  return `business_discovery.username(${username}){${inner.join(',')}}`;
}

export class InstagramClient {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #http: HttpTransport;
  readonly #now: () => number;

  constructor(options: InstagramClientOptions) {
    this.#baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.#token = options.accessToken;
    this.#http = httpTransport(options);
    this.#now = options.now ?? Date.now;
  }

  /** An IG user node (the token's own professional account). */
  getUser(
    userId: string,
    fields: readonly string[],
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramUser>> {
    return this.#get(METHODS.user, [userId], { fields: fields.join(',') }, signal);
  }

  /** Another professional account, seen through `userId`'s business discovery. */
  businessDiscovery(
    userId: string,
    username: string,
    userFields: readonly string[],
    media?: EdgeParams,
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramBusinessDiscoveryResponse>> {
    const fields = businessDiscoveryFields(username, userFields, media);
    return this.#get(METHODS.businessDiscovery, [userId], { fields }, signal);
  }

  /** The user's media, newest first. */
  /** The account's live stories (own account only, the last 24 h), newest first. */
  listStories(
    userId: string,
    params: EdgeParams,
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramEdge<InstagramMedia>>> {
    return this.#get(METHODS.stories, [userId, 'stories'], edge(params), signal);
  }

  listMedia(
    userId: string,
    params: EdgeParams,
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramEdge<InstagramMedia>>> {
    return this.#get(METHODS.media, [userId, 'media'], edge(params), signal);
  }

  getMedia(
    mediaId: string,
    fields: readonly string[],
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramMedia>> {
    return this.#get(METHODS.mediaNode, [mediaId], { fields: fields.join(',') }, signal);
  }

  listChildren(
    mediaId: string,
    fields: readonly string[],
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramEdge<InstagramChild>>> {
    return this.#get(METHODS.children, [mediaId, 'children'], { fields: fields.join(',') }, signal);
  }

  /** Top-level comments of a media the token's account owns. */
  listComments(
    mediaId: string,
    params: EdgeParams,
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramEdge<InstagramComment>>> {
    return this.#get(METHODS.comments, [mediaId, 'comments'], edge(params), signal);
  }

  listReplies(
    commentId: string,
    params: EdgeParams,
    signal?: AbortSignal,
  ): Promise<InstagramResult<InstagramEdge<InstagramComment>>> {
    return this.#get(METHODS.replies, [commentId, 'replies'], edge(params), signal);
  }

  /**
   * One GET. A non-2xx answer, a network failure or the timeout becomes `{ ok: false, error }`;
   * cancellation through the caller's `signal` rejects with the signal's reason instead.
   */
  async #get<T>(
    method: string,
    segments: readonly string[],
    params: Record<string, string | undefined>,
    signal?: AbortSignal,
  ): Promise<InstagramResult<T>> {
    const path = segments.map((s) => encodeURIComponent(s)).join('/');
    const url = new URL(path, this.#baseUrl);
    const shownParams: Record<string, string> = {};
    for (const [name, value] of Object.entries(params)) {
      if (value === undefined) continue;
      url.searchParams.set(name, value);
      shownParams[name] = value;
    }
    const shown = url.toString();
    const request: InstagramRequest = { method, path: url.pathname, params: shownParams };
    url.searchParams.set('access_token', this.#token);

    const fail = (classification: InstagramErrorClassification, usage: InstagramUsage) => ({
      ok: false as const,
      error: { ...classification, message: this.#redact(classification.message), method, url: shown, usage },
      request,
    });
    const sent = await httpCall(
      url,
      { headers: { accept: 'application/json' } },
      {
        ...this.#http,
        signal,
        onNoAnswer: classifyInstagramNetworkError,
      },
    );
    if (!sent.ok) return fail(sent.failure, {});
    const { status, headers, text } = sent.answer;
    const usage = parseInstagramUsage(headers);
    if (!isSuccess(status)) {
      return fail(classifyInstagramError(status, text, headers, { now: this.#now() }), usage);
    }
    const body = parseJsonBody(text);
    if (!body.ok) {
      // A 2xx that is not JSON comes from a front-end hiccup, not from the API: try again later.
      const classification: InstagramErrorClassification = {
        kind: 'transient',
        code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
        status,
        graphCode: undefined,
        subcode: undefined,
        message: 'Instagram answered with a body that is not JSON',
      };
      return fail(classification, usage);
    }
    const value = body.value;
    return { ok: true, value: this.#redact(value) as T, request, usage };
  }

  /** Removes the token from every string of a payload (the real API echoes it in `paging.next`). */
  #redact<V>(value: V): V {
    return redactToken(value, this.#token);
  }
}

function edge(params: EdgeParams): Record<string, string | undefined> {
  return {
    fields: params.fields.join(','),
    limit: params.limit === undefined ? undefined : String(params.limit),
    after: params.after,
  };
}

/**
 * A deep copy of `value` where URLs lose their `access_token` parameter and any other occurrence of
 * the token (raw or URL-encoded) reads `[redacted]`.
 */
export function redactToken<V>(value: V, token: string): V {
  if (token === '') return value;
  const encoded = encodeURIComponent(token);
  const scrub = (text: string): string => {
    let out = text;
    if (out.includes('access_token=')) {
      try {
        const url = new URL(out);
        url.searchParams.delete('access_token');
        out = url.toString();
      } catch {
        // not a URL: fall through to the plain replacement
      }
    }
    return out.split(token).join('[redacted]').split(encoded).join('[redacted]');
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, walk(inner)]));
    }
    return v;
  };
  return walk(value) as V;
}
