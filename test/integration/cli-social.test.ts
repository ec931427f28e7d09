import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import { channelIdOf } from '../../src/simulators/youtube/ids.js';
import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, exited, killAllSpawned, runCli, spawnCli, waitForOutput } from '../helpers/processes.js';
import { count, createPipeline, requestRun, startTestRunner, waitForStatus } from '../helpers/runner.js';

let db: TestDatabase;
let sim: RunningYouTubeSimulator;
const SEED = 3;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startYouTubeSimulator({
    seed: SEED,
    channels: 4,
    videosPerChannel: [5, 12],
    commentThreadsPerVideo: [0, 3],
    apiKeys: ['cli-key'],
  });
});
afterAll(async () => {
  await killAllSpawned();
  await sim.close();
  await db.drop();
});

describe('siphon sync youtube', () => {
  const env = () =>
    cliEnv(db.adminUrl, { SIPHON_YOUTUBE_BASE_URL: sim.baseUrl, SIPHON_YOUTUBE_API_KEY: 'cli-key' });
  type JobLine = { account: string; status: string; calls: number };

  let first: JobLine[] = [];

  it('runs a social pipeline for the named channels to its end: exact tables, run history, shared limiter', async () => {
    const ids = [channelIdOf(SEED, 0), channelIdOf(SEED, 1)];
    const res = await runCli(['sync', 'youtube', ...ids, '--json'], env());
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const rows = JSON.parse(res.stdout) as JobLine[];
    first = rows;
    expect(rows.map((r) => [r.account, r.status])).toEqual(ids.map((id) => [id, 'SUCCESS']));
    // Progress on stderr (stdout stays JSON), ending with where the run stood.
    expect(res.stderr).toMatch(
      /sync: 2\/2 accounts done \(0 skipped, 0 failed\), \d+ streams done, \d+ calls/,
    );
    expect(await count(db, `SELECT count(*) FROM social.profiles WHERE platform = 'youtube'`)).toBe(2);
    const expectedPosts = ids.reduce((sum, id) => sum + sim.control.truth.uploads(id).length, 0);
    expect(await count(db, `SELECT count(*) FROM social.posts WHERE platform = 'youtube'`)).toBe(
      expectedPosts,
    );
    // A pipeline like any other: its run is in the history, its calls went through the limiter.
    const { rows: runs } = await db.admin.query<{ trigger: string; status: string; kind: string }>(
      `SELECT r.trigger, r.status, p.kind FROM etl.etl_runs r JOIN etl.etl_pipelines p ON p.id = r.pipeline_id
        WHERE p.name = 'sync_youtube'`,
    );
    expect(runs).toEqual([{ trigger: 'cli', status: 'SUCCESS', kind: 'social' }]);
    const calls = rows.reduce((sum, r) => sum + r.calls, 0);
    expect(calls).toBeGreaterThan(2);
    expect(
      await count(db, `SELECT calls_total FROM etl.quota_limits WHERE platform = 'youtube'`),
    ).toBeGreaterThanOrEqual(calls);
  });

  it('a second sync replaces the accounts as a new version and reads only what changed', async () => {
    const ids = [channelIdOf(SEED, 0), channelIdOf(SEED, 1), channelIdOf(SEED, 2)];
    const added = sim.control.addVideo(ids[0]!);
    const res = await runCli(['sync', 'youtube', ...ids, '--json'], env());
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const rows = JSON.parse(res.stdout) as JobLine[];
    expect(rows.map((r) => [r.account, r.status])).toEqual(ids.map((id) => [id, 'SUCCESS']));
    // The channels synced before: the profile and the first posts page show nothing older is new.
    for (const before of first) {
      const again = rows.find((r) => r.account === before.account)!;
      expect(again.calls).toBeLessThan(before.calls / 2);
    }
    expect(await count(db, `SELECT count(*) FROM social.posts WHERE external_id = '${added}'`)).toBe(1);
    expect(await count(db, `SELECT count(*) FROM social.profiles WHERE platform = 'youtube'`)).toBe(3);
    const { rows: saved } = await db.admin.query<{ version: number; accounts: string[] }>(
      `SELECT version, social->'accounts' AS accounts FROM etl.etl_pipelines WHERE name = 'sync_youtube'`,
    );
    expect(saved[0]!.accounts).toEqual(ids);
    expect(saved[0]!.version).toBe(2);
  });

  it('refuses a pipeline of another platform, and says which variable is missing', async () => {
    const wrong = await runCli(
      ['sync', 'instagram', 'someone', '--pipeline', 'sync_youtube'],
      cliEnv(db.adminUrl, { SIPHON_INSTAGRAM_ACCESS_TOKEN: 'x', SIPHON_INSTAGRAM_USER_ID: '1' }),
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim()).toMatch(
      /pipeline sync_youtube is not a social pipeline of instagram; choose another name with --pipeline \[SIPHON_ERR_CLI_USAGE\]$/,
    );
    const res = await runCli(
      ['sync', 'youtube', channelIdOf(SEED, 2)],
      cliEnv(db.adminUrl, { SIPHON_YOUTUBE_BASE_URL: sim.baseUrl }),
    );
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(
      /^siphon: SIPHON_YOUTUBE_API_KEY is not set \[SIPHON_ERR_CONFIG_INVALID\]$/,
    );
    expect(
      await count(
        db,
        `SELECT count(*) FROM etl.etl_pipelines WHERE name IN ('sync_youtube', 'sync_instagram')`,
      ),
    ).toBe(1);
  });
});

