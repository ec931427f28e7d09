import type {
  MlAnalysis,
  MlAnalysisResult,
  MlJob,
  MlJobError,
  MlJobRequest,
} from '../../connectors/ml/index.js';
import { analyzeImage, analyzeText } from './analysis.js';
import { hash32 } from '../shared/random.js';

/** How long jobs take, per analysis: queued for `queuedMs`, then running until `completionMs`. */
export interface JobTiming {
  readonly completionMs: Readonly<Record<MlAnalysis, number>>;
  /** Time in the queue; undefined = a third of the completion delay. */
  readonly queuedMs: number | undefined;
}

/** A job as the simulator holds it: its outcome is settled at submit and revealed by the clock. */
export interface StoredJob {
  readonly id: string;
  readonly request: MlJobRequest;
  readonly createdAtMs: number;
  /** Both moved earlier by `finishNow`. */
  startsAtMs: number;
  finishesAtMs: number;
  readonly outcome: { readonly result: MlAnalysisResult } | { readonly error: MlJobError };
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** An image URL on a `.invalid` host never loads: the job fails for good (a documented hook for tests). */
const unreachable = (request: MlJobRequest): boolean =>
  request.analysis === 'image' && /^[a-z]+:\/\/[^/]*\.invalid(?::\d+)?(?:\/|$)/i.test(request.input.url);

export class JobStore {
  readonly #seed: number;
  readonly #maxStored: number;
  readonly #jobs = new Map<string, StoredJob>();
  readonly #byKey = new Map<string, string>();
  readonly #forced: MlJobError[] = [];
  #sequence = 0;
  failureRate: number;
  timing: JobTiming;

  constructor(options: { seed: number; maxStored: number; failureRate: number; timing: JobTiming }) {
    this.#seed = options.seed;
    this.#maxStored = options.maxStored;
    this.failureRate = options.failureRate;
    this.timing = options.timing;
  }

  /** The job an idempotency key made, if it is still held. */
  byKey(key: string): StoredJob | undefined {
    const id = this.#byKey.get(key);
    return id === undefined ? undefined : this.#jobs.get(id);
  }

  get(id: string): StoredJob | undefined {
    return this.#jobs.get(id);
  }

  all(): StoredJob[] {
    return [...this.#jobs.values()];
  }

  /** Jobs not finished at `now`. */
  active(now: number): StoredJob[] {
    return this.all().filter((j) => j.finishesAtMs > now);
  }

  /** The next `count` submitted jobs fail with this error. */
  failNext(count: number, error: MlJobError): void {
    for (let i = 0; i < count; i++) this.#forced.push(error);
  }

  create(request: MlJobRequest, now: number, idempotencyKey?: string): StoredJob {
    this.#sequence += 1;
    const n = this.#sequence;
    const id = `job_${hash32(`${this.#seed}|job|${n}`).toString(16).padStart(8, '0')}${n.toString(36)}`;
    const completion = this.timing.completionMs[request.analysis];
    const queued = Math.min(completion, this.timing.queuedMs ?? Math.floor(completion / 3));
    const job: StoredJob = {
      id,
      request,
      createdAtMs: now,
      startsAtMs: now + queued,
      finishesAtMs: now + completion,
      outcome: this.#outcome(request, n),
    };
    this.#jobs.set(id, job);
    if (idempotencyKey !== undefined) this.#byKey.set(idempotencyKey, id);
    // Oldest jobs are forgotten first: polling them then answers 404, as a service with a TTL would.
    for (const oldest of this.#jobs.keys()) {
      if (this.#jobs.size <= this.#maxStored) break;
      this.#jobs.delete(oldest);
    }
    return job;
  }

  /** Finishes one job (or every unfinished one) at `now`. */
  finishNow(now: number, id?: string): void {
    const jobs = id === undefined ? this.all() : [this.#jobs.get(id)].filter((j) => j !== undefined);
    for (const job of jobs) {
      if (job.finishesAtMs <= now) continue;
      job.startsAtMs = Math.min(job.startsAtMs, now);
      job.finishesAtMs = now;
    }
  }

  clear(): void {
    this.#jobs.clear();
    this.#byKey.clear();
    this.#forced.length = 0;
  }

  #outcome(request: MlJobRequest, n: number): StoredJob['outcome'] {
    const forced = this.#forced.shift();
    if (forced) return { error: forced };
    if (unreachable(request)) {
      return {
        error: { code: 'input_unreachable', message: 'the image could not be downloaded', retryable: false },
      };
    }
    if (this.failureRate > 0 && hash32(`${this.#seed}|fail|${n}`) / 2 ** 32 < this.failureRate) {
      return { error: { code: 'model_error', message: 'the model failed on this job', retryable: true } };
    }
    const result =
      request.analysis === 'image'
        ? analyzeImage(this.#seed, request.input.url)
        : analyzeText(request.input.text);
    return { result };
  }
}

/** The job as `GET /v1/jobs/{id}` shows it at `now`. */
export function present(job: StoredJob, now: number): MlJob {
  const base = { job_id: job.id, analysis: job.request.analysis, created_at: rfc3339(job.createdAtMs) };
  if (now < job.startsAtMs) return { ...base, status: 'queued' };
  const started = { ...base, started_at: rfc3339(job.startsAtMs) };
  if (now < job.finishesAtMs) return { ...started, status: 'running' };
  const finished = { ...started, finished_at: rfc3339(job.finishesAtMs) };
  return 'result' in job.outcome
    ? { ...finished, status: 'done', result: job.outcome.result }
    : { ...finished, status: 'failed', error: job.outcome.error };
}
