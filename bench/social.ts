/**
 * `npm run bench:social`: one social pipeline (YouTube) syncing 1,000 / 3,000 / 10,000 simulated
 * accounts to completion, then 10,000 again with two runners; end-to-end time, tasks/s, pages/s, API
 * calls, runner RSS, database growth per table, and the engine's SQL as the runners' pools saw it.
 * Then the calls per account of each freshness policy on each platform (bench/social-policies.ts), and
 * a simulated day of tiered syncs under the default quota against the planner (bench/social-day.ts).
 * `--sizes none` skips the scale runs.
 *
 *   npm run bench:social -- --sizes 1000,3000,10000 --scale-out 10000 --concurrency 8 --policies 1
 *
 * Each size gets a fresh database cloned from one migrated template, on a throwaway embedded
 * PostgreSQL 18 (or the server of BENCH_DATABASE_URL, which must allow CREATE DATABASE). The YouTube
 * simulator runs in a child process, so the RSS measured here is the runners' own.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { prepareDatabase } from '../src/bootstrap/database.js';
import { YouTubeAdapter, YouTubeClient } from '../src/connectors/youtube/index.js';
import { createPool, urlForRole, type Pool } from '../src/db/pool.js';
import { ROLES, type RolePasswords } from '../src/db/roles.js';
import { requestStatus, savePipeline } from '../src/pipelines/index.js';
import { Runner } from '../src/runner/index.js';
import { startYouTubeSimulator } from '../src/simulators/youtube/index.js';
import type { PlatformAdapter } from '../src/connectors/connector.js';
import { benchServer } from './server.js';
import { measurePolicies, type PolicyResult } from './social-policies.js';
import { measureImport, type ImportResult } from './accounts-import.js';
import { measureDay, type DayResult } from './social-day.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,3000,10000' },
    /** Accounts for the two-runner run; 0 skips it. Default: the largest size. */
    'scale-out': { type: 'string' },
    /** Sync steps each runner executes at once. */
    concurrency: { type: 'string', default: '8' },
    /** Measure a bulk import of 100,000 tracked accounts (bench/accounts-import.ts); 0 skips it. */
    import: { type: 'string', default: '1' },
    /** Measure the freshness policies' calls per account (bench/social-policies.ts); 0 skips it. */
    policies: { type: 'string', default: '1' },
    /** A simulated day of tiered syncs under the default quota against the planner (bench/social-day.ts); 0 skips it. */
    day: { type: 'string', default: '1' },
    /** Accounts and daily budgets of that day, as a share of its full size. */
    'day-scale': { type: 'string', default: '1' },
    /** Give up on one scenario after this many seconds. */
    timeout: { type: 'string', default: '900' },
    out: { type: 'string', default: 'bench/results/social.json' },
    /** Internal: run as the simulator child with these channels. */
    simulator: { type: 'string' },
  },
});

const KEY = 'bench-social-key';
const SEED = 7;
/** Small accounts: the engine, not the data volume, is what grows with the account count. */
const DATA = { videosPerChannel: [2, 6], commentThreadsPerVideo: [0, 3], repliesPerThread: [0, 2] } as const;
/** Far above what 2 cores can use: the limiter paces nothing, so it is not the bottleneck. */
const RATE = { calls: 100_000, window: '1s' } as const;
const PASSWORDS: RolePasswords = {
  reader: 'bench-reader-pw',
  writer: 'bench-writer-pw',
  api: 'bench-api-pw',
};
const TEMPLATE = 'siphon_bench_social_template';

interface Scenario {
  readonly name: string;
  readonly accounts: number;
  readonly runners: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly seconds: number;
  /** From the run request to the jobs opened and queued (openRunJobs + enqueueOpenTasks). */
  readonly openSeconds: number | null;
  /** From the last task finished to the run's SUCCESS (the coordinator noticing). */
  readonly closeSeconds: number | null;
  readonly tasks: Record<string, number>;
  readonly tasksDone: number;
  readonly tasksPerSecond: number;
  /** tasks/s in the first and the last 25 % of the run (a degradation with the queue's size shows here). */
  readonly tasksPerSecondFirstQuarter: number;
  readonly tasksPerSecondLastQuarter: number;
  readonly pages: number;
  readonly pagesPerSecond: number;
  readonly items: number;
  readonly apiCalls: number;
  readonly simulatorCalls: number;
  readonly rssMiB: { readonly baseline: number; readonly peak: number; readonly end: number };
  readonly heapPeakMiB: number;
  /** CPU time of this process (the runners) during the run, and per task. */
  readonly runnerCpuSeconds: number;
  readonly runnerCpuMsPerTask: number;
  /** How late the runners' event loop ran its callbacks (ms). */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly databaseMiB: { readonly before: number; readonly after: number; readonly delta: number };
  readonly tablesMiB: Record<string, number>;
  readonly rows: Record<string, number>;
  /** The runners' SQL, by statement: calls and total/mean/max ms measured at the pools' clients. */
  readonly sql: readonly SqlStat[];
  /** Every statement the runners' pools sent (graphile-worker's included), per task done. */
  readonly sqlStatementsPerTask: number;
}

