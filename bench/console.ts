/**
 * `npm run bench:console`: how fast the web console's overview and pipeline list answer with 1,000
 * pipelines and 100,000 runs in history (issue 16 asks < 200 ms for the overview). The pages are
 * requested through Fastify's inject with a signed-in session, as a browser would ask for them;
 * each is timed over `--repeat` requests after two warm-up requests, and the median and the
 * 95th percentile are printed (and written to `--out` when given).
 *
 *   npm run bench:console -- --pipelines 1000 --runs 100000 --repeat 30
 *
 * Uses a throwaway embedded PostgreSQL 18 (or BENCH_DATABASE_URL, which it fills with data).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildApp } from '../src/api/index.js';
import { migrate } from '../src/db/migrator.js';
import { createPool, urlForRole } from '../src/db/pool.js';
import { ensureRoles, ROLES, type RolePasswords } from '../src/db/roles.js';
import { benchServer } from './server.js';

const { values: args } = parseArgs({
  options: {
    pipelines: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '30' },
    out: { type: 'string' },
  },
});
const PIPELINES = Number(args.pipelines);
const RUNS = Number(args.runs);
const REPEAT = Math.max(1, Number(args.repeat));
const PASSWORDS: RolePasswords = {
  reader: 'bench-reader-pw',
  writer: 'bench-writer-pw',
  api: 'bench-api-pw',
};
const TOKEN = 'bench-operator-token';

const server = await benchServer('siphon-bench-console-');
const admin = createPool({ connectionString: server.url, applicationName: 'bench-admin', max: 2 });
const api = createPool({
  connectionString: urlForRole(server.url, ROLES.api, PASSWORDS.api),
  applicationName: 'bench-api',
  max: 8,
});
const reader = createPool({
  connectionString: urlForRole(server.url, ROLES.reader, PASSWORDS.reader),
  applicationName: 'bench-reader',
  max: 2,
});
try {
  const client = await admin.connect();
  await ensureRoles(client, PASSWORDS);
  await migrate(client);
  client.release();
  const t0 = performance.now();
  // Pipelines of every status, a tenth of them with a freshness; runs spread over 30 days, some failed.
  await admin.query(
    `INSERT INTO etl.etl_pipelines (name, source_query, target_table, unique_key, mode, status, freshness, updated_by)
     SELECT 'bench_' || i, 'SELECT id, title FROM content.film_work', 'analytics.bench_' || i, ARRAY['id'], 'full',
            (ARRAY['IDLE','IDLE','IDLE','FAILED','PAUSED','RUN_REQUESTED'])[1 + i % 6],
            CASE WHEN i % 10 = 0 THEN '1h' END, 'bench'
       FROM generate_series(1, $1) i`,
    [PIPELINES],
  );
  await admin.query(
    `INSERT INTO etl.etl_runs (pipeline_id, config_version, trigger, mode, status, runner_id, lease_epoch,
                               started_at, finished_at, rows_read, rows_written, batches)
     SELECT p.id, 1, 'schedule', 'full', CASE WHEN r % 17 = 0 THEN 'FAILED' ELSE 'SUCCESS' END, 'bench-runner', r,
            now() - make_interval(secs => r * 30 * 86400.0 / $2), now() - make_interval(secs => r * 30 * 86400.0 / $2 - 20),
            1000, 900, 1
       FROM generate_series(1, $2) r
       JOIN LATERAL (SELECT id FROM etl.etl_pipelines ORDER BY name OFFSET (r % $1) LIMIT 1) p ON true`,
    [PIPELINES, RUNS],
  );
  await admin.query('ANALYZE');
  const setupSeconds = (performance.now() - t0) / 1000;

  const app = await buildApp({
    pool: api,
    readerPool: reader,
    logger: pino({ level: 'silent' }),
    tokens: { operator: [TOKEN], viewer: [] },
    runnerStaleMs: 5000,
  });
  const signIn = await app.inject({
    method: 'POST',
    url: '/ui/sign-in',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${TOKEN}`,
  });
  const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
  const results: Record<string, { medianMs: number; p95Ms: number; bytes: number }> = {};
  for (const url of ['/ui', '/ui/pipelines', '/ui/pipelines?status=FAILED', '/ui/pipelines/bench_1']) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < REPEAT + 2; i += 1) {
      const start = performance.now();
      const res = await app.inject({ method: 'GET', url, headers: { cookie } });
      if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
      if (i >= 2) times.push(performance.now() - start);
      bytes = res.body.length;
    }
    times.sort((a, b) => a - b);
    results[url] = {
      medianMs: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10,
      p95Ms: Math.round(times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]! * 10) / 10,
      bytes,
    };
  }
  await app.close();
  const report = { pipelines: PIPELINES, runs: RUNS, repeat: REPEAT, setupSeconds, pages: results };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (args.out) writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await Promise.allSettled([admin.end(), api.end(), reader.end()]);
  await server.close();
}
