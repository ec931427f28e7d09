import type { ErrorCode } from '../core/errors.js';
import type { ConnectorFailureKind } from './connector.js';

export type { ConnectorFailureKind };

/**
 * What every connector's error classification shares (pure): the stable code of each failure class,
 * reading a header from a fetch `Headers` or a plain record, and Retry-After.
 */

export type ConnectorErrorCode = Extract<ErrorCode, `SIPHON_ERR_CONNECTOR_${string}`>;

export const CONNECTOR_ERROR_CODE: Readonly<Record<ConnectorFailureKind, ConnectorErrorCode>> = {
  transient: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
  'rate-limited': 'SIPHON_ERR_CONNECTOR_RATE_LIMITED',
  'quota-exhausted': 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED',
  auth: 'SIPHON_ERR_CONNECTOR_AUTH',
  permission: 'SIPHON_ERR_CONNECTOR_PERMISSION',
  'not-found': 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
  'bad-request': 'SIPHON_ERR_CONNECTOR_BAD_REQUEST',
};

/** A fetch `Headers` or a plain header record. */
export type HeadersLike =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

/** A header's value (`name` in lower case), from either shape; undefined when absent. */
export function header(headers: HeadersLike, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return typeof value === 'string' ? value : value?.[0];
}

/** Retry-After as delay-seconds or an HTTP-date, in ms from `now` (never negative); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === undefined || value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What a request that got no HTTP answer says of itself: the system code (ECONNRESET…), or its message. */
export function networkErrorDetail(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}
