import { setTimeout as sleep } from 'node:timers/promises';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MlClient, type MlJobRequest } from '../../src/connectors/ml/index.js';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { withTransaction } from '../../src/db/pool.js';
import {
  ENRICHMENT_EXPIRED,
  ENRICHMENT_FAILED,
  enqueueEnrichment,
  enrichmentSummary,
  requeueOverdue,
  type EnrichmentItem,
  type EnrichmentPolicy,
} from '../../src/enrichment/index.js';
import { initTracing, inSpan, shutdownTracing } from '../../src/observability/index.js';
import { startMlSimulator, type RunningMlSimulator } from '../../src/simulators/ml/index.js';
import { startYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { startSyncWorkers, type SyncWorkers } from '../../src/sync/sync-workers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createPipeline,
  requestRun,
  silentLogger,
  startTestRunner,
  waitForStatus,
} from '../helpers/runner.js';

const TOKEN = 'enrichment-test-token';
/** Short waits so that a test sees several polls in a few seconds. */
const FAST: EnrichmentPolicy = { firstPollMs: 100, maxPollMs: 400, maxSubmits: 3 };

const exporter = new InMemorySpanExporter();
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  await initTracing({ exporter, exportEachSpan: true });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await shutdownTracing();
});

interface Setup {
  readonly db: TestDatabase;
  readonly sim: RunningMlSimulator;
  readonly ml: MlClient;
}

async function setup(options: Parameters<typeof startMlSimulator>[0] = {}): Promise<Setup> {
  const db = await createTestDatabase();
  const sim = await startMlSimulator({ tokens: [TOKEN], ...options });
  cleanups.push(async () => {
    await sim.close();
    await db.drop();
  });
  return { db, sim, ml: new MlClient({ baseUrl: sim.baseUrl, token: TOKEN, timeoutMs: 5000 }) };
}

async function startWorkers(
  s: Setup,
  concurrency = 2,
  policy: EnrichmentPolicy = FAST,
): Promise<SyncWorkers> {
  const workers = await startSyncWorkers({
    pool: s.db.writer,
    adapters: new Map(),
    logger: silentLogger,
    runnerId: `enrichment-test-${Math.random()}`,
    concurrency,
    pollIntervalMs: 100,
    ml: s.ml,
    enrichment: policy,
  });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await workers.stop();
  });
  return {
    stop: async () => {
      stopped = true;
      await workers.stop();
    },
  };
}

const text = (
  externalId: string,
  body: string,
  kind: EnrichmentItem['kind'] = 'comment',
): EnrichmentItem => ({
  kind,
  externalId,
  request: { analysis: 'text', input: { text: body } },
});

async function enqueue(
  s: Setup,
  items: readonly EnrichmentItem[],
  extra: { runId?: string | null; deadlineMs?: number } = {},
): Promise<number> {
  return withTransaction(s.db.writer, (tx) =>
    enqueueEnrichment(tx, { platform: 'youtube', runId: extra.runId ?? null, items, ...extra }),
  );
}

interface JobRow {
  item_external_id: string;
  item_kind: string;
  analysis: 'image' | 'text';
  status: string;
  attempts: number;
  error_code: string | null;
  error: string | null;
  input: Record<string, string>;
  external_job_id: string | null;
}

