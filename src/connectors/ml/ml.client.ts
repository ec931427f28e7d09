import { classifyMlError, classifyMlNetworkError, invalidMlBody, type MlFailure } from './ml.errors.js';
import { httpCall, isSuccess, parseJsonBody, httpTransport, type HttpTransport } from '../http-call.js';
import type { MlJob, MlJobRequest } from './ml.types.js';

/** HTTP only: submit a job, poll it. No retries and no waiting here; the enrichment engine decides. */
export interface MlClientOptions {
  /** The service root, e.g. `https://ml.internal/` or a simulator's `http://127.0.0.1:8102/`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <token>`; never logged, never part of an error. */
  readonly token?: string;
  /** Per-request timeout, on top of the caller's signal. @default 30_000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** For an HTTP-date Retry-After. @default Date.now */
  readonly now?: () => number;
}

export type MlCallResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: MlFailure };

export interface SubmitOptions {
  /**
   * Makes a repeated submit (after a lost answer) return the job made the first time instead of a
   * second one: use a key derived from the item, e.g. `post:<id>:image`.
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

const STATUSES = new Set(['queued', 'running', 'done', 'failed']);
export const ML_SUBMIT = 'POST /v1/jobs';
export const ML_POLL = 'GET /v1/jobs/{id}';

export class MlClient {
  readonly #baseUrl: string;
  readonly #token: string | undefined;
  readonly #http: HttpTransport;
  readonly #now: () => number;

  constructor(options: MlClientOptions) {
    this.#baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.#token = options.token;
    this.#http = httpTransport(options);
    this.#now = options.now ?? Date.now;
  }

  /** Submits one analysis; the answer is the queued job (202). */
  submit(request: MlJobRequest, options: SubmitOptions = {}): Promise<MlCallResult<MlJob>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    return this.#send(
      ML_SUBMIT,
      'v1/jobs',
      { method: 'POST', headers, body: JSON.stringify(request) },
      options.signal,
    );
  }

  /** The job's current state; `result` once done, `error` once failed. An unknown job is `not-found`. */
  poll(jobId: string, signal?: AbortSignal): Promise<MlCallResult<MlJob>> {
    return this.#send(ML_POLL, `v1/jobs/${encodeURIComponent(jobId)}`, { method: 'GET' }, signal);
  }

  /**
   * One request. A non-2xx answer, a network failure or the timeout becomes `{ ok: false, error }`;
   * cancellation through the caller's `signal` rejects with the signal's reason instead.
   */
  async #send(
    method: string,
    path: string,
    init: { method: string; headers?: Record<string, string>; body?: string },
    signal?: AbortSignal,
  ): Promise<MlCallResult<MlJob>> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    const sent = await httpCall(
      new URL(path, this.#baseUrl),
      { ...init, headers },
      {
        ...this.#http,
        signal,
        onNoAnswer: (error, timedOut) => classifyMlNetworkError(method, error, timedOut),
      },
    );
    if (!sent.ok) return { ok: false, error: sent.failure };
    const { status, text } = sent.answer;
    if (!isSuccess(status)) {
      const retryAfter = sent.answer.headers.get('retry-after');
      return { ok: false, error: classifyMlError(method, status, text, retryAfter, this.#now()) };
    }
    const body = parseJsonBody(text);
    if (!body.ok) return { ok: false, error: invalidMlBody(method, status) };
    const job = body.value;
    return isJob(job) ? { ok: true, value: job } : { ok: false, error: invalidMlBody(method, status) };
  }
}

function isJob(value: unknown): value is MlJob {
  const job = value as Partial<Record<keyof MlJob, unknown>> | null;
  return (
    typeof job === 'object' &&
    job !== null &&
    typeof job.job_id === 'string' &&
    typeof job.status === 'string' &&
    STATUSES.has(job.status) &&
    (job.status !== 'done' || (typeof job.result === 'object' && job.result !== null)) &&
    (job.status !== 'failed' || (typeof job.error === 'object' && job.error !== null))
  );
}
