import { describe, expect, it } from 'vitest';
import { backoffMs, parseDuration } from '../../src/core/duration.js';
import {
  asSourceQueryFailure,
  classifyFailure,
  findNulCharacter,
  SiphonError,
  truncateMessage,
  MAX_STORED_ERROR_LENGTH,
} from '../../src/core/errors.js';
import { parseQualifiedName, quoteIdent } from '../../src/core/identifiers.js';
import { parsePipelineSpec } from '../../src/core/pipeline-spec.schema.js';
import { skippedShareJumped } from '../../src/core/incident.js';
import { requestTransition } from '../../src/core/status.js';
import { loadConfig } from '../../src/config/index.js';

describe('durations and backoff', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['250', 250],
    ['1.5s', 1500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it('rejects what is not a duration', () => {
    for (const bad of ['', 'soon', '5 minutes', '-1s', '1w'])
      expect(() => parseDuration(bad)).toThrow(/not a duration/);
  });
  it('backs off exponentially within [ceiling/2, ceiling] and is capped', () => {
    expect(backoffMs(1, 200, 10_000, () => 0)).toBe(100);
    expect(backoffMs(1, 200, 10_000, () => 1)).toBe(200);
    expect(backoffMs(4, 200, 10_000, () => 1)).toBe(1600);
    expect(backoffMs(30, 200, 10_000, () => 1)).toBe(10_000);
  });
});

describe('failure classification', () => {
  it.each([
    ['40001', 'retryable'],
    ['40P01', 'retryable'],
    ['08006', 'retryable'],
    ['57P01', 'retryable'],
    ['25P03', 'retryable'],
    ['57014', 'fatal'],
    ['53300', 'retryable'],
    ['22012', 'fatal'],
    ['42P01', 'fatal'],
    ['23505', 'fatal'],
  ])('SQLSTATE %s is %s', (code, kind) =>
    expect(classifyFailure(Object.assign(new Error('x'), { code }))).toBe(kind),
  );
  it('treats a dropped connection as retryable and a SiphonError by its kind', () => {
    expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toBe('retryable');
    expect(classifyFailure(new SiphonError('SIPHON_ERR_TARGET_SCHEMA', 'x'))).toBe('fatal');
    expect(classifyFailure(new SiphonError('SIPHON_ERR_DB_UNREACHABLE', 'x'))).toBe('retryable');
  });
  it('truncates stored messages to the documented length', () => {
    const long = 'x'.repeat(MAX_STORED_ERROR_LENGTH * 2);
    expect(truncateMessage(long)).toHaveLength(MAX_STORED_ERROR_LENGTH);
    expect(truncateMessage('short')).toBe('short');
  });
});

describe('input hygiene', () => {
  it('finds a NUL character anywhere in a configuration and names its path', () => {
    expect(findNulCharacter({ a: 'x', tasks: [{ params: { p: 'y\u0000' } }] })).toBe('tasks.0.params.p');
    expect(findNulCharacter({ a: 'clean', b: [1, null, { c: 'ok' }] })).toBeUndefined();
  });
  it('turns a database error from a source query into a 422 naming the field, and leaves transient ones', () => {
    const mapped = asSourceQueryFailure(
      Object.assign(new Error('invalid input syntax for type integer'), { code: '22P02' }),
    );
    expect(mapped).toMatchObject({ code: 'SIPHON_ERR_SOURCE_QUERY', status: 422, field: 'source_query' });
    const lost = Object.assign(new Error('terminating connection'), { code: '57P01' });
    expect(asSourceQueryFailure(lost)).toBe(lost);
  });
});

describe('identifiers', () => {
  it('accepts plain names and refuses quoting tricks', () => {
    expect(parseQualifiedName('film_dim', 'analytics')).toEqual({ schema: 'analytics', table: 'film_dim' });
    expect(parseQualifiedName('analytics.film_dim', 'analytics')).toEqual({
      schema: 'analytics',
      table: 'film_dim',
    });
    for (const bad of ['"film"', 'a.b.c', 'Film', 'film dim', 'film;drop', 'U&"\\0066ilm"', '', 'a.']) {
      expect(parseQualifiedName(bad, 'analytics')).toBeUndefined();
    }
    expect(quoteIdent('a"b')).toBe('"a""b"');
  });
});

describe('pipeline spec', () => {
  const base = { name: 'p', source_query: 'SELECT 1 AS id', target_table: 'analytics.t', unique_key: 'id' };
  it('fills defaults and normalises the target', () => {
    expect(parsePipelineSpec({ ...base, target_table: 't' })).toMatchObject({
      mode: 'full',
      batch_size: 10_000,
      unique_key: ['id'],
      target_table: 'analytics.t',
      enabled: true,
    });
  });
  it.each([
    [{ ...base, mode: 'incremental' }, 'incremental_key'],
    [{ ...base, batch_size: 0 }, 'batch_size'],
    [{ ...base, name: 'Bad Name' }, 'name'],
    [{ ...base, unique_key: ['id', 'id'] }, 'unique_key'],
    [{ ...base, lookback: 'a while' }, 'lookback'],
    [{ ...base, surprise: 1 }, ''],
    [{ ...base, source_query: '   ' }, 'source_query'],
  ])('refuses %j naming the field', (input, field) => {
    try {
      parsePipelineSpec(input);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SiphonError);
      expect((error as SiphonError).code).toBe('SIPHON_ERR_PIPELINE_INVALID');
      if (field) expect((error as SiphonError).field).toBe(field);
    }
  });
});

