import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, runCli } from '../helpers/processes.js';

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
    expect(res.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

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
    const home = mkdtempSync(join(tmpdir(), 'siphon-oldpg-'));
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
