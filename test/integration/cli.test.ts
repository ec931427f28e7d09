import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { demoSocialPlatforms, installDemoPipelines, withDemoSocialEndpoints } from '../../src/demo/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  cliEnv,
  exited,
  freePortBelowEphemeral,
  killAllSpawned,
  runCli,
  spawnCli,
} from '../helpers/processes.js';
import { testTempDir } from '../helpers/tmp.js';

let db: TestDatabase;
let blocker: Server;
let blockedPort: number;

beforeAll(async () => {
  db = await createTestDatabase();
  await installDemoPipelines(db.admin);
  blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  blockedPort = (blocker.address() as { port: number }).port;
});
afterAll(async () => {
  await killAllSpawned();
  blocker.close();
  await db.drop();
});

/** Exactly one line on stderr, ending with the stable code. */
function expectOneLineError(stderr: string, code: string) {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^siphon: .+ \\[${code}\\]$`));
}

describe('siphon CLI on bad input', () => {
  it('an unknown command exits 2 with a short explanation', async () => {
    const res = await runCli(['frobnicate'], cliEnv(db.adminUrl));
    expect(res.code).toBe(2);
    expectOneLineError(res.stderr, 'SIPHON_ERR_CLI_USAGE');
    expect(res.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('every wrong argument is one coded line naming its flag, checked before the database is opened', async () => {
    // The database URL points at a port that accepts and never answers: a command that reached the
    // database would fail with DB_UNREACHABLE (or hang), not with a usage error.
    const env = cliEnv(`postgres://someone:pw@127.0.0.1:${blockedPort}/x`);
    const cases: [string[], RegExp][] = [
      [['runs', 'demo', '--limit', '0'], /--limit must be a whole number from 1 to 500, got "0"/],
      [['runs', 'demo', '--limit', '501'], /--limit .* got "501"/],
      [['accounts', 'list', '--limit', '1e3'], /--limit must be a whole number from 1 to 500/],
      [['accounts', 'list', '--offset', '-1'], /--offset must be a whole number from 0 to 1000000/],
      [['accounts', 'list', '--platform', 'myspace'], /--platform "myspace": Allowed choices are youtube/],
      [['accounts', 'list', '--state', 'gone'], /--state "gone": Allowed choices are active/],
      [['pipelines', 'run', 'demo', '--wait', '--timeout', 'soon'], /--timeout must be a whole number/],
      [['reconcile', 'demo', '--buckets', '0'], /--buckets must be a whole number from 1 to 65536/],
      [['quota', 'plan', '--days', '91'], /--days must be a whole number from 1 to 90/],
      [['demo', 'load', '--films', '-5'], /--films must be a whole number/],
      [
        ['sync', 'replay', '--platform', 'youtube', '--since', 'yesterday'],
        /--since must be an ISO 8601 instant/,
      ],
      [['status', '--bogus'], /unknown option '--bogus'/],
      [['sync', 'youtube'], /missing required argument 'account'/],
      [['accounts', 'list', 'extra'], /too many arguments/],
    ];
    // Each case is a process start (a few seconds under tsx on a busy machine): two at a time.
    const results: Awaited<ReturnType<typeof runCli>>[] = [];
    for (let i = 0; i < cases.length; i += 2) {
      results.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => runCli(args, env)))));
    }
    cases.forEach(([args, message], i) => {
      const res = results[i]!;
      expect(res.code, args.join(' ')).toBe(2);
      expectOneLineError(res.stderr, 'SIPHON_ERR_CLI_USAGE');
      expect(res.stderr, args.join(' ')).toMatch(message);
    });
  }, 240_000);

  it('a malformed DATABASE_URL is one line naming the variable', async () => {
    const res = await runCli(['status'], cliEnv('mysql://nope'));
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_DB_URL_INVALID');
    expect(res.stderr).toMatch(/DATABASE_URL must look like postgres:/);
  });

  it('an unreachable database is one line, without the password', async () => {
    const res = await runCli(['status'], cliEnv(`postgres://someone:s3cret-pass@127.0.0.1:${blockedPort}/x`));
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_DB_UNREACHABLE');
    expect(res.stderr).not.toContain('s3cret-pass');
  });

  it('an API port in use is one line naming SIPHON_API_PORT', async () => {
    const res = await runCli(['api'], cliEnv(db.adminUrl, { SIPHON_API_PORT: String(blockedPort) }));
    expect(res.code).toBe(1);
    expectOneLineError(
      res.stderr
        .split('\n')
        .filter((l) => l.startsWith('siphon:'))
        .join('\n'),
      'SIPHON_ERR_PORT_IN_USE',
    );
    expect(res.stderr).toMatch(/SIPHON_API_PORT/);
  });

  it('an explicit embedded port in use is one line naming SIPHON_PG_PORT', async () => {
    const env = cliEnv(undefined, { SIPHON_PG_PORT: String(blockedPort) });
    const res = await runCli(['status'], env);
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_PORT_IN_USE');
  });

  it('a data directory of another PostgreSQL version is refused and left untouched', async () => {
    const home = testTempDir('oldpg');
    mkdirSync(join(home, 'pg'));
    writeFileSync(join(home, 'pg', 'PG_VERSION'), '16\n');
    writeFileSync(join(home, 'pg', 'precious'), 'data');
    const res = await runCli(['status'], cliEnv(undefined, { SIPHON_HOME: home }));
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_EMBEDDED_DATA_DIR');
    expect(res.stderr).toMatch(/PostgreSQL 16 cluster/);
    expect(readFileSync(join(home, 'pg', 'precious'), 'utf8')).toBe('data');
  });

  it('an invalid setting names its variable', async () => {
    const res = await runCli(['status'], cliEnv(db.adminUrl, { SIPHON_RUNNER_LEASE: 'soon' }));
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_CONFIG_INVALID');
    expect(res.stderr).toMatch(/SIPHON_RUNNER_LEASE/);
  });

  it('an unknown pipeline is one line with its code', async () => {
    const res = await runCli(['pipelines', 'show', 'no_such_pipeline'], cliEnv(db.adminUrl));
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_PIPELINE_NOT_FOUND');
  });

  it('demo reset without --yes and no terminal to ask on says what it would delete and deletes nothing', async () => {
    await db.admin.query(
      `INSERT INTO content.film_work (id, title, type) VALUES (gen_random_uuid(), 'kept', 'movie')`,
    );
    for (const args of [
      ['demo', 'reset'],
      ['demo', 'load', '--reset'],
    ]) {
      const res = await runCli(args, cliEnv(db.adminUrl));
      expect(res.code).toBe(2);
      expectOneLineError(res.stderr, 'SIPHON_ERR_CLI_USAGE');
      expect(res.stderr).toMatch(/content\.film_work.*run history.*add --yes/);
    }
    const kept = await db.admin.query(
      `SELECT count(*)::int AS n FROM content.film_work WHERE title = 'kept'`,
    );
    expect(kept.rows[0].n).toBe(1);
    await db.admin.query(`DELETE FROM content.film_work WHERE title = 'kept'`);
  });

  it('a run id that is not a uuid is "no such run", not an internal error', async () => {
    const res = await runCli(['runs', 'film_dim_full', '--run', 'nope'], cliEnv(db.adminUrl));
    expect(res.code).toBe(1);
    expectOneLineError(res.stderr, 'SIPHON_ERR_RUN_NOT_FOUND');
  });

  it('tables piped to another program, or with NO_COLOR, carry no colour codes', async () => {
    // A colour terminal's TERM, as a person's shell has it: the table library would colour by it alone.
    const terminal = { ...cliEnv(db.adminUrl), TERM: 'xterm-256color', COLORTERM: 'truecolor' };
    for (const env of [terminal, { ...terminal, NO_COLOR: '1' }]) {
      const res = await runCli(['pipelines', 'list'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('film_dim_full');
      expect(res.stdout).not.toContain(String.fromCharCode(27));
    }
  });
});

