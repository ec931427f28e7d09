import { spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/bootstrap/ports.js';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, exited, killAllSpawned, spawnCli, waitForOutput } from '../helpers/processes.js';
import { createPipeline, requestRun, waitForStatus } from '../helpers/runner.js';

/** One scrape: `name{a="x",b="y"}` (labels sorted) → value, plus the declared types. */
interface Scrape {
  readonly text: string;
  readonly series: Map<string, number>;
  readonly types: Map<string, string>;
}

function parseExposition(text: string): Scrape {
  const series = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const labels = [...(sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)]
      .map((m) => `${m[1]}="${m[2]}"`)
      .sort();
    series.set(`${sample[1]}{${labels.join(',')}}`, Number(sample[3]));
  }
  return { text, series, types };
}

/** The value of exactly this series, or undefined when it is absent. */
function value(scrape: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  return scrape.series.get(`${name}{${key}}`);
}

/** `promtool check metrics` lints names, units and help texts; skipped where promtool is absent. */
function promtoolLint(scrape: Scrape): string | undefined {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: scrape.text, encoding: 'utf8' });
  if (result.error) return undefined;
  // prom-client's own default gauges (nodejs_active_handles_total …) break the _total rule; not ours.
  return `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '' && !/_nodejs_active_\w+_total /.test(line))
    .join('\n');
}

let db: TestDatabase;
let app: FastifyInstance;
let runner: ChildProcess | undefined;
let runnerUrl: string;

async function scrapeApi(): Promise<Scrape> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: as(VIEWER) });
  expect(res.statusCode).toBe(200);
  return parseExposition(res.body);
}

async function scrapeRunner(): Promise<Scrape> {
  const res = await fetch(`${runnerUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseExposition(await res.text());
}

beforeAll(async () => {
  db = await createTestDatabase();
  app = await buildTestApp(db);
  await createSourceTable(db, 'content.metrics_src (id int PRIMARY KEY, v int NOT NULL)');
  await db.admin.query('INSERT INTO content.metrics_src SELECT i, i % 7 FROM generate_series(1, 3000) i');
  await createSourceTable(db, 'content.metrics_bad (id int PRIMARY KEY, d int NOT NULL)');
  await db.admin.query(
    'INSERT INTO content.metrics_bad SELECT i, CASE WHEN i = 15 THEN 0 ELSE 1 END FROM generate_series(1, 30) i',
  );
});

afterAll(async () => {
  await killAllSpawned();
  await app?.close();
  await db?.drop();
});

