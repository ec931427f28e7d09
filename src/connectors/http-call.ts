/**
 * The HTTP plumbing every platform client shares: one request with a per-request timeout on top of
 * the caller's signal, the body read to the end, and "no answer" (network failure or timeout) handed
 * to the client's own classifier. What a status or body means stays in each platform's *.errors.ts.
 */

/** An answer of any status, its body read to the end as text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** How a client sends: its fetch (a simulator's, a guard's) and its per-request timeout. */
export interface HttpTransport {
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/** A client's transport from its options: `globalThis.fetch` and 30 s unless told otherwise. */
export function httpTransport(options: {
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}): HttpTransport {
  return { fetch: options.fetch ?? globalThis.fetch, timeoutMs: options.timeoutMs ?? 30_000 };
}

export interface HttpCallOptions<F> extends HttpTransport {
  /** The caller's cancellation: when it fires, the call rejects with its reason (nothing to classify). */
  readonly signal?: AbortSignal;
  /** Classifies a request that got no answer: `timedOut` when the per-request timeout ended it. */
  readonly onNoAnswer: (error: unknown, timedOut: boolean) => F;
}

export type HttpCallResult<F> =
  { readonly ok: true; readonly answer: HttpAnswer } | { readonly ok: false; readonly failure: F };

/** One HTTP exchange. Any status is an answer; only a missing answer is a failure here. */
export async function httpCall<F>(
  url: URL,
  init: Omit<RequestInit, 'signal'>,
  options: HttpCallOptions<F>,
): Promise<HttpCallResult<F>> {
  const { signal } = options;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const response = await options.fetch(url, { ...init, signal: combined });
    return {
      ok: true,
      answer: { status: response.status, headers: response.headers, text: await response.text() },
    };
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    return { ok: false, failure: options.onNoAnswer(error, timeout.aborted) };
  }
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/** A body read as JSON (`parse` for platforms with their own number handling); `ok: false` when it is not JSON. */
export function parseJsonBody(
  text: string,
  parse: (text: string) => unknown = JSON.parse,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false } {
  try {
    return { ok: true, value: parse(text) };
  } catch {
    return { ok: false };
  }
}
