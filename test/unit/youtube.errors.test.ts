import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyYouTubeError,
  classifyYouTubeNetworkError,
  nextPacificMidnight,
  parseRetryAfter,
  type YouTubeErrorClass,
} from '../../src/connectors/youtube/index.js';

/** Each connector code and the class it stands for. */
const CONNECTOR_CLASS_OF_CODE: Record<string, string> = {
  SIPHON_ERR_CONNECTOR_TRANSIENT: 'transient',
  SIPHON_ERR_CONNECTOR_RATE_LIMITED: 'rate-limited',
  SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED: 'quota-exhausted',
  SIPHON_ERR_CONNECTOR_AUTH: 'auth',
  SIPHON_ERR_CONNECTOR_PERMISSION: 'permission',
  SIPHON_ERR_CONNECTOR_NOT_FOUND: 'not-found',
  SIPHON_ERR_CONNECTOR_BAD_REQUEST: 'bad-request',
};

const bodies = JSON.parse(
  readFileSync(new URL('../fixtures/youtube/errors.json', import.meta.url), 'utf8'),
) as Record<string, { status: number; body: unknown }>;

/** 2026-03-04 10:00 PST (UTC-8). */
const NOW = Date.parse('2026-03-04T18:00:00Z');

describe('classifyYouTubeError: each documented body → its class', () => {
  const expected: Record<string, [YouTubeErrorClass, string]> = {
    quotaExceeded: ['quota-exhausted', 'quotaExceeded'],
    dailyLimitExceededLegacy: ['quota-exhausted', 'dailyLimitExceeded'],
    rateLimitExceeded: ['rate-limited', 'rateLimitExceeded'],
    userRateLimitExceeded: ['rate-limited', 'userRateLimitExceeded'],
    resourceExhausted429: ['rate-limited', 'RATE_LIMIT_EXCEEDED'],
    apiKeyInvalid: ['auth', 'badRequest'],
    keyInvalidLegacy: ['auth', 'keyInvalid'],
    accessNotConfigured: ['auth', 'accessNotConfigured'],
    authError401: ['auth', 'authError'],
    loginRequired401: ['auth', 'required'],
    forbidden: ['permission', 'forbidden'],
    insufficientPermissions: ['permission', 'insufficientPermissions'],
    playlistNotFound: ['not-found', 'playlistNotFound'],
    videoNotFound: ['not-found', 'videoNotFound'],
    commentsDisabled: ['not-found', 'commentsDisabled'],
    playlistItemsNotAccessible: ['not-found', 'playlistItemsNotAccessible'],
    invalidPageToken: ['bad-request', 'invalidPageToken'],
    missingRequiredParameter: ['bad-request', 'missingRequiredParameter'],
    unexpectedParameter: ['bad-request', 'unexpectedParameter'],
    backendError500: ['transient', 'backendError'],
    backendError503: ['transient', 'backendError'],
  };

  it('covers every body in the fixture', () =>
    expect(Object.keys(expected).sort()).toEqual(Object.keys(bodies).sort()));

  it.each(Object.entries(expected))('%s is %s', (name, [kind, reason]) => {
    const { status, body } = bodies[name]!;
    const result = classifyYouTubeError(status, body, {}, { now: NOW });
    expect(result).toMatchObject({ kind, reason, status });
    expect(CONNECTOR_CLASS_OF_CODE[result.code]).toBe(kind);
  });

  it('classifies the raw JSON text as it comes off the wire the same way', () => {
    const { status, body } = bodies.quotaExceeded!;
    expect(classifyYouTubeError(status, JSON.stringify(body), {}, { now: NOW }).kind).toBe('quota-exhausted');
  });

  it('tells the daily quota to wait until the next midnight Pacific Time', () => {
    const { status, body } = bodies.quotaExceeded!;
    const result = classifyYouTubeError(status, body, {}, { now: NOW });
    expect(result).toMatchObject({
      kind: 'quota-exhausted',
      code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED',
      retryAt: '2026-03-05T08:00:00.000Z',
      retryAfterMs: 14 * 3_600_000,
    });
  });

  it('takes Retry-After (seconds or HTTP-date) for rate limits and nothing when it is absent', () => {
    const { status, body } = bodies.resourceExhausted429!;
    expect(classifyYouTubeError(status, body, { 'Retry-After': '30' }, { now: NOW })).toMatchObject({
      kind: 'rate-limited',
      retryAfterMs: 30_000,
    });
    const headers = new Headers({ 'retry-after': new Date(NOW + 90_000).toUTCString() });
    expect(classifyYouTubeError(status, body, headers, { now: NOW })).toMatchObject({ retryAfterMs: 90_000 });
    expect(classifyYouTubeError(403, bodies.rateLimitExceeded!.body, {}, { now: NOW })).not.toHaveProperty(
      'retryAfterMs',
    );
  });

  it('treats a 429 naming a per-day limit as the daily quota', () => {
    const body = {
      error: {
        code: 429,
        message: "Quota exceeded for quota metric 'Queries' and limit 'Queries per day'",
        status: 'RESOURCE_EXHAUSTED',
      },
    };
    expect(classifyYouTubeError(429, body, {}, { now: NOW }).kind).toBe('quota-exhausted');
  });

  it('treats a 403 about the API key itself as auth, not permission', () => {
    const message = 'The request is missing a valid API key.';
    const body = {
      error: { code: 403, message, errors: [{ message, domain: 'global', reason: 'forbidden' }] },
    };
    expect(classifyYouTubeError(403, body, {}, { now: NOW })).toMatchObject({
      kind: 'auth',
      reason: 'forbidden',
    });
  });

  it('falls back on the status when the body is not a Google error', () => {
    const cases: [number, YouTubeErrorClass][] = [
      [502, 'transient'],
      [504, 'transient'],
      [408, 'transient'],
      [429, 'rate-limited'],
      [401, 'auth'],
      [403, 'permission'],
      [404, 'not-found'],
      [400, 'bad-request'],
      [409, 'bad-request'],
    ];
    for (const [status, kind] of cases) {
      const result = classifyYouTubeError(status, '<html>Bad Gateway</html>', {}, { now: NOW });
      expect(result).toMatchObject({ kind, status, reason: undefined, message: `HTTP ${status}` });
    }
  });

  it('classifies a request that got no answer as transient', () => {
    const dropped = new TypeError('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(classifyYouTubeNetworkError(dropped, false)).toMatchObject({
      kind: 'transient',
      status: 0,
      reason: 'network',
      message: expect.stringContaining('UND_ERR_SOCKET'),
    });
    expect(classifyYouTubeNetworkError(new Error('aborted'), true)).toMatchObject({
      kind: 'transient',
      reason: 'timeout',
    });
  });
});

describe('time helpers', () => {
  it.each([
    ['2026-03-04T18:00:00Z', '2026-03-05T08:00:00.000Z'], // PST
    ['2026-07-01T06:59:59Z', '2026-07-01T07:00:00.000Z'], // PDT, one second before midnight
    ['2026-07-01T07:00:00Z', '2026-07-02T07:00:00.000Z'], // exactly midnight PDT → the next one
    ['2026-03-08T09:00:00Z', '2026-03-09T07:00:00.000Z'], // DST starts that night: next midnight is PDT
    ['2026-11-01T12:00:00Z', '2026-11-02T08:00:00.000Z'], // DST ends that morning: next midnight is PST
  ])('after %s the next midnight Pacific is %s', (now, next) => {
    expect(new Date(nextPacificMidnight(Date.parse(now))).toISOString()).toBe(next);
  });

  it('parses Retry-After', () => {
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });
});
