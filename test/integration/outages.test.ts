import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  livePostmaster,
  startEmbeddedPostgres,
  type EmbeddedServer,
} from '../../src/bootstrap/embedded-postgres.js';
import { findFreePort } from '../../src/bootstrap/ports.js';
import { migrate } from '../../src/db/migrator.js';
import { createPool, urlForRole } from '../../src/db/pool.js';
import { ensureRoles, ROLES } from '../../src/db/roles.js';
import { savePipeline, requestStatus } from '../../src/pipelines/index.js';
import { Runner } from '../../src/runner/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createPipeline,
  diffSourceTarget,
  requestRun,
  silentLogger,
  TEST_SQL_POLICY,
  startTestRunner,
  waitForStatus,
} from '../helpers/runner.js';
import { TEST_ROLE_PASSWORDS } from '../helpers/test-server.js';
import { testTempDir } from '../helpers/tmp.js';

async function seedSlowSource(admin: pg.Pool | pg.Client, rows: number): Promise<void> {
  await admin.query(`CREATE TABLE content.outage (id int PRIMARY KEY, v text NOT NULL)`);
  await admin.query(`GRANT SELECT ON content.outage TO siphon_reader`);
  await admin.query(`INSERT INTO content.outage SELECT i, md5(i::text) FROM generate_series(1, ${rows}) i`);
}
const SPEC = {
  name: 'outage',
  source_query: 'SELECT id, v FROM content.outage WHERE pg_sleep(0.001) IS NOT NULL',
  target_table: 'analytics.outage',
  unique_key: 'id',
  batch_size: 100,
};

