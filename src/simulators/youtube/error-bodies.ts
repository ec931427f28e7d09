/**
 * The Google JSON error envelope, with the bodies SOCIAL-APIS.md §1.8 documents for YouTube:
 * `{"error": {"code", "message", "errors": [{"message", "domain", "reason", …}], "status"?, "details"?}}`.
 */
export interface ErrorItem {
  readonly message: string;
  readonly domain: string;
  readonly reason: string;
  readonly location?: string;
  readonly locationType?: string;
}

export interface SimResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

function envelope(
  code: number,
  message: string,
  item: Omit<ErrorItem, 'message'> | undefined,
  extra: { status?: string; details?: unknown[] } = {},
): SimResponse {
  const error: Record<string, unknown> = { code, message };
  if (item) error.errors = [{ message, ...item }];
  if (extra.status) error.status = extra.status;
  if (extra.details) error.details = extra.details;
  return { status: code, body: { error } };
}

const parameter = (location: string) => ({ location, locationType: 'parameter' });
const QUOTA_MESSAGE =
  'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.';

export const errors = {
  quotaExceeded: () => envelope(403, QUOTA_MESSAGE, { domain: 'youtube.quota', reason: 'quotaExceeded' }),

  rateLimitExceeded: () =>
    envelope(403, 'Rate Limit Exceeded', { domain: 'usageLimits', reason: 'rateLimitExceeded' }),

  /** The newer front-end's short-term limit, HTTP 429 without `errors[]`. */
  resourceExhausted: () =>
    envelope(
      429,
      "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'youtube.googleapis.com'.",
      undefined,
      {
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'RATE_LIMIT_EXCEEDED',
            domain: 'googleapis.com',
            metadata: {
              service: 'youtube.googleapis.com',
              quota_metric: 'youtube.googleapis.com/default',
              quota_limit: 'defaultPerMinutePerProject',
            },
          },
        ],
      },
    ),

  apiKeyInvalid: () =>
    envelope(
      400,
      'API key not valid. Please pass a valid API key.',
      { domain: 'global', reason: 'badRequest' },
      {
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'API_KEY_INVALID',
            domain: 'googleapis.com',
            metadata: { service: 'youtube.googleapis.com' },
          },
        ],
      },
    ),

  /** No key and no token: the documented "missing credentials" body. */
  loginRequired: () =>
    envelope(401, 'Login Required.', {
      domain: 'global',
      reason: 'required',
      location: 'Authorization',
      locationType: 'header',
    }),

  /** Alternative for a missing key (not in SOCIAL-APIS.md; option `missingKey: 'forbidden'`). */
  missingKeyForbidden: () =>
    envelope(
      403,
      'The request is missing a valid API key.',
      { domain: 'global', reason: 'forbidden' },
      { status: 'PERMISSION_DENIED' },
    ),

  backendError: (code: 500 | 503) =>
    envelope(
      code,
      code === 500 ? 'Internal error encountered.' : 'The service is currently unavailable.',
      { domain: 'global', reason: 'backendError' },
      { status: code === 500 ? 'INTERNAL' : 'UNAVAILABLE' },
    ),

  invalidPageToken: () =>
    envelope(400, 'The request specifies an invalid page token.', {
      domain: 'youtube.parameter',
      reason: 'invalidPageToken',
      ...parameter('pageToken'),
    }),

  missingPart: () =>
    envelope(400, 'Required parameter: part', {
      domain: 'youtube.parameter',
      reason: 'missingRequiredParameter',
      ...parameter('part'),
    }),

  noFilter: (expected: readonly string[]) =>
    envelope(400, `No filter selected. Expected one of: ${expected.join(', ')}`, {
      domain: 'youtube.parameter',
      reason: 'missingRequiredParameter',
      ...parameter(expected[0]!),
    }),

  incompatibleParameters: (names: readonly string[]) =>
    envelope(400, `Incompatible parameters specified in the request: ${names.join(', ')}`, {
      domain: 'youtube.parameter',
      reason: 'incompatibleParameters',
      ...parameter(names[0]!),
    }),

  unexpectedParameter: (name: string) =>
    envelope(400, `Unexpected parameter: ${name}`, {
      domain: 'youtube.parameter',
      reason: 'unexpectedParameter',
      ...parameter(name),
    }),

  invalidValue: (name: string, value: string, range: string) =>
    envelope(400, `Invalid value '${value}'. Values must be within the range: ${range}`, {
      domain: 'global',
      reason: 'invalidParameter',
      ...parameter(name),
    }),

  unknownPart: (part: string) =>
    envelope(400, `'${part}'`, { domain: 'youtube.part', reason: 'unknownPart', ...parameter('part') }),

  playlistNotFound: () => {
    const message =
      "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.";
    return envelope(404, message, {
      domain: 'youtube.playlistItem',
      reason: 'playlistNotFound',
      ...parameter('playlistId'),
    });
  },

  videoNotFound: () => {
    const message =
      'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">videoId</a></code> parameter could not be found.';
    return envelope(404, message, {
      domain: 'youtube.commentThread',
      reason: 'videoNotFound',
      ...parameter('videoId'),
    });
  },

  commentsDisabled: () => {
    const message =
      'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/list#videoId">videoId</a></code> parameter has disabled comments.';
    return envelope(403, message, {
      domain: 'youtube.commentThread',
      reason: 'commentsDisabled',
      ...parameter('videoId'),
    });
  },

  /** subscriptions.list for a channel that keeps its subscriptions private. */
  subscriptionForbidden: () =>
    envelope(403, 'The requester is not allowed to access the requested subscriptions.', {
      domain: 'youtube.subscription',
      reason: 'subscriptionForbidden',
    }),

  subscriberNotFound: () =>
    envelope(404, 'The subscriber identified with the request cannot be found.', {
      domain: 'youtube.subscription',
      reason: 'subscriberNotFound',
      ...parameter('channelId'),
    }),

  methodNotFound: () =>
    envelope(404, 'Method not found.', { domain: 'global', reason: 'notFound' }, { status: 'NOT_FOUND' }),
};

/** Serialises like Google's front-end: `<` and `>` escaped as `\u003c` / `\u003e`. */
export function googleJson(value: unknown, pretty: boolean): string {
  return JSON.stringify(value, null, pretty ? 2 : undefined)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e');
}
