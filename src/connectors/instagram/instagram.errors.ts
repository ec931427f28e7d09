import * as shared from '../connector-errors.js';

/**
 * Pure classification of Instagram Graph API failures (SOCIAL-APIS.md §2.5, §2.6 and §5.3). The
 * Graph API answers most errors with HTTP 400 whatever their meaning, so the class is read from
 * `error.code` / `error.error_subcode` first and from the HTTP status only when the body says
 * nothing. No I/O; the clock is passed in.
 */
export type InstagramErrorClass = shared.ConnectorFailureKind;

export type InstagramErrorCode = shared.ConnectorErrorCode;

export interface InstagramErrorClassification {
  /** Instagram has no daily quota (BUC limits roll over 24 h): `quota-exhausted` is never produced. */
  readonly kind: Exclude<InstagramErrorClass, 'quota-exhausted'>;
  readonly code: InstagramErrorCode;
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** `error.code` of the Graph envelope, when there was one. */
  readonly graphCode: number | undefined;
  readonly subcode: number | undefined;
  readonly message: string;
  /** rate-limited: how long to wait before calling again (always set for that class). */
  readonly retryAfterMs?: number;
  readonly fbtraceId?: string;
}

/** App (4), user (17), page (32), API (613), application (341) throttling. */
const RATE_CODES = new Set([4, 17, 32, 341, 613]);
/** Business Use Case limits, Instagram's own (80002 is the Instagram one). */
const isBucCode = (code: number): boolean => code >= 80001 && code <= 80014;
/** 102 API session; 104 no access token; 190 invalid or expired token. */
const AUTH_CODES = new Set([102, 104, 190]);
/** Token subcodes: app not installed, checkpointed, password changed, expired, unconfirmed, invalid, session. */
const AUTH_SUBCODES = new Set([458, 459, 460, 463, 464, 467, 492]);
/** 3 method capability, 10 permission denied, 200–299 permission. */
const isPermissionCode = (code: number): boolean => code === 3 || code === 10 || (code >= 200 && code <= 299);

/** Without a hint from the platform, a throttled credential waits this long. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * Classifies a non-2xx answer. `body` is the parsed JSON or the raw text; usage headers and
 * Retry-After give the rate-limit wait.
 */
export function classifyInstagramError(
  status: number,
  body: unknown,
  headers: shared.HeadersLike = {},
  options: { now?: number } = {},
): InstagramErrorClassification {
  const now = options.now ?? Date.now();
  const error = readError(body);
  const graphCode = error.code;
  const subcode = error.subcode;
  const common = {
    status,
    graphCode,
    subcode,
    message: error.message ?? `HTTP ${status}`,
    ...(error.fbtraceId === undefined ? {} : { fbtraceId: error.fbtraceId }),
  };
  const make = (kind: InstagramErrorClassification['kind']): InstagramErrorClassification => ({
    ...common,
    kind,
    code: shared.CONNECTOR_ERROR_CODE[kind],
  });
  const rateLimited = (): InstagramErrorClassification => ({
    ...make('rate-limited'),
    retryAfterMs: rateLimitWaitMs(headers, now),
  });

  if (graphCode !== undefined) {
    if (RATE_CODES.has(graphCode) || isBucCode(graphCode)) return rateLimited();
    if (AUTH_CODES.has(graphCode) || (subcode !== undefined && AUTH_SUBCODES.has(subcode))) {
      return make('auth');
    }
    if (isPermissionCode(graphCode)) return make('permission');
    // 100/33: the object does not exist or cannot be loaded; 110/2207013: business discovery found no
    // professional account by that name (Meta does not tell personal from nonexistent); 36104: live media.
    const unsupportedGet = graphCode === 100 && /unsupported get request/i.test(error.message ?? '');
    if ((graphCode === 100 && subcode === 33) || unsupportedGet) return make('not-found');
    if (graphCode === 110 || subcode === 2207013 || graphCode === 36104) return make('not-found');
    if (graphCode === 1 || graphCode === 2 || error.isTransient === true) return make('transient');
    if (status >= 500) return make('transient');
    return make('bad-request');
  }
  // No Graph envelope (a proxy, a load balancer, an empty body): the HTTP status is all there is.
  if (status === 429) return rateLimited();
  if (status >= 500 || status === 408) return make('transient');
  // An OAuthException without a code is a token expired, revoked or invalid (SOCIAL-APIS.md §2.6).
  if (status === 401 || error.type === 'OAuthException') return make('auth');
  if (status === 403) return make('permission');
  if (status === 404) return make('not-found');
  return make('bad-request');
}