interface SqlStat {
  readonly statement: string;
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

type SimulatorMessage = { type: 'ready'; baseUrl: string; channels: string[] } | { type: 'calls'; n: number };

async function main(): Promise<void> {
  // `--sizes none` measures only the import, the policies and the day.
  const sizes = args.sizes === 'none' ? [] : args.sizes!.split(',').map(Number);
  const scaleOut = args['scale-out'] === undefined ? Math.max(0, ...sizes) : Number(args['scale-out']);
  const concurrency = Number(args.concurrency);
  const server = await benchServer('siphon-bench-social-');
  const serverUrl = server.url;
  const root = new pg.Client({ connectionString: serverUrl });
  await root.connect();
  try {
    const version = (await root.query<{ v: string }>(`SELECT current_setting('server_version') AS v`))
      .rows[0]!.v;
    await root.query(`DROP DATABASE IF EXISTS ${TEMPLATE}`);
    await root.query(`CREATE DATABASE ${TEMPLATE}`);
    await prepareDatabase(withDatabase(serverUrl, TEMPLATE), PASSWORDS);
    log(
      `PostgreSQL ${version}; ${concurrency} sync steps per runner; rate limit ${RATE.calls} calls/${RATE.window}`,
    );
    const plan: [number, number][] = sizes.map((n) => [n, 1]);
    if (scaleOut > 0) plan.push([scaleOut, 2]);
    const results: Scenario[] = [];
    for (const [accounts, runners] of plan) {
      const name = `${accounts.toLocaleString('en-US')} accounts, ${runners} runner${runners > 1 ? 's' : ''}`;
      const database = `siphon_bench_social_${accounts}_${runners}`;
      await root.query(`DROP DATABASE IF EXISTS ${database}`);
      await root.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE}`);
      try {
        const result = await scenario(
          withDatabase(serverUrl, database),
          name,
          accounts,
          runners,
          concurrency,
        );
        log(row(result));
        results.push(result);
        // Written after each run as well: a long bench stopped halfway keeps what it measured.
        writeReport(args.out!, { date: new Date().toISOString(), partial: true, postgres: version, results });
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    }
    const single = results.filter((r) => r.runners === 1 && r.ok).sort((a, b) => a.accounts - b.accounts);
    const [small, large] = [single[0], single.at(-1)];
    const growth =
      small && large && large !== small
        ? {
            from: small.accounts,
            to: large.accounts,
            accounts: round(large.accounts / small.accounts, 2),
            time: round(large.seconds / small.seconds, 2),
            rssPeak: round(large.rssMiB.peak / small.rssMiB.peak, 2),
            rssAboveBaseline: round(
              (large.rssMiB.peak - large.rssMiB.baseline) / (small.rssMiB.peak - small.rssMiB.baseline),
              2,
            ),
            databaseDelta: round(large.databaseMiB.delta / small.databaseMiB.delta, 2),
            tasksPerSecond: round(large.tasksPerSecond / small.tasksPerSecond, 2),
          }
        : null;
    let accountsImport: ImportResult | null = null;
    if (args.import !== '0') {
      const database = 'siphon_bench_social_import';
      await root.query(`DROP DATABASE IF EXISTS ${database}`);
      await root.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE}`);
      try {
        accountsImport = await measureImport(withDatabase(serverUrl, database), PASSWORDS);
        log(`\nimport of tracked accounts: ${JSON.stringify(accountsImport)}`);
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    }
    let policies: PolicyResult[] = [];
    if (args.policies !== '0') {
      log('\ncalls per account of a first and a regular sync, per platform and freshness policy:');
      policies = await measurePolicies(
        async (database) => {
          await root.query(`DROP DATABASE IF EXISTS ${database}`);
          await root.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE}`);
          return {
            url: withDatabase(serverUrl, database),
            drop: async () => void (await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)),
          };
        },
        PASSWORDS,
        log,
      );
    }
    let day: DayResult | null = null;
    if (args.day !== '0') {
      const database = 'siphon_bench_social_day';
      await root.query(`DROP DATABASE IF EXISTS ${database}`);
      await root.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE}`);
      try {
        log('\na simulated day of tiered syncs under the default quota, against the planner:');
        day = await measureDay(withDatabase(serverUrl, database), PASSWORDS, Number(args['day-scale']), log);
        log(`  day: ${JSON.stringify(day)}`);
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }
    }
    const one = results.find((r) => r.ok && r.runners === 1 && r.accounts === scaleOut);
    const two = results.find((r) => r.ok && r.runners === 2 && r.accounts === scaleOut);
    const scaleOutSpeedup = one && two ? round(one.seconds / two.seconds, 2) : null;
    log('');
    log(markdownTable(results));
    if (growth) log(`\ngrowth ${growth.from} → ${growth.to}: ${JSON.stringify(growth)}`);
    if (scaleOutSpeedup !== null) log(`two runners at ${scaleOut}: ${scaleOutSpeedup}× the speed of one`);
    const report = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGiB: round(totalmem() / 2 ** 30, 1),
        node: process.version,
      },
      postgres: version,
      data: { seed: SEED, ...DATA, rate: RATE, concurrencyPerRunner: concurrency },
      results,
      growth,
      scaleOutSpeedup,
      accountsImport,
      policies,
      day,
    };
    writeReport(args.out!, report);
    log(`\nwritten to ${args.out}`);
  } finally {
    await root.query(`DROP DATABASE IF EXISTS ${TEMPLATE}`).catch(() => {});
    await root.end();
    await server.close();
  }
}

