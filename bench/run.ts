/**
 * `npm run bench`: runner throughput, batch latency and memory on generated film rows, each figure
 * next to a reference measured in the same run on the same server — one hand-written
 * INSERT … SELECT … ON CONFLICT doing the same load.
 *
 *   npm run bench -- --rows 1000000 --batch 10000 --repeat 3 --out bench/results/latest.json
 *
 * Uses a throwaway embedded PostgreSQL 18 (or BENCH_DATABASE_URL, which it fills with data).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { ExportResultCode } from '@opentelemetry/core';
import { pino } from 'pino';
import { migrate } from '../src/db/migrator.js';
import { createPool, urlForRole, type Pool } from '../src/db/pool.js';
import { ensureRoles, ROLES, type RolePasswords } from '../src/db/roles.js';
import { insertFilms } from '../src/db/repositories/demo.repository.js';
import { initTracing } from '../src/observability/index.js';
import { DEMO_PIPELINES } from '../src/demo/demo-pipelines.js';
import { installDemoPipelines } from '../src/demo/demo.service.js';
import { requestStatus } from '../src/pipelines/index.js';
import { Runner } from '../src/runner/index.js';
import { DEFAULT_BATCH_SIZE } from '../src/core/pipeline-spec.schema.js';
import { benchServer } from './server.js';

// `npm run bench -- --remote`: sources in other databases against pg_dump | psql and psql \copy
// (bench/remote.ts, which reads the options after it: `npm run bench -- --remote --rows 200000`).
const remote = process.argv.indexOf('--remote');
if (remote >= 0) process.argv.splice(remote, 1);

// `npm run bench -- --social`: the social sync scale benchmark (bench/social.ts, which reads the
// options after it: `npm run bench -- --social --sizes 1000,10000`) instead of the runner's.
const social = process.argv.indexOf('--social');
if (social >= 0) process.argv.splice(social, 1);

const { values: args } = parseArgs({
  // With --social or --remote the options are bench/social.ts's or bench/remote.ts's.
  strict: social < 0 && remote < 0,
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
    out: { type: 'string', default: 'bench/results/latest.json' },
    repeat: { type: 'string', default: '3' },
  },
});
const ROWS = Number(args.rows);
const BATCH = Number(args.batch);
const REPEAT = Math.max(1, Number(args.repeat));
const PASSWORDS: RolePasswords = {
  reader: 'bench-reader-pw',
  writer: 'bench-writer-pw',
  api: 'bench-api-pw',
};
const FULL = DEMO_PIPELINES[0]!;
const INCREMENTAL = DEMO_PIPELINES[2]!;
const logger = pino({ level: 'silent' });
const TRACED = 'pushdown full (empty target), tracing on';

interface Scenario {
  name: string;
  seconds: number;
  rowsPerSecond: number;
  ratioToReference?: number;
  /** The time of the reference measured right before this scenario, which its ratio is to. */
  referenceSeconds?: number;
  /** The ratio of each round, each to the reference of its own round (the median is reported). */
  ratioRounds?: number[];
  rowsRead?: number;
  rowsWritten?: number;
  batches?: number;
  batchMs?: { p50: number; p95: number; max: number };
  rssMiB?: { baseline: number; atTenPercent: number; peak: number; end: number };
}

