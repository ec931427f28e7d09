import { stringify } from 'lossless-json';

/**
 * TikTok's answers (SOCIAL-APIS.md §3.1–3.2): the v2 envelope `{"data": {…}, "error": {"code",
 * "message", "log_id"}}` for resource calls, and the OAuth shape `{"error", "error_description",
 * "log_id"}` for the token endpoint. Messages follow the documented examples; where the docs are
 * silent they are marked in README.md.
 */
export interface SimResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** `log_id` is filled in when the response is sent (see `withLogId`). */
const LOG_ID = '';

function envelope(status: number, code: string, message: string): SimResponse {
  return { status, body: { data: {}, error: { code, message, log_id: LOG_ID } } };
}

function oauth(status: number, error: string, description: string): SimResponse {
  return { status, body: { error, error_description: description, log_id: LOG_ID } };
}

export const errors = {
  accessTokenInvalid: () =>
    envelope(401, 'access_token_invalid', 'The access token is invalid or not found in the request.'),
  scopeNotAuthorized: () =>
    envelope(
      401,
      'scope_not_authorized',
      'The user did not authorize the scope required for completing this request.',
    ),
  scopePermissionMissed: () =>
    envelope(401, 'scope_permission_missed', 'Some of the requested fields need additional scopes.'),
  invalidParams: (message: string) => envelope(400, 'invalid_params', message),
  searchIdExpired: (searchId: string) =>
    envelope(400, 'invalid_params', `Search Id ${searchId} is invalid or expired`),
  rateLimitExceeded: (retryAfterSeconds?: number): SimResponse => ({
    ...envelope(429, 'rate_limit_exceeded', 'API rate limit exceeded, please retry later.'),
    ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }),
  }),
  dailyQuotaExceeded: () =>
    envelope(429, 'daily_quota_limit_exceeded', 'The daily quota limit has been exceeded.'),
  internalError: (status: 500 | 502 | 503 = 500) =>
    envelope(status, 'internal_error', 'Something went wrong. Please try again later.'),
  /** An unknown, private or deleted user or video, in the configured style. */
  notFound: (what: 'user' | 'video', name: string, style: 'invalid_params' | 'http_404') =>
    style === 'http_404'
      ? envelope(404, `${what}_not_found`, `The ${what} ${name} does not exist or is private.`)
      : envelope(400, 'invalid_params', `The ${what} ${name} does not exist or is private.`),
  pathNotFound: () => envelope(404, 'invalid_request', 'The requested path does not exist.'),
  invalidClient: () => oauth(401, 'invalid_client', 'Client key or secret is incorrect.'),
  unsupportedGrantType: () => oauth(400, 'unsupported_grant_type', 'The grant type is not supported.'),
  invalidRequest: (description: string) => oauth(400, 'invalid_request', description),
};

let counter = 0;

/** A `log_id` like TikTok's: UTC timestamp digits and a hex tail. */
export function logIdAt(nowMs: number): string {
  counter = (counter + 1) % 0x1000000;
  const stamp = new Date(nowMs).toISOString().replace(/\D/g, '').slice(0, 14);
  return `${stamp}${counter.toString(16).toUpperCase().padStart(18, '0')}`;
}

/** Puts a fresh `log_id` in an envelope or OAuth error body. */
export function withLogId(body: unknown, nowMs: number): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const b = body as { error?: unknown; log_id?: unknown };
  if (typeof b.error === 'object' && b.error !== null && 'log_id' in b.error) {
    return { ...b, error: { ...b.error, log_id: logIdAt(nowMs) } };
  }
  if ('log_id' in b) return { ...b, log_id: logIdAt(nowMs) };
  return body;
}

/** JSON with LosslessNumber ids written as bare numbers (never rounded). */
export function tiktokJson(body: unknown): string {
  return stringify(body) ?? 'null';
}
