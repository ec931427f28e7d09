/**
 * The external ML / image-recognition service's wire format (asynchronous jobs):
 * `POST /v1/jobs` {analysis, input} → 202 {job_id, status: 'queued', …};
 * `GET /v1/jobs/{id}` → the job, with `result` once `done` or `error` once `failed`;
 * errors are `{"error": {"code", "message"}}`, 429 carries Retry-After.
 */

export type MlAnalysis = 'image' | 'text';

/** Image recognition reads a media URL; text ML reads a bio, caption or comment. */
export type MlJobRequest =
  | { readonly analysis: 'image'; readonly input: { readonly url: string } }
  | { readonly analysis: 'text'; readonly input: { readonly text: string } };

export type MlJobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ImageLabel {
  readonly label: string;
  /** Confidence in [0, 1], labels sorted by it, highest first. */
  readonly score: number;
}

export interface ImageAnalysis {
  readonly kind: 'image';
  readonly model: string;
  readonly labels: readonly ImageLabel[];
}

export type SentimentLabel = 'positive' | 'neutral' | 'negative';

export interface TextAnalysis {
  readonly kind: 'text';
  readonly model: string;
  /** ISO 639-1, or `und` when the text has no words to judge by. */
  readonly language: string;
  /** `score` in [-1, 1]. */
  readonly sentiment: { readonly label: SentimentLabel; readonly score: number };
  readonly topics: readonly string[];
  /** `@name`s and `#tags` found in the text, lower case, without the sigil, first occurrence first. */
  readonly mentions: readonly string[];
  readonly hashtags: readonly string[];
}

export type MlAnalysisResult = ImageAnalysis | TextAnalysis;

/** Why a job failed; `retryable` says whether submitting the same input again may succeed. */
export interface MlJobError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export interface MlJob {
  readonly job_id: string;
  readonly analysis: MlAnalysis;
  readonly status: MlJobStatus;
  /** RFC 3339 UTC. */
  readonly created_at: string;
  readonly started_at?: string;
  readonly finished_at?: string;
  /** Present when `status` is `done`. */
  readonly result?: MlAnalysisResult;
  /** Present when `status` is `failed`. */
  readonly error?: MlJobError;
}

/** The body of every non-2xx answer. */
export interface MlErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}