async function main(): Promise<void> {
  const server = await benchServer('siphon-bench-');
  const url = server.url;
  const admin = createPool({ connectionString: url, applicationName: 'bench-admin', max: 4 });
  try {
    const client = await admin.connect();
    await ensureRoles(client, PASSWORDS);
    await migrate(client);
    client.release();
    const version = (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`))
      .rows[0]!.v;
    log(`PostgreSQL ${version}; generating ${ROWS.toLocaleString()} films …`);
    await admin.query('TRUNCATE content.film_work');
    for (let from = 0; from < ROWS; from += 100_000)
      await insertFilms(admin, from, Math.min(ROWS, from + 100_000));
    await admin.query('VACUUM ANALYZE content.film_work');
    await installDemoPipelines(admin);
    await admin.query(`UPDATE etl.etl_pipelines SET batch_size = $1`, [BATCH]);

    // Each round measures every scenario, each after its own reference, on the same server; the report
    // keeps the median round of each (a shared 2-core machine makes single measurements noisy).
    const rounds: Scenario[][] = [];
    for (let round = 1; round <= REPEAT; round += 1) {
      log(`round ${round} of ${REPEAT}`);
      // Each scenario is measured right after a reference of its own kind (a load into an empty target
      // before a load, a re-run before a re-run): a shared VM's speed drifts within a round, and a
      // ratio of two measurements taken seconds apart drifts least. The references' medians are shown.
      const references: Scenario[] = [];
      const rerunReferences: Scenario[] = [];
      const yardstick = async (empty: boolean) => {
        const measured = await referenceLoad(admin, empty);
        (empty ? references : rerunReferences).push(measured);
        return measured;
      };
      const scenarios: Scenario[] = [];
      for (const [name, pipeline, transfer, truncate] of [
        ['pushdown full (empty target)', FULL, 'pushdown', true],
        ['pushdown full (re-run, no changes)', FULL, 'pushdown', false],
        ['stream full (empty target)', FULL, 'stream', true],
        ['stream full (re-run, no changes)', FULL, 'stream', false],
        ['pushdown incremental (from scratch)', INCREMENTAL, 'pushdown', true],
        ['pushdown incremental (re-run, no changes)', INCREMENTAL, 'pushdown', false],
      ] as const) {
        // Like with like: a load into an empty target against the reference load, a re-run against the
        // reference re-run. An incremental re-run reads only its lookback window: no ratio.
        const measuresRows = !(pipeline === INCREMENTAL && !truncate);
        const reference = measuresRows ? await yardstick(truncate) : undefined;
        const scenario = await runPipeline(admin, url, name, pipeline.id, transfer, truncate);
        scenarios.push(reference ? compared(scenario, reference) : scenario);
      }
      // The batch loop with tracing on — every span recorded, batched and handed to an exporter that
      // drops it, so no network is measured — against the same load with tracing off, above.
      const tracing = await initTracing({
        serviceName: 'siphon-bench',
        exporter: { export: (_, done) => done({ code: ExportResultCode.SUCCESS }), shutdown: async () => {} },
      });
      const tracedReference = await yardstick(true);
      const traced = await runPipeline(admin, url, TRACED, FULL.id, 'pushdown', true).finally(() =>
        tracing.shutdown(),
      );
      const results = [
        median(references),
        median(rerunReferences),
        ...scenarios,
        compared(traced, tracedReference),
      ];
      for (const r of results) log(`  ${row(r)}`);
      rounds.push(results);
    }
    const results = rounds[0]!.map((_, i) => median(rounds.map((r) => r[i]!)));
    log(
      "\nmedian of the rounds (times and latencies: the median round; ratio: the median of the rounds' ratios):",
    );
    for (const r of results) log(row(r));
    const untraced = results.find((r) => r.name === 'pushdown full (empty target)')!;
    const tracingOverhead = round2(results.find((r) => r.name === TRACED)!.seconds / untraced.seconds);
    log(`tracing on / off, pushdown full (empty target): ${tracingOverhead}× the time`);
    const report = {
      date: new Date().toISOString(),
      rows: ROWS,
      batchSize: BATCH,
      rounds: REPEAT,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        memoryGiB: round(totalmem() / 2 ** 30, 1),
        node: process.version,
      },
      postgres: version,
      reference:
        'one INSERT INTO analytics.film_dim SELECT … FROM content.film_work ON CONFLICT … DO UPDATE … WHERE IS DISTINCT FROM',
      results,
      tracingOverhead,
      // Every round's figures, each scenario with the reference measured right before it.
      perRound: rounds.map((r) =>
        r.map(({ name, seconds, referenceSeconds, ratioToReference }) => ({
          name,
          seconds,
          referenceSeconds,
          ratioToReference,
        })),
      ),
    };
    mkdirSync(dirname(String(args.out)), { recursive: true });
    writeFileSync(String(args.out), `${JSON.stringify(report, null, 2)}\n`);
    log(`\nwritten to ${args.out}`);
  } finally {
    await admin.end();
    await server.close();
  }
}

/** The same load as film_dim_full, hand-written as one statement: the yardstick (into an empty target, or again). */
async function referenceLoad(admin: Pool, empty: boolean): Promise<Scenario> {
  if (empty) await admin.query('TRUNCATE analytics.film_dim');
  await admin.query('CHECKPOINT');
  const started = performance.now();
  const { rowCount } = await admin.query(
    `INSERT INTO analytics.film_dim AS t (film_id, title, rating)
     SELECT fw.id, fw.title, fw.rating FROM content.film_work fw
     ON CONFLICT (film_id) DO UPDATE SET title = EXCLUDED.title, rating = EXCLUDED.rating, updated_at = now()
     WHERE (t.title, t.rating) IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.rating)`,
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    name: `reference: one INSERT … SELECT … ON CONFLICT${empty ? '' : ' (re-run)'}`,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(ROWS / seconds),
    rowsRead: ROWS,
    rowsWritten: rowCount ?? 0,
  };
}

async function runPipeline(
  admin: Pool,
  url: string,
  name: string,
  pipelineId: string,
  transfer: 'pushdown' | 'stream',
  truncate: boolean,
): Promise<Scenario> {
  if (truncate) {
    await admin.query('TRUNCATE analytics.film_dim');
    await admin.query('DELETE FROM etl.etl_state WHERE pipeline_id = $1', [pipelineId]);
  }
  await admin.query('CHECKPOINT');
  const writer = createPool({
    connectionString: urlForRole(url, ROLES.writer, PASSWORDS.writer),
    applicationName: 'bench-writer',
    max: 4,
  });
  const reader = createPool({
    connectionString: urlForRole(url, ROLES.reader, PASSWORDS.reader),
    applicationName: 'bench-reader',
    max: 2,
  });
  const api = createPool({
    connectionString: urlForRole(url, ROLES.api, PASSWORDS.api),
    applicationName: 'bench-api',
    max: 2,
  });
  const runner = new Runner({
    pool: writer,
    readerPool: reader,
    transfer,
    listenUrl: urlForRole(url, ROLES.writer, PASSWORDS.writer),
    logger,
    pollIntervalMs: 50,
    leaseMs: 60_000,
    concurrency: 1,
    maxAttempts: 3,
  });
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let atTenPercent = 0;
  let batches = 0;
  const expectedBatches = Math.ceil(ROWS / BATCH);
  runner.events.on('batch:committed', () => {
    batches += 1;
    if (batches === Math.ceil(expectedBatches / 10)) atTenPercent = process.memoryUsage().rss;
  });
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const done = new Promise<void>((resolve, reject) => {
    runner.events.on('run:succeeded', () => resolve());
    runner.events.on('run:failed', (e) => reject(new Error(`${e.code}: ${e.message}`)));
  });
  await runner.start();
  const started = performance.now();
  await requestStatus(api, pipelineId, 'run', 'bench', 'bench');
  await done;
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const end = process.memoryUsage().rss;
  await runner.stop();
  const run = (
    await admin.query<{ id: string; rows_read: number; rows_written: number; batches: number }>(
      'SELECT id, rows_read::int, rows_written::int, batches FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
      [pipelineId],
    )
  ).rows[0]!;
  const latency = (
    await admin.query<{ p50: number; p95: number; max: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)::int AS p50,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)::int AS p95, max(duration_ms) AS max
         FROM etl.etl_run_batches WHERE run_id = $1`,
      [run.id],
    )
  ).rows[0]!;
  await Promise.all([writer.end(), reader.end(), api.end()]);
  const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
  return {
    name,
    seconds: round(seconds, 2),
    rowsPerSecond: Math.round(run.rows_read / seconds),
    rowsRead: run.rows_read,
    rowsWritten: run.rows_written,
    batches: run.batches,
    batchMs: latency,
    rssMiB: {
      baseline: mib(baseline),
      atTenPercent: mib(atTenPercent || end),
      peak: mib(peak),
      end: mib(end),
    },
  };
}