describe('/metrics of the API and of a runner during a real run', () => {
  it('reports runs, rows, batches, checkpoints, freshness, takeovers, errors, sync, quota and enrichment', async () => {
    // ---- arrange: pipelines -----------------------------------------------------------------
    // ~2 ms per row keeps each 100-row batch ~200 ms, so the run is scraped while it is RUNNING.
    const slow = await createPipeline(db, {
      name: 'metrics_slow',
      source_query: 'SELECT id, v FROM content.metrics_src WHERE pg_sleep(0.002) IS NOT NULL',
      target_table: 'analytics.metrics_slow',
      unique_key: 'id',
      batch_size: 100,
      freshness: '1h',
    });
    expect(slow.freshness).toBe('1h');
    const never = await createPipeline(db, {
      name: 'metrics_never',
      source_query: 'SELECT id, v FROM content.metrics_src',
      target_table: 'analytics.metrics_never',
      unique_key: 'id',
      freshness: '1s',
    });
    const bad = await createPipeline(db, {
      name: 'metrics_bad',
      source_query: 'SELECT id, 100 / d AS q FROM content.metrics_bad',
      target_table: 'analytics.metrics_bad',
      unique_key: 'id',
      batch_size: 10,
    });
    // A pipeline whose runner died mid-run: the runner under test takes it over.
    const orphan = await createPipeline(db, {
      name: 'metrics_orphan',
      source_query: 'SELECT id, v FROM content.metrics_src WHERE id <= 50',
      target_table: 'analytics.metrics_orphan',
      unique_key: 'id',
    });
    await db.admin.query(
      `UPDATE etl.etl_pipelines SET status = 'RUNNING', lease_owner = 'dead-runner', lease_epoch = 1,
              lease_expires_at = now() - interval '1 second' WHERE id = $1`,
      [orphan.id],
    );

    // ---- arrange: social engine state, written directly (its tables, migration 0012) ---------
    const { rows: account } = await db.admin.query<{ id: string }>(
      `INSERT INTO social.accounts (platform, external_id, handle) VALUES ('youtube', 'UC_metrics', 'metrics')
       RETURNING id`,
    );
    await db.admin.query(
      `INSERT INTO social.accounts (platform, external_id, status, unreachable_code, unreachable_since, next_check_at)
       VALUES ('youtube', 'UC_gone_1', 'unreachable', 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE', now(), now() + interval '1 day'),
              ('youtube', 'UC_gone_2', 'unreachable', 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE', now(), now() + interval '1 day')`,
    );
    const { rows: job } = await db.admin.query<{ id: string }>(
      `INSERT INTO etl.sync_jobs (account_id, platform, status) VALUES ($1, 'youtube', 'RUNNING') RETURNING id`,
      [account[0]!.id],
    );
    await db.admin.query(
      `INSERT INTO etl.sync_tasks (job_id, kind, external_id, status, started_at, not_before, error_code)
       SELECT $1, kind, external_id, status, started_at, not_before, error_code FROM (VALUES
         ('posts', 'a', 'PENDING', NULL::timestamptz, NULL::timestamptz, NULL),
         ('posts', 'b', 'PENDING', NULL, NULL, NULL),
         ('posts', 'c', 'PENDING', now(), NULL, NULL),
         ('comments', 'd', 'WAITING', now() - interval '1 minute', now() + interval '1 hour', NULL),
         ('comments', 'e', 'WAITING', NULL, now() + interval '1 hour', NULL),
         ('comments', 'f', 'WAITING', NULL, now() + interval '1 hour', NULL),
         ('comments', 'g', 'FAILED', now(), NULL, 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED'),
         ('profile', 'h', 'DONE', now(), NULL, NULL)
       ) AS t (kind, external_id, status, started_at, not_before, error_code)`,
      [job[0]!.id],
    );
    await db.admin.query(
      `INSERT INTO etl.quota_limits (platform, credential, calls_per_window, window_ms, daily_units, units_used,
                                     calls_total, rate_limited, used_percent, paused_until)
       VALUES ('youtube', 'key-a', 10, 1000, 10000, 10000, 321, 4, 100, now() + interval '1 hour'),
              ('instagram', 'app-1', 200, 3600000, NULL, 0, 12, 0, 37.5, NULL)`,
    );
    await db.admin.query(
      `INSERT INTO social.enrichment_jobs (platform, item_kind, item_external_id, analysis, status, created_at,
                                           deadline_at, error_code)
       VALUES ('youtube', 'post', 'p1', 'image', 'WAITING', now() - interval '10 minutes', now() - interval '1 minute', NULL),
              ('youtube', 'post', 'p2', 'image', 'PENDING', now() - interval '2 minutes', now() + interval '1 hour', NULL),
              ('youtube', 'post', 'p3', 'image', 'WAITING', now() - interval '1 minute', now() + interval '1 hour', NULL),
              ('youtube', 'post', 'p4', 'image', 'DONE', now() - interval '1 day', now(), NULL),
              ('youtube', 'post', 'p5', 'text', 'FAILED', now() - interval '1 day', now(), 'SIPHON_ERR_CONNECTOR_TRANSIENT'),
              ('youtube', 'post', 'p6', 'text', 'EXPIRED', now() - interval '1 day', now(), 'free text, not a code')`,
    );

    // ---- act: a real `siphon runner` with its metrics listener ------------------------------
    const port = await findFreePort();
    runnerUrl = `http://127.0.0.1:${port}`;
    runner = spawnCli(
      ['runner'],
      cliEnv(db.adminUrl, {
        SIPHON_RUNNER_METRICS_PORT: String(port),
        SIPHON_RUNNER_POLL_INTERVAL: '100ms',
        SIPHON_RUNNER_LEASE: '5s',
      }),
    );
    await waitForOutput(runner, 'runner metrics listening', 60_000);
    await waitForStatus(db, orphan.id, ['IDLE']);
    await requestRun(db, slow.id);
    await requestRun(db, bad.id);

    // ---- assert: during the run ---------------------------------------------------------------
    let during: Scrape | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const scrape = await scrapeRunner();
      if ((value(scrape, 'siphon_runner_rows_read_total', { pipeline: 'metrics_slow' }) ?? 0) >= 200) {
        during = scrape;
        break;
      }
      await sleep(50);
    }
    expect(during, 'the runner never reported a committed batch of metrics_slow').toBeDefined();
    const apiDuring = await scrapeApi();
    const { rows: slowNow } = await db.admin.query('SELECT status FROM etl.etl_pipelines WHERE id = $1', [
      slow.id,
    ]);
    expect(slowNow[0].status, 'the run ended before it could be observed; make batches slower').toBe(
      'RUNNING',
    );

    const r = during!;
    expect(
      value(r, 'siphon_runner_runs_started_total', { pipeline: 'metrics_slow', takeover: 'false' }),
    ).toBe(1);
    expect(value(r, 'siphon_runner_active_runs')).toBeGreaterThanOrEqual(1);
    const readSoFar = value(r, 'siphon_runner_rows_read_total', { pipeline: 'metrics_slow' })!;
    expect(readSoFar % 100).toBe(0);
    expect(readSoFar).toBeLessThan(3000);
    const batchCount = value(r, 'siphon_runner_batch_duration_seconds_count', { pipeline: 'metrics_slow' })!;
    expect(batchCount).toBe(readSoFar / 100);
    // Each batch sleeps 100 × 2 ms: none can be under 0.1 s, and the +Inf bucket holds them all.
    expect(
      value(r, 'siphon_runner_batch_duration_seconds_bucket', { pipeline: 'metrics_slow', le: '0.1' }),
    ).toBe(0);
    expect(
      value(r, 'siphon_runner_batch_duration_seconds_bucket', { pipeline: 'metrics_slow', le: '+Inf' }),
    ).toBe(batchCount);
    expect(
      value(r, 'siphon_runner_batch_duration_seconds_sum', { pipeline: 'metrics_slow' }),
    ).toBeGreaterThan(0.2 * batchCount - 0.001);
    expect(value(r, 'siphon_runner_lease_takeovers_total', { pipeline: 'metrics_orphan' })).toBe(1);
    expect(value(r, 'siphon_runner_runs_total', { pipeline: 'metrics_orphan', outcome: 'success' })).toBe(1);
    expect(value(r, 'siphon_runner_process_resident_memory_bytes')).toBeGreaterThan(1_000_000);
    expect(r.types.get('siphon_runner_batch_duration_seconds')).toBe('histogram');

    const a = apiDuring;
    expect(value(a, 'siphon_pipeline_status', { pipeline: 'metrics_slow', status: 'RUNNING' })).toBe(1);
    expect(value(a, 'siphon_pipeline_status', { pipeline: 'metrics_slow', status: 'IDLE' })).toBe(0);
    expect(value(a, 'siphon_pipeline_runs_total', { pipeline: 'metrics_slow', status: 'RUNNING' })).toBe(1);
    expect(value(a, 'siphon_pipeline_rows_read_total', { pipeline: 'metrics_slow' })).toBeGreaterThanOrEqual(
      readSoFar,
    );
    const progress = value(a, 'siphon_run_last_progress_age_seconds', { pipeline: 'metrics_slow' })!;
    expect(progress).toBeGreaterThanOrEqual(0);
    expect(progress).toBeLessThan(5);
    expect(value(a, 'siphon_checkpoint_age_seconds', { pipeline: 'metrics_slow' })).toBeLessThan(5);
    expect(value(a, 'siphon_lease_duration_seconds')).toBe(5);
    expect(value(a, 'siphon_runners_live')).toBe(1);
    expect(value(a, 'siphon_lease_takeovers_total', { pipeline: 'metrics_orphan' })).toBe(1);
    expect(value(a, 'siphon_lease_takeovers_total', { pipeline: 'metrics_slow' })).toBe(0);
    expect(value(a, 'siphon_batch_duration_seconds_count')).toBeGreaterThanOrEqual(batchCount);
    // Sync tasks by state, from the rows inserted above.
    const task = (kind: string, state: string) =>
      value(a, 'siphon_sync_tasks', { platform: 'youtube', kind, state });
    expect(task('posts', 'queued')).toBe(2);
    expect(task('posts', 'running')).toBe(1);
    expect(task('comments', 'waiting')).toBe(3);
    expect(task('comments', 'failed')).toBe(1);
    expect(task('profile', 'done')).toBe(1);
    expect(value(a, 'siphon_sync_jobs', { platform: 'youtube', status: 'RUNNING' })).toBe(1);
    expect(value(a, 'siphon_social_accounts', { platform: 'youtube', status: 'active' })).toBe(1);
    expect(value(a, 'siphon_social_accounts', { platform: 'youtube', status: 'unreachable' })).toBe(2);
    // Quota per credential.
    const yt = { platform: 'youtube', credential: 'key-a' };
    const ig = { platform: 'instagram', credential: 'app-1' };
    expect(value(a, 'siphon_quota_calls_total', yt)).toBe(321);
    expect(value(a, 'siphon_quota_rate_limited_total', yt)).toBe(4);
    expect(value(a, 'siphon_quota_units_used', yt)).toBe(10000);
    expect(value(a, 'siphon_quota_daily_units', yt)).toBe(10000);
    expect(value(a, 'siphon_quota_units_remaining', yt)).toBe(0);
    expect(value(a, 'siphon_quota_exhausted', yt)).toBe(1);
    expect(value(a, 'siphon_quota_paused_seconds', yt)).toBeGreaterThan(3500);
    expect(value(a, 'siphon_quota_calls_total', ig)).toBe(12);
    expect(value(a, 'siphon_quota_used_ratio', ig)).toBeCloseTo(0.375);
    expect(value(a, 'siphon_quota_exhausted', ig)).toBe(0);
    expect(value(a, 'siphon_quota_units_remaining', ig)).toBeUndefined();
    // Enrichment: three open image items, the oldest 10 minutes old, one past its deadline.
    const image = { platform: 'youtube', analysis: 'image' };
    expect(value(a, 'siphon_enrichment_waiting', image)).toBe(3);
    expect(value(a, 'siphon_enrichment_oldest_wait_seconds', image)).toBeGreaterThanOrEqual(600);
    expect(value(a, 'siphon_enrichment_oldest_wait_seconds', image)).toBeLessThan(700);
    expect(value(a, 'siphon_enrichment_past_deadline', image)).toBe(1);
    expect(value(a, 'siphon_enrichment_waiting', { platform: 'youtube', analysis: 'text' })).toBeUndefined();
    // Errors by code; a stored value that is not a catalogue code becomes `other`.
    expect(
      value(a, 'siphon_errors_total', { source: 'sync_task', code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED' }),
    ).toBe(1);
    expect(
      value(a, 'siphon_errors_total', { source: 'enrichment', code: 'SIPHON_ERR_CONNECTOR_TRANSIENT' }),
    ).toBe(1);
    expect(value(a, 'siphon_errors_total', { source: 'enrichment', code: 'other' })).toBe(1);

    // ---- assert: after the runs -------------------------------------------------------------
    await waitForStatus(db, slow.id, ['IDLE']);
    await waitForStatus(db, bad.id, ['FAILED']);
    const r2 = await scrapeRunner();
    const a2 = await scrapeApi();
    expect(value(r2, 'siphon_runner_runs_total', { pipeline: 'metrics_slow', outcome: 'success' })).toBe(1);
    expect(value(r2, 'siphon_runner_rows_read_total', { pipeline: 'metrics_slow' })).toBe(3000);
    expect(value(r2, 'siphon_runner_rows_written_total', { pipeline: 'metrics_slow' })).toBe(3000);
    expect(value(r2, 'siphon_runner_batch_duration_seconds_count', { pipeline: 'metrics_slow' })).toBe(30);
    expect(value(r2, 'siphon_runner_runs_total', { pipeline: 'metrics_bad', outcome: 'failed' })).toBe(1);
    expect(value(r2, 'siphon_runner_errors_total', { code: 'SIPHON_ERR_BATCH_FAILED' })).toBe(1);
    expect(value(r2, 'siphon_runner_active_runs')).toBe(0);

    expect(value(a2, 'siphon_pipeline_runs_total', { pipeline: 'metrics_slow', status: 'SUCCESS' })).toBe(1);
    expect(
      value(a2, 'siphon_pipeline_runs_total', { pipeline: 'metrics_slow', status: 'RUNNING' }),
    ).toBeUndefined();
    expect(value(a2, 'siphon_pipeline_rows_read_total', { pipeline: 'metrics_slow' })).toBe(3000);
    expect(value(a2, 'siphon_pipeline_rows_written_total', { pipeline: 'metrics_slow' })).toBe(3000);
    expect(value(a2, 'siphon_pipeline_rows_deleted_total', { pipeline: 'metrics_slow' })).toBe(0);
    expect(value(a2, 'siphon_run_last_progress_age_seconds', { pipeline: 'metrics_slow' })).toBeUndefined();
    expect(value(a2, 'siphon_pipeline_status', { pipeline: 'metrics_bad', status: 'FAILED' })).toBe(1);
    expect(value(a2, 'siphon_pipeline_runs_total', { pipeline: 'metrics_bad', status: 'FAILED' })).toBe(1);
    expect(value(a2, 'siphon_errors_total', { source: 'run', code: 'SIPHON_ERR_BATCH_FAILED' })).toBe(1);
    // Freshness: metrics_slow just succeeded (1 h allowed); metrics_never has never run (1 s allowed).
    expect(value(a2, 'siphon_pipeline_freshness_seconds', { pipeline: 'metrics_slow' })).toBe(3600);
    expect(value(a2, 'siphon_pipeline_freshness_exceeded', { pipeline: 'metrics_slow' })).toBe(0);
    expect(value(a2, 'siphon_last_success_age_seconds', { pipeline: 'metrics_slow' })).toBeLessThan(10);
    expect(value(a2, 'siphon_pipeline_freshness_seconds', { pipeline: never.name })).toBe(1);
    expect(value(a2, 'siphon_pipeline_staleness_seconds', { pipeline: never.name })).toBeGreaterThan(1);
    expect(value(a2, 'siphon_pipeline_freshness_exceeded', { pipeline: never.name })).toBe(1);
    expect(value(a2, 'siphon_pipeline_freshness_exceeded', { pipeline: 'metrics_bad' })).toBeUndefined();

    // Both expositions pass Prometheus's own linter, where it is installed.
    for (const scrape of [r2, a2]) {
      const lint = promtoolLint(scrape);
      if (lint !== undefined) expect(lint).toBe('');
    }

    runner.kill('SIGTERM');
    expect(await exited(runner)).toBe(0);
  });

  it('freshness is validated when a pipeline is saved and shown when it is read', async () => {
    const base = {
      source_query: 'SELECT id, v FROM content.metrics_src',
      target_table: 'analytics.metrics_fresh',
      unique_key: 'id',
    };
    for (const freshness of ['2 hours', '0h', '15', '1w', '']) {
      const res = await app.inject({
        method: 'POST',
        url: '/pipelines',
        headers: as(OPERATOR),
        payload: { ...base, name: 'metrics_fresh', freshness },
      });
      expect(res.statusCode, freshness).toBe(422);
      expect(res.json().error.field).toBe('freshness');
    }
    const created = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: { ...base, name: 'metrics_fresh', freshness: '90m' },
    });
    expect(created.statusCode).toBe(201);
    const read = await app.inject({ method: 'GET', url: '/pipelines/metrics_fresh', headers: as(VIEWER) });
    expect(read.json().freshness).toBe('90m');
    const scrape = await scrapeApi();
    expect(value(scrape, 'siphon_pipeline_freshness_seconds', { pipeline: 'metrics_fresh' })).toBe(5400);
    expect(value(scrape, 'siphon_pipeline_freshness_exceeded', { pipeline: 'metrics_fresh' })).toBe(0);
  });

  it('a runner without SIPHON_RUNNER_METRICS_PORT opens no listener', async () => {
    const child = spawnCli(['runner'], cliEnv(db.adminUrl, { SIPHON_RUNNER_POLL_INTERVAL: '100ms' }));
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForOutput(child, 'runner started', 60_000);
    // The CLI installs its SIGTERM handler just after this line is logged.
    await sleep(500);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(output).not.toContain('runner metrics listening');
  });
});
