import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TikTokAdapter, TikTokClient } from '../../src/connectors/tiktok/index.js';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { startTikTokSimulator } from '../../src/simulators/tiktok/index.js';
import { OPERATOR, VIEWER, as, buildTestApp } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, runCli } from '../helpers/processes.js';
import { requestRun, runSocialPipeline, startTestRunner, waitForStatus } from '../helpers/runner.js';
import { testTempDir } from '../helpers/tmp.js';

let db: TestDatabase;
let app: FastifyInstance;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  app = await buildTestApp(db);
});
afterAll(async () => {
  await app.close();
  await db.drop();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const csv = (platform: string, body: string, query = '') =>
  app.inject({
    method: 'POST',
    url: `/accounts/import?platform=${platform}${query}`,
    headers: { ...as(OPERATOR), 'content-type': 'text/csv' },
    payload: body,
  });

const tracked = async (platform: string) =>
  (
    await db.admin.query<{
      external_id: string;
      tags: string[];
      tier: string;
      paused: boolean;
      added_by: string;
    }>(
      `SELECT external_id, tags, tier, paused, added_by FROM social.accounts
        WHERE platform = $1 AND tracked ORDER BY external_id`,
      [platform],
    )
  ).rows;

describe('tracked accounts: import, list, export, bulk changes', () => {
  it('imports 100,000 accounts from CSV in one request, reports refused lines, and a re-import changes nothing', async () => {
    const lines = ['account,tags,tier'];
    for (let i = 0; i < 100_000; i += 1) lines.push(`user_${i},${i % 2 === 0 ? 'even' : 'odd'};bulk,daily`);
    lines.push('https://www.tiktok.com/@someone,,'); // a URL, not an account
    lines.push('user_5,,'); // the same account twice
    lines.push('fine_one,Bad Tag!,'); // a tag that is not one
    lines.push('fine_two,,Weekly Tier'); // a tier that is not one
    const body = `${lines.join('\n')}\n`;
    expect(body.length).toBeGreaterThan(1_048_576); // over the API's default body limit

    const first = await csv('tiktok', body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      platform: 'tiktok',
      received: 100_004,
      inserted: 100_000,
      updated: 0,
      unchanged: 0,
      rejected_total: 4,
      rejected: [
        {
          line: 100_002,
          value: 'https://www.tiktok.com/@someone',
          field: 'account',
          message: expect.stringMatching(/^give the account, not a URL/),
        },
        { line: 100_003, value: 'user_5', field: 'account', message: 'the same account as line 7' },
        {
          line: 100_004,
          value: 'Bad Tag!',
          field: 'tags',
          message: expect.stringMatching(/^a tag is lower-case/),
        },
        { line: 100_005, value: 'Weekly Tier', field: 'tier', message: expect.stringMatching(/^a tier is/) },
      ],
    });
    const counts = await db.admin.query<{ n: number; even: number; daily: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE tags @> '{even}')::int AS even,
              count(*) FILTER (WHERE tier = 'daily')::int AS daily
         FROM social.accounts WHERE platform = 'tiktok' AND tracked`,
    );
    expect(counts.rows[0]).toEqual({ n: 100_000, even: 50_000, daily: 100_000 });

    const again = await csv('tiktok', body);
    expect(again.json()).toMatchObject({ received: 100_004, inserted: 0, updated: 0, unchanged: 100_000 });

    // Lists page through them with a total; filters combine.
    const page = await app.inject({
      url: '/accounts?platform=tiktok&tag=even&q=user_99&limit=3',
      headers: as(VIEWER),
    });
    expect(page.statusCode).toBe(200);
    const matching = Array.from({ length: 100_000 }, (_, n) => n)
      .filter((n) => n % 2 === 0 && `user_${n}`.includes('user_99'))
      .map((n) => `user_${n}`)
      .sort();
    expect(page.json()).toMatchObject({
      total: matching.length,
      limit: 3,
      offset: 0,
      items: [
        {
          platform: 'tiktok',
          external_id: matching[0],
          tags: ['bulk', 'even'],
          tier: 'daily',
          paused: false,
        },
        { external_id: matching[1] },
        { external_id: matching[2] },
      ],
    });
  }, 120_000);

  it('JSON import with defaults, export as CSV re-imports unchanged, bulk tier/tag/pause, remove', async () => {
    const imported = await app.inject({
      method: 'POST',
      url: '/accounts/import?platform=instagram&tags=client:acme&tier=hourly',
      headers: as(OPERATOR),
      payload: {
        accounts: ['@Nat.Geo', { account: 'nasa', tags: ['space'], tier: 'weekly' }, '17841400000000001', 42],
      },
    });
    expect(imported.statusCode).toBe(200);
    expect(imported.json()).toMatchObject({ received: 4, inserted: 3, rejected_total: 1 });
    expect(await tracked('instagram')).toEqual([
      {
        external_id: '17841400000000001',
        tags: ['client:acme'],
        tier: 'hourly',
        paused: false,
        added_by: 'operator-1',
      },
      { external_id: 'nasa', tags: ['space'], tier: 'weekly', paused: false, added_by: 'operator-1' },
      {
        external_id: 'nat.geo',
        tags: ['client:acme'],
        tier: 'hourly',
        paused: false,
        added_by: 'operator-1',
      },
    ]);

    const exported = await app.inject({ url: '/accounts/export?platform=instagram', headers: as(VIEWER) });
    expect(exported.headers['content-type']).toMatch(/^text\/csv/);
    expect(exported.body.split('\n')[0]).toBe(
      'platform,account,tags,tier,paused,status,handle,last_synced_at,added_at',
    );
    expect((await csv('instagram', exported.body)).json()).toMatchObject({
      inserted: 0,
      updated: 0,
      unchanged: 3,
    });

    const patch = (payload: Record<string, unknown>, token = OPERATOR) =>
      app.inject({ method: 'PATCH', url: '/accounts', headers: as(token), payload });
    expect(
      (
        await patch({ platform: 'instagram', tag: 'client:acme', set: { tier: 'daily', add_tags: ['vip'] } })
      ).json(),
    ).toEqual({ changed: 2 });
    expect(
      (await patch({ platform: 'instagram', accounts: ['nasa'], set: { paused: true } })).json(),
    ).toEqual({
      changed: 1,
    });
    // Already in that state: nothing is written.
    expect(
      (await patch({ platform: 'instagram', accounts: ['nasa'], set: { paused: true } })).json(),
    ).toEqual({
      changed: 0,
    });
    expect(
      (await patch({ platform: 'instagram', tier: 'daily', set: { remove_tags: ['client:acme'] } })).json(),
    ).toEqual({ changed: 2 });
    expect(await tracked('instagram')).toEqual([
      {
        external_id: '17841400000000001',
        tags: ['vip'],
        tier: 'daily',
        paused: false,
        added_by: 'operator-1',
      },
      { external_id: 'nasa', tags: ['space'], tier: 'weekly', paused: true, added_by: 'operator-1' },
      { external_id: 'nat.geo', tags: ['vip'], tier: 'daily', paused: false, added_by: 'operator-1' },
    ]);
    const paused = await app.inject({
      url: '/accounts?platform=instagram&state=paused',
      headers: as(VIEWER),
    });
    expect(paused.json()).toMatchObject({ total: 1, items: [{ external_id: 'nasa' }] });

    const removed = await app.inject({
      method: 'DELETE',
      url: '/accounts/instagram/nasa',
      headers: as(OPERATOR),
    });
    expect(removed.json()).toEqual({ removed: 1 });
    const again = await app.inject({
      method: 'DELETE',
      url: '/accounts/instagram/nasa',
      headers: as(OPERATOR),
    });
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('SIPHON_ERR_ACCOUNT_NOT_FOUND');
    // The row (and what was synced of it) stays; only the tracking ends.
    expect(
      (await db.admin.query(`SELECT tracked FROM social.accounts WHERE external_id = 'nasa'`)).rows,
    ).toEqual([{ tracked: false }]);
  });

  it('bad input is a coded 4xx naming the field; a viewer may not change anything', async () => {
    const cases: [
      string,
      { method: 'POST' | 'PATCH' | 'GET'; url: string; payload?: Record<string, unknown> },
      number,
      string,
      string?,
    ][] = [
      [
        'unknown platform',
        { method: 'POST', url: '/accounts/import?platform=myspace', payload: { accounts: ['a'] } },
        400,
        'SIPHON_ERR_REQUEST_INVALID',
      ],
      [
        'no platform',
        { method: 'POST', url: '/accounts/import', payload: { accounts: ['a'] } },
        400,
        'SIPHON_ERR_REQUEST_INVALID',
      ],
      [
        'a default tag that is not one',
        { method: 'POST', url: '/accounts/import?platform=tiktok&tags=Nope!', payload: { accounts: ['a1'] } },
        422,
        'SIPHON_ERR_ACCOUNTS_INVALID',
        'tags',
      ],
      [
        'nothing to change',
        { method: 'PATCH', url: '/accounts', payload: { platform: 'tiktok', set: {} } },
        422,
        'SIPHON_ERR_ACCOUNTS_INVALID',
        'set',
      ],
      [
        'an unknown field',
        { method: 'PATCH', url: '/accounts', payload: { platform: 'tiktok', set: { colour: 'red' } } },
        422,
        'SIPHON_ERR_ACCOUNTS_INVALID',
        'set',
      ],
      [
        'a bad tier',
        { method: 'PATCH', url: '/accounts', payload: { platform: 'tiktok', set: { tier: 'Every Hour' } } },
        422,
        'SIPHON_ERR_ACCOUNTS_INVALID',
        'set.tier',
      ],
      ['a bad filter', { method: 'GET', url: '/accounts?state=sleeping' }, 400, 'SIPHON_ERR_REQUEST_INVALID'],
    ];
    for (const [name, request, status, code, field] of cases) {
      const res = await app.inject({ ...request, headers: as(OPERATOR) });
      expect({ name, status: res.statusCode, code: res.json().error?.code }).toEqual({ name, status, code });
      if (field) expect(res.json().error.field, name).toBe(field);
    }
    // Not a JSON array: the whole import is one refused line, nothing stored.
    const notList = await app.inject({
      method: 'POST',
      url: '/accounts/import?platform=youtube',
      headers: as(OPERATOR),
      payload: { nope: true },
    });
    expect(notList.json()).toMatchObject({ received: 0, inserted: 0, rejected_total: 1 });
    // More than 32 tags on one account: refused as a whole, nothing changed.
    await csv('youtube', 'account\nUCaaaaaaaaaaaaaaaaaaaaaa\n');
    const many = Array.from({ length: 33 }, (_, i) => `t${i}`);
    const tooMany = await app.inject({
      method: 'PATCH',
      url: '/accounts',
      headers: as(OPERATOR),
      payload: { platform: 'youtube', set: { add_tags: many } },
    });
    expect(tooMany.statusCode).toBe(422);
    const viewer = await app.inject({
      method: 'PATCH',
      url: '/accounts',
      headers: as(VIEWER),
      payload: { platform: 'youtube', set: { paused: true } },
    });
    expect(viewer.statusCode).toBe(403);
    const openapi = (await app.inject({ url: '/openapi.json' })).json();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/accounts',
        '/accounts/import',
        '/accounts/export',
        '/accounts/{platform}/{account}',
      ]),
    );
  });
});

describe('a social pipeline that selects tracked accounts', () => {
  it('syncs the tracked accounts with the tags and tier it selects, not the paused or untracked ones', async () => {
    const sim = await startTikTokSimulator({
      seed: 81,
      users: 5,
      videosPerUser: [1, 3],
      commentsPerVideo: [0, 1],
      repliesPerComment: [0, 0],
      followersPerUser: [0, 0],
      followingPerUser: [0, 0],
      historyDays: 30,
      asOf: new Date().toISOString(),
      privateShare: 0,
      clients: { 'tt-key': 'tt-secret' },
    });
    cleanups.push(() => sim.close());
    const client = new TikTokClient({
      baseUrl: sim.baseUrl,
      clientKey: 'tt-key',
      clientSecret: 'tt-secret',
      fetch: retryAfterGuard(),
    });
    const runner = await startTestRunner(db, {
      sync: {
        adapters: new Map<string, PlatformAdapter>([['tiktok', new TikTokAdapter({ client })]]),
        concurrency: 4,
      },
    });
    cleanups.push(() => runner.stop());
    const [a, b, c, d, e] = sim.control.usernames();
    const rows = [
      `${a},client:x,daily`,
      `${b},client:x;vip,daily`,
      `${c},client:x,daily`, // paused below
      `${d},client:x,weekly`, // another tier
      `${e},client:y,daily`, // another tag
    ];
    await csv('tiktok', `account,tags,tier\n${rows.join('\n')}\n`);
    await app.inject({
      method: 'PATCH',
      url: '/accounts',
      headers: as(OPERATOR),
      payload: { platform: 'tiktok', accounts: [c!.toLowerCase()], set: { paused: true } },
    });

    const run = await runSocialPipeline(db, 'tt_selected', {
      platform: 'tiktok',
      select: { tags: ['client:x'], tier: 'daily', due: true },
      rate: { calls: 500, window: '1s' },
    });
    expect(run).toMatchObject({ status: 'SUCCESS', error: null });
    const synced = await db.admin.query<{ id: string }>(
      `SELECT a.external_id AS id FROM etl.sync_jobs j JOIN social.accounts a ON a.id = j.account_id
        WHERE j.run_id = $1 AND j.status = 'SUCCESS' ORDER BY 1`,
      [run.id],
    );
    expect(synced.rows.map((r) => r.id)).toEqual([a!, b!].map((u) => u.toLowerCase()).sort());
    const profiles = await db.admin.query<{ id: string }>(
      'SELECT external_id AS id FROM social.profiles ORDER BY 1',
    );
    expect(profiles.rows.map((r) => r.id)).toEqual([a!, b!].map((u) => u.toLowerCase()).sort());

    // A successful sync moves each account to its next slot in the tier's interval (a day).
    const due = await db.admin.query<{ id: string; wait: number }>(
      `SELECT external_id AS id, extract(epoch FROM next_due_at - now())::float AS wait FROM social.accounts
        WHERE platform = 'tiktok' AND external_id = ANY($1::text[]) ORDER BY 1`,
      [[a!, b!].map((u) => u.toLowerCase())],
    );
    for (const row of due.rows) {
      expect(row.wait).toBeGreaterThan(0);
      expect(row.wait).toBeLessThanOrEqual(86_400);
    }
    // Nothing is due now: the next run opens no job; one account falls due: only it is synced.
    const pipeline = (
      await db.admin.query<{ id: string }>(`SELECT id FROM etl.etl_pipelines WHERE name = 'tt_selected'`)
    ).rows[0]!.id;
    const runAgain = async () => {
      await requestRun(db, pipeline);
      await waitForStatus(db, pipeline, ['RUNNING', 'IDLE'], 10_000);
      await waitForStatus(db, pipeline, ['IDLE', 'FAILED'], 60_000);
      const { rows } = await db.admin.query<{ id: string; status: string }>(
        'SELECT id, status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
        [pipeline],
      );
      const jobs = await db.admin.query<{ id: string }>(
        `SELECT a.external_id AS id FROM etl.sync_jobs j JOIN social.accounts a ON a.id = j.account_id
          WHERE j.run_id = $1 ORDER BY 1`,
        [rows[0]!.id],
      );
      return { status: rows[0]!.status, accounts: jobs.rows.map((r) => r.id) };
    };
    expect(await runAgain()).toEqual({ status: 'SUCCESS', accounts: [] });
    await db.admin.query(
      `UPDATE social.accounts SET next_due_at = now() - interval '1 minute' WHERE platform = 'tiktok' AND external_id = $1`,
      [b!.toLowerCase()],
    );
    expect(await runAgain()).toEqual({ status: 'SUCCESS', accounts: [b!.toLowerCase()] });

    // A spec needs exactly one of accounts and select.
    const both = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: { name: 'both', kind: 'social', social: { platform: 'tiktok', accounts: ['x1'], select: {} } },
    });
    expect(both.statusCode).toBe(422);
    expect(both.json().error.field).toBe('social.select');
  });
});

describe('siphon accounts', () => {
  it('imports a file (exit 3 when lines were refused), lists, sets tier/tags/pause, exports and removes', async () => {
    const dir = testTempDir('accounts');
    const file = join(dir, 'channels.csv');
    writeFileSync(
      file,
      'account,tags,tier\nUCbbbbbbbbbbbbbbbbbbbbbb,news,daily\n@somehandle,news;tv,\nnot a channel,,\n',
    );
    const env = cliEnv(db.adminUrl);
    const imported = await runCli(['accounts', 'import', file, '--platform', 'youtube', '--json'], env);
    expect(imported.code, imported.stderr).toBe(3);
    expect(JSON.parse(imported.stdout)).toMatchObject({ received: 3, inserted: 2, rejected_total: 1 });
    const plain = await runCli(['accounts', 'import', file, '--platform', 'youtube'], env);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toMatch(/line 4: account "not a channel": not a YouTube account/);

    const set = await runCli(
      [
        'accounts',
        'set',
        '--platform',
        'youtube',
        '--where-tag',
        'tv',
        '--tier',
        'hourly',
        '--pause',
        '--json',
      ],
      env,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ changed: 1 });
    const listed = await runCli(
      ['accounts', 'list', '--platform', 'youtube', '--state', 'paused', '--json'],
      env,
    );
    expect(JSON.parse(listed.stdout)).toMatchObject({
      total: 1,
      items: [{ external_id: '@somehandle', tier: 'hourly', paused: true, tags: ['news', 'tv'] }],
    });
    const exported = await runCli(['accounts', 'export', '--platform', 'youtube', '--tag', 'news'], env);
    expect(exported.stdout.trim().split('\n')).toHaveLength(3);
    expect(exported.stdout).toMatch(/^platform,account,tags,tier,paused/);

    const usage = await runCli(['accounts', 'set', '--platform', 'youtube', '--tier', 'daily'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/name the accounts, or select them/);
    const badTier = await runCli(
      ['accounts', 'set', 'x', '--platform', 'youtube', '--tier', 'Daily Tier'],
      env,
    );
    expect(badTier.code).toBe(1);
    expect(badTier.stderr).toMatch(/SIPHON_ERR_ACCOUNTS_INVALID/);

    const tier = await runCli(['accounts', 'tier', 'quarterly', '--interval', '90d', '--json'], env);
    expect(JSON.parse(tier.stdout)).toMatchObject({
      name: 'quarterly',
      interval_seconds: 7_776_000,
      created: true,
    });
    const tiers = await runCli(['accounts', 'tiers'], env);
    expect(tiers.stdout).toMatch(/quarterly\s*│\s*90d/);
    expect(tiers.stdout).toMatch(/hourly\s*│\s*1h\s*│\s*youtube/);
    const removed = await runCli(
      ['accounts', 'remove', '@somehandle', '--platform', 'youtube', '--json'],
      env,
    );
    expect(JSON.parse(removed.stdout)).toEqual({ removed: 1 });
    const gone = await runCli(['accounts', 'remove', '@somehandle', '--platform', 'youtube'], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/SIPHON_ERR_ACCOUNT_NOT_FOUND/);
  }, 120_000);
});

describe('tiers: intervals, spread due times, what is due and late', () => {
  it('defines tiers, refuses unknown ones, spreads a tier over its interval, and counts due and late accounts', async () => {
    const put = (name: string, payload: Record<string, unknown>) =>
      app.inject({ method: 'PUT', url: `/tiers/${name}`, headers: as(OPERATOR), payload });
    const created = await put('fast', { interval: '5m', description: 'breaking news' });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      name: 'fast',
      interval_seconds: 300,
      description: 'breaking news',
    });
    const changed = await put('fast', { interval: '10m' });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ interval_seconds: 600, description: 'breaking news' });
    expect((await put('fast', { interval: '10s' })).json().error).toMatchObject({
      code: 'SIPHON_ERR_ACCOUNTS_INVALID',
      field: 'interval',
    });
    expect((await put('fast', { interval: 'soon' })).json().error.field).toBe('interval');
    expect((await put('Fast Tier', { interval: '1h' })).statusCode).toBe(400);

    // An import naming a tier that does not exist refuses those lines; a default tier must exist.
    const report = (await csv('youtube', 'account,tier\nUCcccccccccccccccccccccc,nope\n')).json();
    expect(report.rejected[0]).toMatchObject({
      field: 'tier',
      message: expect.stringMatching(/^no tier "nope"/),
    });
    expect((await csv('youtube', 'UCcccccccccccccccccccccc\n', '&tier=nope')).json().error.field).toBe(
      'tier',
    );
    const patch = await app.inject({
      method: 'PATCH',
      url: '/accounts',
      headers: as(OPERATOR),
      payload: { platform: 'youtube', set: { tier: 'nope' } },
    });
    expect(patch.json().error).toMatchObject({ code: 'SIPHON_ERR_ACCOUNTS_INVALID', field: 'set.tier' });

    // 6,000 hourly accounts: their slots (the engine's next_slot) spread evenly over the hour.
    const ids = Array.from({ length: 6000 }, (_, i) => `UC${String(i).padStart(22, 'h')}`);
    expect(
      (await csv('youtube', `account,tier\n${ids.map((id) => `${id},hourly`).join('\n')}\n`)).json(),
    ).toMatchObject({ inserted: 6000 });
    const { rows: minutes } = await db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT social.next_slot(platform || ':' || external_id, interval '1 hour', now()) AS due
           FROM social.accounts WHERE tier = 'hourly' AND tracked) d
        GROUP BY floor(extract(epoch FROM due - now()) / 60)`,
    );
    expect(minutes.length).toBe(60); // every minute of the hour has some
    expect(Math.max(...minutes.map((m) => m.n))).toBeLessThan(2 * (6000 / 60)); // no burst
    expect(Math.min(...minutes.map((m) => m.n))).toBeGreaterThan(0.5 * (6000 / 60));

    // Never synced: all due. 100 of them late by more than an hour, 2,900 due in the future.
    await db.admin.query(
      `UPDATE social.accounts SET next_due_at = CASE WHEN external_id = ANY($1::text[]) THEN now() - interval '2 hours'
                                                     ELSE now() + interval '30 minutes' END
        WHERE tier = 'hourly' AND external_id = ANY($2::text[])`,
      [ids.slice(3000, 3100), ids.slice(3000)],
    );
    const tiers = (await app.inject({ url: '/tiers', headers: as(VIEWER) })).json().items as {
      name: string;
      platform: string | null;
      accounts: number;
      due: number;
      late: number;
      interval_seconds: number;
    }[];
    expect(tiers.find((t) => t.name === 'hourly' && t.platform === 'youtube')).toMatchObject({
      interval_seconds: 3600,
      accounts: 6000,
      due: 3100,
      late: 100,
    });
    expect(tiers.find((t) => t.name === 'fast')).toMatchObject({ platform: null, accounts: 0, due: 0 });
    const metrics = (await app.inject({ url: '/metrics', headers: as(VIEWER) })).body;
    expect(metrics).toMatch(/siphon_social_accounts_due\{platform="youtube",tier="hourly"\} 3100/);
    expect(metrics).toMatch(/siphon_social_accounts_late\{platform="youtube",tier="hourly"\} 100/);

    // Shortening the interval moves waiting accounts into the new interval's slots.
    await put('hourly', { interval: '10m' });
    const { rows: after } = await db.admin.query<{ max: number }>(
      `SELECT max(extract(epoch FROM next_due_at - now()))::float AS max FROM social.accounts
        WHERE tier = 'hourly' AND next_due_at > now()`,
    );
    expect(after[0]!.max).toBeLessThanOrEqual(600);
    await put('hourly', { interval: '1h' });
  });
});
