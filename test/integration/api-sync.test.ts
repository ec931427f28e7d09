import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import type { Runner } from '../../src/runner/index.js';
import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import type { SyncSummary } from '../../src/sync/index.js';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPipeline, requestRun, startTestRunner, waitForStatus } from '../helpers/runner.js';

interface Setup {
  readonly db: TestDatabase;
  readonly sim: RunningYouTubeSimulator;
  readonly app: FastifyInstance;
  readonly adapter: YouTubeAdapter;
  readonly channels: string[];
  startRunner(): Promise<Runner>;
}

const cleanups: (() => Promise<void>)[] = [];

async function setup(seed: number, key: string): Promise<Setup> {
  const db = await createTestDatabase();
  const sim = await startYouTubeSimulator({
    seed,
    channels: 3,
    videosPerChannel: [3, 8],
    commentThreadsPerVideo: [0, 3],
    repliesPerThread: [0, 2],
    apiKeys: [key],
    asOf: new Date(Date.now() - 3_600_000).toISOString(),
  });
  const app = await buildTestApp(db);
  const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: key, timeoutMs: 5000 });
  const adapter = new YouTubeAdapter({ client, postsPageSize: 5, commentsPageSize: 20 });
  const adapters = new Map<string, PlatformAdapter>([['youtube', adapter]]);
  const runners: Runner[] = [];
  cleanups.push(async () => {
    for (const runner of runners) await runner.stop();
    await app.close();
    await sim.close();
    await db.drop();
  });
  return {
    db,
    sim,
    app,
    adapter,
    channels: [0, 1, 2].map((i) => sim.control.channelId(i)),
    startRunner: async () => {
      const runner = await startTestRunner(db, { sync: { adapters, concurrency: 4 } });
      runners.push(runner);
      return runner;
    },
  };
}

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** GET /pipelines/{id}/sync as JSON: dates are ISO strings. */
type SummaryJson = Omit<SyncSummary, 'run' | 'waiting'> & {
  run: { id: string; status: string; finished_at: string | null } | null;
  waiting: { items: number; oldest_wait_ms: number | null; earliest_not_before: string | null };
};

/** GET as the viewer; '' sends no token. */
const get = (s: Setup, url: string, token = VIEWER) =>
  s.app.inject({ method: 'GET', url, headers: token ? as(token) : {} });

/** The summary's task counts, as etl.sync_tasks holds them for the run's jobs (zero counts left out). */
async function taskCountsInDatabase(
  db: TestDatabase,
  runId: string,
): Promise<Record<string, Record<string, number>>> {
  const { rows } = await db.admin.query<{ kind: string; status: string; n: number }>(
    `SELECT t.kind, t.status, count(*)::int AS n FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
      WHERE j.run_id = $1 GROUP BY 1, 2`,
    [runId],
  );
  const counts: Record<string, Record<string, number>> = {};
  for (const r of rows) (counts[r.kind] ??= {})[r.status] = r.n;
  return counts;
}

const nonZero = (byKind: SyncSummary['tasks']['by_kind']) =>
  Object.fromEntries(
    Object.entries(byKind).map(([kind, counts]) => [
      kind,
      Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
    ]),
  );

