import { afterEach, describe, expect, it } from 'vitest';
import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import { YouTubeClient } from '../../src/connectors/youtube/index.js';
import { ensureAccount, syncYouTubeAccount, type YouTubeSyncDeps } from '../../src/sync/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { expectYouTubeTablesMatchTruth, youtubeTruth } from '../helpers/youtube-truth.js';

const KEY = 'sync-key';
const CHANNELS = 3;
const PAGE_SIZE = 10;

/** One request the client sent: the list method, its parameters (without the key), and the answer. */
interface Sent {
  readonly method: string;
  readonly params: Record<string, string>;
  status: number;
}

interface Setup {
  readonly db: TestDatabase;
  readonly sim: RunningYouTubeSimulator;
  readonly clock: { now: number };
  readonly sent: Sent[];
  /** Called before each request goes out (to arm a fault at the right moment). */
  beforeRequest: (request: Sent) => void;
  readonly deps: YouTubeSyncDeps;
  readonly accounts: { id: string; external_id: string }[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(seed: number): Promise<Setup> {
  const db = await createTestDatabase();
  const clock = { now: Date.parse('2026-03-04T18:00:00Z') };
  const sim = await startYouTubeSimulator({
    seed,
    channels: CHANNELS,
    videosPerChannel: [25, 45],
    commentThreadsPerVideo: [0, 8],
    repliesPerThread: [0, 8],
    apiKeys: [KEY],
    now: () => clock.now,
  });
  cleanups.push(async () => {
    await sim.close();
    await db.drop();
  });
  const sent: Sent[] = [];
  const state: Setup = {
    db,
    sim,
    clock,
    sent,
    beforeRequest: () => {},
    deps: undefined as unknown as YouTubeSyncDeps,
    accounts: [],
  };
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const params = Object.fromEntries([...url.searchParams].filter(([name]) => name !== 'key'));
    const request: Sent = { method: url.pathname.split('/').pop()!, params, status: 0 };
    sent.push(request);
    state.beforeRequest(request);
    const response = await fetch(input, init);
    request.status = response.status;
    return response;
  };
  const client = new YouTubeClient({
    baseUrl: sim.baseUrl,
    apiKey: KEY,
    timeoutMs: 5000,
    fetch: recordingFetch,
    now: () => clock.now,
  });
  Object.assign(state, {
    deps: { pool: db.writer, client, pageSize: PAGE_SIZE, now: () => clock.now },
  });
  for (let i = 0; i < CHANNELS; i++) {
    const account = await ensureAccount(db.admin, 'youtube', sim.control.channelId(i));
    state.accounts.push({ id: account.id, external_id: account.external_id });
  }
  return state;
}

async function syncAll(s: Setup): Promise<void> {
  for (const account of s.accounts) {
    const result = await syncYouTubeAccount(s.deps, account);
    expect(result.status).toBe('SUCCESS');
  }
}

/** The simulator's ground truth for every channel, as the unified tables should hold it. */
const groundTruth = (s: Setup) =>
  youtubeTruth(
    s.sim,
    s.accounts.map((a) => a.external_id),
  );

const expectTablesMatchTruth = (s: Setup): Promise<void> =>
  expectYouTubeTablesMatchTruth(
    s.db,
    s.sim,
    s.accounts.map((a) => a.external_id),
  );

const ok = (s: Setup) => s.sent.filter((r) => r.status === 200);
const key = (r: Sent) => `${r.method}?${new URLSearchParams(Object.entries(r.params).sort()).toString()}`;

describe('syncYouTubeAccount', () => {
  it('stores exactly the ground truth on a first sync, every response in the raw zone first', async () => {
    const s = await setup(11);
    await syncAll(s);
    await expectTablesMatchTruth(s);

    const { rows: raws } = await s.db.admin.query<{ kind: string; n: number }>(
      'SELECT kind, count(*)::int AS n FROM social.raw_responses GROUP BY kind',
    );
    const byKind = Object.fromEntries(raws.map((r) => [r.kind, r.n]));
    const count = (method: string) => ok(s).filter((r) => r.method === method).length;
    // The only refusals are commentsDisabled (403) answers, whose comments tasks are SKIPPED, not failed.
    const refused = s.sent.filter((r) => r.status !== 200);
    expect(refused.every((r) => r.method === 'commentThreads' && r.status === 403)).toBe(true);
    const { rows: skipped } = await s.db.admin.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM etl.sync_tasks WHERE kind = 'comments' GROUP BY status`,
    );
    expect(Object.fromEntries(skipped.map((r) => [r.status, r.n])).SKIPPED ?? 0).toBe(refused.length);
    expect(skipped.map((r) => r.status).sort()).toEqual(refused.length > 0 ? ['DONE', 'SKIPPED'] : ['DONE']);
    expect(byKind).toEqual({
      profile: count('channels'),
      posts_page: count('playlistItems'),
      videos: count('videos'),
      comments_page: count('commentThreads'),
      replies_page: count('comments'),
    });
    expect(count('comments')).toBeGreaterThan(0);

    // No key in the stored requests; each unified row has the raw response it came from, written no later.
    const { rows: leaks } = await s.db.admin.query(
      `SELECT id FROM social.raw_responses WHERE request::text LIKE '%${KEY}%' OR request::text LIKE '%"key"%'`,
    );
    expect(leaks).toEqual([]);
    const { rows: orphans } = await s.db.admin.query(
      `WITH seen AS MATERIALIZED (
         SELECT r.kind, jsonb_path_query(r.payload, 'lax $.**.id') #>> '{}' AS id, r.fetched_at
         FROM social.raw_responses r)
       SELECT p.external_id FROM social.posts p WHERE NOT EXISTS (
         SELECT 1 FROM seen WHERE seen.kind = 'videos' AND seen.id = p.external_id
           AND seen.fetched_at <= p.updated_at)
       UNION ALL
       SELECT c.external_id FROM social.comments c WHERE NOT EXISTS (
         SELECT 1 FROM seen WHERE seen.kind IN ('comments_page', 'replies_page') AND seen.id = c.external_id
           AND seen.fetched_at <= c.updated_at)`,
    );
    expect(orphans).toEqual([]);

    const { rows: jobs } = await s.db.admin.query<{ status: string; calls: number }>(
      'SELECT status, calls FROM etl.sync_jobs',
    );
    expect(jobs.map((j) => j.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(jobs.reduce((sum, j) => sum + j.calls, 0)).toBe(s.sent.length);
    const { rows: accounts } = await s.db.admin.query('SELECT last_synced_at FROM social.accounts');
    expect(accounts.map((a) => a.last_synced_at)).toEqual(Array(CHANNELS).fill(new Date(s.clock.now)));

    // The API role reads everything and writes none of it.
    const { rows: seen } = await s.db.api.query('SELECT count(*)::int AS n FROM social.comments');
    expect(seen[0].n).toBe(groundTruth(s).comments.length);
    await expect(s.db.api.query('DELETE FROM etl.sync_tasks')).rejects.toMatchObject({ code: '42501' });
    await expect(s.db.api.query('DELETE FROM social.posts')).rejects.toMatchObject({ code: '42501' });

    // A repeated sync of unchanged data rewrites nothing.
    const before = await s.db.admin.query('SELECT max(updated_at) AS at FROM social.posts');
    await syncAll(s);
    const after = await s.db.admin.query('SELECT max(updated_at) AS at FROM social.posts');
    expect(after.rows[0].at).toEqual(before.rows[0].at);
  });

  it('brings the tables back to the ground truth after changes, with far fewer calls', async () => {
    const s = await setup(12);
    await syncAll(s);
    const firstCalls = s.sent.length;

    s.clock.now += 86_400_000;
    const [a, b] = s.accounts.map((x) => x.external_id) as [string, string];
    const added = s.sim.control.addVideo(a, { title: 'A brand new upload' });
    const edited = s.sim.control.truth.uploads(b)[0]!;
    s.sim.control.updateVideo(edited, { title: 'An edited title' });
    s.sim.control.addComment(added, { text: 'First!' });

    await syncAll(s);
    await expectTablesMatchTruth(s);
    const secondCalls = s.sent.length - firstCalls;
    expect(secondCalls).toBeLessThan(firstCalls / 10);
    const { rows } = await s.db.admin.query('SELECT title FROM social.posts WHERE external_id = $1', [
      edited,
    ]);
    expect(rows[0].title).toBe('An edited title');
  });

  it('resumes after a failure in the middle of the posts pages without asking for a stored page again', async () => {
    const s = await setup(13);
    const account = s.accounts[0]!;
    let playlistRequests = 0;
    s.beforeRequest = (request) => {
      if (request.method === 'playlistItems' && ++playlistRequests === 3) {
        s.sim.control.faults.failNext(1, 503, 'playlistItems');
      }
    };
    await expect(syncYouTubeAccount(s.deps, account)).rejects.toMatchObject({
      code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    });
    const { rows: tasks } = await s.db.admin.query(
      `SELECT kind, status, pages, cursor, attempts FROM etl.sync_tasks WHERE kind IN ('profile', 'posts') ORDER BY id`,
    );
    expect(tasks).toMatchObject([
      { kind: 'profile', status: 'DONE' },
      { kind: 'posts', status: 'PENDING', pages: 2, attempts: 1 },
    ]);
    expect(tasks[1].cursor).not.toBeNull();
    const { rows: running } = await s.db.admin.query('SELECT status FROM etl.sync_jobs');
    expect(running).toEqual([{ status: 'RUNNING' }]);

    const result = await syncYouTubeAccount(s.deps, account);
    expect(result).toMatchObject({ status: 'SUCCESS', resumed: true });
    s.accounts.splice(1);
    await expectTablesMatchTruth(s);

    const keys = ok(s).map(key);
    expect(new Set(keys).size).toBe(keys.length);
    const tokens = ok(s)
      .filter((r) => r.method === 'playlistItems')
      .map((r) => r.params.pageToken ?? '');
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(s.sent.filter((r) => r.status !== 200)).toHaveLength(1);
  });

  it('fails the job on an exhausted quota and keeps everything already stored', async () => {
    const s = await setup(14);
    const account = s.accounts[0]!;
    s.sim.control.quota.setDailyLimit(5, KEY);
    const result = await syncYouTubeAccount(s.deps, account);
    expect(result).toMatchObject({ status: 'FAILED', errorCode: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED' });

    const { rows: jobs } = await s.db.admin.query('SELECT status, error_code, calls FROM etl.sync_jobs');
    expect(jobs).toEqual([
      { status: 'FAILED', error_code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED', calls: 6 },
    ]);
    const { rows: raws } = await s.db.admin.query('SELECT count(*)::int AS n FROM social.raw_responses');
    expect(raws[0].n).toBe(5);
    // profile + 2 full pages of posts (channels, then playlistItems + videos twice, then the 6th call fails).
    const { rows: counts } = await s.db.admin.query(
      `SELECT (SELECT count(*)::int FROM social.profiles) AS profiles,
              (SELECT count(*)::int FROM social.posts) AS posts`,
    );
    expect(counts[0]).toEqual({ profiles: 1, posts: 2 * PAGE_SIZE });
    const truthIds = new Set(s.sim.control.truth.uploads(account.external_id).slice(0, 2 * PAGE_SIZE));
    const { rows: posts } = await s.db.admin.query('SELECT external_id FROM social.posts');
    expect(posts.every((p) => truthIds.has(p.external_id))).toBe(true);
    const { rows: tasks } = await s.db.admin.query(
      `SELECT status, error_code FROM etl.sync_tasks WHERE kind = 'posts'`,
    );
    expect(tasks).toEqual([{ status: 'FAILED', error_code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED' }]);
    const { rows: accounts } = await s.db.admin.query(
      'SELECT last_synced_at FROM social.accounts WHERE id = $1',
      [account.id],
    );
    expect(accounts[0].last_synced_at).toBeNull();
  });
});
