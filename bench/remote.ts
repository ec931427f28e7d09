/**
 * `npm run bench -- --remote`: a full load of a source in another database into the embedded
 * PostgreSQL 18, measured in one run against the usual tools doing the same copy:
 *
 *   - Siphon, from the system PostgreSQL 15 (a source connection, batches read there, committed here),
 *     in two parallel lanes from one snapshot and in one sequence; the sequence again into a target
 *     whose indexes it must keep (a foreign key points at it), to show what holding them gives
 *     (`fastPath.heldIndexes`);
 *   - `pg_dump -t … | psql` and `psql \copy … | psql \copy` (PostgreSQL 15 → 18);
 *   - Siphon from the system MariaDB;
 *   - pgloader (Debian's package) from both sources, when it is installed (reported as null when not);
 *   - psql alone loading the same rows from a file, in one COPY and in one transaction per batch: what
 *     PostgreSQL itself charges for committing every batch (`floor`).
 *
 *   npm run bench -- --remote --rows 1000000 --batch 10000 --repeat 3 --out bench/results/remote.json
 *   npm run bench -- --remote --quick --repeat 7    (Siphon's sequence against pg_dump | psql only)
 *   npm run bench -- --remote --quick --source mysql (Siphon from MariaDB against pgloader only)
 *
 * Every measured load, Siphon's and the tools', starts once autovacuum is idle on the target and after a
 * CHECKPOINT on both servers, so that no load pays for writing out the one before it.
 *
 * The sequence runs again with COPY text instead of binary (ADR 0023), for `fastPath.binary`. Each
 * scenario reports the CPU seconds of this process, the target and the source server (bench/cpu.ts);
 * `BENCH_LOG=info` prints the runner's log to stderr.
 *
 * Siphon's sequential loads from both sources, `pg_dump | psql`, `psql \copy | psql \copy`, the two
 * psql loads from a file and pgloader from both sources run `--repeat` rounds, one after the other in
 * each round; each reports the median round.
 *
 * `vsPgDump` and `vsPsqlCopy` are the tool's time divided by Siphon's: above 1 Siphon is faster.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { pino } from 'pino';
import { createSecretResolver } from '../src/config/index.js';
import { migrate } from '../src/db/migrator.js';
import { createPool } from '../src/db/pool.js';
import { ensureRoles } from '../src/db/roles.js';
import { requestStatus, savePipeline } from '../src/pipelines/index.js';
import { Runner } from '../src/runner/index.js';
import { createConnection } from '../src/sources/index.js';
import { DEFAULT_SQL_POLICY } from '../src/sql-guard/index.js';
import { cpuSnapshot, cpuSpent, postmasterOf } from './cpu.js';
import { benchServer } from './server.js';

const { values: args } = parseArgs({
  options: {
    remote: { type: 'boolean', default: true },
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/remote.json' },
    // Only the two loads `vsPgDump` divides (with `--source mysql`: `mysql.vsPgloader`), in alternating
    // rounds, printed as they end (no file written).
    quick: { type: 'boolean', default: false },
    source: { type: 'string', default: 'pg' },
  },
});
const ROWS = Number(args.rows);
const BATCH = Number(args.batch);
const REPEAT = Number(args.repeat);
const DB = `siphon_bench_${process.pid}`;
const SOURCE_PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const SOURCE_MY = { host: '127.0.0.1', port: 3306, user: 'root' };
const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' }, pino.destination(2));
const SIPHON_PARALLEL = 'siphon: PostgreSQL 15 → 18 (COPY, 2 lanes)';
const SIPHON_SEQUENTIAL = 'siphon: PostgreSQL 15 → 18 (COPY, sequential)';
const SIPHON_TEXT = 'siphon: PostgreSQL 15 → 18 (COPY, sequential, text instead of binary)';
const SIPHON_INDEXES_KEPT =
  'siphon: PostgreSQL 15 → 18 (COPY, sequential, indexes kept: a foreign key points at the target)';
const SIPHON_MYSQL = 'siphon: MariaDB → PostgreSQL 18';
const PGLOADER_PG = 'pgloader: PostgreSQL 15 → 18';
const PGLOADER_MY = 'pgloader: MariaDB → PostgreSQL 18';
const PG_DUMP = 'pg_dump -t | psql';
const PSQL_COPY = 'psql \\copy | psql \\copy';
const FLOOR_ONE = 'psql \\copy from a file, one statement';
const FLOOR_BATCHES = 'psql \\copy from a file, one transaction per batch';
const FILMS_DDL =
  'CREATE TABLE films (id int PRIMARY KEY, title text NOT NULL, rating numeric(4,2), kind text, modified timestamptz NOT NULL)';

interface Scenario {
  name: string;
  seconds: number | null;
  rowsPerSecond: number | null;
  rssMiB?: { baseline: number; peak: number };
  /** Every round's seconds, when the scenario ran in rounds (`seconds` is their median). */
  runs?: number[];
  /** CPU seconds of the median round, by process (bench/cpu.ts): where a load's time goes. */
  cpuSeconds?: Record<string, number>;
  note?: string;
}