describe('siphon CLI for scripts', () => {
  it('migrate is idempotent, and pipelines list --json is machine-readable', async () => {
    const migrate = await runCli(['migrate', '--json'], cliEnv(db.adminUrl));
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(JSON.parse(migrate.stdout)).toMatchObject({ applied: 'nothing to apply' });
    const list = await runCli(['pipelines', 'list', '--json'], cliEnv(db.adminUrl));
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ name: string; status: string }>;
    expect(rows.map((r) => r.name)).toContain('film_dim_full');
  });

  it('reconcile reports a pipeline whose source and target agree as CLEAN (exit 0)', async () => {
    const res = await runCli(['reconcile', 'film_dim_full', '--json'], cliEnv(db.adminUrl));
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: 'CLEAN', source_rows: 0, target_rows: 0 });
  });

  it('demo load piped reports each step with rows, rate and ETA on stderr, the summary on stdout', async () => {
    const own = await createTestDatabase();
    try {
      const res = await runCli(['demo', 'load', '--films', '300', '--ratings', '3000'], cliEnv(own.adminUrl));
      expect(res.code, res.stderr.slice(-2000)).toBe(0);
      expect(res.stdout).toBe('demo loaded: 300 films, 3000 ratings\n');
      expect(res.stderr).toMatch(/films +\[[^\]]*\] 300\/300 rows · \S+ rows\/s · ETA \S+/);
      expect(res.stderr).toMatch(/ratings \[[^\]]*\] 3000\/3000 rows · \S+ rows\/s · ETA \S+/);
    } finally {
      await own.drop();
    }
  });

  it('pipelines run then pause follow the status machine; a pause of an idle pipeline is refused', async () => {
    const refused = await runCli(['pipelines', 'pause', 'film_dim_full'], cliEnv(db.adminUrl));
    expect(refused.code).toBe(1);
    expectOneLineError(refused.stderr, 'SIPHON_ERR_PIPELINE_TRANSITION');
    const run = await runCli(['pipelines', 'run', 'film_dim_full', '--json'], cliEnv(db.adminUrl));
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'RUN_REQUESTED' });
    // No runner is running here: pausing a requested run parks it.
    const pause = await runCli(['pipelines', 'pause', 'film_dim_full', '--json'], cliEnv(db.adminUrl));
    expect(JSON.parse(pause.stdout)).toMatchObject({ status: 'PAUSED' });
  });
});

