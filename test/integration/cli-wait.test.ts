import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, exited, killAllSpawned, runCli, spawnCli, waitForOutput } from '../helpers/processes.js';
import { createPipeline } from '../helpers/runner.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await createSourceTable(db, `content.waited (id int PRIMARY KEY, v text NOT NULL)`);
  await db.admin.query(`INSERT INTO content.waited SELECT i, md5(i::text) FROM generate_series(1, 3000) i`);
  // ~6 ms per row, 100 rows a batch: a run of about 20 s that a pause can catch mid-way, even when a
  // CLI process takes several seconds to start on a loaded machine (at 2 ms the run ended first).
  await createPipeline(db, {
    name: 'waited',
    source_query: 'SELECT id, v FROM content.waited WHERE pg_sleep(0.006) IS NOT NULL',
    target_table: 'analytics.waited',
    unique_key: 'id',
    batch_size: 100,
  });
});
afterAll(async () => {
  await killAllSpawned();
  await db.drop();
});

describe('pipelines run --wait', () => {
  it(
    'shows progress on stderr, exits 4 when the run ends PAUSED and 0 when a later run succeeds',
    { timeout: 180_000 },
    async () => {
      const env = cliEnv(db.adminUrl, { SIPHON_RUNNER_POLL_INTERVAL: '100ms' });
      const runner = spawnCli(['runner'], env);
      try {
        const waiting = spawnCli(['pipelines', 'run', 'waited', '--wait', '--json', '--timeout', '120'], env);
        let stdout = '';
        let stderr = '';
        waiting.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
        waiting.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        await waitForOutput(waiting, 'rows read', 60_000);
        const pause = await runCli(['pipelines', 'pause', 'waited', '--json'], env);
        expect(pause.code, pause.stderr).toBe(0);
        expect(await exited(waiting)).toBe(4);
        expect(JSON.parse(stdout)).toMatchObject({ status: 'PAUSED' });
        expect(stderr).toMatch(/run [0-9a-f]{8}: [\d,]+ rows read, \d+ batches, [\d,]+ rows\/s, \d+ s/);

        const resumed = await runCli(
          ['pipelines', 'run', 'waited', '--wait', '--json', '--timeout', '120'],
          env,
          150_000,
        );
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'SUCCESS' });
        expect(resumed.stderr).toMatch(
          /run [0-9a-f]{8}: [\d,]+ rows read, \d+ batches, [\d,]+ rows\/s, \d+ s/,
        );
      } finally {
        runner.kill('SIGTERM');
        await exited(runner);
      }
    },
  );
});
