import { errors, type SimResponse } from './error-bodies.js';

/** An endpoint as in the path after `/v2/`: `oauth/token`, `research/video/query`, … */
export type Endpoint = string;

/** What the next matching request gets instead of its normal answer. */
export type Fault =
  | { readonly kind: 'respond'; readonly response: SimResponse }
  /** Close the socket without answering. */
  | { readonly kind: 'drop' }
  /** Answer normally, but with half the page (at least one item fewer) and `has_more` still true. */
  | { readonly kind: 'short' }
  /** Answer normally after this long. */
  | { readonly kind: 'slow'; readonly ms: number };

interface Pending {
  readonly fault: Fault;
  remaining: number;
  readonly endpoint: Endpoint | undefined;
}

export interface FaultControl {
  /** The next `count` requests answer 5xx `internal_error`. */
  failNext(count: number, status?: 500 | 502 | 503, endpoint?: Endpoint): void;
  /** The next `count` requests answer 429 `rate_limit_exceeded`, with Retry-After when given. */
  rateLimitNext(count: number, options?: { retryAfterSeconds?: number; endpoint?: Endpoint }): void;
  /** The next `count` requests answer 429 `daily_quota_limit_exceeded` (see also `quota.exhaust`). */
  quotaExceededNext(count: number, endpoint?: Endpoint): void;
  /** The next `count` requests get this exact response (any error body). */
  respondNext(count: number, response: SimResponse, endpoint?: Endpoint): void;
  /** The next `count` requests have their connection dropped. */
  dropNext(count: number, endpoint?: Endpoint): void;
  /** The next `count` pages are short while `has_more` stays true. @default endpoint research/video/query */
  shortPageNext(count: number, endpoint?: Endpoint): void;
  /** The next `count` requests are answered after `ms`. */
  slowNext(count: number, ms: number, endpoint?: Endpoint): void;
  /** Every response waits this long first. */
  setDelay(ms: number): void;
  clear(): void;
}

export class FaultQueue implements FaultControl {
  #pending: Pending[] = [];
  delayMs = 0;

  failNext(count: number, status: 500 | 502 | 503 = 500, endpoint?: Endpoint): void {
    this.#add({ kind: 'respond', response: errors.internalError(status) }, count, endpoint);
  }

  rateLimitNext(count: number, options: { retryAfterSeconds?: number; endpoint?: Endpoint } = {}): void {
    this.#add(
      { kind: 'respond', response: errors.rateLimitExceeded(options.retryAfterSeconds) },
      count,
      options.endpoint,
    );
  }

  quotaExceededNext(count: number, endpoint?: Endpoint): void {
    this.#add({ kind: 'respond', response: errors.dailyQuotaExceeded() }, count, endpoint);
  }

  respondNext(count: number, response: SimResponse, endpoint?: Endpoint): void {
    this.#add({ kind: 'respond', response }, count, endpoint);
  }

  dropNext(count: number, endpoint?: Endpoint): void {
    this.#add({ kind: 'drop' }, count, endpoint);
  }

  shortPageNext(count: number, endpoint: Endpoint = 'research/video/query'): void {
    this.#add({ kind: 'short' }, count, endpoint);
  }

  slowNext(count: number, ms: number, endpoint?: Endpoint): void {
    this.#add({ kind: 'slow', ms }, count, endpoint);
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  clear(): void {
    this.#pending = [];
    this.delayMs = 0;
  }

  /** Consumes one occurrence of the first fault that applies to `endpoint`. */
  take(endpoint: Endpoint): Fault | undefined {
    const pending = this.#pending.find((p) => p.endpoint === undefined || p.endpoint === endpoint);
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.#pending = this.#pending.filter((p) => p !== pending);
    return pending.fault;
  }

  #add(fault: Fault, count: number, endpoint: Endpoint | undefined): void {
    if (count > 0) this.#pending.push({ fault, remaining: count, endpoint });
  }
}
