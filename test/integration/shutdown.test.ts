import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/bootstrap/embedded-postgres.js';
import { cliEnv, exited, freePortBelowEphemeral, killAllSpawned, spawnCli } from '../helpers/processes.js';

/**
 * Ctrl-C in a terminal signals the whole foreground process group: `siphon start` and everything it
 * spawned. The embedded PostgreSQL must not stop under the batch the runner is finishing; the runner
 * commits it, hands the run off, records that it stopped, and only then is PostgreSQL stopped.
 */
describe('Ctrl-C to the process group of `siphon start`', () => {
  afterAll(async () => {
    await killAllSpawned();
  });

  it('finishes the current batch, hands the run off, records the runner stopped, then stops PostgreSQL', async () => {
    const apiPort = await freePortBelowEphemeral();
    const env = cliEnv(undefined, { SIPHON_API_PORT: String(apiPort), SIPHON_RUNNER_LEASE: '30s' });
    const home = env.SIPHON_HOME!;
    const child = spawnCli(['start', '--no-demo'], env, { group: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitUntil(
      () => stdout.includes('Siphon is running.'),
      120_000,
      () => stderr.slice(-2000),
    );

    const secrets = JSON.parse(readFileSync(join(home, 'secrets.json'), 'utf8')) as {
      adminToken: string;
      postgresPassword: string;
    };
    const port = Number(/-p (\d+) -U postgres/.exec(stdout)![1]);
    const admin = new pg.Client({
      connectionString: `postgres://postgres:${encodeURIComponent(secrets.postgresPassword)}@127.0.0.1:${port}/siphon`,
    });
    await admin.connect();
    await admin.query(`
      CREATE TABLE content.slow (id integer PRIMARY KEY, v text NOT NULL);
      INSERT INTO content.slow SELECT g, 'v' || g FROM generate_series(1, 400) g;
      GRANT SELECT ON content.slow TO siphon_reader;`);
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${apiPort}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${secrets.adminToken}`,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
      });
    const created = await api('/pipelines', {
      method: 'POST',
      // 20 rows a batch at 40 ms a row: every batch takes about 0.8 s.
      body: JSON.stringify({
        name: 'slow_copy',
        source_query: 'SELECT id, v FROM content.slow WHERE pg_sleep(0.04) IS NOT NULL',
        target_table: 'analytics.slow_copy',
        unique_key: 'id',
        batch_size: 20,
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    expect((await api('/pipelines/slow_copy/run', { method: 'POST' })).status).toBe(202);
    await waitUntil(
      async () =>
        Number(
          (
            await admin.query(
              "SELECT coalesce(max(batches), 0) AS b FROM etl.etl_runs WHERE status = 'RUNNING'",
            )
          ).rows[0].b,
        ) >= 2,
      60_000,
    );
    await admin.end();

    // What a terminal's Ctrl-C does: SIGINT to every process of the foreground group.
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited(child)).toBe(0);
    expect(stderr).not.toMatch(/terminating connection due to administrator command/);

    const server = await startEmbeddedPostgres({ home, port: 0, password: secrets.postgresPassword });
    const after = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, '/siphon') });
    await after.connect();
    try {
      const runs = await after.query<{ status: string; error_code: string | null; batches: number }>(
        "SELECT r.status, r.error_code, r.batches FROM etl.etl_runs r JOIN etl.etl_pipelines p ON p.id = r.pipeline_id WHERE p.name = 'slow_copy'",
      );
      expect(runs.rows).toHaveLength(1);
      // Handed off after a committed batch: not left RUNNING for a takeover after the lease.
      expect(runs.rows[0]).toMatchObject({ status: 'INTERRUPTED', error_code: 'SIPHON_ERR_RUNNER_SHUTDOWN' });
      const ledger = await after.query<{ n: number }>('SELECT count(*)::int AS n FROM etl.etl_run_batches');
      expect(ledger.rows[0]!.n).toBe(runs.rows[0]!.batches);
      const target = await after.query<{ n: number }>('SELECT count(*)::int AS n FROM analytics.slow_copy');
      expect(target.rows[0]!.n).toBe(runs.rows[0]!.batches * 20);
      const pipeline = await after.query("SELECT status FROM etl.etl_pipelines WHERE name = 'slow_copy'");
      expect(pipeline.rows[0].status).toBe('RUN_REQUESTED');
      const runners = await after.query<{ stopped_at: Date | null }>(
        'SELECT stopped_at FROM etl.etl_runners',
      );
      expect(runners.rows.length).toBeGreaterThan(0);
      expect(runners.rows.every((r) => r.stopped_at !== null)).toBe(true);
    } finally {
      await after.end();
      await server.stop();
    }
  });
});

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`condition not met in ${timeoutMs} ms ${describe()}`);
}