describe('social pipeline spec', () => {
  const social = (extra: object) => ({
    name: 's',
    kind: 'social',
    mode: 'incremental',
    social: { platform: 'instagram', accounts: ['17841400000000001'], ...extra },
  });
  it('reads stories of Instagram own accounts unless told not to', () => {
    expect(parsePipelineSpec(social({})).social).toMatchObject({ platform: 'instagram', relations: false });
    expect(parsePipelineSpec(social({})).social?.stories).toBeUndefined();
    expect(parsePipelineSpec(social({ stories: false })).social?.stories).toBe(false);
  });
  it.each([
    [{ platform: 'youtube', accounts: ['UCx'], stories: true }, 'social.stories', /only Instagram/],
    [{ stories: 'yes' }, 'social.stories', /boolean/],
    [{ accounts: [] }, 'social.accounts', /at least one/],
  ])('refuses %j naming the field', (extra, field, message) => {
    try {
      parsePipelineSpec(social(extra));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SiphonError);
      expect((error as SiphonError).code).toBe('SIPHON_ERR_PIPELINE_INVALID');
      expect((error as SiphonError).field).toBe(field);
      expect((error as SiphonError).message).toMatch(message);
    }
  });
});

describe('status machine', () => {
  it.each([
    ['IDLE', 'run', 'RUN_REQUESTED'],
    ['PAUSED', 'run', 'RUN_REQUESTED'],
    ['FAILED', 'run', 'RUN_REQUESTED'],
    ['RUN_REQUESTED', 'run', 'RUN_REQUESTED'],
    ['RUNNING', 'pause', 'PAUSE_REQUESTED'],
    ['RUN_REQUESTED', 'pause', 'PAUSED'],
    ['PAUSED', 'pause', 'PAUSED'],
  ] as const)('%s --%s--> %s', (from, request, to) => {
    expect(requestTransition({ status: from, enabled: true }, request)).toBe(to);
  });
  it.each([
    ['RUNNING', 'run'],
    ['PAUSE_REQUESTED', 'run'],
    ['IDLE', 'pause'],
    ['FAILED', 'pause'],
  ] as const)('%s refuses %s with a 409 code', (from, request) => {
    expect(() => requestTransition({ status: from, enabled: true }, request)).toThrow(
      expect.objectContaining({ code: 'SIPHON_ERR_PIPELINE_TRANSITION', status: 409 }),
    );
  });
  it('refuses to run a disabled pipeline', () => {
    expect(() => requestTransition({ status: 'IDLE', enabled: false }, 'run')).toThrow(
      expect.objectContaining({ code: 'SIPHON_ERR_PIPELINE_DISABLED' }),
    );
  });
});

describe('configuration', () => {
  it('has defaults for everything and freezes the result', () => {
    const config = loadConfig({}, '/nonexistent');
    expect(config).toMatchObject({
      databaseUrl: undefined,
      api: { port: 8000 },
      runner: { leaseMs: 30_000, pollIntervalMs: 2000 },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });
  it.each([
    [{ DATABASE_URL: 'not a url' }, 'SIPHON_ERR_DB_URL_INVALID', 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'SIPHON_ERR_DB_URL_INVALID', 'DATABASE_URL'],
    [{ SIPHON_API_PORT: '99999' }, 'SIPHON_ERR_CONFIG_INVALID', 'SIPHON_API_PORT'],
    [{ SIPHON_ADMIN_TOKEN: 'short' }, 'SIPHON_ERR_CONFIG_INVALID', 'SIPHON_ADMIN_TOKEN'],
    [{ SIPHON_LOG_LEVEL: 'loud' }, 'SIPHON_ERR_CONFIG_INVALID', 'SIPHON_LOG_LEVEL'],
  ])('%j fails fast naming the variable', (env, code, field) => {
    expect(() => loadConfig(env, '/nonexistent')).toThrow(expect.objectContaining({ code, field }));
  });
});

describe('a jump in unreachable accounts', () => {
  it('needs 3 accounts, +5 points and at least twice the previous share', () => {
    const share = (skipped: number, jobs: number) => ({ skipped, jobs });
    expect(skippedShareJumped(share(0, 0), undefined)).toBe(false);
    expect(skippedShareJumped(share(2, 10), undefined)).toBe(false); // 20 %, but only 2 accounts
    expect(skippedShareJumped(share(3, 10), undefined)).toBe(true); // first run: compared with 0 %
    expect(skippedShareJumped(share(3, 100), undefined)).toBe(false); // 3 %: under 5 points
    expect(skippedShareJumped(share(5, 100), share(0, 100))).toBe(true); // exactly +5 points
    expect(skippedShareJumped(share(15, 100), share(10, 100))).toBe(false); // +5 points, not doubled
    expect(skippedShareJumped(share(20, 100), share(10, 100))).toBe(true); // doubled, +10 points
    expect(skippedShareJumped(share(20, 100), share(0, 0))).toBe(true); // a previous run without jobs
    expect(skippedShareJumped(share(500, 100_000), share(100, 100_000))).toBe(false); // 0.5 %: noise
  });
});
