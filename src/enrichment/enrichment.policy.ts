import type { ErrorCode } from '../core/errors.js';
import type { MlAnalysisResult, MlCallResult, MlJob } from '../connectors/ml/index.js';

/**
 * Pure: what one poll of a waiting item decides, from the item, the service's answer and the clock.
 * No I/O; the service (enrichment.service.ts) reads the row, calls the ML service and stores this.
 */

/** Stored as `error_code` of a job the ML service failed (not retryable, or out of submits). */
export const ENRICHMENT_FAILED: ErrorCode = 'SIPHON_ERR_ENRICHMENT_FAILED';
/** Stored as `error_code` of an item still waiting at its deadline. */
export const ENRICHMENT_EXPIRED: ErrorCode = 'SIPHON_ERR_ENRICHMENT_EXPIRED';

export interface EnrichmentPolicy {
  /** Wait between a submit and the first poll; the wait doubles after each "not yet". @default 5_000 */
  readonly firstPollMs: number;
  /** Longest wait between two polls (and the wait after an auth or quota refusal). @default 900_000 */
  readonly maxPollMs: number;
  /** Submissions of one item: a retryable job failure submits it again until this many. @default 3 */
  readonly maxSubmits: number;
}

export const DEFAULT_ENRICHMENT_POLICY: EnrichmentPolicy = Object.freeze({
  firstPollMs: 5_000,
  maxPollMs: 900_000,
  maxSubmits: 3,
});

/** How long an item may wait before it expires, unless the caller says otherwise. @default 2 days */
export const DEFAULT_DEADLINE_MS = 2 * 86_400_000;

/** An item still open, as the poll sees it. */
export interface OpenItem {
  readonly status: 'PENDING' | 'WAITING';
  readonly externalJobId: string | null;
  readonly backoffMs: number | null;
  /** Submissions made so far. */
  readonly attempts: number;
  /** Epoch ms. */
  readonly deadlineAt: number;
}

interface Failure {
  readonly code: string;
  readonly message: string;
}

/** Stays open: status, job id and counters to store, and when to poll next. */
export interface Reschedule {
  readonly to: 'PENDING' | 'WAITING';
  readonly externalJobId: string | null;
  readonly backoffMs: number;
  readonly attempts: number;
  /** From now; already clipped to the deadline. */
  readonly delayMs: number;
  /** The last problem seen (kept on the row while it waits), if any. */
  readonly error?: Failure;
}

export type Decision =
  | Reschedule
  | { readonly to: 'DONE'; readonly result: MlAnalysisResult }
  | ({ readonly to: 'FAILED' | 'EXPIRED' } & Failure);

const doubled = (item: OpenItem, policy: EnrichmentPolicy): number =>
  Math.min(policy.maxPollMs, item.backoffMs === null ? policy.firstPollMs : item.backoffMs * 2);

const expired = (item: OpenItem): Decision => ({
  to: 'EXPIRED',
  code: ENRICHMENT_EXPIRED,
  message: `no result before the deadline ${new Date(item.deadlineAt).toISOString()}`,
});

function reschedule(
  item: OpenItem,
  now: number,
  next: Omit<Reschedule, 'delayMs'>,
  delayMs: number,
): Decision {
  if (now >= item.deadlineAt) return expired(item);
  // The last poll happens at the deadline, not a whole backoff after it.
  return { ...next, delayMs: Math.max(0, Math.min(delayMs, item.deadlineAt - now)) };
}

/** Before calling the service: an item that has not been submitted by its deadline expires unsent. */
export function expiredBeforeCall(item: OpenItem, now: number): Decision | null {
  return item.status === 'PENDING' && now >= item.deadlineAt ? expired(item) : null;
}

/** The decision after a submit (`PENDING`) or a poll (`WAITING`) answered with `answer`. */
export function decide(
  item: OpenItem,
  answer: MlCallResult<MlJob>,
  now: number,
  policy: EnrichmentPolicy,
): Decision {
  const submitted = item.status === 'PENDING';
  const attempts = submitted ? item.attempts + 1 : item.attempts;
  if (!answer.ok) {
    const error = { code: answer.error.code, message: `${answer.error.method}: ${answer.error.message}` };
    const stay = { to: item.status, externalJobId: item.externalJobId, attempts: item.attempts, error };
    switch (answer.error.kind) {
      case 'rate-limited':
      case 'transient': {
        // 429 and 5xx cost nothing but time: back off (at least as long as Retry-After says), never fail.
        const backoffMs = doubled(item, policy);
        return reschedule(
          item,
          now,
          { ...stay, backoffMs },
          Math.max(backoffMs, answer.error.retryAfterMs ?? 0),
        );
      }
      case 'auth':
      case 'permission':
      case 'quota-exhausted':
        // The credential or the account, not the item: wait long for a fix; the deadline bounds it.
        return reschedule(item, now, { ...stay, backoffMs: policy.maxPollMs }, policy.maxPollMs);
      case 'not-found':
        // The service forgot the job (or never made it): submit again now.
        if (!submitted) {
          return reschedule(
            item,
            now,
            { ...stay, to: 'PENDING', externalJobId: null, backoffMs: policy.firstPollMs },
            0,
          );
        }
        return { to: 'FAILED', ...error };
      case 'bad-request':
        return { to: 'FAILED', ...error };
    }
  }
  const job = answer.value;
  switch (job.status) {
    case 'done':
      return { to: 'DONE', result: job.result! };
    case 'failed': {
      const failure = job.error!;
      const message = `${failure.code}: ${failure.message}`;
      if (failure.retryable && attempts < policy.maxSubmits) {
        return reschedule(
          item,
          now,
          {
            to: 'PENDING',
            externalJobId: null,
            attempts,
            backoffMs: policy.firstPollMs,
            error: { code: ENRICHMENT_FAILED, message },
          },
          policy.firstPollMs,
        );
      }
      return { to: 'FAILED', code: ENRICHMENT_FAILED, message };
    }
    case 'queued':
    case 'running': {
      // Just submitted: the first wait; still not done: twice the last one, up to the cap.
      const backoffMs = submitted ? policy.firstPollMs : doubled(item, policy);
      return reschedule(
        item,
        now,
        { to: 'WAITING', externalJobId: job.job_id, attempts, backoffMs },
        backoffMs,
      );
    }
  }
}
