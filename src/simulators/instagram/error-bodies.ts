import { randomBytes } from 'node:crypto';

/**
 * The Graph API error envelope with the bodies SOCIAL-APIS.md §2.5–§2.6 documents:
 * `{"error": {"message", "type", "code", "error_subcode"?, "is_transient"?, "error_user_title"?,
 * "error_user_msg"?, "fbtrace_id"}}`. Most errors are HTTP 400 whatever they mean; clients dispatch
 * on `error.code`.
 */
export interface SimResponse {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface GraphError {
  readonly message: string;
  readonly type: string;
  readonly code: number;
  readonly error_subcode?: number;
  readonly is_transient?: boolean;
  readonly error_user_title?: string;
  readonly error_user_msg?: string;
}

const fbtrace = (): string => randomBytes(8).toString('base64url');

export function graphError(status: number, error: GraphError, headers?: Record<string, string>): SimResponse {
  return { status, body: { error: { ...error, fbtrace_id: fbtrace() } }, ...(headers ? { headers } : {}) };
}

/** The throttling codes a fault can answer with. */
export type RateLimitCode = 4 | 17 | 32 | 613 | 80002;

const RATE_MESSAGES: Record<RateLimitCode, string> = {
  4: '(#4) Application request limit reached',
  17: '(#17) User request limit reached',
  32: '(#32) Page request limit reached',
  613: '(#613) Calls to this api have exceeded the rate limit.',
  80002:
    '(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.',
};

export const errors = {
  /** Code 1, HTTP 500: "retry". */
  unknown: (status = 500) =>
    graphError(status, {
      message: 'An unknown error has occurred.',
      type: 'OAuthException',
      code: 1,
      is_transient: true,
    }),

  /** Code 2, HTTP 503: "retry". */
  serviceUnavailable: (status = 503) =>
    graphError(status, {
      message: 'An unexpected error has occurred. Please retry your request later.',
      type: 'OAuthException',
      code: 2,
      is_transient: true,
    }),

  rateLimited: (code: RateLimitCode, status = 400, headers?: Record<string, string>) =>
    graphError(
      status,
      {
        message: RATE_MESSAGES[code],
        type: 'OAuthException',
        code,
        is_transient: true,
        ...(code === 80002 ? { error_subcode: 2446079 } : {}),
      },
      headers,
    ),

  missingToken: () =>
    graphError(400, {
      message: 'An access token is required to request this resource.',
      type: 'OAuthException',
      code: 104,
    }),

  invalidToken: () =>
    graphError(400, {
      message: 'Invalid OAuth access token - Cannot parse access token',
      type: 'OAuthException',
      code: 190,
    }),

  /** Code 190 subcode 463; `expiredAtMs` and `nowMs` make the documented message. */
  expiredToken: (expiredAtMs: number, nowMs: number) =>
    graphError(400, {
      message: `Error validating access token: Session has expired on ${new Date(expiredAtMs).toUTCString()}. The current time is ${new Date(nowMs).toUTCString()}.`,
      type: 'OAuthException',
      code: 190,
      error_subcode: 463,
    }),

  passwordChanged: () =>
    graphError(400, {
      message:
        'Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.',
      type: 'OAuthException',
      code: 190,
      error_subcode: 460,
    }),

  /** Code 10: reading something the token's account may not read (another account's comments). */
  noPermission: () =>
    graphError(400, {
      message: '(#10) Application does not have permission for this action',
      type: 'OAuthException',
      code: 10,
    }),

  /** Code 100 subcode 33: unknown, deleted or unreadable object. */
  unsupportedGet: (id: string) =>
    graphError(400, {
      message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
      type: 'GraphMethodException',
      code: 100,
      error_subcode: 33,
    }),

  /** Business discovery: no professional account by that name (personal and unknown look the same). */
  userNotFound: (username: string) =>
    graphError(400, {
      message: 'Invalid user id',
      type: 'OAuthException',
      code: 110,
      error_subcode: 2207013,
      error_user_title: 'Cannot find User',
      error_user_msg: `The user with username: ${username} cannot be found.`,
    }),

  nonexistingField: (field: string, nodeType: string) =>
    graphError(400, {
      message: `(#100) Tried accessing nonexisting field (${field}) on node type (${nodeType})`,
      type: 'OAuthException',
      code: 100,
    }),

  invalidParameter: (message: string) =>
    graphError(400, { message: `(#100) ${message}`, type: 'OAuthException', code: 100 }),

  unknownPath: (path: string) =>
    graphError(400, { message: `Unknown path components: ${path}`, type: 'OAuthException', code: 2500 }),
};
