/** A response the simulator sends as is. */
export interface SimResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export const errorBody = (code: string, message: string): { error: { code: string; message: string } } => ({
  error: { code, message },
});

/** `submit` = POST /v1/jobs, `poll` = GET /v1/jobs/{id}; absent = either. */
export type MlRoute = 'submit' | 'poll';

type Fault = { readonly kind: 'respond'; readonly response: SimResponse } | { readonly kind: 'drop' };

interface Pending {
  readonly fault: Fault;
  remaining: number;
  readonly route: MlRoute | undefined;
}

export interface MlFaultControl {
  /** The next `count` requests answer 500 `internal` or 502/503 `unavailable`. */
  failNext(count: number, status?: 500 | 502 | 503, route?: MlRoute): void;
  /** The next `count` requests answer 429 `overloaded`, with Retry-After when given. */
  rateLimitNext(count: number, options?: { retryAfterSeconds?: number; route?: MlRoute }): void;
  /** The next `count` requests get this exact response. */
  respondNext(count: number, response: SimResponse, route?: MlRoute): void;
  /** The next `count` requests have their connection dropped without an answer. */
  dropNext(count: number, route?: MlRoute): void;
  /** Every response waits this long first. */
  setDelay(ms: number): void;
  clear(): void;
}

export class MlFaultQueue implements MlFaultControl {
  #pending: Pending[] = [];
  delayMs = 0;

  failNext(count: number, status: 500 | 502 | 503 = 500, route?: MlRoute): void {
    const body =
      status === 500
        ? errorBody('internal', 'internal error')
        : errorBody('unavailable', 'the service is temporarily unavailable');
    this.#add({ kind: 'respond', response: { status, body } }, count, route);
  }

  rateLimitNext(count: number, options: { retryAfterSeconds?: number; route?: MlRoute } = {}): void {
    const response: SimResponse = {
      status: 429,
      body: errorBody('overloaded', 'too many requests, slow down'),
      ...(options.retryAfterSeconds === undefined
        ? {}
        : { headers: { 'retry-after': String(options.retryAfterSeconds) } }),
    };
    this.#add({ kind: 'respond', response }, count, options.route);
  }

  respondNext(count: number, response: SimResponse, route?: MlRoute): void {
    this.#add({ kind: 'respond', response }, count, route);
  }

  dropNext(count: number, route?: MlRoute): void {
    this.#add({ kind: 'drop' }, count, route);
  }

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  clear(): void {
    this.#pending = [];
    this.delayMs = 0;
  }

  /** Consumes one occurrence of the first fault that applies to `route`. */
  take(route: MlRoute): Fault | undefined {
    const pending = this.#pending.find((p) => p.route === undefined || p.route === route);
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.#pending = this.#pending.filter((p) => p !== pending);
    return pending.fault;
  }

  #add(fault: Fault, count: number, route: MlRoute | undefined): void {
    if (count > 0) this.#pending.push({ fault, remaining: count, route });
  }
}