/** Waits until a child's stdout holds `text`; returns everything printed so far. */
function stdoutUntil(child: ChildProcess, text: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`no "${text}" on stdout: ${seen.slice(-2000)}`)),
      timeoutMs,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

/** Starts `siphon simulate <args>` on a free port, returns its banner and base URL. */
async function startSimulatorCli(
  args: string[],
): Promise<{ child: ChildProcess; banner: string; baseUrl: string }> {
  const child = spawnCli(['simulate', ...args, '--port', '0'], cliEnv(undefined));
  const banner = await stdoutUntil(child, 'Stop with Ctrl-C.');
  const baseUrl = /simulator on (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(banner)?.[1];
  expect(baseUrl, banner).toBeDefined();
  return { child, banner, baseUrl: baseUrl! };
}

async function stopsOnCtrlC(child: ChildProcess): Promise<void> {
  child.kill('SIGINT');
  expect(await exited(child)).toBe(0);
}

describe('siphon simulate instagram | tiktok | ml', () => {
  it('instagram: serves the own account the banner names, with the token it prints', async () => {
    const { child, banner, baseUrl } = await startSimulatorCli([
      'instagram',
      '--accounts',
      '3',
      '--token',
      'cli-ig',
    ]);
    const userId = /SIPHON_INSTAGRAM_USER_ID=(\d+)/.exec(banner)?.[1];
    expect(banner).toContain(`SIPHON_INSTAGRAM_BASE_URL=${baseUrl} SIPHON_INSTAGRAM_ACCESS_TOKEN=cli-ig`);
    const ok = await fetch(`${baseUrl}${userId}?fields=id,username&access_token=cli-ig`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { id: string }).id).toBe(userId);
    const refused = await fetch(`${baseUrl}${userId}?fields=id&access_token=wrong`);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await stopsOnCtrlC(child);
  });

  it('tiktok: grants a client token to the key and secret it prints', async () => {
    const { child, banner, baseUrl } = await startSimulatorCli(['tiktok', '--users', '3']);
    expect(banner).toContain(
      `SIPHON_TIKTOK_BASE_URL=${baseUrl} SIPHON_TIKTOK_CLIENT_KEY=sim-client-key SIPHON_TIKTOK_CLIENT_SECRET=sim-client-secret`,
    );
    expect(banner).toMatch(/usernames: \S+ \S+ \S+/);
    const res = await fetch(`${baseUrl}v2/oauth/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_key=sim-client-key&client_secret=sim-client-secret&grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token?: string }).access_token).toBeTruthy();
    await stopsOnCtrlC(child);
  });

  it('ml: accepts jobs with its bearer token and refuses beyond --max-active', async () => {
    const { child, banner, baseUrl } = await startSimulatorCli([
      'ml',
      '--max-active',
      '1',
      '--delay',
      '60000',
    ]);
    expect(banner).toContain(`SIPHON_ML_BASE_URL=${baseUrl}`);
    const submit = (token: string) =>
      fetch(`${baseUrl}v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ analysis: 'text', input: { text: 'hello' } }),
      });
    expect((await submit('wrong')).status).toBe(401);
    expect((await submit('sim-ml-token')).status).toBe(202);
    expect((await submit('sim-ml-token')).status).toBe(429);
    await stopsOnCtrlC(child);
  });

  it('refuses a port out of range as a usage error', async () => {
    const res = await runCli(['simulate', 'tiktok', '--port', '70000'], cliEnv(undefined));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--port must be a whole number from 0 to 65535');
  });
});