function writeReport(path: string, report: object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

async function scenario(
  url: string,
  name: string,
  accounts: number,
  runnerCount: number,
  concurrency: number,
): Promise<Scenario> {
  log(`${name} …`);
  const sim = await startSimulatorChild(accounts);
  const admin = createPool({ connectionString: url, applicationName: 'bench-admin', max: 2 });
  const api = createPool({
    connectionString: urlForRole(url, ROLES.api, PASSWORDS.api),
    applicationName: 'bench-api',
    max: 2,
  });
  const sql = new Map<string, { calls: number; totalMs: number; maxMs: number }>();
  const opened: number[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) {
          if (line.includes('jobs opened and queued'))
            opened.push((JSON.parse(line) as { time: number }).time);
        }
        done();
      },
    }),
  );
  const pools: Pool[] = [];
  const runners: Runner[] = [];
  for (let i = 0; i < runnerCount; i += 1) {
    const writerUrl = urlForRole(url, ROLES.writer, PASSWORDS.writer);
    const pool = createPool({
      connectionString: writerUrl,
      applicationName: 'bench-writer',
      max: concurrency + 4,
    });
    profileQueries(pool, sql);
    pools.push(pool);
    const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: KEY, timeoutMs: 30_000 });
    const adapters = new Map<string, PlatformAdapter>([['youtube', new YouTubeAdapter({ client })]]);
    runners.push(
      new Runner({
        pool,
        listenUrl: writerUrl,
        logger,
        pollIntervalMs: 200,
        leaseMs: 30_000,
        concurrency: 1,
        maxAttempts: 3,
        sync: { adapters, concurrency },
      }),
    );
  }
  try {
    const pipeline = await savePipeline(
      api,
      {
        name: 'youtube_bench',
        kind: 'social',
        mode: 'incremental',
        social: { platform: 'youtube', accounts: sim.channels, rate: RATE },
      },
      'bench',
    );
    await admin.query('CHECKPOINT');
    const before = await databaseSize(admin);
    const tablesBefore = await tableSizes(admin);
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let heapPeak = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.rss);
      heapPeak = Math.max(heapPeak, m.heapUsed);
    }, 100);
    const done = new Promise<void>((resolve, reject) => {
      for (const runner of runners) {
        runner.events.on('run:succeeded', () => resolve());
        runner.events.on('run:failed', (e) => reject(new Error(`${e.code}: ${e.message}`)));
      }
      setTimeout(
        () => reject(new Error(`not done after ${args.timeout} s`)),
        Number(args.timeout) * 1000,
      ).unref();
    });
    for (const runner of runners) await runner.start();
    sql.clear();
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpuBefore = process.cpuUsage();
    const started = Date.now();
    let error: string | undefined;
    await requestStatus(api, pipeline.id, 'run', 'bench', 'bench');
    await done.catch((e: Error) => (error = e.message));
    const ended = Date.now();
    const cpu = process.cpuUsage(cpuBefore);
    delay.disable();
    clearInterval(sampler);
    const end = process.memoryUsage().rss;
    await Promise.all(runners.map((r) => r.stop()));
    const seconds = (ended - started) / 1000;
    const simulatorCalls = await sim.calls();

    await admin.query('CHECKPOINT');
    const after = await databaseSize(admin);
    const tablesAfter = await tableSizes(admin);
    const { rows: byStatus } = await admin.query<{ k: string; n: number }>(
      `SELECT kind || ':' || status AS k, count(*)::int AS n FROM etl.sync_tasks GROUP BY 1 ORDER BY 1`,
    );
    const totals = (
      await admin.query<{ pages: number; items: number; calls: number; last: Date | null }>(
        `SELECT (SELECT coalesce(sum(pages), 0)::int FROM etl.sync_tasks) AS pages,
                (SELECT coalesce(sum(items), 0)::int FROM etl.sync_tasks) AS items,
                (SELECT coalesce(sum(calls), 0)::int FROM etl.sync_tasks) AS calls,
                (SELECT max(finished_at) FROM etl.sync_tasks) AS last`,
      )
    ).rows[0]!;
    const finished = (
      await admin.query<{ t: number }>(
        `SELECT extract(epoch FROM finished_at) * 1000 AS t FROM etl.sync_tasks
          WHERE status IN ('DONE', 'SKIPPED') ORDER BY finished_at`,
      )
    ).rows.map((r) => Number(r.t));
    const rows = await rowCounts(admin);
    const quarter = (seconds * 1000) / 4;
    const rate = (from: number, to: number) =>
      round(finished.filter((t) => t >= from && t < to).length / ((to - from) / 1000), 1);
    const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
    const tablesMiB: Record<string, number> = {};
    for (const [table, bytes] of tablesAfter) tablesMiB[table] = mib(bytes - (tablesBefore.get(table) ?? 0));
    return {
      name,
      accounts,
      runners: runnerCount,
      ok: error === undefined,
      ...(error === undefined ? {} : { error }),
      seconds: round(seconds, 2),
      openSeconds: opened[0] === undefined ? null : round((opened[0] - started) / 1000, 2),
      closeSeconds: totals.last ? round((ended - totals.last.getTime()) / 1000, 2) : null,
      tasks: Object.fromEntries(byStatus.map((r) => [r.k, r.n])),
      tasksDone: finished.length,
      tasksPerSecond: round(finished.length / seconds, 1),
      tasksPerSecondFirstQuarter: rate(started, started + quarter),
      tasksPerSecondLastQuarter: rate(ended - quarter, ended + 1),
      pages: totals.pages,
      pagesPerSecond: round(totals.pages / seconds, 1),
      items: totals.items,
      apiCalls: totals.calls,
      simulatorCalls,
      rssMiB: { baseline: mib(baseline), peak: mib(peak), end: mib(end) },
      heapPeakMiB: mib(heapPeak),
      runnerCpuSeconds: round((cpu.user + cpu.system) / 1e6, 1),
      runnerCpuMsPerTask: round((cpu.user + cpu.system) / 1000 / Math.max(1, finished.length), 2),
      eventLoopDelayMs: {
        p50: round(delay.percentile(50) / 1e6, 1),
        p99: round(delay.percentile(99) / 1e6, 1),
        max: round(delay.max / 1e6, 1),
      },
      databaseMiB: { before: mib(before), after: mib(after), delta: mib(after - before) },
      tablesMiB,
      rows,
      sql: [...sql.entries()]
        .map(([statement, s]) => ({
          statement,
          calls: s.calls,
          totalMs: Math.round(s.totalMs),
          meanMs: round(s.totalMs / s.calls, 2),
          maxMs: Math.round(s.maxMs),
        }))
        .sort((a, b) => b.totalMs - a.totalMs)
        .slice(0, 15),
      sqlStatementsPerTask: round(
        [...sql.values()].reduce((n, s) => n + s.calls, 0) / Math.max(1, finished.length),
        2,
      ),
    };
  } finally {
    await Promise.allSettled(runners.map((r) => r.stop()));
    await Promise.allSettled([...pools, admin, api].map((p) => p.end()));
    sim.stop();
  }
}