describe('connections killed under the runner (pg_terminate_backend)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await seedSlowSource(db.admin, 3000);
  });
  afterAll(async () => db.drop());

  it('retries, converges, and never double-counts a batch', async () => {
    const pipeline = await createPipeline(db, SPEC);
    const runner = await startTestRunner(db);
    let retries = 0;
    runner.events.on('batch:retry', () => (retries += 1));
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['RUNNING']);
    for (let i = 0; i < 5; i += 1) {
      await sleep(250);
      await db.admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'test-writer'`,
      );
    }
    await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
    await runner.stop();
    expect(retries).toBeGreaterThan(0);
    const { rows } = await db.admin.query(
      'SELECT status, rows_read, batches FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(rows).toEqual([{ status: 'SUCCESS', rows_read: 3000, batches: 30 }]);
    expect(
      await diffSourceTarget(db, 'SELECT id, v FROM content.outage', 'analytics.outage', ['id', 'v']),
    ).toEqual({ missing: 0, extra: 0 });
  });
});

// A fast shutdown (pg_ctl -m fast: backends told to stop, a checkpoint written) and a crash (SIGQUIT to
// the postmaster, pg_ctl -m immediate: every process exits at once, no checkpoint, the WAL is replayed at
// the next start). Either way every batch the runner saw committed must be there afterwards, once.
describe.each([
  ['pg_ctl -m fast equivalent', 'fast'],
  ['a crash: SIGQUIT to the postmaster, recovered at the next start', 'immediate'],
] as const)('PostgreSQL restarted during a run (%s)', (_how, mode) => {
  let server: EmbeddedServer;
  let home: string;
  let port: number;
  let adminUrl: string;

  beforeAll(async () => {
    home = testTempDir('restart');
    port = await findFreePort();
    server = await startEmbeddedPostgres({ home, port, password: 'restart-superuser' });
    adminUrl = server.url;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await ensureRoles(client, TEST_ROLE_PASSWORDS);
    await migrate(client);
    await seedSlowSource(client, 3000);
    await client.end();
  });
  afterAll(async () => {
    await server.stop().catch(() => {});
    rmSync(home, { recursive: true, force: true });
  });

  it('the run resumes once the server is back; nothing stays RUNNING and the target equals the source', async () => {
    const writer = createPool({
      connectionString: urlForRole(adminUrl, ROLES.writer, TEST_ROLE_PASSWORDS.writer),
      applicationName: 'restart-writer',
      max: 6,
    });
    const api = createPool({
      connectionString: urlForRole(adminUrl, ROLES.api, TEST_ROLE_PASSWORDS.api),
      applicationName: 'restart-api',
      max: 2,
    });
    const pipeline = await savePipeline(api, SPEC, 'test', { policy: TEST_SQL_POLICY });
    const runner = new Runner({
      pool: writer,
      listenUrl: urlForRole(adminUrl, ROLES.writer, TEST_ROLE_PASSWORDS.writer),
      logger: silentLogger,
      pollIntervalMs: 100,
      leaseMs: 5000,
      concurrency: 1,
      maxAttempts: 8,
      sqlPolicy: TEST_SQL_POLICY,
    });
    let acknowledged = 0;
    runner.events.on('batch:committed', () => (acknowledged += 1));
    await runner.start();
    await requestStatus(api, pipeline.id, 'run', 'test');
    const admin = () => createPool({ connectionString: adminUrl, applicationName: 'restart-admin', max: 1 });
    let probe = admin();
    // The runner creates the target on its first batch.
    while ((await count0(probe, 'SELECT count(*) FROM analytics.outage').catch(() => 0)) < 500)
      await sleep(50);
    await probe.end();

    let committedBeforeStop = 0;
    if (mode === 'fast') {
      await server.stop();
    } else {
      const dataDir = join(home, 'pg');
      committedBeforeStop = acknowledged;
      process.kill(livePostmaster(dataDir)!.pid, 'SIGQUIT');
      while (livePostmaster(dataDir)) await sleep(20);
    }
    await sleep(1000);
    server = await startEmbeddedPostgres({ home, port, password: 'restart-superuser' });

    probe = admin();
    const deadline = Date.now() + 60_000;
    let status = '';
    while (Date.now() < deadline) {
      const { rows } = await probe.query('SELECT status FROM etl.etl_pipelines WHERE id = $1', [pipeline.id]);
      status = rows[0].status;
      if (status === 'IDLE' || status === 'FAILED') break;
      await sleep(100);
    }
    await runner.stop();
    const { rows: why } = await probe.query(
      'SELECT status, error_code, error FROM etl.etl_runs WHERE pipeline_id = $1',
      [pipeline.id],
    );
    expect(status, JSON.stringify(why)).toBe('IDLE');
    expect(await count0(probe, 'SELECT count(*) FROM analytics.outage')).toBe(3000);
    const { rows: running } = await probe.query(
      `SELECT count(*)::int AS n FROM etl.etl_runs WHERE status = 'RUNNING'`,
    );
    expect(running[0].n).toBe(0);
    const { rows: mismatched } = await probe.query(
      `SELECT count(*)::int AS n FROM content.outage c FULL JOIN analytics.outage a USING (id) WHERE a.v IS DISTINCT FROM c.v`,
    );
    expect(mismatched[0].n).toBe(0);
    // The ledger tells the same story as the target: each of the 30 batches once, whichever run
    // committed it, and every run's counters are the sum of its ledger rows.
    const { rows: ledger } = await probe.query(
      `SELECT count(*)::int AS batches, sum(b.rows_read)::int AS rows_read,
              count(DISTINCT b.cursor_to)::int AS distinct_ends
         FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1`,
      [pipeline.id],
    );
    expect(ledger[0]).toEqual({ batches: 30, rows_read: 3000, distinct_ends: 30 });
    const { rows: counters } = await probe.query(
      `SELECT count(*)::int AS n FROM etl.etl_runs r
         CROSS JOIN LATERAL (SELECT count(*)::int AS batches, coalesce(sum(rows_read), 0)::int AS rows_read
                               FROM etl.etl_run_batches WHERE run_id = r.id) l
        WHERE r.pipeline_id = $1 AND (r.batches, r.rows_read::int) IS DISTINCT FROM (l.batches, l.rows_read)`,
      [pipeline.id],
    );
    expect(counters[0].n).toBe(0);
    if (mode === 'immediate') {
      // Every batch acknowledged before the crash survived it: the first run's ledger holds at least those.
      const { rows: first } = await probe.query(
        `SELECT count(*)::int AS n FROM etl.etl_run_batches b
          WHERE b.run_id = (SELECT id FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at LIMIT 1)`,
        [pipeline.id],
      );
      expect(committedBeforeStop).toBeGreaterThan(0);
      expect(first[0].n).toBeGreaterThanOrEqual(committedBeforeStop);
    }
    await Promise.all([probe.end(), writer.end(), api.end()]);
  });
});

async function count0(pool: pg.Pool, sql: string): Promise<number> {
  const { rows } = await pool.query(`SELECT (${sql})::int AS n`);
  return rows[0].n;
}