/** `siphon start`, until its banner is printed. */
async function startSiphon(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; banner: string }> {
  const child = spawnCli(['start'], env);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner; stderr: ${stderr.slice(-3000)}`)), 90_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('  Stop ')) {
        clearTimeout(timer);
        resolve(stdout);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`siphon start exited with ${code}; stderr: ${stderr.slice(-3000)}`));
    });
  });
  return { child, banner };
}

/** Ctrl-C: the process stops the runner, the API, the simulators and exits 0. */
async function interrupt(child: ChildProcess): Promise<number | null> {
  child.kill('SIGINT');
  return Promise.race([exited(child), sleep(30_000).then(() => 'timeout' as const)]) as Promise<
    number | null
  >;
}

const SOCIAL_DEMO = ['youtube_demo', 'instagram_demo', 'tiktok_demo'];

/** name → statuses of its runs, oldest first. */
async function demoRuns(target: TestDatabase): Promise<Record<string, string[]>> {
  const { rows } = await target.admin.query<{ name: string; statuses: string[] }>(
    `SELECT p.name, coalesce(array_agg(r.status ORDER BY r.started_at) FILTER (WHERE r.id IS NOT NULL), '{}') AS statuses
       FROM etl.etl_pipelines p LEFT JOIN etl.etl_runs r ON r.pipeline_id = p.id
      WHERE p.name = ANY($1) GROUP BY p.name`,
    [SOCIAL_DEMO],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.statuses]));
}

async function waitForDemoRuns(target: TestDatabase, runs: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const done = (statuses: string[] | undefined) =>
    statuses?.length === runs && statuses.every((s) => s === 'SUCCESS');
  let last: Record<string, string[]> = {};
  while (Date.now() < deadline) {
    last = await demoRuns(target);
    if (SOCIAL_DEMO.every((name) => done(last[name]))) return;
    if (Object.values(last).some((statuses) => statuses.includes('FAILED'))) break;
    await sleep(250);
  }
  const { rows: errors } = await target.admin.query(
    `SELECT p.name, r.status, r.error FROM etl.etl_runs r JOIN etl.etl_pipelines p ON p.id = r.pipeline_id
      WHERE p.name = ANY($1) AND r.status <> 'SUCCESS'`,
    [SOCIAL_DEMO],
  );
  throw new Error(`demo social runs not ${runs}× SUCCESS: ${JSON.stringify(last)} ${JSON.stringify(errors)}`);
}

/** Per platform and table: rows, rows marked deleted, and the newest updated_at (a rewrite moves it). */
async function socialSnapshot(target: TestDatabase): Promise<Record<string, unknown>> {
  const snapshot: Record<string, unknown> = {};
  for (const table of ['profiles', 'posts', 'comments']) {
    const { rows } = await target.admin.query<{ platform: string; n: number; deleted: number; newest: Date }>(
      `SELECT platform, count(*)::int AS n, count(deleted_at)::int AS deleted, max(updated_at) AS newest
         FROM social.${table} GROUP BY platform ORDER BY platform`,
    );
    for (const row of rows)
      snapshot[`${table}.${row.platform}`] = { ...row, newest: row.newest.toISOString() };
  }
  return snapshot;
}

describe('siphon start with the demo', () => {
  it('syncs simulated YouTube, Instagram and TikTok accounts; a restart reuses them and a new sync finds nothing new', async () => {
    const target = await createTestDatabase();
    try {
      const token = 'sph_admin_start_demo_test_token';
      const apiPort = await freePortBelowEphemeral();
      const env = cliEnv(target.adminUrl, {
        SIPHON_API_PORT: String(apiPort),
        SIPHON_ADMIN_TOKEN: token,
        SIPHON_DEMO_FILMS: '10',
        SIPHON_DEMO_RATINGS: '10',
      });

      const first = await startSiphon(env);
      expect(first.banner).toContain('Social demo  youtube_demo, instagram_demo, tiktok_demo');
      expect(first.banner).toContain('SELECT platform, count(*) FROM social.comments GROUP BY 1');
      await waitForDemoRuns(target, 1);
      const synced = await socialSnapshot(target);
      for (const platform of ['youtube', 'instagram', 'tiktok']) {
        expect(synced[`profiles.${platform}`]).toMatchObject({ n: 10, deleted: 0 });
        expect(synced[`posts.${platform}`]).toMatchObject({ n: expect.any(Number), deleted: 0 });
        expect((synced[`posts.${platform}`] as { n: number }).n).toBeGreaterThanOrEqual(30);
        expect((synced[`comments.${platform}`] as { n: number }).n).toBeGreaterThan(0);
      }
      expect(await interrupt(first.child)).toBe(0);

      // Second start: same pipelines, no run requested, simulators back with the same data.
      const second = await startSiphon(env);
      const { rows: pipelines } = await target.admin.query(
        `SELECT name, kind, mode FROM etl.etl_pipelines WHERE kind = 'social' ORDER BY name`,
      );
      expect(pipelines).toEqual([
        { name: 'instagram_demo', kind: 'social', mode: 'incremental' },
        { name: 'tiktok_demo', kind: 'social', mode: 'incremental' },
        { name: 'youtube_demo', kind: 'social', mode: 'incremental' },
      ]);
      expect(await demoRuns(target)).toEqual(
        Object.fromEntries(SOCIAL_DEMO.map((name) => [name, ['SUCCESS']])),
      );
      for (const name of SOCIAL_DEMO) {
        const res = await fetch(`http://127.0.0.1:${apiPort}/pipelines/${name}/run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status, await res.text()).toBeLessThan(300);
      }
      await waitForDemoRuns(target, 2);
      expect(await socialSnapshot(target)).toEqual(synced);
      expect(await interrupt(second.child)).toBe(0);
    } finally {
      await killAllSpawned();
      await target.drop();
    }
  }, 240_000);

  it('never overrides a credential the user configured: that platform gets no simulator', () => {
    const base = { SIPHON_ENV_FILE: 'none' };
    const config = loadConfig({
      ...base,
      SIPHON_YOUTUBE_API_KEY: 'real-key',
      SIPHON_TIKTOK_CLIENT_KEY: 'real-client-key',
    });
    expect(demoSocialPlatforms(config)).toEqual(['instagram']);
    const derived = withDemoSocialEndpoints(config, {
      youtube: { baseUrl: 'http://127.0.0.1:1/youtube/v3/' },
      instagram: { baseUrl: 'http://127.0.0.1:2/v21.0/', userId: '17841000000000000' },
      tiktok: { baseUrl: 'http://127.0.0.1:3/' },
    });
    expect(derived.youtube).toEqual(config.youtube);
    expect(derived.tiktok).toEqual(config.tiktok);
    expect(derived.instagram).toMatchObject({
      baseUrl: 'http://127.0.0.1:2/v21.0/',
      userId: '17841000000000000',
      accessToken: expect.any(String),
    });
    expect(derived.runner).toBe(config.runner);
    expect(demoSocialPlatforms(loadConfig(base))).toEqual(['youtube', 'instagram', 'tiktok']);
  });
});
