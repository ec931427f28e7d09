import type { ConnectorFailure, ConnectorFailureKind } from '../connector.js';
import { CONNECTOR_ERROR_CODE as CODE_OF, parseRetryAfter, networkErrorDetail } from '../connector-errors.js';

/**
 * Pure classification of ML service failures in the engine's terms (the same kinds as the platform
 * connectors): what to do next depends only on the kind. The clock is passed in.
 */
export type MlFailure = ConnectorFailure & {
  /** The service's `error.code` (`overloaded`, `job_not_found`, …), `network`, `timeout` or `invalidBody`. */
  readonly reason?: string;
};

function kindOf(status: number): ConnectorFailureKind {
  if (status === 429) return 'rate-limited';
  if (status >= 500 || status === 408) return 'transient';
  if (status === 401) return 'auth';
  if (status === 403) return 'permission';
  // An unknown job: forgotten by the service (or never made); the caller submits again.
  if (status === 404) return 'not-found';
  return 'bad-request';
}

/** A non-2xx answer. `retryAfter` is the raw Retry-After header (seconds or an HTTP-date). */
export function classifyMlError(
  method: string,
  status: number,
  body: string,
  retryAfter: string | null,
  now: number,
): MlFailure {
  const { code, message } = readBody(body);
  const kind = kindOf(status);
  const retryAfterMs = parseRetryAfter(retryAfter, now);
  return {
    kind,
    code: CODE_OF[kind],
    message: message ?? `the ML service answered HTTP ${status}`,
    method,
    httpStatus: status,
    ...(code === undefined ? {} : { reason: code }),
    ...(retryAfterMs !== undefined && (kind === 'rate-limited' || kind === 'transient')
      ? { retryAfterMs }
      : {}),
  };
}

/** No HTTP answer: refused or dropped connection, or the client's own timeout. */
export function classifyMlNetworkError(method: string, error: unknown, timedOut: boolean): MlFailure {
  const detail = networkErrorDetail(error);
  return {
    kind: 'transient',
    code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    method,
    reason: timedOut ? 'timeout' : 'network',
    message: timedOut
      ? 'the ML service did not answer in time'
      : `the ML service could not be reached (${detail})`,
  };
}

/** A 2xx whose body is not the documented job: a front-end hiccup, worth another try. */
export function invalidMlBody(method: string, status: number): MlFailure {
  return {
    kind: 'transient',
    code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    method,
    httpStatus: status,
    reason: 'invalidBody',
    message: 'the ML service answered with a body that is not a job',
  };
}

function readBody(body: string): { code?: string; message?: string } {
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    return {
      ...(typeof error?.code === 'string' ? { code: error.code } : {}),
      ...(typeof error?.message === 'string' ? { message: error.message } : {}),
    };
  } catch {
    return {};
  }
}
