import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyTikTokError,
  classifyTikTokNetworkError,
  isSearchIdExpired,
  nextUtcMidnight,
  parseRetryAfter,
  type TikTokErrorClass,
} from '../../src/connectors/tiktok/index.js';

/** Each connector code and the class it stands for. */
const CODE_OF_CLASS: Record<TikTokErrorClass, string> = {
  transient: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
  'rate-limited': 'SIPHON_ERR_CONNECTOR_RATE_LIMITED',
  'quota-exhausted': 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED',
  auth: 'SIPHON_ERR_CONNECTOR_AUTH',
  permission: 'SIPHON_ERR_CONNECTOR_PERMISSION',
  'not-found': 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
  'bad-request': 'SIPHON_ERR_CONNECTOR_BAD_REQUEST',
};

const bodies = JSON.parse(
  readFileSync(new URL('../fixtures/tiktok/errors.json', import.meta.url), 'utf8'),
) as Record<string, { status: number; body: unknown; headers?: Record<string, string> }>;

/** 2026-03-04 18:30 UTC. */
const NOW = Date.parse('2026-03-04T18:30:00Z');
const MIDNIGHT = Date.parse('2026-03-05T00:00:00Z');

describe('classifyTikTokError: each documented body → its class', () => {
  const expected: Record<string, [TikTokErrorClass, string | undefined]> = {
    access_token_invalid: ['auth', 'access_token_invalid'],
    scope_not_authorized: ['permission', 'scope_not_authorized'],
    scope_permission_missed: ['permission', 'scope_permission_missed'],
    invalid_params_window: ['bad-request', 'invalid_params'],
    search_id_expired: ['bad-request', 'invalid_params'],
    user_private: ['not-found', 'invalid_params'],
    video_not_found_404: ['not-found', 'video_not_found'],
    rate_limit_exceeded: ['rate-limited', 'rate_limit_exceeded'],
    rate_limit_no_header: ['rate-limited', 'rate_limit_exceeded'],
    daily_quota_limit_exceeded: ['quota-exhausted', 'daily_quota_limit_exceeded'],
    daily_limit_by_message: ['quota-exhausted', 'rate_limit_exceeded'],
    internal_error: ['transient', 'internal_error'],
    gateway_html: ['transient', undefined],
    non_ok_200: ['transient', 'backend_cache_not_ready'],
    oauth_invalid_client: ['auth', 'invalid_client'],
    oauth_invalid_grant: ['auth', 'invalid_grant'],
    oauth_unsupported_grant_type: ['bad-request', 'unsupported_grant_type'],
    oauth_invalid_scope: ['permission', 'invalid_scope'],
    bare_401: ['auth', undefined],
    bare_403: ['permission', undefined],
    expired_token_message: ['auth', 'invalid_request'],
  };

  it('covers every fixture', () => {
    expect(Object.keys(expected).sort()).toEqual(Object.keys(bodies).sort());
  });

  it.each(Object.entries(expected))('%s', (name, [kind, reason]) => {
    const { status, body, headers } = bodies[name]!;
    // The body arrives both as text (from the wire) and parsed: the answer must not depend on it.
    for (const form of [body, typeof body === 'string' ? body : JSON.stringify(body)]) {
      const c = classifyTikTokError(status, form, headers ?? {}, { now: NOW });
      expect(c.kind).toBe(kind);
      expect(c.code).toBe(CODE_OF_CLASS[kind]);
      expect(c.status).toBe(status);
      expect(c.reason).toBe(reason);
      expect(c.message.length).toBeGreaterThan(0);
    }
  });

  it('keeps the API message and log id for people', () => {
    const { status, body } = bodies.access_token_invalid!;
    expect(classifyTikTokError(status, body, {}, { now: NOW })).toMatchObject({
      message: 'The access token is invalid or not found in the request.',
      logId: '202305101234567890ABCDEF0123456789',
    });
  });
});

describe('waits', () => {
  it('rate-limited carries Retry-After (seconds or HTTP-date, any header case), none without it', () => {
    const { status, body } = bodies.rate_limit_exceeded!;
    expect(classifyTikTokError(status, body, { 'Retry-After': '30' }, { now: NOW }).retryAfterMs).toBe(
      30_000,
    );
    const date = new Date(NOW + 90_000).toUTCString();
    expect(
      classifyTikTokError(status, body, new Headers({ 'retry-after': date }), { now: NOW }).retryAfterMs,
    ).toBe(90_000);
    expect(classifyTikTokError(status, body, {}, { now: NOW })).not.toHaveProperty('retryAfterMs');
  });

  it('quota-exhausted resets at the next 00:00 UTC, whatever Retry-After says', () => {
    for (const name of ['daily_quota_limit_exceeded', 'daily_limit_by_message']) {
      const { status, body, headers } = bodies[name]!;
      const c = classifyTikTokError(status, body, headers ?? {}, { now: NOW });
      expect(c).toMatchObject({ kind: 'quota-exhausted', resetAt: MIDNIGHT, retryAfterMs: MIDNIGHT - NOW });
    }
  });

  it('nextUtcMidnight is strictly later, also exactly at midnight and across month/year ends', () => {
    expect(nextUtcMidnight(MIDNIGHT)).toBe(Date.parse('2026-03-06T00:00:00Z'));
    expect(nextUtcMidnight(MIDNIGHT - 1)).toBe(MIDNIGHT);
    expect(nextUtcMidnight(Date.parse('2026-12-31T23:59:59Z'))).toBe(Date.parse('2027-01-01T00:00:00Z'));
    expect(nextUtcMidnight(Date.parse('2028-02-28T12:00:00Z'))).toBe(Date.parse('2028-02-29T00:00:00Z'));
  });

  it('parseRetryAfter ignores garbage and never goes negative', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(' 7 ', NOW)).toBe(7000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
  });
});

describe('special cases', () => {
  it('an expired search id is a bad request the adapter can recognise; a private user is not', () => {
    const expired = classifyTikTokError(400, bodies.search_id_expired!.body, {}, { now: NOW });
    expect(isSearchIdExpired(expired)).toBe(true);
    const window = classifyTikTokError(400, bodies.invalid_params_window!.body, {}, { now: NOW });
    expect(isSearchIdExpired(window)).toBe(false);
    const gone = classifyTikTokError(400, bodies.user_private!.body, {}, { now: NOW });
    expect(isSearchIdExpired(gone)).toBe(false);
  });

  it('network failures and timeouts are transient with status 0', () => {
    const refused = classifyTikTokNetworkError(
      new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }),
      false,
    );
    expect(refused).toMatchObject({ kind: 'transient', status: 0, reason: 'network' });
    expect(refused.message).toContain('ECONNRESET');
    expect(classifyTikTokNetworkError(new Error('aborted'), true)).toMatchObject({
      kind: 'transient',
      code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
      reason: 'timeout',
    });
  });

  it('other statuses without a code: 5xx/408 transient, 404 not-found, other 4xx bad-request', () => {
    expect(classifyTikTokError(503, '', {}, { now: NOW }).kind).toBe('transient');
    expect(classifyTikTokError(408, '', {}, { now: NOW }).kind).toBe('transient');
    expect(classifyTikTokError(404, '', {}, { now: NOW }).kind).toBe('not-found');
    expect(classifyTikTokError(422, '{}', {}, { now: NOW }).kind).toBe('bad-request');
  });
});
