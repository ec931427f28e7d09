import { describe, expect, it } from 'vitest';
import {
  classifyInstagramError,
  classifyInstagramNetworkError,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  parseInstagramUsage,
  parseRetryAfter,
} from '../../src/connectors/instagram/index.js';

const NOW = Date.parse('2026-03-04T18:00:00Z');
const body = (code: number, extra: Record<string, unknown> = {}) => ({
  error: { message: `(#${code}) something`, type: 'OAuthException', code, fbtrace_id: 'AbC', ...extra },
});
const classify = (status: number, b: unknown, headers = {}) =>
  classifyInstagramError(status, b, headers, { now: NOW });

describe('classifyInstagramError', () => {
  it('rate limits: codes 4, 17, 32, 341, 613 and the 80001–80014 BUC range, whatever the HTTP status', () => {
    for (const code of [4, 17, 32, 341, 613, 80001, 80002, 80009, 80014]) {
      for (const status of [400, 403, 429]) {
        const c = classify(status, body(code));
        expect([code, c.kind, c.code, c.retryAfterMs]).toEqual([
          code,
          'rate-limited',
          'SIPHON_ERR_CONNECTOR_RATE_LIMITED',
          DEFAULT_RATE_LIMIT_WAIT_MS,
        ]);
      }
    }
    expect(classify(400, body(80015)).kind).toBe('bad-request');
  });

  it('takes the wait from Retry-After, else from estimated_time_to_regain_access (minutes)', () => {
    expect(classify(400, body(4), { 'Retry-After': '7' }).retryAfterMs).toBe(7000);
    const buc = JSON.stringify({
      '1784': [{ type: 'instagram', call_count: 100, estimated_time_to_regain_access: 3 }],
    });
    expect(classify(400, body(80002), { 'x-business-use-case-usage': buc }).retryAfterMs).toBe(180_000);
    expect(classify(429, '', {}).kind).toBe('rate-limited');
    expect(classify(429, '', { 'retry-after': new Date(NOW + 5000).toUTCString() }).retryAfterMs).toBe(5000);
  });

  it('auth: 190 expired or invalid token (any subcode), 102, 104, auth subcodes, an OAuthException without code', () => {
    const expired = classify(400, body(190, { error_subcode: 463 }));
    expect([expired.kind, expired.code, expired.graphCode, expired.subcode]).toEqual([
      'auth',
      'SIPHON_ERR_CONNECTOR_AUTH',
      190,
      463,
    ]);
    for (const b of [body(190), body(102), body(104), body(999, { error_subcode: 460 })]) {
      expect(classify(400, b).kind).toBe('auth');
    }
    expect(classify(400, { error: { message: 'Session expired', type: 'OAuthException' } }).kind).toBe(
      'auth',
    );
    expect(classify(401, '').kind).toBe('auth');
  });

  it('permission: 10, 3 and 200–299', () => {
    for (const code of [10, 3, 200, 230, 299]) expect(classify(400, body(code)).kind).toBe('permission');
    expect(classify(403, '').kind).toBe('permission');
  });

  it('not found: 100/33, "Unsupported get request", 110/2207013 (business discovery), 36104', () => {
    expect(classify(400, body(100, { error_subcode: 33 })).kind).toBe('not-found');
    const unsupported = {
      error: {
        message: "Unsupported get request. Object with ID '1' does not exist",
        type: 'GraphMethodException',
        code: 100,
      },
    };
    expect(classify(400, unsupported).kind).toBe('not-found');
    expect(classify(400, body(110, { error_subcode: 2207013 })).kind).toBe('not-found');
    expect(classify(400, body(36104)).kind).toBe('not-found');
    expect(classify(404, '').kind).toBe('not-found');
  });

  it('transient: codes 1 and 2, is_transient, 5xx with or without a body', () => {
    expect(classify(500, body(1)).kind).toBe('transient');
    expect(classify(503, body(2)).kind).toBe('transient');
    expect(classify(400, body(9999, { is_transient: true })).kind).toBe('transient');
    expect(classify(502, '<html>Bad gateway</html>').kind).toBe('transient');
    expect(classify(500, body(12345)).kind).toBe('transient');
  });

  it('bad request: an invalid field (100 without subcode 33), unknown path, anything else on 4xx', () => {
    const field = classify(
      400,
      body(100, { message: '(#100) Tried accessing nonexisting field (foo) on node type (IGMedia)' }),
    );
    expect([field.kind, field.code, field.message]).toEqual([
      'bad-request',
      'SIPHON_ERR_CONNECTOR_BAD_REQUEST',
      '(#100) Tried accessing nonexisting field (foo) on node type (IGMedia)',
    ]);
    expect(classify(400, body(2500)).kind).toBe('bad-request');
    expect(classify(400, 'not json').kind).toBe('bad-request');
    expect(classify(400, JSON.stringify(body(4))).kind).toBe('rate-limited');
    expect(classify(400, body(1)).fbtraceId).toBe('AbC');
  });
});

describe('classifyInstagramNetworkError', () => {
  it('is transient, with the cause or the timeout in the message', () => {
    const refused = classifyInstagramNetworkError(
      new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      false,
    );
    expect([refused.kind, refused.status, refused.message]).toEqual([
      'transient',
      0,
      'Instagram could not be reached (ECONNREFUSED)',
    ]);
    expect(classifyInstagramNetworkError(new Error('aborted'), true).message).toBe(
      'Instagram did not answer in time',
    );
  });
});

describe('parseInstagramUsage', () => {
  it('takes the highest percentage of X-App-Usage and every BUC entry, capped at 100', () => {
    const headers = new Headers({
      'X-App-Usage': JSON.stringify({ call_count: 28, total_time: 25, total_cputime: 25 }),
      'X-Business-Use-Case-Usage': JSON.stringify({
        '17841405822304914': [
          {
            type: 'instagram',
            call_count: 62,
            total_cputime: 9,
            total_time: 12,
            estimated_time_to_regain_access: 0,
          },
        ],
        '17841400000000000': [
          {
            type: 'instagram',
            call_count: 5,
            total_cputime: 71,
            total_time: 3,
            estimated_time_to_regain_access: 2,
          },
        ],
      }),
    });
    expect(parseInstagramUsage(headers)).toEqual({ usedPercent: 71, regainAccessMs: 120_000 });
    expect(parseInstagramUsage({ 'x-app-usage': '{"call_count":140}' })).toEqual({ usedPercent: 100 });
  });

  it('ignores absent or malformed headers', () => {
    expect(parseInstagramUsage({})).toEqual({});
    expect(parseInstagramUsage({ 'x-app-usage': 'oops', 'x-business-use-case-usage': '[1,2]' })).toEqual({});
    expect(parseInstagramUsage({ 'x-app-usage': '{"call_count":"12"}' })).toEqual({});
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, never negative', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30_000);
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });
});