/** The engine's statements by name (the rest by their first words), timed at the pool's clients. */
const STATEMENTS: readonly [string | readonly string[], string][] = [
  [['WHERE id = (SELECT id FROM claim)', 'UPDATE social.comments c'], 'commitWholeCommentsPage'],
  [['WHERE id = (SELECT id FROM claim)', 'INSERT INTO social.profiles'], 'commitProfilePage'],
  ['count(DISTINCT j.id)', 'runProgress'],
  ['WITH done AS', 'closeFinishedJobs'],
  ['INSERT INTO etl.sync_jobs', 'openRunJobs (jobs + profile tasks)'],
  ["WHERE j.run_id = $1 AND j.status = 'RUNNING' AND t.status IN", 'enqueueOpenTasks'],
  ['FROM unnest($1::bigint[]) AS u(id)', 'enqueueTasks'],
  ['WITH opened AS', 'openChildTasks (+ queued)'],
  ['WITH cur AS', 'quota.reserveSlot'],
  ['AS account_handle', 'loadStep'],
  ['t.cursor IS NOT DISTINCT FROM $2', 'claimPageCommit (+ raw responses)'],
  ['INSERT INTO etl.sync_seen', 'recordSeen'],
  ['SET cursor = $2, pages = pages + 1', 'savePage'],
  ['UPDATE etl.sync_tasks SET calls = calls +', 'addTaskCalls'],
  ['select jobs.job_queue_id, jobs.priority', 'graphile-worker getJobs'],
  ['_private_jobs as jobs\nwhere id = $1', 'graphile-worker completeJob (one)'],
  ['using unnest($1::bigint[]) n(n)', 'graphile-worker completeJobs (batch)'],
  ['update "graphile_worker"._private_jobs as jobs', 'graphile-worker returnJobs'],
];

