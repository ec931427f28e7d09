import { errors, type SimResponse } from './error-bodies.js';

/** What the next matching request gets instead of its normal answer. */
export type Fault =
  | { readonly kind: 'respond'; readonly response: SimResponse }
  /** Close the socket without answering. */
  | { readonly kind: 'drop' };

/** A YouTube list method name as in the path (`channels`, `playlistItems`, …); absent = any. */
export type MethodName = string;

interface Pending {
  readonly fault: Fault;
  remaining: number;
  readonly method: MethodName | undefined;
}

export interface FaultControl {
  /** The next `count` requests answer 500 or 503 `backendError`. */
  failNext(count: number, status?: 500 | 503, method?: MethodName): void;
  /**
   * The next `count` requests are rate limited: HTTP 403 `rateLimitExceeded` or the newer 429
   * `RESOURCE_EXHAUSTED`; `retryAfterSeconds` adds a Retry-After header.
   */
  rateLimitNext(
    count: number,
    options?: { variant?: '403' | '429'; retryAfterSeconds?: number; method?: MethodName },
  ): void;
  /** The next `count` requests get this exact response (any documented error body). */
  respondNext(count: number, response: SimResponse, method?: MethodName): void;
  /** The next `count` requests have their connection dropped. */
  dropNext(count: number, method?: MethodName): void;
  /** Every response waits this long first. */
  setDelay(ms: number): void;
  clear(): void;
}

export class FaultQueue implements FaultControl {
  #pending: Pending[] = [];
  delayMs = 0;

  failNext(count: number, status: 500 | 503 = 500, method?: MethodName): void {
    this.#add({ kind: 'respond', response: errors.backendError(status) }, count, method);
  }

  rateLimitNext(
    count: number,
    options: { variant?: '403' | '429'; retryAfterSeconds?: number; method?: MethodName } = {},
  ): void {
    const base = options.variant === '429' ? errors.resourceExhausted() : errors.rateLimitExceeded();
    const response: SimResponse =
      options.retryAfterSeconds === undefined
        ? base
        : { ...base, headers: { 'retry-after': String(options.retryAfterSeconds) } };
    this.#add({ kind: 'respond', response }, count, options.method);
  }

  respondNext(count: number, response: SimResponse, method?: MethodName): void {
    this.#add({ kind: 'respond', response }, count, method);
  }

  dropNext(count: number, method?: MethodName): void {
    this.#add({ kind: 'drop' }, count, method);
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  clear(): void {
    this.#pending = [];
    this.delayMs = 0;
  }

  /** Consumes one occurrence of the first fault that applies to `method`. */
  take(method: MethodName): Fault | undefined {
    const pending = this.#pending.find((p) => p.method === undefined || p.method === method);
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.#pending = this.#pending.filter((p) => p !== pending);
    return pending.fault;
  }

  #add(fault: Fault, count: number, method: MethodName | undefined): void {
    if (count > 0) this.#pending.push({ fault, remaining: count, method });
  }
}