function row(s: Scenario): string {
  const parts = [
    s.name.padEnd(46),
    `${s.seconds.toFixed(2).padStart(7)} s`,
    `${s.rowsPerSecond.toLocaleString().padStart(10)} rows/s`,
    s.ratioToReference === undefined ? '' : `${s.ratioToReference.toFixed(2)}× ref`,
    s.referenceSeconds === undefined || s.ratioRounds ? '' : `(ref ${s.referenceSeconds.toFixed(2)} s)`,
    s.ratioRounds ? `(rounds ${s.ratioRounds.map((r) => r.toFixed(2)).join(' / ')})` : '',
    s.batchMs ? `batch p50/p95/max ${s.batchMs.p50}/${s.batchMs.p95}/${s.batchMs.max} ms` : '',
    s.rssMiB ? `RSS peak ${s.rssMiB.peak} MiB (base ${s.rssMiB.baseline})` : '',
  ];
  return parts.filter(Boolean).join('  ');
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const round2 = (n: number) => round(n, 2);
const compared = (scenario: Scenario, reference: Scenario): Scenario => ({
  ...scenario,
  referenceSeconds: reference.seconds,
  ratioToReference: round2(scenario.rowsPerSecond / reference.rowsPerSecond),
});
/**
 * The round whose time is the median for this scenario, with the median of the rounds' ratios: each
 * ratio compares a load with the reference of its own round, so a machine that speeds up or slows
 * down between rounds (a shared VM does) moves both sides of a ratio, and not the median time alone.
 */
const median = (of: Scenario[]): Scenario => {
  const middle = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  const picked = [...of].sort((a, b) => a.seconds - b.seconds)[Math.floor((of.length - 1) / 2)]!;
  const ratios = of.flatMap((s) => (s.ratioToReference === undefined ? [] : [s.ratioToReference]));
  return ratios.length === 0 ? picked : { ...picked, ratioToReference: middle(ratios), ratioRounds: ratios };
};
const log = (line: string) => process.stdout.write(`${line}\n`);

if (social >= 0) await import('./social.js');
else if (remote >= 0) await import('./remote.js');
else await main();