interface Measured {
  seconds: number;
  rssMiB?: { baseline: number; peak: number };
  cpuSeconds?: Record<string, number>;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const round2 = (x: number) => Math.round(x * 100) / 100;
const scenario = (name: string, m: Measured, extra: Partial<Scenario> = {}): Scenario => ({
  name,
  seconds: round2(m.seconds),
  rowsPerSecond: Math.round(ROWS / m.seconds),
  ...(m.rssMiB ? { rssMiB: m.rssMiB } : {}),
  ...(m.cpuSeconds ? { cpuSeconds: m.cpuSeconds } : {}),
  ...extra,
});

/** Runs a shell pipeline; fails loudly with its stderr. */
function shell(command: string, env: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (result.status !== 0) throw new Error(`${command}: ${result.stderr.toString().slice(-2000)}`);
}

async function main(): Promise<void> {
  const server = await benchServer('siphon-bench-remote-');
  const target = createPool({ connectionString: server.url, applicationName: 'bench-admin', max: 6 });
  const sourcePg = new pg.Client({ ...SOURCE_PG, database: 'postgres' });
  await sourcePg.connect();
  const my = await mysql.createConnection({ ...SOURCE_MY, multipleStatements: false });
  const results: Scenario[] = [];
  try {
    const client = await target.connect();
    await ensureRoles(client, { reader: 'bench-r-pw', writer: 'bench-w-pw', api: 'bench-a-pw' });
    await migrate(client);
    client.release();

    // The source tables: the same rows on both servers.
    await sourcePg.query(`CREATE DATABASE ${DB}`);
    const src = new pg.Client({ ...SOURCE_PG, database: DB });
    await src.connect();
    await src.query(`CREATE TABLE public.films (id int PRIMARY KEY, title text NOT NULL, rating numeric(4,2),
      kind text, modified timestamptz NOT NULL)`);
    await src.query(
      `INSERT INTO public.films SELECT i, 'film ' || i, (i % 1000) / 100.0, CASE WHEN i % 3 = 0 THEN 'movie' ELSE 'tv_show' END,
              timestamptz '2025-01-01' + make_interval(secs => i) FROM generate_series(1, $1) i`,
      [ROWS],
    );
    await src.query('VACUUM ANALYZE public.films');
    await src.end();
    await my.query(`CREATE DATABASE ${DB}`);
    await my.query(`CREATE TABLE ${DB}.films (id int PRIMARY KEY, title varchar(100) NOT NULL, rating decimal(4,2),
      kind varchar(10), modified timestamp NOT NULL)`);
    await my.query(
      `INSERT INTO ${DB}.films SELECT seq, CONCAT('film ', seq), (seq % 1000) / 100, IF(seq % 3 = 0, 'movie', 'tv_show'),
              TIMESTAMP '2025-01-01 00:00:00' + INTERVAL seq SECOND FROM ${DB}.seq_1_to_${ROWS}`,
    );

    // Siphon: one runner in this process, reading each source through a connection.
    for (const [name, kind, query] of [
      ['bench_pg', 'postgres', 'SELECT id, title, rating, kind, modified FROM public.films'],
      ['bench_my', 'mysql', 'SELECT id, title, rating, kind, modified FROM films'],
      ['bench_pg_kept', 'postgres', 'SELECT id, title, rating, kind, modified FROM public.films'],
    ] as const) {
      const connection = name === 'bench_pg_kept' ? 'bench_pg' : name;
      if (connection === name) {
        await createConnection(
          target,
          {
            name,
            kind,
            host: kind === 'postgres' ? SOURCE_PG.host : SOURCE_MY.host,
            database: DB,
            user: kind === 'postgres' ? SOURCE_PG.user : SOURCE_MY.user,
          },
          'bench',
        );
      }
      await savePipeline(
        target,
        {
          name: `${name}_full`,
          source_connection: connection,
          source_query: query,
          target_table: `analytics.${name}_films`,
          unique_key: 'id',
          batch_size: BATCH,
        },
        'bench',
      );
    }
    const mib = (b: number) => Math.round(b / 2 ** 20);
    // CPU by process: this one, the target server (embedded PostgreSQL 18), the source PostgreSQL 15.
    const pidOf = async (client: { query: pg.Client['query'] }) =>
      postmasterOf((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    const postmasters = [await pidOf(target), await pidOf(sourcePg)].filter((p) => p !== undefined);
    const cpuNames = ['target', 'source'];
    const cpuFrom = (before: ReturnType<typeof cpuSnapshot>) =>
      postmasters.length === 2 ? cpuSpent(before, cpuSnapshot(postmasters), cpuNames) : undefined;
    // Every measured load starts from the same state: autovacuum done with the rows the load before
    // wrote, and both servers' dirty pages written out (a checkpoint or a vacuum running on into the
    // next load slowed whichever load came next; pgbench starts its runs from a CHECKPOINT too).
    const settle = async () => {
      for (let waited = 0; waited < 60_000; waited += 100) {
        const { rows } = await target.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
        );
        if (rows[0]!.n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await target.query('CHECKPOINT');
      await sourcePg.query('CHECKPOINT');
    };
    const load = async (pipeline: string, copy: boolean, lanes = 1, binaryCopy = true): Promise<Measured> => {
      const runner = new Runner({
        pool: target,
        listenUrl: server.url,
        logger,
        pollIntervalMs: 50,
        leaseMs: 30_000,
        concurrency: 1,
        maxAttempts: 3,
        sqlPolicy: DEFAULT_SQL_POLICY,
        sources: {
          resolveSecret: createSecretResolver({ secretEnv: {}, credentialsFile: undefined }),
          statementTimeoutMs: 120_000,
          applicationName: 'siphon-bench',
          copy,
          lanes,
          binaryCopy,
        },
      });
      await runner.start();
      try {
        // CASCADE: the kept-indexes target has a foreign key pointing at it (from an empty table).
        await target
          .query(`TRUNCATE analytics.${pipeline.replace(/_full$/, '')}_films CASCADE`)
          .catch(() => {});
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
        await settle();
        const cpu = cpuSnapshot(postmasters);
        // Timed to the run's commit, as the tools are to their exit (a status poll would add its interval).
        const ended = new Promise<boolean>((resolve) => {
          runner.events.once('run:succeeded', () => resolve(true));
          runner.events.once('run:failed', () => resolve(false));
        });
        const began = process.hrtime.bigint();
        await requestStatus(target, pipeline, 'run', 'bench', 'bench');
        if (!(await ended)) throw new Error(`${pipeline} failed`);
        const elapsed = seconds(began);
        const cpuSeconds = cpuFrom(cpu);
        clearInterval(sampler);
        const table = `analytics.${pipeline.replace(/_full$/, '')}_films`;
        const { rows } = await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        if (rows[0]!.n !== ROWS) throw new Error(`${pipeline}: ${rows[0]!.n} rows of ${ROWS}`);
        return { seconds: elapsed, rssMiB: { baseline: mib(baseline), peak: mib(peak) }, cpuSeconds };
      } finally {
        await runner.stop();
      }
    };
    // The tools, PostgreSQL 15 → 18, each into a database of its own on the target server.
    const targetUrl = (database: string) => {
      const url = new URL(server.url);
      url.pathname = `/${database}`;
      return url.toString();
    };
    const fresh = async (database: string) => {
      await target.query(`DROP DATABASE IF EXISTS ${database}`);
      await target.query(`CREATE DATABASE ${database}`);
      return targetUrl(database);
    };
    const timed = async (command: string): Promise<Measured> => {
      await settle();
      const cpu = cpuSnapshot(postmasters);
      const began = process.hrtime.bigint();
      shell(command);
      const elapsed = seconds(began);
      // The tools' backends exit after their client: their time counts once the postmaster reaped them.
      execFileSync('sleep', ['0.5']);
      return { seconds: elapsed, cpuSeconds: cpuFrom(cpu) };
    };
    const dumpIntoFresh = async () => {
      const url = await fresh('bench_dump');
      return timed(
        `pg_dump -h ${SOURCE_PG.host} -p ${SOURCE_PG.port} -U ${SOURCE_PG.user} -t public.films --no-owner --no-privileges ${DB} | psql -q -v ON_ERROR_STOP=1 "${url}"`,
      );
    };
    // pgloader (Debian's package): the whole source database (only the films table) into a database
    // of its own, indexes built after the data as it does by default; reported as null when it is not
    // installed.
    const pgloader = spawnSync('pgloader', ['--version']).status === 0;
    const pgloaderFromMysql = () =>
      pgloaderFrom(
        `mysql://${SOURCE_MY.user}@${SOURCE_MY.host}:${SOURCE_MY.port}/${DB}`,
        'bench_pgloader_my',
      );
    const pgloaderFrom = async (from: string, database: string) => {
      const url = await fresh(database);
      return timed(`pgloader --quiet '${from}' '${url.replace(/^postgres(ql)?:/, 'pgsql:')}'`);
    };
    if (args.quick) {
      const mysqlQuick = args.source === 'mysql';
      await quickRounds(
        () => load(mysqlQuick ? 'bench_my_full' : 'bench_pg_full', true),
        mysqlQuick ? pgloaderFromMysql : dumpIntoFresh,
        mysqlQuick ? 'pgloader' : 'pgDump',
      );
      return;
    }
    // The rows as psql would load them from a file: whole, and cut into files of one batch each.
    const parts = mkdtempSync(join(tmpdir(), 'siphon-bench-remote-parts-'));
    shell(
      `psql -h ${SOURCE_PG.host} -p ${SOURCE_PG.port} -U ${SOURCE_PG.user} -d ${DB} -c "\\copy (SELECT * FROM public.films ORDER BY id) TO '${parts}/all'" && cd ${parts} && split -l ${BATCH} -d -a 6 all part_`,
    );
    const script = (name: string, lines: string[]) => {
      writeFileSync(join(parts, name), `${lines.join('\n')}\n`);
      return join(parts, name);
    };
    const oneCopy = script('one.sql', [`\\copy films FROM '${parts}/all'`]);
    const perBatch = script(
      'batches.sql',
      readdirSync(parts)
        .filter((f) => f.startsWith('part_'))
        .sort()
        .flatMap((f) => ['BEGIN;', `\\copy films FROM '${parts}/${f}'`, 'COMMIT;']),
    );
    const psqlInto = async (database: string, file: string) => {
      const url = await fresh(database);
      execFileSync('psql', ['-q', url, '-c', FILMS_DDL]);
      return timed(`psql -q -v ON_ERROR_STOP=1 "${url}" -f ${file}`);
    };
    const copyFromSource = async () => {
      const url = await fresh('bench_copy');
      execFileSync('psql', ['-q', url, '-c', FILMS_DDL]);
      return timed(
        `psql -h ${SOURCE_PG.host} -p ${SOURCE_PG.port} -U ${SOURCE_PG.user} -d ${DB} -c "\\copy (SELECT * FROM public.films) TO STDOUT" | psql -q -v ON_ERROR_STOP=1 "${url}" -c "\\copy films FROM STDIN"`,
      );
    };

    // Each Siphon load into an empty target (TRUNCATE before a later load of the same pipeline).
    results.push(scenario(SIPHON_PARALLEL, await load('bench_pg_full', true, 2)));
    // A target a foreign key points at keeps its indexes through a first load (ADR 0020): loaded
    // once to create it, then given an (empty) referencing table.
    await load('bench_pg_kept_full', true);
    await target.query(
      'CREATE TABLE analytics.bench_pg_kept_child (film_id int REFERENCES analytics.bench_pg_kept_films (id))',
    );
    // The loads the ratios divide, in rounds (each round runs them one after the other), reported as
    // the median of the rounds: single runs of the same command moved by 15-50 % on this machine.
    const rounds = new Map<string, Measured[]>();
    const round = async (name: string, run: () => Promise<Measured>) => {
      rounds.set(name, [...(rounds.get(name) ?? []), await run()]);
    };
    try {
      for (let r = 0; r < REPEAT; r += 1) {
        await round(SIPHON_SEQUENTIAL, () => load('bench_pg_full', true));
        await round(SIPHON_INDEXES_KEPT, () => load('bench_pg_kept_full', true));
        await round(SIPHON_TEXT, () => load('bench_pg_full', true, 1, false));
        await round(PG_DUMP, dumpIntoFresh);
        await round(PSQL_COPY, copyFromSource);
        await round(FLOOR_ONE, () => psqlInto('bench_floor_one', oneCopy));
        await round(FLOOR_BATCHES, () => psqlInto('bench_floor_batches', perBatch));
        await round(SIPHON_MYSQL, () => load('bench_my_full', true));
        if (pgloader) {
          await round(PGLOADER_PG, () =>
            pgloaderFrom(
              `pgsql://${SOURCE_PG.user}@${SOURCE_PG.host}:${SOURCE_PG.port}/${DB}`,
              'bench_pgloader_pg',
            ),
          );
          await round(PGLOADER_MY, pgloaderFromMysql);
        }
      }
    } finally {
      rmSync(parts, { recursive: true, force: true });
    }
    for (const [name, runs] of rounds) {
      const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      results.push(scenario(name, median, { runs: runs.map((m) => round2(m.seconds)) }));
    }
    results.push(scenario('siphon: PostgreSQL 15 → 18 (rows)', await load('bench_pg_full', false)));
    if (!pgloader) {
      for (const name of [PGLOADER_PG, PGLOADER_MY]) {
        results.push({ name, seconds: null, rowsPerSecond: null, note: 'not installed on this machine' });
      }
    }

    const time = (name: string) => results.find((r) => r.name === name)?.seconds ?? null;
    const ratio = (other: number | null, siphon: string) =>
      other === null ? null : round2(other / time(siphon)!);
    const report = {
      rows: ROWS,
      batch: BATCH,
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      scenarios: results,
      repeat: REPEAT,
      vsPgDump: ratio(time(PG_DUMP), SIPHON_SEQUENTIAL),
      vsPsqlCopy: ratio(time(PSQL_COPY), SIPHON_SEQUENTIAL),
      vsPgloader: ratio(time(PGLOADER_PG), SIPHON_SEQUENTIAL),
      parallel: {
        vsPgDump: ratio(time(PG_DUMP), SIPHON_PARALLEL),
        vsPgloader: ratio(time(PGLOADER_PG), SIPHON_PARALLEL),
      },
      mysql: { vsPgloader: ratio(time(PGLOADER_MY), SIPHON_MYSQL) },
      // What each part of a first load's fast path gives (ADR 0020): the same load without it ÷ with it.
      fastPath: {
        heldIndexes: ratio(time(SIPHON_INDEXES_KEPT), SIPHON_SEQUENTIAL),
        binary: ratio(time(SIPHON_TEXT), SIPHON_SEQUENTIAL),
      },
      // PostgreSQL's own price for a commit every batch: psql alone, one COPY against one per batch.
      floor: {
        batchesOverOne: round2(time(FLOOR_BATCHES)! / time(FLOOR_ONE)!),
        vsSiphon: ratio(time(FLOOR_BATCHES), SIPHON_SEQUENTIAL),
      },
      note: "vs*: the tool's time divided by Siphon's (PostgreSQL 15 → 18 in one sequence, the default, unless named): above 1 Siphon is faster",
    };
    mkdirSync(dirname(args.out!), { recursive: true });
    writeFileSync(args.out!, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await my.query(`DROP DATABASE IF EXISTS ${DB}`).catch(() => {});
    await my.end();
    await sourcePg.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => {});
    await sourcePg.end();
    await target.end();
    await server.close();
  }
}

/**
 * `--quick`: Siphon's sequence and `pg_dump | psql` (with `--source mysql`: Siphon from MariaDB and
 * pgloader), one after the other for `--repeat` rounds, each round's times and ratio printed as it
 * ends; for trying a change to the batch path, not for reports.
 */
async function quickRounds(
  siphonLoad: () => Promise<Measured>,
  toolLoad: () => Promise<Measured>,
  tool: string,
): Promise<void> {
  const ratios: number[] = [];
  for (let r = 0; r < REPEAT; r += 1) {
    const siphon = await siphonLoad();
    const other = await toolLoad();
    ratios.push(other.seconds / siphon.seconds);
    const line = {
      round: r + 1,
      siphon: round2(siphon.seconds),
      [tool]: round2(other.seconds),
      ratio: round2(other.seconds / siphon.seconds),
      cpu: { siphon: siphon.cpuSeconds, [tool]: other.cpuSeconds },
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  process.stdout.write(`median ratio (${tool} ÷ Siphon) ${round2(sorted[Math.floor(sorted.length / 2)]!)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