/** A request that got no HTTP answer: refused or dropped connection, or the client's own timeout. */
export function classifyInstagramNetworkError(
  error: unknown,
  timedOut: boolean,
): InstagramErrorClassification {
  const detail = shared.networkErrorDetail(error);
  return {
    kind: 'transient',
    code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    status: 0,
    graphCode: undefined,
    subcode: undefined,
    message: timedOut ? 'Instagram did not answer in time' : `Instagram could not be reached (${detail})`,
  };
}

interface ReadError {
  code?: number;
  subcode?: number;
  message?: string;
  isTransient?: boolean;
  fbtraceId?: string;
  type?: string;
}

function readError(body: unknown): ReadError {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return {};
    }
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error !== 'object' || error === null) return {};
  const e = error as Record<string, unknown>;
  const int = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isInteger(v)
      ? v
      : typeof v === 'string' && /^\d+$/.test(v)
        ? Number(v)
        : undefined;
  const out: ReadError = {};
  const code = int(e.code);
  const subcode = int(e.error_subcode);
  if (code !== undefined) out.code = code;
  if (subcode !== undefined) out.subcode = subcode;
  if (typeof e.message === 'string') out.message = e.message;
  if (typeof e.is_transient === 'boolean') out.isTransient = e.is_transient;
  if (typeof e.fbtrace_id === 'string') out.fbtraceId = e.fbtrace_id;
  if (typeof e.type === 'string') out.type = e.type;
  return out;
}

export interface InstagramUsage {
  /** The highest percentage of any counter in X-App-Usage / X-Business-Use-Case-Usage (0–100). */
  readonly usedPercent?: number;
  /** The longest `estimated_time_to_regain_access` (minutes in the header), in ms; only when > 0. */
  readonly regainAccessMs?: number;
}

const USAGE_COUNTERS = ['call_count', 'total_time', 'total_cputime'] as const;

/**
 * Reads the usage headers: `X-App-Usage: {"call_count":28,"total_time":25,"total_cputime":25}` and
 * `X-Business-Use-Case-Usage: {"<id>":[{"type":"instagram","call_count":62,…,
 * "estimated_time_to_regain_access":0}]}`. Values are percentages of the limit. Malformed headers
 * are ignored (a header must never fail a call).
 */
export function parseInstagramUsage(headers: shared.HeadersLike): InstagramUsage {
  const percents: number[] = [];
  let regainMinutes = 0;
  const collect = (entry: unknown): void => {
    if (typeof entry !== 'object' || entry === null) return;
    const record = entry as Record<string, unknown>;
    for (const counter of USAGE_COUNTERS) {
      const value = record[counter];
      if (typeof value === 'number' && Number.isFinite(value) && value >= 0) percents.push(value);
    }
    const regain = record.estimated_time_to_regain_access;
    if (typeof regain === 'number' && Number.isFinite(regain))
      regainMinutes = Math.max(regainMinutes, regain);
  };
  collect(parseJson(shared.header(headers, 'x-app-usage')));
  const buc = parseJson(shared.header(headers, 'x-business-use-case-usage'));
  if (typeof buc === 'object' && buc !== null) {
    for (const entries of Object.values(buc as Record<string, unknown>)) {
      if (Array.isArray(entries)) entries.forEach(collect);
    }
  }
  return {
    ...(percents.length > 0 ? { usedPercent: Math.min(100, Math.max(...percents)) } : {}),
    ...(regainMinutes > 0 ? { regainAccessMs: regainMinutes * 60_000 } : {}),
  };
}

/** Retry-After, else the usage headers' regain time, else one minute. */
function rateLimitWaitMs(headers: shared.HeadersLike, now: number): number {
  const retryAfter = shared.parseRetryAfter(shared.header(headers, 'retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  return parseInstagramUsage(headers).regainAccessMs ?? DEFAULT_RATE_LIMIT_WAIT_MS;
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const parseRetryAfter = shared.parseRetryAfter;
