import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from '../../src/sources/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  cliEnv,
  exited,
  killAllSpawned,
  seededRandom,
  spawnCli,
  waitForOutput,
} from '../helpers/processes.js';
import {
  createRemoteMysql,
  createRemotePostgres,
  REMOTE_MYSQL,
  REMOTE_PG,
  type RemoteMysql,
  type RemotePostgres,
} from '../helpers/remote-servers.js';
import { createPipeline, requestRun, waitForStatus } from '../helpers/runner.js';

let db: TestDatabase;
let remote: RemotePostgres;
let remoteMy: RemoteMysql;
const ROWS = 3000;
/** MariaDB reads fast and SLEEP() is refused by the MySQL guard: more rows keep the run going between kills. */
const MY_ROWS = 40_000;
const SECRET_VAR = `SIPHON_SECRET_CRASH_${randomBytes(3).toString('hex').toUpperCase()}`;
const SECRET = `crash-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  remote = await createRemotePostgres();
  remoteMy = await createRemoteMysql();
  db = await createTestDatabase();
  await remoteMy.pool.query(
    'CREATE TABLE crash (id int PRIMARY KEY, v varchar(64) NOT NULL, modified datetime(6) NOT NULL, KEY (modified, id))',
  );
  // seq_1_to_N is MariaDB's sequence engine; ties on `modified`: seven rows a second.
  await remoteMy.pool.query(
    `INSERT INTO crash SELECT seq, md5(seq), timestamp '2025-01-01 00:00:00' + INTERVAL (seq DIV 7) SECOND
       FROM seq_1_to_${MY_ROWS}`,
  );
  // A full first load from MariaDB commits its batches in groups (docs/adr/0027) and would end before
  // the kills; read through a view that takes ~0.3 ms a row (a source query may not call SLEEP()).
  await remoteMy.pool.query(
    'CREATE VIEW crash_slow AS SELECT id, v, modified FROM crash WHERE SLEEP(0.0003) = 0',
  );
  await createConnection(
    db.api,
    {
      name: 'crash_mysql',
      kind: 'mysql',
      host: REMOTE_MYSQL.host,
      port: REMOTE_MYSQL.port,
      database: remoteMy.database,
      user: REMOTE_MYSQL.user,
    },
    'test',
  );
  await remote.pool.query(
    'CREATE TABLE public.crash (id int PRIMARY KEY, v text NOT NULL, modified timestamptz NOT NULL)',
  );
  await remote.pool.query('CREATE INDEX ON public.crash (modified, id)');
  await remote.pool.query(
    `INSERT INTO public.crash SELECT i, md5(i::text), timestamptz '2025-01-01' + make_interval(secs => i / 7)
       FROM generate_series(1, ${ROWS}) i`,
  );
  // Trust authentication on this server: the password is never asked for, but the runners hold it.
  await createConnection(
    db.api,
    {
      name: 'crash_source',
      kind: 'postgres',
      host: REMOTE_PG.host,
      port: REMOTE_PG.port,
      database: remote.database,
      user: REMOTE_PG.user,
      password_env: SECRET_VAR,
    },
    'test',
  );
});

afterAll(async () => {
  await killAllSpawned();
  await db?.drop();
  await remote?.drop();
  await remoteMy?.drop();
});

const runnerEnv = (lanes: number) =>
  cliEnv(db.adminUrl, {
    SIPHON_RUNNER_LEASE: '3s',
    SIPHON_RUNNER_POLL_INTERVAL: '100ms',
    // A full pass from PostgreSQL into an empty target is read in two lanes (killed in them too), or
    // in one sequence of windows: several batches per source COPY, committed in groups (ADR 0027).
    SIPHON_REMOTE_LANES: String(lanes),
    [SECRET_VAR]: SECRET,
  });
// ~1 ms per row read on the source server keeps a 100-row batch around 100 ms.
const SLOW = 'WHERE pg_sleep(0.001) IS NOT NULL';

describe('kill -9 of a runner reading a source on another server', () => {
  it.each([
    ['full', 'postgres', 'in two lanes', { mode: 'full' as const }],
    ['full', 'postgres', 'in windows', { mode: 'full' as const }],
    [
      'incremental',
      'postgres',
      'batch by batch',
      { mode: 'incremental' as const, incremental_key: 'modified' },
    ],
    ['full', 'mysql', 'batch by batch', { mode: 'full' as const }],
    ['incremental', 'mysql', 'batch by batch', { mode: 'incremental' as const, incremental_key: 'modified' }],
  ])(
    '%s from %s, %s: killed again and again, the runners that take over converge exactly',
    async (mode_, kind, how, mode) => {
      const windows = how === 'in windows';
      const label = `${mode_}_${kind}${windows ? '_windows' : ''}`;
      const lanes = how === 'in two lanes' ? 2 : 1;
      const mysqlSource = kind === 'mysql';
      const seed = Number(process.env.SIPHON_CRASH_SEED ?? Date.now() % 100_000);
      const random = seededRandom(seed);
      const pipeline = await createPipeline(db, {
        name: `remote_crash_${label}`,
        source_connection: mysqlSource ? 'crash_mysql' : 'crash_source',
        source_query: mysqlSource
          ? `SELECT id, v, modified FROM ${mode.mode === 'full' ? 'crash_slow' : 'crash'}`
          : `SELECT id, v, modified FROM public.crash ${SLOW}`,
        target_table: `analytics.remote_crash_${label}`,
        unique_key: 'id',
        batch_size: 100,
        ...mode,
      });
      await requestRun(db, pipeline.id);
      const logs: string[] = [];
      const kills = 4;
      for (let i = 0; i < kills; i += 1) {
        const child = spawnCli(['runner'], runnerEnv(lanes));
        child.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
        try {
          await waitForOutput(child, 'batch committed', 60_000);
          await sleep(Math.floor(random() * 400));
        } finally {
          child.kill('SIGKILL');
          await exited(child);
        }
      }
      const before = Number(
        (await db.admin.query(`SELECT count(*) FROM analytics.remote_crash_${label}`)).rows[0].count,
      );
      expect(before, `seed ${seed}`).toBeLessThan(mysqlSource ? MY_ROWS : ROWS);
      // A full pass into the empty target holds its primary key back until the pass ends.
      const held = async () =>
        (
          await db.admin.query(
            "SELECT 1 FROM etl.held_indexes WHERE target_schema = 'analytics' AND target_table = $1",
            [`remote_crash_${label}`],
          )
        ).rowCount;
      expect(await held(), `seed ${seed}`).toBe(mode.mode === 'full' ? 1 : 0);

      const survivor = spawnCli(['runner'], runnerEnv(lanes));
      survivor.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
      try {
        await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 120_000);
      } finally {
        survivor.kill('SIGTERM');
        await exited(survivor);
      }
      const final = await waitForStatus(db, pipeline.id, ['IDLE']);
      expect(final.lease_owner).toBeNull();
      // The full pass from PostgreSQL was read in two parallel lanes, and resumed in them; or in one
      // sequence, whose batches each committed with sync or async commit (the latter: inside a window).
      if (lanes === 2) expect(logs.join('')).toContain('reading in parallel lanes');
      else expect(logs.join('')).not.toContain('reading in parallel lanes');
      // In windows: after a first read of one batch, reads of several batches each.
      const windowSizes = [
        ...logs.join('').matchAll(/"batches":(\d+)[^\n]*reading the next batches in one source COPY/g),
      ].map((m) => Number(m[1]));
      if (windows) expect(Math.max(...windowSizes), `seed ${seed}`).toBeGreaterThan(1);
      else expect(windowSizes).toEqual([]);

      // Exactly the source: every row once, with its values.
      const source = mysqlSource
        ? ((await remoteMy.pool.query('SELECT id, v FROM crash ORDER BY id'))[0] as {
            id: number;
            v: string;
          }[])
        : (await remote.pool.query<{ id: number; v: string }>('SELECT id, v FROM public.crash ORDER BY id'))
            .rows;
      const { rows: target } = await db.admin.query<{ id: number; v: string }>(
        `SELECT id, v FROM analytics.remote_crash_${label} ORDER BY id`,
      );
      expect(target, `seed ${seed}`).toEqual(source);
      // ... and the pass's end built it again.
      expect(await held()).toBe(0);
      const { rows: keys } = await db.admin.query<{ contype: string }>(
        'SELECT contype FROM pg_constraint WHERE conrelid = $1::regclass',
        [`analytics.remote_crash_${label}`],
      );
      expect(keys.map((k) => k.contype)).toContain('p');

      const { rows } = await db.admin.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM etl.etl_runs WHERE pipeline_id = $1 GROUP BY 1 ORDER BY 1',
        [pipeline.id],
      );
      const byStatus = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      expect(Object.keys(byStatus).sort(), `seed ${seed}`).toEqual(['INTERRUPTED', 'SUCCESS']);
      expect(byStatus.SUCCESS).toBe(1);
      expect(byStatus.INTERRUPTED).toBeGreaterThanOrEqual(kills);
      // The committed batches of all attempts chain without a gap: each starts where a committed one ended.
      const { rows: ledger } = await db.admin.query<{ from: string | null; to: string }>(
        `SELECT coalesce(b.cursor_from -> 'after', b.cursor_from)::text AS from, b.cursor_to::text AS to FROM etl.etl_run_batches b
           JOIN etl.etl_runs r ON r.id = b.run_id WHERE r.pipeline_id = $1`,
        [pipeline.id],
      );
      const ends = new Set(ledger.map((b) => b.to));
      const starts = ledger.filter((b) => b.from !== null && b.from !== 'null' && !ends.has(b.from));
      expect(starts, `seed ${seed}`).toEqual([]);
      expect(
        (await db.admin.query('SELECT 1 FROM etl.remote_seen_keys WHERE pipeline_id = $1', [pipeline.id]))
          .rowCount,
      ).toBe(0);
      expect(logs.join('')).toContain('batch committed');
      expect(logs.join('')).not.toContain(SECRET);
    },
    300_000,
  );
});