describe('siphon quota, sync status, pipelines show and runs for a social pipeline', () => {
  const missing = 'UCnoSuchChannelAtAll0000';
  let env: NodeJS.ProcessEnv;
  let runId: string;

  beforeAll(async () => {
    await installDemoPipelines(db.admin);
    const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: 'cli-key', timeoutMs: 5000 });
    const adapters = new Map<string, PlatformAdapter>([['youtube', new YouTubeAdapter({ client })]]);
    const runner = await startTestRunner(db, { sync: { adapters, concurrency: 4 } });
    try {
      const pipeline = await createPipeline(db, {
        name: 'cli_watch',
        kind: 'social',
        mode: 'incremental',
        social: {
          platform: 'youtube',
          accounts: [channelIdOf(SEED, 2), channelIdOf(SEED, 3), missing],
          rate: { calls: 500, window: '1s', daily_units: 100_000 },
        },
      });
      await requestRun(db, pipeline.id);
      // The missing channel is skipped (unreachable), not a failure: the run succeeds.
      expect((await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 60_000)).status).toBe('IDLE');
      runId = (await db.admin.query('SELECT id FROM etl.etl_runs WHERE pipeline_id = $1', [pipeline.id]))
        .rows[0].id;
    } finally {
      await runner.stop();
    }
    env = cliEnv(db.adminUrl);
  });

  it('quota --json: the credential limiter, as etl.quota_limits counts it', async () => {
    const res = await runCli(['quota', '--json'], env);
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    // Every call on the credential: this pipeline's and those of `siphon sync youtube` above.
    const calls = await count(db, `SELECT sum(calls) FROM etl.sync_tasks`);
    expect(calls).toBeGreaterThan(3);
    expect(JSON.parse(res.stdout)).toEqual([
      expect.objectContaining({
        platform: 'youtube',
        calls_per_window: 500,
        window_ms: 1000,
        calls_total: calls,
        rate_limited: 0,
        units_used: calls,
        daily_units: 100_000,
        units_remaining: 100_000 - calls,
        paused_until: null,
      }),
    ]);
    const table = await runCli(['quota'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/youtube.*500 \/ 1 s/);
    expect(table.stdout).not.toContain('cli-key');
  });

  it('sync status: jobs, tasks and the skipped account, as a table and as JSON', async () => {
    const json = await runCli(['sync', 'status', 'cli_watch', '--json'], env);
    expect(json.code, json.stderr.slice(-2000)).toBe(0);
    const status = JSON.parse(json.stdout);
    expect(status).toMatchObject({
      name: 'cli_watch',
      platform: 'youtube',
      accounts: 3,
      pipeline_status: 'IDLE',
      run: { id: runId, status: 'SUCCESS', error_code: null },
      jobs: { total: 3, by_status: { RUNNING: 0, SUCCESS: 2, FAILED: 0, SKIPPED: 1 } },
      waiting: { items: 0, oldest_wait_ms: null },
      failures: { total: 0, items: [] },
      skipped: { total: 1, items: [{ account: missing, error_code: 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE' }] },
    });
    expect(status.calls).toBe(
      await count(
        db,
        'SELECT sum(t.calls) FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id WHERE j.run_id = $1',
        [runId],
      ),
    );
    expect(status.tasks.by_kind.profile).toMatchObject({ DONE: 2, SKIPPED: 1 });
    // The skipped account's lookup shared the run's channels.list calls (up to 50 ids a call): the
    // profile tasks counted each call once, and every job's pages reached the run's counters.
    const perRun = (what: string, where = 'true') =>
      count(
        db,
        `SELECT sum(t.${what}) FROM etl.sync_tasks t JOIN etl.sync_jobs j ON j.id = t.job_id
          WHERE j.run_id = $1 AND ${where}`,
        [runId],
      );
    const profileCalls = await perRun('calls', `t.kind = 'profile'`);
    expect(profileCalls).toBeGreaterThanOrEqual(1);
    expect(profileCalls).toBeLessThanOrEqual(3); // 3 when the steps started too far apart to share
    const { rows: runRow } = await db.admin.query(
      'SELECT batches, rows_read, rows_written FROM etl.etl_runs WHERE id = $1',
      [runId],
    );
    expect(runRow[0]).toEqual({
      batches: await perRun('pages'),
      rows_read: await perRun('items'),
      rows_written: await perRun('written'),
    });

    const table = await runCli(['sync', 'status', 'cli_watch'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('3: 0 running, 2 succeeded, 0 failed, 1 skipped');
    expect(table.stdout).toContain('Skipped accounts (unreachable): 1');
    expect(table.stdout).toMatch(new RegExp(`${missing}.*SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE`));
    expect(table.stdout).toMatch(/profile\s*│\s*0\s*│\s*0\s*│\s*2\s*│\s*0\s*│\s*1/);
  });

  it('pipelines show and runs --run carry the same summary for a social pipeline', async () => {
    const shown = await runCli(['pipelines', 'show', 'cli_watch', '--json'], env);
    expect(shown.code, shown.stderr.slice(-2000)).toBe(0);
    const pipeline = JSON.parse(shown.stdout);
    expect(pipeline).toMatchObject({ name: 'cli_watch', kind: 'social', sync: { run: { id: runId } } });
    expect(pipeline.sync.jobs.by_status).toEqual({ RUNNING: 0, SUCCESS: 2, FAILED: 0, SKIPPED: 1 });

    const table = await runCli(['pipelines', 'show', 'cli_watch'], env);
    expect(table.stdout).toContain('3: 0 running, 2 succeeded, 0 failed, 1 skipped');

    const run = await runCli(['runs', 'cli_watch', '--run', runId, '--json'], env);
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      id: runId,
      status: 'SUCCESS',
      sync: { run: { id: runId }, failures: { total: 0 }, skipped: { total: 1 } },
    });
  });

  it('an SQL pipeline has no sync status; a malformed --run is a usage error', async () => {
    const sql = await runCli(['sync', 'status', 'film_dim_full'], env);
    expect(sql.code).toBe(1);
    expect(sql.stderr.trim()).toMatch(
      /only social pipelines have a sync status \[SIPHON_ERR_PIPELINE_NOT_SOCIAL\]$/,
    );
    const usage = await runCli(['sync', 'status', 'cli_watch', '--run', 'latest'], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('[SIPHON_ERR_CLI_USAGE]');
  });
});

describe('siphon sync youtube, interrupted', () => {
  it('the first Ctrl-C pauses the run after its current pages; the same command resumes it', async () => {
    // Its own simulator and key (its own credential, at YouTube's default 10 calls a second): about
    // 70 calls, several seconds, so the interrupt lands mid-run.
    const own = await startYouTubeSimulator({
      seed: 9,
      channels: 6,
      videosPerChannel: [8, 12],
      commentThreadsPerVideo: [1, 3],
      apiKeys: ['pause-key'],
    });
    try {
      const ids = Array.from({ length: 6 }, (_, i) => channelIdOf(9, i));
      const env = cliEnv(db.adminUrl, {
        SIPHON_YOUTUBE_BASE_URL: own.baseUrl,
        SIPHON_YOUTUBE_API_KEY: 'pause-key',
      });
      const args = ['sync', 'youtube', ...ids, '--pipeline', 'sync_pause'];
      const child = spawnCli(args, env);
      let stdout = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      await waitForOutput(child, 'social run: jobs opened and queued', 60_000);
      child.kill('SIGINT');
      expect(await exited(child)).toBe(1);
      expect(stdout).toMatch(
        /pipeline sync_pause: PAUSED, run \S+ PAUSED \(run the same command again to resume\)/,
      );
      const callsBefore = own.control.requests().length;
      expect(callsBefore).toBeLessThan(60);

      const again = await runCli(args, env);
      expect(again.code, again.stderr.slice(-2000)).toBe(0);
      expect(again.stdout).toMatch(/pipeline sync_pause: IDLE, run \S+ SUCCESS/);
      const expectedPosts = ids.reduce((sum, id) => sum + own.control.truth.uploads(id).length, 0);
      expect(
        await count(
          db,
          `SELECT count(*) FROM social.posts WHERE platform = 'youtube' AND profile_external_id = ANY ($1)`,
          [ids],
        ),
      ).toBe(expectedPosts);
      // One pipeline, two runs in its history: the paused one and the one that finished it.
      const { rows } = await db.admin.query<{ status: string }>(
        `SELECT r.status FROM etl.etl_runs r JOIN etl.etl_pipelines p ON p.id = r.pipeline_id
          WHERE p.name = 'sync_pause' ORDER BY r.started_at`,
      );
      expect(rows.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS']);
    } finally {
      await own.close();
    }
  });
});