function statementName(text: string): string {
  for (const [needles, name] of STATEMENTS) {
    if ((typeof needles === 'string' ? [needles] : needles).every((n) => text.includes(n))) return name;
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, 60);
}

function profileQueries(pool: Pool, stats: Map<string, { calls: number; totalMs: number; maxMs: number }>) {
  const record = (text: string, ms: number) => {
    const name = statementName(text);
    const s = stats.get(name) ?? { calls: 0, totalMs: 0, maxMs: 0 };
    s.calls += 1;
    s.totalMs += ms;
    s.maxMs = Math.max(s.maxMs, ms);
    stats.set(name, s);
  };
  pool.on('connect', (client) => {
    const original = client.query.bind(client) as (...a: unknown[]) => unknown;
    (client as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
      const first = a[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : first?.text;
      if (!text) return original(...a);
      const started = performance.now();
      const last = a.at(-1);
      if (typeof last === 'function') {
        a[a.length - 1] = (...r: unknown[]) => {
          record(text, performance.now() - started);
          return (last as (...r: unknown[]) => unknown)(...r);
        };
        return original(...a);
      }
      const result = original(...a) as Promise<unknown> | undefined;
      void result?.then?.(
        () => record(text, performance.now() - started),
        () => record(text, performance.now() - started),
      );
      return result;
    };
  });
}

async function databaseSize(db: Pool): Promise<number> {
  const { rows } = await db.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b');
  return Number(rows[0]!.b);
}

/** social.*, etl.sync_* and graphile_worker.*, with their indexes and TOAST. */
async function tableSizes(db: Pool): Promise<Map<string, number>> {
  const { rows } = await db.query<{ t: string; b: string }>(
    `SELECT n.nspname || '.' || c.relname AS t, pg_total_relation_size(c.oid) AS b
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND (n.nspname IN ('social', 'graphile_worker') OR (n.nspname = 'etl' AND c.relname LIKE 'sync\\_%'))
      ORDER BY 1`,
  );
  return new Map(rows.map((r) => [r.t, Number(r.b)]));
}

async function rowCounts(db: Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM social.profiles)::int AS profiles,
            (SELECT count(*) FROM social.posts)::int AS posts,
            (SELECT count(*) FROM social.comments)::int AS comments,
            (SELECT count(*) FROM social.raw_responses)::int AS raw_responses,
            (SELECT count(*) FROM etl.sync_jobs)::int AS sync_jobs,
            (SELECT count(*) FROM etl.sync_tasks)::int AS sync_tasks,
            (SELECT count(*) FROM graphile_worker._private_jobs)::int AS queued_steps_left`,
  );
  return rows[0]!;
}

interface SimulatorHandle {
  readonly baseUrl: string;
  readonly channels: string[];
  calls(): Promise<number>;
  stop(): void;
}

/** The simulator in its own process: its CPU and memory are not the runners'. */
async function startSimulatorChild(channels: number): Promise<SimulatorHandle> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--simulator', String(channels)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<SimulatorMessage>((resolve, reject) => {
      child.once('message', (m) => resolve(m as SimulatorMessage));
      child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error('simulator did not start');
  return {
    baseUrl: ready.baseUrl,
    channels: ready.channels,
    calls: async () => {
      const reply = next();
      child.send('calls');
      const m = await reply;
      return m.type === 'calls' ? m.n : -1;
    },
    stop: () => child.kill(),
  };
}

async function simulatorChild(channels: number): Promise<void> {
  const sim = await startYouTubeSimulator({
    seed: SEED,
    channels,
    ...DATA,
    subscriptionsPerChannel: [0, 0],
    apiKeys: [KEY],
    dailyQuotaUnits: 100_000_000,
    asOf: new Date(Date.now() - 3_600_000).toISOString(),
  });
  const ids = Array.from({ length: channels }, (_, i) => sim.control.channelId(i));
  process.on('message', (m) => {
    if (m === 'calls') process.send!({ type: 'calls', n: sim.control.quota.used(KEY) });
  });
  process.on('disconnect', () => void sim.close().finally(() => process.exit(0)));
  process.send!({ type: 'ready', baseUrl: sim.baseUrl, channels: ids });
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function row(s: Scenario): string {
  if (!s.ok) return `  FAILED after ${s.seconds} s: ${s.error}`;
  return (
    `  ${s.seconds} s; ${s.tasksDone} tasks (${s.tasksPerSecond}/s, first/last quarter ` +
    `${s.tasksPerSecondFirstQuarter}/${s.tasksPerSecondLastQuarter}); ${s.pages} pages (${s.pagesPerSecond}/s); ` +
    `${s.apiCalls} calls; open ${s.openSeconds} s, close ${s.closeSeconds} s; RSS peak ${s.rssMiB.peak} MiB ` +
    `(base ${s.rssMiB.baseline}); DB +${s.databaseMiB.delta} MiB; runner CPU ${s.runnerCpuSeconds} s ` +
    `(${s.runnerCpuMsPerTask} ms/task), event loop delay p99 ${s.eventLoopDelayMs.p99} ms\n` +
    s.sql
      .slice(0, 8)
      .map(
        (q) =>
          `    ${q.statement.padEnd(40)} ${q.calls} calls, ${q.totalMs} ms, mean ${q.meanMs}, max ${q.maxMs}`,
      )
      .join('\n')
  );
}

function markdownTable(results: readonly Scenario[]): string {
  const lines = [
    '| accounts | runners | time | tasks (tasks/s) | pages (pages/s) | API calls | runner RSS peak (base) | DB growth |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of results) {
    lines.push(
      `| ${s.accounts.toLocaleString('en-US')} | ${s.runners} | ${s.ok ? `${s.seconds.toFixed(1)} s` : 'failed'} | ` +
        `${s.tasksDone.toLocaleString('en-US')} (${s.tasksPerSecond}) | ${s.pages.toLocaleString('en-US')} (${s.pagesPerSecond}) | ` +
        `${s.apiCalls.toLocaleString('en-US')} | ${s.rssMiB.peak} MiB (${s.rssMiB.baseline}) | ${s.databaseMiB.delta} MiB |`,
    );
  }
  return lines.join('\n');
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const log = (line: string) => process.stdout.write(`${line}\n`);

if (args.simulator !== undefined) await simulatorChild(Number(args.simulator));
else await main();