async function waitForRunCount(db: TestDatabase, pipelineId: string, n: number): Promise<void> {
  for (let i = 0; i < 600; i += 1) {
    const { rows } = await db.admin.query(
      `SELECT count(*)::int AS n FROM etl.etl_runs WHERE pipeline_id = $1 AND finished_at IS NOT NULL`,
      [pipelineId],
    );
    if (rows[0].n >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pipeline ${pipelineId} did not finish ${n} runs`);
}

describe('GET /pipelines/{id}/sync and GET /quotas after real runs', () => {
  let s: Setup;
  // 52 accounts the platform does not know: more failures than the summary lists.
  const missing = Array.from({ length: 52 }, (_, i) => `UCmissingChannel${String(i).padStart(8, '0')}`);
  let pipelineId: string;
  let firstRunId: string;

  beforeAll(async () => {
    s = await setup(41, 'api-sync-key');
    await installDemoPipelines(s.db.admin);
    await s.startRunner();
    const pipeline = await createPipeline(s.db, {
      name: 'yt_watch',
      kind: 'social',
      mode: 'incremental',
      social: {
        platform: 'youtube',
        accounts: [...s.channels, ...missing],
        rate: { calls: 1000, window: '1s', daily_units: 1_000_000 },
      },
    });
    pipelineId = pipeline.id;
  });

  it('a social pipeline that has never run has an empty summary', async () => {
    const res = await get(s, '/pipelines/yt_watch/sync');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      pipeline_id: pipelineId,
      name: 'yt_watch',
      platform: 'youtube',
      accounts: 55,
      pipeline_status: 'IDLE',
      run: null,
      jobs: { total: 0, by_status: { RUNNING: 0, SUCCESS: 0, FAILED: 0, SKIPPED: 0 } },
      tasks: { total: 0, by_kind: {} },
      waiting: { items: 0, oldest_wait_ms: null, earliest_not_before: null },
      calls: 0,
      failures: { total: 0, items: [] },
      skipped: { total: 0, items: [] },
      enrichment: null,
    });
  });

  it('summarises a finished run: jobs, tasks, calls and the unreachable accounts with their reasons', async () => {
    await requestRun(s.db, pipelineId);
    const ended = await waitForStatus(s.db, pipelineId, ['IDLE', 'FAILED'], 60_000);
    // Channels that do not exist are skipped, not failures: the run succeeds.
    expect(ended.status).toBe('IDLE');
    const { rows: runs } = await s.db.admin.query(
      'SELECT id, status, error_code FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipelineId],
    );
    expect(runs).toHaveLength(1);
    firstRunId = runs[0].id;

    const res = await get(s, `/pipelines/${pipelineId}/sync`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.run).toMatchObject({ id: firstRunId, status: 'SUCCESS', error_code: null });
    expect(body.pipeline_status).toBe('IDLE');
    expect(body.jobs).toEqual({ total: 55, by_status: { RUNNING: 0, SUCCESS: 3, FAILED: 0, SKIPPED: 52 } });
    // Every request the simulator answered was made by this run's jobs.
    expect(body.calls).toBe(s.sim.control.requests().length);
    // 55 profile lookups: concurrent ones share a channels.list call (up to 50 ids), so 2 to 55 calls.
    const channelsCalls = s.sim.control.requests().filter((r) => r.method === 'channels').length;
    expect(channelsCalls).toBeGreaterThanOrEqual(2);
    expect(channelsCalls).toBeLessThanOrEqual(55);
    expect(nonZero(body.tasks.by_kind)).toEqual(await taskCountsInDatabase(s.db, firstRunId));
    expect(body.tasks.by_kind.profile).toEqual({ PENDING: 0, WAITING: 0, DONE: 3, FAILED: 0, SKIPPED: 52 });
    expect(body.tasks.total).toBe(
      Object.values(await taskCountsInDatabase(s.db, firstRunId))
        .flatMap((c) => Object.values(c))
        .reduce((a, b) => a + b, 0),
    );
    expect(body.waiting).toEqual({ items: 0, oldest_wait_ms: null, earliest_not_before: null });
    expect(body.failures).toEqual({ total: 0, items: [] });
    expect(body.skipped.total).toBe(52);
    expect(body.skipped.items).toHaveLength(50);
    for (const skipped of body.skipped.items) {
      expect(missing).toContain(skipped.account);
      expect(skipped).toMatchObject({ error_code: 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE', handle: null });
      expect(skipped.message).toContain(`channel ${skipped.account} not found`);
    }
    // No ML service in this setup: the run queued nothing to enrich, and says so with zero counts.
    expect(body.enrichment).toEqual({ waiting: 0, oldestWaitSeconds: 0, done: 0, failed: 0, expired: 0 });
  });

  it('answers for the latest run, or for an earlier one with ?run=', async () => {
    const before = s.sim.control.requests().length;
    await requestRun(s.db, pipelineId);
    await waitForRunCount(s.db, pipelineId, 2);
    await waitForStatus(s.db, pipelineId, ['IDLE'], 60_000);
    const { rows } = await s.db.admin.query(
      'SELECT id FROM etl.etl_runs WHERE pipeline_id = $1 AND id <> $2',
      [pipelineId, firstRunId],
    );
    expect(rows).toHaveLength(1);
    const latest = (await get(s, '/pipelines/yt_watch/sync')).json();
    expect(latest.run.id).toBe(rows[0].id);
    expect(latest.calls).toBe(s.sim.control.requests().length - before);
    const earlier = await get(s, `/pipelines/yt_watch/sync?run=${firstRunId}`);
    expect(earlier.statusCode).toBe(200);
    expect(earlier.json().run.id).toBe(firstRunId);
    expect(earlier.json().calls).toBe(before);
  });

  it("counts the enrichment items of the run it summarises, and only that run's", async () => {
    await s.db.admin.query(
      `INSERT INTO social.enrichment_jobs (platform, item_kind, item_external_id, analysis, status, run_id,
                                           created_at, deadline_at, error_code)
       VALUES ('youtube', 'post', 'e1', 'image', 'WAITING', $1, now() - interval '10 minutes', now() + interval '1 day', NULL),
              ('youtube', 'post', 'e2', 'text', 'PENDING', $1, now() - interval '1 minute', now() + interval '1 day', NULL),
              ('youtube', 'post', 'e3', 'text', 'DONE', $1, now() - interval '1 hour', now(), NULL),
              ('youtube', 'comment', 'e4', 'text', 'FAILED', $1, now() - interval '1 hour', now(),
               'SIPHON_ERR_ENRICHMENT_FAILED'),
              ('youtube', 'comment', 'e5', 'text', 'EXPIRED', $1, now() - interval '3 days', now(),
               'SIPHON_ERR_ENRICHMENT_EXPIRED')`,
      [firstRunId],
    );
    const earlier = (await get(s, `/pipelines/yt_watch/sync?run=${firstRunId}`)).json();
    expect(earlier.enrichment).toMatchObject({ waiting: 2, done: 1, failed: 1, expired: 1 });
    // The oldest open item (e1) has waited ten minutes; the expired one, older, no longer counts.
    expect(earlier.enrichment.oldestWaitSeconds).toBeGreaterThanOrEqual(600);
    expect(earlier.enrichment.oldestWaitSeconds).toBeLessThan(900);
    const latest = (await get(s, '/pipelines/yt_watch/sync')).json();
    expect(latest.run.id).not.toBe(firstRunId);
    expect(latest.enrichment).toEqual({ waiting: 0, oldestWaitSeconds: 0, done: 0, failed: 0, expired: 0 });
  });

  it('GET /quotas shows the credential: rate, calls, units used and left, no pause', async () => {
    const res = await get(s, '/quotas');
    expect(res.statusCode, res.body).toBe(200);
    const calls = s.sim.control.requests().length;
    expect(res.json().items).toEqual([
      {
        platform: 'youtube',
        credential: s.adapter.credentialId,
        calls_per_window: 1000,
        window_ms: 1000,
        calls_total: calls,
        rate_limited: 0,
        // Every list call of the Data API costs one unit.
        units_used: calls,
        daily_units: 1_000_000,
        units_remaining: 1_000_000 - calls,
        used_percent: null,
        paused_until: null,
      },
    ]);
    expect(JSON.stringify(res.json())).not.toContain('api-sync-key');
  });

  it('refuses what is not a social pipeline, an unknown run, a bad run id and no token, with stable codes', async () => {
    const sql = await get(s, '/pipelines/film_dim_full/sync');
    expect(sql.statusCode).toBe(404);
    expect(sql.json().error.code).toBe('SIPHON_ERR_PIPELINE_NOT_SOCIAL');
    const unknown = await get(s, '/pipelines/no_such_pipeline/sync');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('SIPHON_ERR_PIPELINE_NOT_FOUND');
    const otherRun = await get(s, '/pipelines/yt_watch/sync?run=11111111-1111-4111-8111-111111111111');
    expect(otherRun.statusCode).toBe(404);
    expect(otherRun.json().error.code).toBe('SIPHON_ERR_RUN_NOT_FOUND');
    const badRun = await get(s, '/pipelines/yt_watch/sync?run=latest');
    expect(badRun.statusCode).toBe(400);
    expect(badRun.json().error).toMatchObject({
      code: 'SIPHON_ERR_REQUEST_INVALID',
      field: 'querystring.run',
    });
    for (const url of ['/pipelines/yt_watch/sync', '/quotas']) {
      const anonymous = await get(s, url, '');
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json().error.code).toBe('SIPHON_ERR_AUTH_MISSING');
    }
  });

  it('a NUL in a pipeline id is a 400, never a 500 from PostgreSQL', async () => {
    for (const [method, url] of [
      ['GET', '/pipelines/%00'],
      ['DELETE', '/pipelines/%00'],
      ['GET', '/pipelines/a%00b/sync'],
      ['POST', '/pipelines/%00/run'],
    ] as const) {
      const res = await s.app.inject({ method, url, headers: as(OPERATOR) });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'SIPHON_ERR_REQUEST_INVALID', field: 'params.id' });
    }
  });
});

describe('a run waiting for the daily quota', () => {
  let s: Setup;

  beforeAll(async () => {
    s = await setup(42, 'api-quota-key');
    await s.startRunner();
  });

  it('shows its waiting tasks, the oldest wait, the reset, and the paused credential', async () => {
    const pipeline = await createPipeline(s.db, {
      name: 'yt_tight',
      kind: 'social',
      mode: 'incremental',
      // Three units a day: three calls, then every task waits for the platform's day to end.
      social: {
        platform: 'youtube',
        accounts: s.channels,
        rate: { calls: 1000, window: '1s', daily_units: 3 },
      },
    });
    await requestRun(s.db, pipeline.id);
    const deadline = Date.now() + 30_000;
    let body = {} as SummaryJson;
    while (Date.now() < deadline) {
      body = (await get(s, `/pipelines/${pipeline.id}/sync`)).json<SummaryJson>();
      // Settled: the day's three units are spent (the profiles share one channels.list call, posts
      // pages take the rest), and every open task waits for the reset: nothing can change any more.
      const kinds = Object.values(body.tasks.by_kind);
      const pending = kinds.reduce((n, k) => n + (k?.PENDING ?? 0), 0);
      const waiting = kinds.reduce((n, k) => n + (k?.WAITING ?? 0), 0);
      if (body.calls === 3 && pending === 0 && waiting > 0 && body.jobs.by_status.RUNNING === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.run).toMatchObject({ status: 'RUNNING', finished_at: null });
    expect(body.jobs.by_status.RUNNING).toBe(3);
    expect(body.calls).toBe(s.sim.control.requests().length);
    expect(body.calls).toBeLessThanOrEqual(3);
    const { rows } = await s.db.admin.query<{ n: number; first: Date; next: Date }>(
      `SELECT count(*)::int AS n, min(t.updated_at) AS first, min(t.not_before) AS next
         FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
        WHERE j.run_id = $1 AND t.status = 'WAITING'`,
      [body.run!.id],
    );
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect(body.waiting.items).toBe(rows[0]!.n);
    expect(body.waiting.earliest_not_before).toBe(rows[0]!.next.toISOString());
    expect(new Date(body.waiting.earliest_not_before!).getTime()).toBeGreaterThan(Date.now());
    expect(body.waiting.oldest_wait_ms).toBeGreaterThanOrEqual(0);
    expect(body.waiting.oldest_wait_ms).toBeLessThan(Date.now() - rows[0]!.first.getTime() + 1000);

    const quotas = (await get(s, '/quotas')).json().items;
    expect(quotas).toHaveLength(1);
    expect(quotas[0]).toMatchObject({
      platform: 'youtube',
      daily_units: 3,
      units_used: body.calls,
      units_remaining: 3 - body.calls,
    });
    expect(quotas[0].paused_until).toBe(body.waiting.earliest_not_before);
  });
});
