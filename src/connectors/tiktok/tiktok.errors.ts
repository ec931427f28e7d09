import * as shared from '../connector-errors.js';

/**
 * Pure classification of TikTok API failures (SOCIAL-APIS.md §3.2 and §5.3): the v2 envelope
 * `{"error": {"code", "message", "log_id"}}`, the OAuth shape `{"error": "invalid_client",
 * "error_description"}` of the token endpoint, the HTTP status and Retry-After. No I/O; the clock is
 * passed in.
 */
export type TikTokErrorClass = shared.ConnectorFailureKind;

export type TikTokErrorCode = shared.ConnectorErrorCode;

export interface TikTokErrorClassification {
  readonly kind: TikTokErrorClass;
  readonly code: TikTokErrorCode;
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** `error.code` of the envelope, the OAuth `error`, `timeout`/`network`, or undefined. */
  readonly reason: string | undefined;
  readonly message: string;
  /** TikTok's `log_id`, for a support ticket. */
  readonly logId?: string;
  /** rate-limited: from Retry-After; quota-exhausted: until the reset. */
  readonly retryAfterMs?: number;
  /** quota-exhausted: epoch ms of the next 00:00 UTC, when the Research quota resets. */
  readonly resetAt?: number;
}

const AUTH_CODES = ['access_token_invalid', 'access_token_expired', 'invalid_client', 'invalid_grant'];
const AUTH_CODES_MORE = ['unauthorized_client', 'invalid_token', 'token_expired'];
const PERMISSION_CODES = [
  'scope_not_authorized',
  'scope_permission_missed',
  'invalid_scope',
  'access_denied',
];
const TRANSIENT_CODES = ['internal_error', 'timeout', 'server_error', 'temporarily_unavailable'];
const BAD_REQUEST_CODES = ['invalid_params', 'invalid_param', 'invalid_request', 'unsupported_grant_type'];
/** How `invalid_params` says "this user or video is not there (or not public)". */
const GONE_MESSAGE =
  /not (?:be )?found|does ?n[o']t exist|does not exist|no longer exist|\bprivate\b|deleted|banned|unavailable/i;
const TOKEN_MESSAGE = /(?:invalid|expired) (?:access )?token|token (?:is )?(?:invalid|expired|not found)/i;
const DAILY_MESSAGE = /\bdaily\b.*\b(?:quota|limit)\b|\b(?:quota|limit)\b.*\bper day\b/i;

/**
 * Classifies a failed answer: any non-2xx, or a 2xx whose `error.code` is not `ok`. `body` is the
 * parsed JSON or the raw text.
 */
export function classifyTikTokError(
  status: number,
  body: unknown,
  headers: shared.HeadersLike = {},
  options: { now?: number } = {},
): TikTokErrorClassification {
  const now = options.now ?? Date.now();
  const { apiCode, message, logId } = readBody(body);
  const common = {
    status,
    reason: apiCode,
    message: message ?? (apiCode === undefined ? `HTTP ${status}` : `${apiCode} (HTTP ${status})`),
    ...(logId === undefined ? {} : { logId }),
  };
  const make = (kind: TikTokErrorClass): TikTokErrorClassification => ({
    ...common,
    kind,
    code: shared.CONNECTOR_ERROR_CODE[kind],
  });
  const is = (...codes: readonly string[][]) =>
    apiCode !== undefined && codes.some((c) => c.includes(apiCode));

  if (apiCode === 'daily_quota_limit_exceeded' || DAILY_MESSAGE.test(message ?? '')) {
    const resetAt = nextUtcMidnight(now);
    return { ...make('quota-exhausted'), retryAfterMs: resetAt - now, resetAt };
  }
  if (apiCode === 'rate_limit_exceeded' || status === 429) {
    const retryAfterMs = shared.parseRetryAfter(shared.header(headers, 'retry-after'), now);
    return { ...make('rate-limited'), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 500 || status === 408 || is(TRANSIENT_CODES)) return make('transient');
  if (is(PERMISSION_CODES) || status === 403) return make('permission');
  if (is(AUTH_CODES, AUTH_CODES_MORE) || TOKEN_MESSAGE.test(message ?? '')) return make('auth');
  if (status === 404 || /not_found$/.test(apiCode ?? '')) return make('not-found');
  if (is(BAD_REQUEST_CODES) && GONE_MESSAGE.test(message ?? '') && !isSearchIdMessage(message)) {
    return make('not-found');
  }
  if (status === 401) return make('auth');
  if (status >= 400 || is(BAD_REQUEST_CODES)) return make('bad-request');
  // A 2xx carrying a non-ok code: the Research API's "backend cache not ready" pages; try again.
  return make('transient');
}

/** A request that got no HTTP answer: refused or dropped connection, or the client's own timeout. */
export function classifyTikTokNetworkError(error: unknown, timedOut: boolean): TikTokErrorClassification {
  const detail = shared.networkErrorDetail(error);
  return {
    kind: 'transient',
    code: shared.CONNECTOR_ERROR_CODE.transient,
    status: 0,
    reason: timedOut ? 'timeout' : 'network',
    message: timedOut ? 'TikTok did not answer in time' : `TikTok could not be reached (${detail})`,
  };
}

/** `invalid_params` "Search Id … is invalid or expired": restart the search, not a bug. */
export function isSearchIdExpired(error: Pick<TikTokErrorClassification, 'kind' | 'message'>): boolean {
  return error.kind === 'bad-request' && isSearchIdMessage(error.message);
}

function isSearchIdMessage(message: string | undefined): boolean {
  return /search[ _]?id/i.test(message ?? '');
}

function readBody(body: unknown): { apiCode?: string; message?: string; logId?: string } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const top = parsed as { error?: unknown; error_description?: unknown; log_id?: unknown };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  if (typeof top.error === 'string') {
    // OAuth shape (token endpoint).
    return clean({ apiCode: str(top.error), message: str(top.error_description), logId: str(top.log_id) });
  }
  if (typeof top.error !== 'object' || top.error === null) return {};
  const error = top.error as { code?: unknown; message?: unknown; log_id?: unknown };
  return clean({ apiCode: str(error.code), message: str(error.message), logId: str(error.log_id) });
}

function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The next 00:00 UTC strictly after `now`: when the Research API's daily quotas reset. */
export function nextUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

export const parseRetryAfter = shared.parseRetryAfter;
