import * as shared from '../connector-errors.js';
import { nextMidnightIn } from '../../core/timestamps.js';

/**
 * Pure classification of YouTube Data API failures (SOCIAL-APIS.md §1.8 and §5.3): what the engine
 * does next depends only on the class. No I/O; the clock is passed in.
 */
export type YouTubeErrorClass = shared.ConnectorFailureKind;

/** Connector codes are shared by every platform (src/core/errors.ts); the platform is in the error. */
export type YouTubeErrorCode = shared.ConnectorErrorCode;

interface Common {
  readonly code: YouTubeErrorCode;
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** `error.errors[0].reason`, else `error.details[0].reason`, else undefined. */
  readonly reason: string | undefined;
  readonly message: string;
}

export type YouTubeErrorClassification =
  | (Common & { readonly kind: 'transient' | 'rate-limited'; readonly retryAfterMs?: number })
  | (Common & { readonly kind: 'quota-exhausted'; readonly retryAfterMs: number; readonly retryAt: string })
  | (Common & { readonly kind: 'auth' | 'permission' | 'not-found' | 'bad-request' });

const QUOTA_REASONS = ['quotaExceeded', 'dailyLimitExceeded', 'dailyLimitExceededUnreg'];
const RATE_REASONS = ['rateLimitExceeded', 'userRateLimitExceeded', 'RATE_LIMIT_EXCEEDED'];
const TRANSIENT_REASONS = ['backendError', 'internalError'];
const AUTH_REASONS = ['keyInvalid', 'keyExpired', 'API_KEY_INVALID', 'API_KEY_EXPIRED', 'authError'];
const AUTH_REASONS_403 = ['accessNotConfigured', 'SERVICE_DISABLED'];
/** "Skip this entity" reasons, some of which arrive as 403. */
const NOT_FOUND_REASONS = [
  'videoNotFound',
  'channelNotFound',
  'playlistNotFound',
  'commentNotFound',
  'commentsDisabled',
  'playlistItemsNotAccessible',
  'subscriptionForbidden',
];

/**
 * Classifies a non-2xx answer. `body` is the parsed JSON (or raw text); `now` is needed for an
 * HTTP-date Retry-After and for the daily quota reset at the next midnight Pacific Time.
 */
export function classifyYouTubeError(
  status: number,
  body: unknown,
  headers: shared.HeadersLike = {},
  options: { now?: number } = {},
): YouTubeErrorClassification {
  const now = options.now ?? Date.now();
  const { reasons, message, quotaLimit } = readBody(body);
  const has = (list: readonly string[]) => reasons.some((r) => list.includes(r));
  const common = { status, reason: reasons[0], message: message ?? `HTTP ${status}` };
  const make = <K extends YouTubeErrorClass>(kind: K) => ({
    ...common,
    kind,
    code: shared.CONNECTOR_ERROR_CODE[kind],
  });
  const retryAfterMs = shared.parseRetryAfter(shared.header(headers, 'retry-after'), now);
  const after = retryAfterMs === undefined ? {} : { retryAfterMs };

  const dailyMarker = /per ?day/i.test(`${quotaLimit ?? ''} ${message ?? ''}`);
  if (has(QUOTA_REASONS) || (status === 429 && dailyMarker)) {
    const resetAt = nextPacificMidnight(now);
    return {
      ...make('quota-exhausted'),
      retryAfterMs: resetAt - now,
      retryAt: new Date(resetAt).toISOString(),
    };
  }
  if (status === 429 || has(RATE_REASONS)) return { ...make('rate-limited'), ...after };
  if (status >= 500 || status === 408 || has(TRANSIENT_REASONS)) return { ...make('transient'), ...after };
  // A 403 about the API key itself ("The request is missing a valid API key.") is a credential problem.
  const keyProblem = status === 403 && (has(AUTH_REASONS_403) || /\bAPI key\b/i.test(message ?? ''));
  if (status === 401 || has(AUTH_REASONS) || keyProblem) return make('auth');
  if (status === 404 || has(NOT_FOUND_REASONS)) return make('not-found');
  if (status === 403) return make('permission');
  return make('bad-request');
}

/** A request that got no HTTP answer: refused or dropped connection, or the client's own timeout. */
export function classifyYouTubeNetworkError(error: unknown, timedOut: boolean): YouTubeErrorClassification {
  const detail = shared.networkErrorDetail(error);
  return {
    kind: 'transient',
    code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    status: 0,
    reason: timedOut ? 'timeout' : 'network',
    message: timedOut ? 'YouTube did not answer in time' : `YouTube could not be reached (${detail})`,
  };
}

function readBody(body: unknown): { reasons: string[]; message?: string; quotaLimit?: string } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { reasons: [] };
    }
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return { reasons: [] };
  const { message, errors, details } = error as { message?: unknown; errors?: unknown; details?: unknown };
  const reasonsOf = (list: unknown): string[] =>
    Array.isArray(list)
      ? list
          .map((e) => (e as { reason?: unknown } | null)?.reason)
          .filter((r): r is string => typeof r === 'string')
      : [];
  const quotaLimit = Array.isArray(details)
    ? details
        .map((d) => (d as { metadata?: { quota_limit?: unknown } } | null)?.metadata?.quota_limit)
        .find((q): q is string => typeof q === 'string')
    : undefined;
  return {
    reasons: [...reasonsOf(errors), ...reasonsOf(details)],
    ...(typeof message === 'string' ? { message } : {}),
    ...(quotaLimit === undefined ? {} : { quotaLimit }),
  };
}

/** The next midnight in America/Los_Angeles after `now`, when YouTube's daily quota resets. */
export function nextPacificMidnight(now: number): number {
  return nextMidnightIn('America/Los_Angeles', now);
}

export const parseRetryAfter = shared.parseRetryAfter;