async function jobs(db: TestDatabase): Promise<JobRow[]> {
  const { rows } = await db.admin.query<JobRow>(
    `SELECT item_external_id, item_kind, analysis, status, attempts, error_code, error, input, external_job_id
       FROM social.enrichment_jobs ORDER BY item_kind, item_external_id, analysis`,
  );
  return rows;
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const allIn = (db: TestDatabase, statuses: string[]) => async () =>
  (await jobs(db)).every((j) => statuses.includes(j.status));

async function resultOf(db: TestDatabase, kind: string, id: string, analysis: string): Promise<unknown> {
  const { rows } = await db.admin.query(
    `SELECT result FROM social.enrichment_results
      WHERE item_kind = $1 AND item_external_id = $2 AND analysis = $3`,
    [kind, id, analysis],
  );
  return rows[0]?.result;
}

const requestOf = (job: JobRow): MlJobRequest =>
  job.analysis === 'image'
    ? { analysis: 'image', input: { url: job.input.url! } }
    : { analysis: 'text', input: { text: job.input.text! } };

describe('enrichment', () => {
  it('queues items with their page, waits without holding the only worker, and lands every result', async () => {
    // Results take far longer than the whole sync: a worker that waited in place would block the run.
    const s = await setup({ completionDelayMs: 600_000 });
    const yt = await startYouTubeSimulator({
      seed: 7,
      channels: 2,
      videosPerChannel: [4, 8],
      commentThreadsPerVideo: [0, 3],
      repliesPerThread: [0, 2],
      apiKeys: ['yt-key'],
      asOf: new Date(Date.now() - 3_600_000).toISOString(),
    });
    cleanups.push(() => yt.close());
    const client = new YouTubeClient({ baseUrl: yt.baseUrl, apiKey: 'yt-key', timeoutMs: 5000 });
    const adapters = new Map<string, PlatformAdapter>([['youtube', new YouTubeAdapter({ client })]]);
    const runner = await startTestRunner(s.db, {
      sync: { adapters, concurrency: 1, ml: s.ml, enrichment: FAST },
    });
    cleanups.push(() => runner.stop());
    const pipeline = await createPipeline(s.db, {
      name: 'yt_enriched',
      kind: 'social',
      mode: 'incremental',
      social: {
        platform: 'youtube',
        accounts: [yt.control.channelId(0), yt.control.channelId(1)],
        rate: { calls: 1000, window: '1s' },
      },
    });
    await requestRun(s.db, pipeline.id);
    await waitForStatus(s.db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
    const { rows: runs } = await s.db.admin.query<{ id: string; status: string }>(
      'SELECT id, status FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(runs).toMatchObject([{ status: 'SUCCESS' }]);
    const runId = runs[0]!.id;

    // Every written row with text or a picture has its item, opened by the page that wrote it.
    const { rows: expected } = await s.db.admin.query<{ kind: string; id: string; analysis: string }>(
      `SELECT 'profile' AS kind, external_id AS id, 'text' AS analysis FROM social.profiles
        WHERE coalesce(trim(description), '') <> ''
       UNION ALL SELECT 'post', external_id, 'text' FROM social.posts
        WHERE coalesce(trim(title), '') <> '' OR coalesce(trim(description), '') <> ''
       UNION ALL SELECT 'post', external_id, 'image' FROM social.posts p WHERE thumbnail_url IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM social.media m WHERE m.post_external_id = p.external_id)
       UNION ALL SELECT 'media', external_id, 'image' FROM social.media WHERE thumbnail_url IS NOT NULL
       UNION ALL SELECT 'comment', external_id, 'text' FROM social.comments WHERE coalesce(trim(text), '') <> ''
       ORDER BY 1, 2, 3`,
    );
    const opened = await jobs(s.db);
    expect(expected.length).toBeGreaterThan(20);
    expect(opened.map((j) => ({ kind: j.item_kind, id: j.item_external_id, analysis: j.analysis }))).toEqual(
      expected,
    );

    // The run is over, its items still wait: the API's view of the run says so (read as siphon_api).
    await waitUntil('every item submitted', allIn(s.db, ['WAITING']));
    const waiting = await enrichmentSummary(s.db.api, runId);
    expect(waiting).toMatchObject({ waiting: expected.length, done: 0, failed: 0, expired: 0 });
    expect(waiting.oldestWaitSeconds).toBeGreaterThan(0);

    // The service finishes: each result lands in its own table, as the service computed it.
    s.sim.control.finishNow();
    await waitUntil('every result', allIn(s.db, ['DONE']));
    for (const job of await jobs(s.db)) {
      expect(await resultOf(s.db, job.item_kind, job.item_external_id, job.analysis)).toEqual(
        s.sim.control.expected(requestOf(job)),
      );
    }
    expect(await enrichmentSummary(s.db.api, runId)).toEqual({
      waiting: 0,
      oldestWaitSeconds: 0,
      done: expected.length,
      failed: 0,
      expired: 0,
    });
    // One job per item at the service: no resubmits.
    expect(s.sim.control.jobs()).toHaveLength(expected.length);
  });

  it('twenty items waiting through many polls leave a one-worker pool free for other jobs', async () => {
    const s = await setup({ completionDelayMs: 3000 });
    await startWorkers(s, 1);
    const items = Array.from({ length: 20 }, (_, i) => text(`c${i}`, `comment number ${i} is lovely #n${i}`));
    expect(await enqueue(s, items)).toBe(20);
    await waitUntil('all submitted', allIn(s.db, ['WAITING']));

    // An unrelated job (a sync step whose task is gone: it just ends) runs at once on the only worker.
    const queuedAt = Date.now();
    await s.db.writer.query(
      `SELECT graphile_worker.add_job('siphon_sync_step', json_build_object('taskId', 987654), job_key := 'other')`,
    );
    await waitUntil('the unrelated job', async () => {
      const { rows } = await s.db.writer.query(`SELECT 1 FROM graphile_worker.jobs WHERE key = 'other'`);
      return rows.length === 0;
    });
    expect(Date.now() - queuedAt).toBeLessThan(1500);
    expect((await jobs(s.db)).filter((j) => j.status === 'WAITING')).toHaveLength(20);

    await waitUntil('every result', allIn(s.db, ['DONE']));
    // Each item was polled several times (the delay spans many polls), with doubling waits: not dozens.
    const polls = s.sim.control.requests().filter((r) => r.route === 'poll').length;
    expect(polls).toBeGreaterThanOrEqual(20 * 4);
    expect(polls).toBeLessThanOrEqual(20 * 14);
    for (const job of await jobs(s.db)) {
      expect(job.attempts).toBe(1);
      expect(await resultOf(s.db, 'comment', job.item_external_id, 'text')).toEqual(
        s.sim.control.expected(requestOf(job)),
      );
    }
  });

  it('fails for good on a non-retryable job failure, submits again after a retryable one, expires at the deadline', async () => {
    const s = await setup({ completionDelayMs: 200 });
    await startWorkers(s);

    // Retryable: the model failed once; the item is submitted again and its result lands.
    s.sim.control.failNextJobs(1);
    await enqueue(s, [text('retry', 'try me again')]);
    await waitUntil('retried item done', allIn(s.db, ['DONE']));
    expect(await jobs(s.db)).toMatchObject([{ status: 'DONE', attempts: 2, error_code: null }]);

    // Not retryable: FAILED with the catalogue code and the service's reason.
    s.sim.control.failNextJobs(1, { code: 'content_policy', message: 'refused', retryable: false });
    await enqueue(s, [text('refused', 'please refuse this')]);
    await waitUntil('refused', async () =>
      (await jobs(s.db)).some((j) => j.item_external_id === 'refused' && j.status === 'FAILED'),
    );
    // An image the service cannot fetch fails as well.
    await enqueue(s, [
      {
        kind: 'media',
        externalId: 'm1',
        request: { analysis: 'image', input: { url: 'https://cdn.invalid/a.jpg' } },
      },
    ]);
    await waitUntil('failures', allIn(s.db, ['DONE', 'FAILED']));
    const failed = (await jobs(s.db)).filter((j) => j.status === 'FAILED');
    expect(failed).toMatchObject([
      { item_external_id: 'refused', error_code: ENRICHMENT_FAILED, attempts: 1 },
      { item_external_id: 'm1', error_code: ENRICHMENT_FAILED, attempts: 1 },
    ]);
    expect(failed[0]!.error).toContain('content_policy');
    expect(failed[1]!.error).toContain('input_unreachable');

    // Retryable every time: after maxSubmits submissions it fails.
    s.sim.control.failNextJobs(3);
    await enqueue(s, [text('flaky', 'always failing')]);
    await waitUntil('flaky failed', async () =>
      (await jobs(s.db)).some((j) => j.item_external_id === 'flaky' && j.status === 'FAILED'),
    );
    expect((await jobs(s.db)).find((j) => j.item_external_id === 'flaky')).toMatchObject({
      attempts: 3,
      error_code: ENRICHMENT_FAILED,
    });

    // A service that never answers in time: EXPIRED at the deadline, not a backoff later.
    s.sim.control.configure({ completionDelayMs: { image: 600_000, text: 600_000 } });
    const start = Date.now();
    await enqueue(s, [text('slow', 'this takes forever')], { deadlineMs: 1500 });
    await waitUntil('expired', async () =>
      (await jobs(s.db)).some((j) => j.item_external_id === 'slow' && j.status === 'EXPIRED'),
    );
    expect(Date.now() - start).toBeLessThan(4000);
    expect((await jobs(s.db)).find((j) => j.item_external_id === 'slow')).toMatchObject({
      error_code: ENRICHMENT_EXPIRED,
    });
    expect(await resultOf(s.db, 'comment', 'slow', 'text')).toBeUndefined();

    // A changed text re-opens an item; the same text again does not.
    s.sim.control.configure({ completionDelayMs: { image: 200, text: 200 } });
    expect(await enqueue(s, [text('retry', 'try me again')])).toBe(0);
    expect(await enqueue(s, [text('retry', 'a new text :)')])).toBe(1);
    await waitUntil('re-opened item done', async () =>
      (await jobs(s.db)).some((j) => j.item_external_id === 'retry' && j.status === 'DONE'),
    );
    expect(await resultOf(s.db, 'comment', 'retry', 'text')).toEqual(
      s.sim.control.expected({ analysis: 'text', input: { text: 'a new text :)' } }),
    );
  });

  it('survives 429 with Retry-After, 5xx and dropped connections without failing an item', async () => {
    const s = await setup({ completionDelayMs: 300, maxActiveJobs: 2 });
    s.sim.control.faults.rateLimitNext(2, { retryAfterSeconds: 1, route: 'submit' });
    s.sim.control.faults.failNext(3, 503, 'poll');
    s.sim.control.faults.failNext(1, 500, 'submit');
    s.sim.control.faults.dropNext(1, 'poll');
    await startWorkers(s, 3);
    const items = Array.from({ length: 6 }, (_, i) => text(`t${i}`, `text ${i} about football`));
    await enqueue(s, items);
    await waitUntil('every result', allIn(s.db, ['DONE']), 30_000);

    const statuses = s.sim.control.requests().map((r) => r.status);
    expect(statuses.filter((st) => st === 429).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((st) => st >= 500).length).toBe(4);
    expect(statuses).toContain(0);
    for (const job of await jobs(s.db)) {
      expect(job).toMatchObject({ status: 'DONE', error_code: null });
      expect(await resultOf(s.db, 'comment', job.item_external_id, 'text')).toEqual(
        s.sim.control.expected(requestOf(job)),
      );
    }
  });

  it('lands results after the workers stop while items wait and new ones start', async () => {
    const s = await setup({ completionDelayMs: 1500 });
    const first = await startWorkers(s);
    await enqueue(
      s,
      Array.from({ length: 10 }, (_, i) => text(`k${i}`, `kill and restart ${i}`)),
    );
    await waitUntil('all submitted', allIn(s.db, ['WAITING']));
    await first.stop();
    const submitted = (await jobs(s.db)).map((j) => j.external_job_id);
    await sleep(1800); // the service finishes while no worker runs
    expect((await jobs(s.db)).every((j) => j.status === 'WAITING')).toBe(true);

    await startWorkers(s);
    await waitUntil('every result', allIn(s.db, ['DONE']));
    // The new workers polled the jobs the old ones submitted: nothing was submitted twice.
    expect((await jobs(s.db)).map((j) => j.external_job_id)).toEqual(submitted);
    expect(s.sim.control.jobs()).toHaveLength(10);
  });

  it('re-queues items whose poll job was lost', async () => {
    const s = await setup({ completionDelayMs: 100 });
    await enqueue(s, [text('a', 'lost job one'), text('b', 'lost job two')]);
    await s.db.writer.query(
      `SELECT graphile_worker.remove_job('enrichment:' || id) FROM social.enrichment_jobs`,
    );
    expect(await requeueOverdue(s.db.writer, 0)).toBe(2);
    await startWorkers(s);
    await waitUntil('every result', allIn(s.db, ['DONE']));
  });

  it('a poll resumed later starts its own trace with a link to the page that queued the item', async () => {
    const s = await setup({ completionDelayMs: 100 });
    exporter.reset();
    let pageTraceId = '';
    await inSpan('test.page', {}, async (span) => {
      pageTraceId = span.spanContext().traceId;
      await enqueue(s, [text('traced', 'follow this one')]);
    });
    await startWorkers(s);
    await waitUntil('done', allIn(s.db, ['DONE']));
    const polls = exporter.getFinishedSpans().filter((sp) => sp.name === 'siphon.enrichment.poll');
    expect(polls.length).toBeGreaterThanOrEqual(2);
    for (const poll of polls) {
      expect(poll.spanContext().traceId).not.toBe(pageTraceId);
      expect(poll.links.map((l) => l.context.traceId)).toEqual([pageTraceId]);
    }
  });
});
