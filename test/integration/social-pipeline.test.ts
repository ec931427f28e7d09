import { afterEach, describe, expect, it } from 'vitest';
import { retryAfterGuard } from '../../src/connectors/retry-after.fetch.js';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import type { Runner } from '../../src/runner/index.js';
import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { requestStatus } from '../../src/pipelines/index.js';
import { count, createPipeline, requestRun, startTestRunner, waitForStatus } from '../helpers/runner.js';
import { expectYouTubeTablesMatchTruth } from '../helpers/youtube-truth.js';

const KEY = 'social-pipeline-key';

/** One request the client sent: when it left, when its answer came, and the HTTP status (0: dropped). */
interface Sent {
  readonly method: string;
  readonly query: string;
  readonly at: number;
  done: number;
  status: number;
}

interface Setup {
  readonly db: TestDatabase;
  readonly sim: RunningYouTubeSimulator;
  readonly channels: string[];
  readonly adapters: Map<string, PlatformAdapter>;
  readonly sent: Sent[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(seed: number, channels = 3, profileBatchWindowMs?: number): Promise<Setup> {
  const db = await createTestDatabase();
  const sim = await startYouTubeSimulator({
    seed,
    channels,
    videosPerChannel: [15, 35],
    commentThreadsPerVideo: [0, 6],
    repliesPerThread: [0, 7],
    apiKeys: [KEY],
    asOf: new Date(Date.now() - 3_600_000).toISOString(),
  });
  cleanups.push(async () => {
    await sim.close();
    await db.drop();
  });
  const sent: Sent[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    url.searchParams.delete('key');
    const request: Sent = {
      method: url.pathname.split('/').pop()!,
      query: url.search,
      at: Date.now(),
      done: 0,
      status: 0,
    };
    sent.push(request);
    try {
      const response = await fetch(input, init);
      request.status = response.status;
      return response;
    } finally {
      request.done = Date.now();
    }
  };
  const client = new YouTubeClient({
    baseUrl: sim.baseUrl,
    apiKey: KEY,
    timeoutMs: 5000,
    fetch: retryAfterGuard(recordingFetch),
  });
  const adapters = new Map<string, PlatformAdapter>([
    [
      'youtube',
      new YouTubeAdapter({
        client,
        postsPageSize: 10,
        commentsPageSize: 20,
        ...(profileBatchWindowMs === undefined ? {} : { profileBatchWindowMs }),
      }),
    ],
  ]);
  const ids = Array.from({ length: channels }, (_, i) => sim.control.channelId(i));
  return { db, sim, channels: ids, adapters, sent };
}

async function startRunner(s: Setup, concurrency = 4): Promise<Runner> {
  const runner = await startTestRunner(s.db, {
    sync: { adapters: s.adapters, concurrency, retryBaseMs: 100 },
  });
  cleanups.push(() => runner.stop());
  return runner;
}

const socialSpec = (s: Setup, extra: Record<string, unknown> = {}) => ({
  name: 'youtube_sync',
  kind: 'social' as const,
  mode: 'incremental' as const,
  social: {
    platform: 'youtube' as const,
    accounts: s.channels,
    rate: { calls: 1000, window: '1s' },
    ...extra,
  },
});

async function runOnce(s: Setup, pipelineId: string, statuses = ['IDLE', 'FAILED']): Promise<void> {
  await requestRun(s.db, pipelineId);
  await waitForStatus(s.db, pipelineId, ['RUNNING', ...statuses], 10_000);
  await waitForStatus(s.db, pipelineId, statuses, 60_000);
}

async function lastRun(s: Setup, pipelineId: string) {
  const { rows } = await s.db.admin.query(
    'SELECT * FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
    [pipelineId],
  );
  return rows[0];
}

/** The same page asked for twice (same method and parameters) in the raw zone. */
async function refetchedPages(s: Setup): Promise<number> {
  const { rows } = await s.db.admin.query(
    `SELECT count(*)::int AS n FROM (
       SELECT request FROM social.raw_responses GROUP BY request, external_id HAVING count(*) > 1) d`,
  );
  return rows[0].n;
}

describe('a social pipeline', () => {
  it('syncs every account through the runner: the tables hold exactly what the platform holds', async () => {
    const s = await setup(31);
    await startRunner(s);
    const pipeline = await createPipeline(s.db, socialSpec(s));
    await requestRun(s.db, pipeline.id);
    await waitForStatus(s.db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
    const { rows: runs } = await s.db.admin.query(
      'SELECT status, error, rows_read, rows_written, batches FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'SUCCESS', error: null });
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);

    const { rows: jobs } = await s.db.admin.query(
      `SELECT j.status, (SELECT sum(t.calls)::int FROM etl.sync_tasks t WHERE t.job_id = j.id) AS calls
         FROM etl.sync_jobs j WHERE j.pipeline_id = $1`,
      [pipeline.id],
    );
    expect(jobs.map((j) => j.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    // Every request the simulator answered was counted on a task; the tasks' pages, items and rows
    // written became the run's batches, rows read and rows written when their jobs closed.
    const calls = jobs.reduce((sum, j) => sum + j.calls, 0);
    expect(calls).toBe(s.sim.control.requests().length);
    const { rows: pages } = await s.db.admin.query(
      'SELECT sum(pages)::int AS pages, sum(items)::int AS items, sum(written)::int AS written FROM etl.sync_tasks',
    );
    expect(runs[0]).toMatchObject({
      batches: pages[0].pages,
      rows_read: pages[0].items,
      rows_written: pages[0].written,
    });
    expect(pages[0].written).toBeGreaterThan(0);
    // Every answer is in the raw zone: one page per call, except that the concurrent profile lookups
    // shared channels.list calls and each account keeps its own channel's page.
    const channelsCalls = s.sim.control.requests().filter((r) => r.method === 'channels').length;
    expect(channelsCalls).toBeLessThan(s.channels.length);
    const { rows: raw } = await s.db.admin.query('SELECT count(*)::int AS n FROM social.raw_responses');
    expect(raw[0].n).toBe(calls - channelsCalls + s.channels.length);
    const { rows: queue } = await s.db.admin.query('SELECT count(*)::int AS n FROM graphile_worker.jobs');
    expect(queue[0].n).toBe(0);
    const { rows: accounts } = await s.db.admin.query(
      'SELECT count(*)::int AS n FROM social.accounts WHERE last_synced_at IS NOT NULL',
    );
    expect(accounts[0].n).toBe(3);
  });

  it('brings the tables back to the platform after changes, marks deletions, with far fewer calls', async () => {
    const s = await setup(32);
    const [a, b] = s.channels as [string, string];
    // Recent content, so that the incremental sync's lookback covers it.
    const fresh = s.sim.control.addVideo(a, { title: 'Fresh upload' });
    const keep = s.sim.control.addComment(fresh, { text: 'stays' });
    const gone = s.sim.control.addComment(fresh, { text: 'will be deleted' });
    await startRunner(s);
    const pipeline = await createPipeline(s.db, socialSpec(s));
    await runOnce(s, pipeline.id);
    expect((await lastRun(s, pipeline.id)).status).toBe('SUCCESS');
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
    const firstCalls = s.sent.length;

    s.sim.control.deleteComment(gone);
    s.sim.control.editComment(keep, 'edited text');
    const added = s.sim.control.addVideo(b, { title: 'Another new upload' });
    s.sim.control.addComment(added, { text: 'First!' });
    s.sim.control.bumpVideoCounters(fresh, { views: 1000, likes: 7 });
    s.sim.control.updateVideo(fresh, { title: 'Fresh upload, renamed' });

    await runOnce(s, pipeline.id);
    expect((await lastRun(s, pipeline.id)).status).toBe('SUCCESS');
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
    const { rows } = await s.db.admin.query(
      'SELECT external_id, deleted_at IS NOT NULL AS deleted FROM social.comments WHERE external_id = ANY($1)',
      [[gone, keep]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.external_id, r.deleted]))).toEqual({
      [gone]: true,
      [keep]: false,
    });
    const secondCalls = s.sent.length - firstCalls;
    expect(secondCalls).toBeLessThan(firstCalls / 4);
  });

  it('survives 5xx, dropped connections and 429s: exact end state, nothing sent before Retry-After', async () => {
    // Each profile its own call: the burst of faults at the start then spreads over three steps, as
    // it does over posts and comments pages. On one shared channels.list call every fault would be an
    // attempt of all three at once (youtube.adapter.test.ts covers failures of a shared call).
    const s = await setup(33, 3, 0);
    let n = 0;
    const arm = setInterval(() => {
      // Faults keep arriving during the first second or so of the sync.
      n += 1;
      if (n > 25) return;
      if (n % 3 === 0) s.sim.control.faults.failNext(1, 503);
      if (n % 4 === 0) s.sim.control.faults.dropNext(1);
      if (n === 2 || n === 9) s.sim.control.faults.rateLimitNext(1, { variant: '429', retryAfterSeconds: 1 });
    }, 40);
    await startRunner(s);
    const pipeline = await createPipeline(s.db, socialSpec(s));
    try {
      await runOnce(s, pipeline.id);
    } finally {
      clearInterval(arm);
    }
    expect((await lastRun(s, pipeline.id)).status).toBe('SUCCESS');
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
    const limited = s.sent.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(s.sent.filter((r) => r.status >= 500 || r.status === 0).length).toBeGreaterThan(0);
    for (const refusal of limited) {
      // Requests already on the wire when the 429 arrived could not know; none may leave after it.
      // `done` is stamped by the recording fetch one promise hop before the guard sees the answer: a
      // request whose guard check ran in that hop (a few ms, more under a GC pause on a loaded
      // machine) left before the barrier existed. None may leave later than that and before the wait.
      const HOP_MS = 100;
      const next = s.sent.filter((r) => r.at >= refusal.done + HOP_MS && r !== refusal);
      expect(next.length).toBeGreaterThan(0);
      // The credential is paced by the database's clock; allow a few ms of clock and timer slack.
      expect(Math.min(...next.map((r) => r.at))).toBeGreaterThanOrEqual(refusal.done + 1000 - 15);
      const inHop = s.sent.filter(
        (r) => r !== refusal && r.at >= refusal.done && r.at < refusal.done + HOP_MS,
      );
      expect(inHop.length).toBeLessThanOrEqual(4); // at most the sync steps running at once
    }
    const { rows } = await s.db.admin.query('SELECT rate_limited::int AS n FROM etl.quota_limits');
    expect(rows[0].n).toBe(limited.length);
  });

  it('waits for the daily quota instead of failing, keeps its place, and finishes after the reset', async () => {
    const s = await setup(34);
    s.sim.control.quota.setDailyLimit(25, KEY);
    await startRunner(s);
    const pipeline = await createPipeline(s.db, socialSpec(s));
    await requestRun(s.db, pipeline.id);
    const deadline = Date.now() + 30_000;
    let waiting = 0;
    while (Date.now() < deadline && waiting === 0) {
      const { rows } = await s.db.admin.query(
        `SELECT count(*)::int AS n FROM etl.sync_tasks WHERE status = 'WAITING'
           AND error_code = 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED'`,
      );
      waiting = rows[0].n;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(waiting).toBeGreaterThan(0);
    const { rows: quota } = await s.db.admin.query('SELECT paused_until FROM etl.quota_limits');
    expect(quota[0].paused_until.getTime()).toBeGreaterThan(Date.now());
    // Still RUNNING: a spent quota is not a failure.
    await new Promise((r) => setTimeout(r, 1000));
    const { rows: still } = await s.db.admin.query('SELECT status FROM etl.etl_pipelines WHERE id = $1', [
      pipeline.id,
    ]);
    expect(still[0].status).toBe('RUNNING');
    const callsWhilePaused = s.sent.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(s.sent.length).toBe(callsWhilePaused);
    const { rows: incidents } = await s.db.admin.query(
      `SELECT kind, status FROM etl.incidents WHERE kind = 'quota_exhausted'`,
    );
    expect(incidents).toEqual([{ kind: 'quota_exhausted', status: 'OPEN' }]);

    // Midnight in California: the platform resets, and so does the credential's pause.
    s.sim.control.quota.setDailyLimit(10_000, KEY);
    s.sim.control.quota.reset();
    await s.db.admin.query('UPDATE etl.quota_limits SET paused_until = now()');
    await s.db.admin.query(
      'SELECT graphile_worker.reschedule_jobs(array_agg(id), run_at := now()) FROM graphile_worker.jobs',
    );
    await waitForStatus(s.db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
    expect((await lastRun(s, pipeline.id)).status).toBe('SUCCESS');
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
    expect(await refetchedPages(s)).toBe(0);
  });

  it('pauses between pages and resumes where it stood, without fetching a stored page again', async () => {
    const s = await setup(35);
    s.sim.control.faults.setDelay(25);
    await startRunner(s, 2);
    const pipeline = await createPipeline(s.db, socialSpec(s));
    await requestRun(s.db, pipeline.id);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await s.db.admin.query(
        `SELECT count(*)::int AS n FROM etl.sync_tasks WHERE status = 'DONE'`,
      );
      if (rows[0].n >= 5 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await requestStatus(s.db.api, pipeline.id, 'pause', 'test', 'test');
    await waitForStatus(s.db, pipeline.id, ['PAUSED'], 20_000);
    await new Promise((r) => setTimeout(r, 500)); // a page in flight may still commit
    const pausedAt = s.sent.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.sent.length).toBe(pausedAt);
    const { rows: open } = await s.db.admin.query(
      `SELECT count(*)::int AS n FROM etl.sync_tasks WHERE status IN ('PENDING', 'WAITING')`,
    );
    expect(open[0].n).toBeGreaterThan(0);

    s.sim.control.faults.setDelay(0);
    await runOnce(s, pipeline.id);
    expect((await lastRun(s, pipeline.id)).status).toBe('SUCCESS');
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
    expect(await refetchedPages(s)).toBe(0);
    const { rows: runs } = await s.db.admin.query(
      'SELECT status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
      [pipeline.id],
    );
    expect(runs.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS']);
  });

  it('a regular sync (refresh "all", the default) keeps old posts fresh: titles, counters, deletions with their comments', async () => {
    const s = await setup(37, 2);
    await startRunner(s);
    const sync = await createPipeline(s.db, socialSpec(s));
    await runOnce(s, sync.id);
    // Old videos, far outside the lookback: one renamed, one watched more, one deleted with its comments.
    const uploads = s.sim.control.truth.uploads(s.channels[0]!);
    const [renamed, bumped] = [uploads.at(-1)!, uploads.at(-2)!];
    const deleted = [...uploads]
      .reverse()
      .find((v) => v !== renamed && v !== bumped && s.sim.control.truth.threads(v).length > 0)!;
    const comments = async (post: string) =>
      count(s.db, 'SELECT count(*) FROM social.comments WHERE post_external_id = $1 AND deleted_at IS NULL', [
        post,
      ]);
    const stored = await comments(deleted);
    expect(stored).toBeGreaterThan(0);
    s.sim.control.updateVideo(renamed, { title: 'Renamed years later' });
    s.sim.control.bumpVideoCounters(bumped, { views: 1000, likes: 10 });
    s.sim.control.deleteVideo(deleted);
    await runOnce(s, sync.id);
    expect((await lastRun(s, sync.id)).status).toBe('SUCCESS');

    const post = async (id: string) =>
      (
        await s.db.admin.query(
          'SELECT title, view_count::bigint AS views, like_count::bigint AS likes, deleted_at FROM social.posts WHERE external_id = $1',
          [id],
        )
      ).rows[0];
    expect((await post(renamed)).title).toBe('Renamed years later');
    const truth = s.sim.control.truth.video(bumped)!;
    expect(await post(bumped)).toMatchObject({
      views: Number(truth.viewCount),
      likes: Number(truth.likeCount),
    });
    expect((await post(deleted)).deleted_at).not.toBeNull();
    expect(await comments(deleted)).toBe(0);

    // The video comes back (made public again): the next regular sync revives it and exactly the
    // comments that were marked with it, although comments "recent" does not read old posts' threads.
    s.sim.control.restoreVideo(deleted);
    await runOnce(s, sync.id);
    expect((await post(deleted)).deleted_at).toBeNull();
    const live = s.sim.control.truth.threads(deleted).flatMap((t) => [t.id, ...t.replyIds]);
    expect(await comments(deleted)).toBe(stored);
    expect(stored).toBe(live.length);
  });

  it('comments "all" reads the comments of every post, old ones included, even with refresh "recent"', async () => {
    const s = await setup(38, 1);
    await startRunner(s);
    const sync = await createPipeline(s.db, socialSpec(s, { refresh: 'recent', comments: 'all' }));
    await runOnce(s, sync.id);
    const old = s.sim.control.truth.uploads(s.channels[0]!).at(-1)!;
    const added = s.sim.control.addComment(old, { text: 'a late comment on an old video' });
    await runOnce(s, sync.id);
    expect(await count(s.db, 'SELECT count(*) FROM social.comments WHERE external_id = $1', [added])).toBe(1);
  });

  it('a backfill of the whole history counts as the last sync: the next regular sync reads only recent comments', async () => {
    const s = await setup(37, 3);
    await startRunner(s);
    const backfill = await createPipeline(s.db, { ...socialSpec(s), name: 'youtube_whole', mode: 'full' });
    await runOnce(s, backfill.id);
    expect((await lastRun(s, backfill.id)).status).toBe('SUCCESS');
    const { rows: synced } = await s.db.admin.query<{ n: number; at: Date }>(
      'SELECT count(*)::int AS n, min(last_synced_at) AS at FROM social.accounts WHERE last_synced_at IS NOT NULL',
    );
    expect(synced[0]!.n).toBe(3);
    // The comments a regular sync reads: those of commentable posts inside its lookback (7 days).
    const { rows: recent } = await s.db.admin.query<{ n: number; all: number }>(
      `SELECT count(*) FILTER (WHERE published_at >= $1::timestamptz - interval '7 days')::int AS n,
              count(*)::int AS all
         FROM social.posts WHERE comment_count > 0`,
      [synced[0]!.at],
    );
    expect(recent[0]!.all).toBeGreaterThan(recent[0]!.n); // old posts with comments exist
    const before = s.sent.length;
    const regular = await createPipeline(s.db, socialSpec(s));
    await runOnce(s, regular.id);
    expect((await lastRun(s, regular.id)).status).toBe('SUCCESS');
    const threads = s.sent.slice(before).filter((r) => r.method === 'commentThreads');
    // One page per recent post at most pages of 20 threads: never the old posts' comments again.
    const { rows: tasks } = await s.db.admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
        WHERE j.pipeline_id = $1 AND t.kind = 'comments'`,
      [regular.id],
    );
    expect(tasks[0]!.n).toBe(recent[0]!.n);
    expect(threads.length).toBeGreaterThanOrEqual(recent[0]!.n);
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
  });

  it('a backfill reaches what a regular sync leaves alone (old posts), and yields the quota to regular syncs', async () => {
    const s = await setup(36, 4);
    const backfilled = s.channels.slice(0, 3);
    const regular = s.channels[3]!;
    await startRunner(s);
    // refresh 'recent': the regular sync reads only posts inside its lookback (the default, 'all',
    // would see the rename below by itself; see the test after this one).
    const sync = await createPipeline(s.db, socialSpec(s, { accounts: backfilled, refresh: 'recent' }));
    await runOnce(s, sync.id);
    // Changes to old videos: far outside the regular sync's lookback.
    const old = s.sim.control.truth.uploads(backfilled[0]!).at(-1)!;
    const [thread] = s.sim.control.truth.threads(old);
    s.sim.control.updateVideo(old, { title: 'Renamed years later' });
    if (thread) s.sim.control.deleteComment(thread.id);
    await runOnce(s, sync.id);
    const { rows: before } = await s.db.admin.query('SELECT title FROM social.posts WHERE external_id = $1', [
      old,
    ]);
    expect(before[0].title).not.toBe('Renamed years later');

    // A backfill (mode full) of the same accounts, and a regular sync of another account requested
    // while it runs, on the same credential at 20 calls a second.
    const slow = { calls: 20, window: '1s' };
    const backfill = await createPipeline(s.db, {
      name: 'youtube_backfill',
      kind: 'social',
      mode: 'full',
      social: { platform: 'youtube', accounts: backfilled, rate: slow },
    });
    const other = await createPipeline(s.db, {
      name: 'youtube_other',
      kind: 'social',
      mode: 'incremental',
      social: { platform: 'youtube', accounts: [regular], rate: slow },
    });
    await requestRun(s.db, backfill.id);
    await waitForStatus(s.db, backfill.id, ['RUNNING'], 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    await requestRun(s.db, other.id);
    await waitForStatus(s.db, other.id, ['IDLE', 'FAILED'], 60_000);
    await waitForStatus(s.db, backfill.id, ['IDLE', 'FAILED'], 60_000);
    expect((await lastRun(s, backfill.id)).status).toBe('SUCCESS');
    expect((await lastRun(s, other.id)).status).toBe('SUCCESS');
    await expectYouTubeTablesMatchTruth(s.db, s.sim, s.channels);
    if (thread) {
      const { rows } = await s.db.admin.query(
        'SELECT deleted_at FROM social.comments WHERE external_id = $1',
        [thread.id],
      );
      expect(rows[0].deleted_at).not.toBeNull();
    }
    // The backfill still had a backlog of queued steps when the regular sync's steps were queued; they
    // went ahead of it, so none waited for more than a few slots (a FIFO queue would have made them
    // wait for the whole backlog, seconds at 20 calls a second).
    const { rows } = await s.db.admin.query(
      `SELECT count(*)::int AS tasks, max(extract(epoch FROM t.started_at - t.created_at))::float AS worst,
              (SELECT count(*)::int FROM etl.sync_tasks t2 JOIN etl.sync_jobs j2 ON j2.id = t2.job_id
                WHERE j2.pipeline_id = $2 AND t2.created_at > (SELECT max(t3.created_at) FROM etl.sync_tasks t3
                  JOIN etl.sync_jobs j3 ON j3.id = t3.job_id WHERE j3.pipeline_id = $1)) AS backlog_after
         FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id WHERE j.pipeline_id = $1`,
      [other.id, backfill.id],
    );
    process.stdout.write(
      `[priority] ${rows[0].tasks} regular steps, worst wait ${rows[0].worst.toFixed(2)} s\n`,
    );
    expect(rows[0].tasks).toBeGreaterThan(5);
    expect(rows[0].worst).toBeLessThan(2.5); // measured: 1.35 s with priorities, 3.85 s without
  });
});
