import { errors, type RateLimitCode, type SimResponse } from './error-bodies.js';

/**
 * The endpoint a request is for, as named in faults and in the request log: `user` (GET /{ig-user-id}),
 * `business_discovery` (the same node asked for `business_discovery`), `media` (/{ig-user-id}/media), `stories` (/{ig-user-id}/stories),
 * `media_node` (/{ig-media-id}), `children`, `comments` (/{ig-media-id}/comments), `replies`
 * (/{ig-comment-id}/replies), `comment_node`, or `unknown`.
 */
export type Endpoint =
  | 'user'
  | 'business_discovery'
  | 'media'
  | 'stories'
  | 'media_node'
  | 'children'
  | 'comments'
  | 'replies'
  | 'comment_node'
  | 'unknown';

/** What the next matching request gets instead of its normal answer. */
export type Fault =
  | { readonly kind: 'respond'; readonly response: SimResponse }
  /** Close the socket without answering. */
  | { readonly kind: 'drop' };

interface Pending<F> {
  readonly fault: F;
  remaining: number;
  readonly endpoint: Endpoint | undefined;
}

export interface RateLimitOptions {
  /** @default 4 */
  readonly code?: RateLimitCode;
  /** @default 400 (the Graph API's usual status; 403 and 429 are seen too) */
  readonly httpStatus?: 400 | 403 | 429;
  /** Adds a Retry-After header. */
  readonly retryAfterSeconds?: number;
  /** Adds X-Business-Use-Case-Usage at 100 % with this `estimated_time_to_regain_access`. */
  readonly regainAccessMinutes?: number;
  readonly endpoint?: Endpoint;
}

export interface FaultControl {
  /** The next `count` requests answer HTTP 500 code 1 (or 503 code 2). */
  failNext(count: number, status?: 500 | 503, endpoint?: Endpoint): void;
  /** The next `count` requests are throttled with one of the Graph rate-limit codes. */
  rateLimitNext(count: number, options?: RateLimitOptions): void;
  /** The next `count` requests get this exact response (any documented error body). */
  respondNext(count: number, response: SimResponse, endpoint?: Endpoint): void;
  /** The next `count` requests have their connection dropped. */
  dropNext(count: number, endpoint?: Endpoint): void;
  /**
   * The next `count` edge pages (`media`, `comments`, `replies`) come back empty but with a `next`
   * link to the same position, as privacy filtering does on the real API.
   */
  emptyPageNext(count: number, endpoint?: Endpoint): void;
  /** Every response waits this long first. */
  setDelay(ms: number): void;
  clear(): void;
}

export class FaultQueue implements FaultControl {
  #pending: Pending<Fault>[] = [];
  #empty: Pending<true>[] = [];
  delayMs = 0;

  failNext(count: number, status: 500 | 503 = 500, endpoint?: Endpoint): void {
    const response = status === 503 ? errors.serviceUnavailable() : errors.unknown();
    this.#pending.push(...pending<Fault>({ kind: 'respond', response }, count, endpoint));
  }

  rateLimitNext(count: number, options: RateLimitOptions = {}): void {
    const headers: Record<string, string> = {};
    if (options.retryAfterSeconds !== undefined) headers['retry-after'] = String(options.retryAfterSeconds);
    if (options.regainAccessMinutes !== undefined) {
      headers['x-business-use-case-usage'] = JSON.stringify({
        throttled: [
          {
            type: 'instagram',
            call_count: 100,
            total_cputime: 40,
            total_time: 40,
            estimated_time_to_regain_access: options.regainAccessMinutes,
          },
        ],
      });
    }
    const response = errors.rateLimited(options.code ?? 4, options.httpStatus ?? 400, headers);
    this.#pending.push(...pending<Fault>({ kind: 'respond', response }, count, options.endpoint));
  }

  respondNext(count: number, response: SimResponse, endpoint?: Endpoint): void {
    this.#pending.push(...pending<Fault>({ kind: 'respond', response }, count, endpoint));
  }

  dropNext(count: number, endpoint?: Endpoint): void {
    this.#pending.push(...pending<Fault>({ kind: 'drop' }, count, endpoint));
  }

  emptyPageNext(count: number, endpoint?: Endpoint): void {
    this.#empty.push(...pending(true as const, count, endpoint));
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  clear(): void {
    this.#pending = [];
    this.#empty = [];
    this.delayMs = 0;
  }

  /** Consumes one occurrence of the first fault that applies to `endpoint`. */
  take(endpoint: Endpoint): Fault | undefined {
    return consume(this.#pending, endpoint, (rest) => (this.#pending = rest));
  }

  /** Consumes one "empty page with next" for an edge page, if one applies. */
  takeEmptyPage(endpoint: Endpoint): boolean {
    return consume(this.#empty, endpoint, (rest) => (this.#empty = rest)) === true;
  }
}

function pending<F>(fault: F, count: number, endpoint: Endpoint | undefined): Pending<F>[] {
  return count > 0 ? [{ fault, remaining: count, endpoint }] : [];
}

function consume<F>(
  list: Pending<F>[],
  endpoint: Endpoint,
  replace: (rest: Pending<F>[]) => void,
): F | undefined {
  const found = list.find((p) => p.endpoint === undefined || p.endpoint === endpoint);
  if (!found) return undefined;
  found.remaining -= 1;
  if (found.remaining <= 0) replace(list.filter((p) => p !== found));
  return found.fault;
}
