import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAccounts } from '../../src/accounts/index.js';
import { OPERATOR, as, buildTestApp } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, runCli } from '../helpers/processes.js';

let db: TestDatabase;
let app: FastifyInstance;
beforeAll(async () => {
  db = await createTestDatabase();
  app = await buildTestApp(db);
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

describe('siphon quota plan and GET /quotas/plan', () => {
  it('forecast from a fixed history: measured cost per tier, the pool’s capacity, what falls behind', async () => {
    const hourly = Array.from({ length: 10 }, (_, i) => ({ account: `fast_${i}`, tier: 'hourly' }));
    const daily = Array.from({ length: 50 }, (_, i) => ({ account: `slow_${i}`, tier: 'daily' }));
    await importAccounts(
      db.api,
      'tiktok',
      { format: 'json', items: { accounts: [...hourly, ...daily] } },
      'test',
    );
    // Two research clients of 1,000 requests a day; a third one the platform refuses.
    await db.admin.query(
      `INSERT INTO etl.quota_limits (platform, credential, calls_per_window, window_ms, daily_units, day_zone, day, rejected_until)
       VALUES ('tiktok', 'research-1', 10, 1000, 1000, 'UTC', current_date, NULL),
              ('tiktok', 'research-2', 10, 1000, 1000, 'UTC', current_date, NULL),
              ('tiktok', 'research-3', 10, 1000, 1000, 'UTC', current_date, now() + interval '1 hour')`,
    );
    // Yesterday's regular syncs: 6 calls per hourly account, 30 per daily account (a few pages of comments).
    await db.admin.query(
      `WITH j AS (
         INSERT INTO etl.sync_jobs (account_id, platform, status, job_kind, started_at, finished_at)
         SELECT id, 'tiktok', 'SUCCESS', 'sync', now() - interval '1 day', now() - interval '1 day'
           FROM social.accounts WHERE platform = 'tiktok' RETURNING id, account_id
       )
       INSERT INTO etl.sync_tasks (job_id, kind, external_id, status, calls)
       SELECT j.id, k.kind, k.kind, 'DONE', CASE WHEN a.tier = 'hourly' THEN 3 ELSE 15 END
         FROM j JOIN social.accounts a ON a.id = j.account_id
        CROSS JOIN (VALUES ('profile'), ('posts')) k(kind)`,
    );
    const res = await app.inject({ url: '/quotas/plan', headers: as(OPERATOR) });
    expect(res.statusCode).toBe(200);
    const tiktok = res.json().platforms.find((p: { platform: string }) => p.platform === 'tiktok');
    expect(tiktok).toMatchObject({
      credentials: 2,
      capacity_per_day: 2000,
      need_per_day: 2940, // 10 · 24 · 6 + 50 · 1 · 30
      fits: false,
      credentials_needed: 3,
      tiers: [
        {
          tier: 'hourly',
          accounts: 10,
          cost_per_sync: 6,
          cost_source: 'measured',
          need_per_day: 1440,
          fits: true,
        },
        {
          tier: 'daily',
          accounts: 50,
          cost_per_sync: 30,
          measured_syncs: 50,
          need_per_day: 1500,
          allocated_per_day: 560,
          fits: false,
          interval_that_fits_seconds: Math.ceil((50 * 86_400 * 30) / 560),
        },
      ],
    });
    expect((await app.inject({ url: '/quotas/plan?days=0', headers: as(OPERATOR) })).statusCode).toBe(400);

    const env = cliEnv(db.adminUrl);
    const json = await runCli(['quota', 'plan', '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).platforms).toEqual(res.json().platforms);
    const table = await runCli(['quota', 'plan'], env);
    expect(table.stdout).toMatch(
      /tiktok: needs 2940 calls\/day, 2 credential\(s\) give 2000 — does NOT fit: 3 credentials/,
    );
    expect(table.stdout).toMatch(/daily\s*│\s*50\s*│/);
    // The parent command still lists the limiters.
    const quota = await runCli(['quota', '--json'], env);
    expect(JSON.parse(quota.stdout).map((r: { credential: string }) => r.credential)).toEqual([
      'research-1',
      'research-2',
      'research-3',
    ]);
  }, 60_000);
});
