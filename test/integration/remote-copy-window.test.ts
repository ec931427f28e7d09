import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../src/config/index.js';
import { copyMessagesIn } from '../../src/db/copy-frames.js';
import { decodeCopyLine } from '../../src/db/copy-text.js';
import type { BatchCursor, BatchPlan } from '../../src/db/batch-sql.js';
import { CopyWindow } from '../../src/runner/copy-window.js';
import {
  createConnection,
  SOURCE_KINDS,
  type RemoteSource,
  type SourceDeps,
} from '../../src/sources/index.js';
import type { RunnerOptions } from '../../src/runner/index.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  createRemoteMysql,
  createRemotePostgres,
  REMOTE_MYSQL,
  REMOTE_PG,
  type RemoteMysql,
  type RemotePostgres,
} from '../helpers/remote-servers.js';
import { requestStatus } from '../../src/pipelines/index.js';
import { createPipeline, requestRun, startTestRunner, waitForStatus } from '../helpers/runner.js';

/**
 * The windows a first load from PostgreSQL reads (docs/adr/0021), against the system PostgreSQL 15:
 * one source COPY cut into batches at row boundaries, whatever the values hold; and what every first
 * load's asynchronous commits rely on (ADR 0021, ADR 0022: a streamed first load from MariaDB too).
 */
let remote: RemotePostgres;
/** Created by the test that reads MariaDB. */
let remoteMy: RemoteMysql | undefined;
let source: RemoteSource;
let db: TestDatabase;
const APP = `siphon-window-${randomBytes(4).toString('hex')}`;
const ROWS = 2_503;
/** The COPY calls the windows made, and the rows each asked for. */
const reads: number[] = [];

const plan: BatchPlan = {
  sourceQuery: 'SELECT id, v FROM public.w',
  target: { schema: 'analytics', table: 'w' },
  columns: ['id', 'v'],
  keys: ['id'],
  cursorColumns: ['id'],
  incrementalKey: null,
  touchUpdatedAt: false,
  targetTypes: { id: 'integer', v: 'text' },
};

beforeAll(async () => {
  remote = await createRemotePostgres();
  await remote.pool.query('CREATE TABLE public.w (id int PRIMARY KEY, v text)');
  // Values COPY text must escape (newline, tab, backslash, carriage return), NULLs, non-ASCII, and
  // every 97th row 100 kB long: rows that span the socket's chunks.
  await remote.pool.query(
    `INSERT INTO public.w
     SELECT i, CASE WHEN i % 13 = 0 THEN NULL
                    WHEN i % 97 = 0 THEN repeat('x', 100000)
                    ELSE E'line\\n' || i || E'\\ttab\\\\back\\rcr ü' END
       FROM generate_series(1, ${ROWS}) i`,
  );
  const real = SOURCE_KINDS.postgres.open(
    { name: 'window', ...REMOTE_PG, database: remote.database, password: undefined },
    { statementTimeoutMs: 20_000, applicationName: APP },
  );
  // The real source, with its COPY calls counted (a window calls nothing else).
  const counted: Pick<RemoteSource, 'copyBatch' | 'close'> = {
    copyBatch: (p, cursor, limit, into, options) => {
      reads.push(limit);
      return real.copyBatch!(p, cursor, limit, into, options);
    },
    close: () => real.close(),
  };
  source = counted as RemoteSource;
});

afterAll(async () => {
  await source?.close();
  await db?.drop();
  await remote?.drop();
  await remoteMy?.drop();
});

/** A batch's COPY text: the payloads of the CopyData messages it is made of, one row each. */
async function textOf(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const rows: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    expect(bytes[at]).toBe(0x64); // 'd'
    const end = at + 1 + bytes.readUInt32BE(at + 1);
    rows.push(bytes.subarray(at + 5, end));
    at = end;
  }
  return Buffer.concat(rows).toString('utf8');
}

/** One batch as the runner takes it: its rows decoded, and where the next one starts. */
async function batch(window: CopyWindow, cursor: BatchCursor) {
  const text = await textOf(window.batchAt(cursor).rows);
  const rows = text === '' ? [] : text.replace(/\n$/u, '').split('\n').map(decodeCopyLine);
  const last = rows.at(-1);
  return { rows, lastCursor: last ? [last[0]!] : null };
}

const newWindow = () =>
  new CopyWindow(source, plan, { limit: 100, statementTimeoutMs: 20_000, now: () => performance.now() });

/** A test runner reading source connections (one lane), with `sources` and `options` added. */
function startSourcesRunner(sources: Partial<SourceDeps> = {}, options: Partial<RunnerOptions> = {}) {
  return startTestRunner(db, {
    ...options,
    sources: {
      resolveSecret: createSecretResolver({ secretEnv: {}, credentialsFile: undefined }),
      statementTimeoutMs: 20_000,
      applicationName: APP,
      lanes: 1,
      ...sources,
    },
  });
}

/** The source's sessions of this test that are inside a read (running a COPY, or in its transaction). */
async function busySessions(): Promise<number> {
  const { rows } = await remote.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'",
    [APP],
  );
  return rows[0]!.n;
}

describe('a first load read in windows', () => {
  it('cuts one source COPY into batches at row boundaries, each going on where the last was written', async () => {
    reads.length = 0;
    const window = newWindow();
    const got: (string | null)[][] = [];
    let cursor: BatchCursor = null;
    for (;;) {
      const { rows, lastCursor } = await batch(window, cursor);
      got.push(...rows);
      if (rows.length < 100) break;
      expect(rows).toHaveLength(100);
      window.wrote(lastCursor);
      expect(window.continues({ after: lastCursor! })).toBe(true);
      cursor = { after: lastCursor! };
    }
    await window.close();
    const { rows: expected } = await remote.pool.query<{ id: number; v: string | null }>(
      'SELECT id, v FROM public.w ORDER BY id',
    );
    expect(got.length).toBe(ROWS);
    expect(got).toEqual(expected.map((r) => [String(r.id), r.v]));
    // A first read of one batch, then reads of many whole batches (the 26 batches need two at most).
    expect(reads[0]).toBe(100);
    expect(reads.length).toBeLessThanOrEqual(3);
    expect(reads[1]! % 100).toBe(0);
    expect(reads[1]!).toBeGreaterThan(100);
    expect(await busySessions()).toBe(0);
  });

  it('cuts a binary COPY the same way: each batch a binary COPY of its own, whole tuples, its cursor decoded', async () => {
    db ??= await createTestDatabase();
    await db.admin.query('CREATE TABLE public.w_binary (id int, v text)');
    reads.length = 0;
    const window = new CopyWindow(source, plan, {
      limit: 100,
      statementTimeoutMs: 20_000,
      now: () => performance.now(),
      binary: true,
    });
    const cursors: string[] = [];
    let cursor: BatchCursor = null;
    for (;;) {
      const batch = window.batchAt(cursor);
      expect(batch.format).toBe('binary');
      // The target's own COPY reads each batch: a batch cut inside a tuple would fail it.
      const client = await db.admin.connect();
      let copied: number;
      try {
        const into = client.query(copyMessagesIn('COPY public.w_binary (id, v) FROM STDIN (FORMAT binary)'));
        await pipeline(batch.rows, into);
        copied = into.rowCount;
        expect(batch.messages!()).toBe(copied);
      } finally {
        client.release();
      }
      const lastCursor = batch.lastCursor!();
      if (copied < 100) {
        expect(lastCursor === null).toBe(copied === 0);
        break;
      }
      cursors.push(lastCursor![0]!);
      window.wrote(lastCursor);
      cursor = { after: lastCursor! };
    }
    await window.close();
    const expected = await remote.pool.query<{ r: string }>(
      'SELECT row(id, v)::text AS r FROM public.w ORDER BY id',
    );
    const copied = await db.admin.query<{ r: string }>(
      'SELECT row(id, v)::text AS r FROM public.w_binary ORDER BY id',
    );
    expect(copied.rows.length).toBe(ROWS);
    expect(copied.rows).toEqual(expected.rows);
    expect(cursors).toEqual(Array.from({ length: Math.floor(ROWS / 100) }, (_, i) => String((i + 1) * 100)));
    expect(reads.length).toBeLessThanOrEqual(3);
    expect(await busySessions()).toBe(0);
  });

  it.each([false, true])(
    "goes on with the window's next batches in the same COPY while the group lasts, each batch's cursor known (binary: %s)",
    async (binary) => {
      reads.length = 0;
      // A group longer than the load: each COPY takes the rest of its window (docs/adr/0027).
      const window = new CopyWindow(source, plan, {
        limit: 100,
        statementTimeoutMs: 20_000,
        now: () => performance.now(),
        binary,
      });
      const endless = { batches: Number.POSITIVE_INFINITY, ends: () => false };
      const sizes: number[][] = [];
      const cursors: string[] = [];
      let rows = 0;
      let cursor: BatchCursor = null;
      for (;;) {
        const batch = window.batchAt(cursor, endless);
        const bytes: Buffer[] = [];
        for await (const chunk of batch.rows) bytes.push(chunk as Buffer);
        const copied = batch.batches!();
        sizes.push(copied.map((b) => b.rows));
        cursors.push(...copied.map((b) => b.lastCursor[0]!));
        // One COPY: its messages are its batches' rows (and, in binary, one header and one trailer).
        expect(batch.messages!()).toBe(copied.reduce((n, b) => n + b.rows, 0));
        let messages = 0;
        const all = Buffer.concat(bytes);
        for (let at = 0; at < all.length; at = at + 1 + all.readUInt32BE(at + 1)) messages += 1;
        expect(messages).toBe(batch.messages!() + (binary ? 2 : 0));
        expect(batch.lastCursor!()).toEqual(copied.at(-1)?.lastCursor ?? null);
        rows += batch.messages!();
        if ((copied.at(-1)?.rows ?? 0) < 100) break;
        window.wrote(batch.lastCursor!());
        cursor = { after: batch.lastCursor!()! };
      }
      await window.close();
      expect(rows).toBe(ROWS);
      // Every batch but the pass's last holds `limit` rows, and its cursor is its own last row's.
      expect(sizes.flat()).toEqual([...Array.from({ length: 25 }, () => 100), 3]);
      expect(cursors).toEqual([...Array.from({ length: 25 }, (_, i) => String((i + 1) * 100)), String(ROWS)]);
      // The first window is one batch; the next COPY went on over several.
      expect(sizes[0]).toEqual([100]);
      expect(sizes[1]!.length).toBeGreaterThan(1);
      expect(sizes.length).toBe(reads.length);
      expect(await busySessions()).toBe(0);
    },
  );

  it("ends the COPY of several batches at the group's size, or when the group says it ends", async () => {
    const window = new CopyWindow(source, plan, {
      limit: 100,
      statementTimeoutMs: 20_000,
      now: () => performance.now(),
    });
    const first = window.batchAt(null);
    await textOf(first.rows);
    window.wrote(first.lastCursor!());
    // At most three batches.
    const three = window.batchAt({ after: first.lastCursor!()! }, { batches: 3, ends: () => false });
    await textOf(three.rows);
    expect(three.batches!().map((b) => b.rows)).toEqual([100, 100, 100]);
    window.wrote(three.lastCursor!());
    // Ended by the group after its second batch (a pause announced meanwhile).
    let asked = 0;
    const ended = window.batchAt(
      { after: three.lastCursor!()! },
      { batches: 100, ends: () => (asked += 1) >= 2 },
    );
    await textOf(ended.rows);
    expect(ended.batches!().map((b) => b.lastCursor[0])).toEqual(['500', '600']);
    await window.close();
    expect(await busySessions()).toBe(0);
  });

  it('reads again from where the run stands after a batch that did not commit, and ends an unfinished read', async () => {
    reads.length = 0;
    const window = newWindow();
    const first = await batch(window, null);
    window.wrote(first.lastCursor);
    const after1 = { after: first.lastCursor! };
    const second = await batch(window, after1);
    expect(second.rows[0]![0]).toBe('101');
    // The second batch's transaction rolled back (no `wrote`): the run retries from the first one's end.
    expect(window.continues({ after: second.lastCursor! })).toBe(false);
    const again = await batch(window, after1);
    expect(again.rows).toEqual(second.rows);
    expect(reads).toHaveLength(3);
    window.wrote(again.lastCursor);
    await batch(window, { after: again.lastCursor! });
    expect(reads).toHaveLength(3);
    // Left in the middle of a window (a pause, a stop): the read ends on the source.
    expect(await busySessions()).toBe(1);
    await window.close();
    for (let i = 0; i < 50 && (await busySessions()) > 0; i += 1) await sleep(100);
    expect(await busySessions()).toBe(0);
  });

  it('relays the rows of a source that sends notices between them, and fails a batch with the error the source sent mid-COPY', async () => {
    // A NoticeResponse between CopyData messages is the protocol's; it is not a row.
    await remote.pool.query(`CREATE FUNCTION public.noisy(i int) RETURNS int LANGUAGE plpgsql AS $$
      BEGIN IF i % 7 = 0 THEN RAISE NOTICE 'row %', i; END IF; RETURN i; END $$`);
    await remote.pool.query(`CREATE FUNCTION public.refusing(i int) RETURNS int LANGUAGE plpgsql AS $$
      BEGIN IF i = 250 THEN RAISE EXCEPTION 'source row % refused', i; END IF; RETURN i; END $$`);
    const over = (fn: string): BatchPlan => ({
      ...plan,
      sourceQuery: `SELECT public.${fn}(id) AS id, v FROM public.w`,
    });
    for (const binary of [false, true]) {
      const window = new CopyWindow(source, over('noisy'), {
        limit: 100,
        statementTimeoutMs: 20_000,
        now: () => performance.now(),
        binary,
      });
      let cursor: BatchCursor = null;
      let rows = 0;
      for (;;) {
        const batch = window.batchAt(cursor);
        const chunks: Buffer[] = [];
        for await (const chunk of batch.rows) chunks.push(chunk as Buffer);
        const sent = batch.messages!();
        rows += sent;
        // Whole CopyData messages only: each one's length leads to the next, to the end exactly.
        const bytes = Buffer.concat(chunks);
        let messages = 0;
        for (let at = 0; at < bytes.length; at = at + 1 + bytes.readUInt32BE(at + 1)) {
          expect(bytes[at]).toBe(0x64);
          messages += 1;
        }
        expect(messages).toBe(sent + (binary ? 2 : 0));
        if (sent < 100) break;
        window.wrote(batch.lastCursor!());
        cursor = { after: batch.lastCursor!()! };
      }
      await window.close();
      expect(rows).toBe(ROWS);
    }

    const window = new CopyWindow(source, over('refusing'), {
      limit: 100,
      statementTimeoutMs: 20_000,
      now: () => performance.now(),
    });
    // The error ends the stream where it arrives: the batch reading then fails, whichever it is.
    let read = 0;
    let at: BatchCursor = null;
    const failed = await (async () => {
      for (;;) {
        const got = await batch(window, at);
        read += got.rows.length;
        window.wrote(got.lastCursor);
        at = { after: got.lastCursor! };
      }
    })().catch((error: Error) => error);
    expect(failed.message).toContain('source row 250 refused');
    expect(read).toBeLessThan(250);
    await window.close();
    for (let i = 0; i < 50 && (await busySessions()) > 0; i += 1) await sleep(100);
    expect(await busySessions()).toBe(0);
  });

  it.each([
    ['a window of a first load from PostgreSQL', 'remote'],
    ['a first load streamed from MariaDB', 'mysql'],
    ['a full pass reading this database', 'local'],
  ])(
    'goes on only from what the run committed, in %s: batches lost after their commit (a server crash) are read again',
    async (_title, where) => {
      const remoteSource = where === 'remote';
      const mysqlSource = where === 'mysql';
      const name = `lost_${where}`;
      db ??= await createTestDatabase();
      if (mysqlSource) {
        remoteMy ??= await createRemoteMysql();
        await remoteMy.pool.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v text NOT NULL)`);
        await remoteMy.pool.query(`INSERT INTO ${name} SELECT seq, MD5(seq) FROM seq_1_to_20000`);
        await createConnection(
          db.api,
          { name: 'lost_mysql', kind: 'mysql', ...REMOTE_MYSQL, database: remoteMy.database },
          'test',
        );
      } else if (remoteSource) {
        await remote.pool.query(`CREATE TABLE public.${name} (id int PRIMARY KEY, v text NOT NULL)`);
        await remote.pool.query(
          `INSERT INTO public.${name} SELECT i, md5(i::text) FROM generate_series(1, 20000) i`,
        );
        await createConnection(
          db.api,
          { name: 'lost_source', kind: 'postgres', ...REMOTE_PG, database: remote.database },
          'test',
        );
      } else {
        await createSourceTable(db, `content.${name} (id int PRIMARY KEY, v text NOT NULL)`);
        await db.admin.query(
          `INSERT INTO content.${name} SELECT i, md5(i::text) FROM generate_series(1, 20000) i`,
        );
      }
      const logs: string[] = [];
      const logger = pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            logs.push(chunk.toString());
            done();
          },
        }),
      );
      // A window's batches commit in groups of 1 ms (docs/adr/0027): many transactions, so the one
      // lost is not the pass's last.
      const runner = await startSourcesRunner({ commitGroupMs: 1 }, { logger });
      try {
        const pipeline = await createPipeline(db, {
          name: `window_${name}`,
          ...(remoteSource ? { source_connection: 'lost_source' } : {}),
          ...(mysqlSource ? { source_connection: 'lost_mysql' } : {}),
          source_query: mysqlSource
            ? `SELECT id, v FROM ${name}`
            : `SELECT id, v FROM ${remoteSource ? 'public' : 'content'}.${name}`,
          target_table: `analytics.window_${name}`,
          unique_key: 'id',
          batch_size: 100,
        });
        // What a server crash does to a transaction committed without waiting for the WAL flush (a
        // window's next batches): it is gone with its rows, checkpoint and ledger rows, while the
        // runner, told it committed, goes on with the next one. After batch 2 commits, a lock on the
        // target holds the next write while the last committed transaction is taken back whole (its
        // ledger rows share its xmin), as the crash would.
        let rewound: Promise<number> | undefined;
        runner.events.on('batch:committed', (event: { runId: string; batchNo: number }) => {
          if (event.batchNo !== 2 || rewound) return;
          rewound = (async () => {
            const tx = await db.admin.connect();
            try {
              await tx.query('BEGIN');
              await tx.query(`LOCK TABLE analytics.window_${name} IN SHARE MODE`);
              const { rows } = await tx.query<{ first: number; n: number; at: string[]; rows: number }>(
                `WITH lost AS (
                   SELECT b.batch_no, b.rows_read FROM etl.etl_run_batches b
                    WHERE b.run_id = $1
                      AND b.xmin = (SELECT xmin FROM etl.etl_run_batches WHERE run_id = $1 ORDER BY batch_no DESC LIMIT 1))
                 SELECT min(l.batch_no) AS first, max(l.batch_no) AS n, sum(l.rows_read)::int AS rows,
                        (SELECT p.cursor_to FROM etl.etl_run_batches p WHERE p.run_id = $1 AND p.batch_no = min(l.batch_no) - 1) AS at
                   FROM lost l`,
                [event.runId],
              );
              const last = rows[0]!;
              await tx.query(`DELETE FROM analytics.window_${name} WHERE id > $1`, [Number(last.at[0])]);
              await tx.query('UPDATE etl.etl_state SET full_cursor = $2 WHERE pipeline_id = $1', [
                pipeline.id,
                JSON.stringify(last.at),
              ]);
              await tx.query('DELETE FROM etl.etl_run_batches WHERE run_id = $1 AND batch_no >= $2', [
                event.runId,
                last.first,
              ]);
              await tx.query(
                `UPDATE etl.etl_runs SET batches = batches - $3, rows_read = rows_read - $2,
                        rows_written = rows_written - $2 WHERE id = $1`,
                [event.runId, last.rows, last.n - last.first + 1],
              );
              await tx.query('COMMIT');
              return last.n;
            } finally {
              tx.release();
            }
          })();
        });
        await requestRun(db, pipeline.id);
        await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 90_000);
        expect(rewound).toBeDefined();
        // A transaction in the middle of the pass was taken back (not its last: that one commits durably).
        const taken = await rewound!;
        expect(taken).toBeGreaterThanOrEqual(2);
        expect(taken).toBeLessThan(200);
        const final = await waitForStatus(db, pipeline.id, ['IDLE']);
        expect(final.lease_owner).toBeNull();
        const { rows: target } = await db.admin.query<{ id: number; v: string }>(
          `SELECT id, v FROM analytics.window_${name} ORDER BY id`,
        );
        const expected = mysqlSource
          ? ((await remoteMy!.pool.query(`SELECT id, v FROM ${name} ORDER BY id`))[0] as {
              id: number;
              v: string;
            }[])
          : (
              await (remoteSource ? remote.pool : db.admin).query<{ id: number; v: string }>(
                `SELECT id, v FROM ${remoteSource ? 'public' : 'content'}.${name} ORDER BY id`,
              )
            ).rows;
        expect(target).toEqual(expected);
        const log = logs.join('');
        // The next batch found the checkpoint where the one before left it, rolled back, and the run
        // read again from there.
        expect(log).toContain("the run's ledger does not hold the");
        if (remoteSource) expect(log).toContain('reading the next batches in one source COPY');
        // A first load's batches after its first commit without waiting for the WAL flush; a pass
        // reading this database keeps synchronous commits.
        if (remoteSource || mysqlSource) expect(log).toContain('"asyncCommit":true');
        else expect(log).not.toContain('asyncCommit');
        const { rows: runs } = await db.admin.query<{ status: string; rows_read: number }>(
          'SELECT status, rows_read::int FROM etl.etl_runs WHERE pipeline_id = $1',
          [pipeline.id],
        );
        expect(runs).toEqual([{ status: 'SUCCESS', rows_read: 20000 }]);
      } finally {
        await runner.stop();
      }
    },
    120_000,
  );
});

describe('a first load committed in groups of batches', () => {
  it.each(['postgres', 'mysql'] as const)(
    'commits its next batches together in one COPY, each with its own ledger row and cursor, the run exact (%s)',
    async (kind) => {
      db ??= await createTestDatabase();
      const name = `grouped_${kind}`;
      if (kind === 'mysql') {
        // Read through Node, batch by batch: the COPY goes on with the batches read after it.
        remoteMy ??= await createRemoteMysql();
        await remoteMy.pool.query(`CREATE TABLE ${name} (id int PRIMARY KEY, v text NOT NULL)`);
        await remoteMy.pool.query(`INSERT INTO ${name} SELECT seq, MD5(seq) FROM seq_1_to_20000`);
        await createConnection(
          db.api,
          { name: `${name}_source`, kind: 'mysql', ...REMOTE_MYSQL, database: remoteMy.database },
          'test',
        );
      } else {
        await remote.pool.query(`CREATE TABLE public.${name} (id int PRIMARY KEY, v text NOT NULL)`);
        await remote.pool.query(
          `INSERT INTO public.${name} SELECT i, md5(i::text) FROM generate_series(1, 20000) i`,
        );
        await createConnection(
          db.api,
          { name: `${name}_source`, kind: 'postgres', ...REMOTE_PG, database: remote.database },
          'test',
        );
      }
      // SIPHON_REMOTE_COMMIT_GROUP's default (200 ms).
      const runner = await startSourcesRunner();
      const events: number[] = [];
      runner.events.on('batch:committed', (event: { batchNo: number }) => events.push(event.batchNo));
      try {
        const pipeline = await createPipeline(db, {
          name,
          source_connection: `${name}_source`,
          source_query: kind === 'mysql' ? `SELECT id, v FROM ${name}` : `SELECT id, v FROM public.${name}`,
          target_table: `analytics.${name}`,
          unique_key: 'id',
          batch_size: 100,
        });
        await requestRun(db, pipeline.id);
        await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
        const { rows: target } = await db.admin.query<{ n: number; sum: string }>(
          `SELECT count(*)::int AS n, sum(id)::text AS sum FROM analytics.${name}`,
        );
        expect(target[0]).toEqual({ n: 20000, sum: String((20000 * 20001) / 2) });
        // A ledger row per batch of 100, numbered on, each going on from the cursor of the one before.
        const { rows: ledger } = await db.admin.query<{
          n: number;
          from: { after: string[] } | null;
          to: string[];
          rows: number;
          tx: string;
        }>(
          `SELECT b.batch_no AS n, b.cursor_from AS from, b.cursor_to AS to, b.rows_read AS rows, b.xmin::text AS tx
           FROM etl.etl_run_batches b JOIN etl.etl_runs r ON r.id = b.run_id
          WHERE r.pipeline_id = $1 ORDER BY b.batch_no`,
          [pipeline.id],
        );
        expect(ledger.map((b) => b.n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        expect(ledger.every((b) => b.rows === 100)).toBe(true);
        expect(ledger.map((b) => b.to[0])).toEqual(
          Array.from({ length: 200 }, (_, i) => String((i + 1) * 100)),
        );
        expect(ledger[0]!.from).toBeNull();
        for (let i = 1; i < ledger.length; i += 1)
          expect(ledger[i]!.from).toEqual({ after: ledger[i - 1]!.to });
        // Fewer commits than batches, each commit a run of consecutive batches: the first alone, then
        // groups of at most 2, 4, 8 … batches (fewer where a window ends first: a window's size is
        // learnt from how long the ones before took).
        const transactions = [...new Set(ledger.map((b) => b.tx))];
        expect(transactions.length).toBeLessThan(ledger.length);
        const sizes: number[] = [];
        for (const tx of transactions) {
          const numbers = ledger.filter((b) => b.tx === tx).map((b) => b.n);
          expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => numbers[0]! + i));
          sizes.push(numbers.length);
        }
        expect(sizes[0]).toBe(1);
        sizes.forEach((size, i) => expect(size).toBeLessThanOrEqual(2 ** i));
        // Each batch told once, in order, after its commit.
        expect(events).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        const { rows: runs } = await db.admin.query(
          'SELECT status, rows_read::int, batches FROM etl.etl_runs WHERE pipeline_id = $1',
          [pipeline.id],
        );
        expect(runs).toEqual([{ status: 'SUCCESS', rows_read: 20000, batches: 200 }]);
        const { rows: state } = await db.admin.query(
          'SELECT full_cursor FROM etl.etl_state WHERE pipeline_id = $1',
          [pipeline.id],
        );
        expect(state).toEqual([{ full_cursor: null }]);
      } finally {
        await runner.stop();
      }
    },
    90_000,
  );

  it('names the batch and its row when the target refuses a row of a COPY of several batches', async () => {
    db ??= await createTestDatabase();
    await remote.pool.query('CREATE TABLE public.refused (id int PRIMARY KEY, v text NOT NULL)');
    await remote.pool.query(
      "INSERT INTO public.refused SELECT i, CASE WHEN i = 4034 THEN 'refused' ELSE md5(i::text) END FROM generate_series(1, 5000) i",
    );
    await createConnection(
      db.api,
      { name: 'refused_source', kind: 'postgres', ...REMOTE_PG, database: remote.database },
      'test',
    );
    // The user's own target, empty: a first load copies into it, and its CHECK refuses row 4034.
    await db.writer.query(
      "CREATE TABLE analytics.refused (id int PRIMARY KEY, v text NOT NULL CHECK (v <> 'refused'))",
    );
    const runner = await startSourcesRunner({ commitGroupMs: 60_000 });
    try {
      const pipeline = await createPipeline(db, {
        name: 'refused',
        source_connection: 'refused_source',
        source_query: 'SELECT id, v FROM public.refused',
        target_table: 'analytics.refused',
        unique_key: 'id',
        batch_size: 100,
      });
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['FAILED'], 60_000);
      const { rows } = await db.admin.query<{ error: string; details: { batchNo: number; copy: unknown } }>(
        'SELECT error, error_details AS details FROM etl.etl_runs WHERE pipeline_id = $1',
        [pipeline.id],
      );
      // Row 4034 is the 34th of batch 41, whatever batch the failed COPY began with.
      expect(rows[0]!.error).toContain('(row 34 of the batch)');
      expect(rows[0]!.details).toMatchObject({ batchNo: 41, copy: { row: 34 } });
      // Whole batches committed before the failed COPY, and nothing of it: that COPY began before batch
      // 41 (groups double: 1, at most 2, 4 … batches), so its line numbers ran on from an earlier batch.
      const { rows: kept } = await db.admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM analytics.refused',
      );
      expect(kept[0]!.n % 100).toBe(0);
      expect(kept[0]!.n).toBeGreaterThanOrEqual(100);
      expect(kept[0]!.n).toBeLessThan(4000);
    } finally {
      await runner.stop();
    }
  }, 60_000);

  it('ends a group at the next batch when the pipeline is asked to pause, and resumes exactly', async () => {
    db ??= await createTestDatabase();
    // From MariaDB each batch is a query of its own: a slow one spaces the group's batches in time.
    remoteMy ??= await createRemoteMysql();
    await remoteMy.pool.query('CREATE TABLE group_paused (id int PRIMARY KEY, v text NOT NULL)');
    await remoteMy.pool.query("INSERT INTO group_paused SELECT seq, CONCAT('v', seq) FROM seq_1_to_1500");
    // The source query may not call SLEEP(); a view it reads may (1 ms a row read: a batch of 100
    // takes 0.1 s, the group of batches 4 to 7 would take 0.4 s).
    await remoteMy.pool.query(
      'CREATE VIEW group_paused_slow AS SELECT id, v FROM group_paused WHERE SLEEP(0.001) = 0',
    );
    await createConnection(
      db.api,
      { name: 'group_paused_source', kind: 'mysql', ...REMOTE_MYSQL, database: remoteMy.database },
      'test',
    );
    // Groups as long as the load: only the pause (its NOTIFY) ends one early.
    const runner = await startSourcesRunner({ commitGroupMs: 600_000 });
    try {
      const pipeline = await createPipeline(db, {
        name: 'group_paused',
        source_connection: 'group_paused_source',
        source_query: 'SELECT id, v FROM group_paused_slow',
        target_table: 'analytics.group_paused',
        unique_key: 'id',
        batch_size: 100,
      });
      // Asked to pause once batch 3 (the end of the second group) committed.
      const onBatch = ({ batchNo }: { batchNo: number }) => {
        if (batchNo === 3) void requestStatus(db.api, pipeline.id, 'pause', 'test', 'test');
      };
      runner.events.on('batch:committed', onBatch);
      try {
        await requestRun(db, pipeline.id);
        await waitForStatus(db, pipeline.id, ['PAUSED', 'IDLE', 'FAILED'], 60_000);
      } finally {
        runner.events.off('batch:committed', onBatch);
      }
      const paused = await db.admin.query<{ status: string; n: number; cursor: string[] }>(
        `SELECT p.status, (SELECT count(*)::int FROM analytics.group_paused) AS n, s.full_cursor AS cursor
           FROM etl.etl_pipelines p JOIN etl.etl_state s ON s.pipeline_id = p.id WHERE p.id = $1`,
        [pipeline.id],
      );
      // The group of batches 4 to 7 ended before batch 7: the pause landed mid-group.
      expect(paused.rows[0]!.status).toBe('PAUSED');
      expect(paused.rows[0]!.n).toBeGreaterThanOrEqual(400);
      expect(paused.rows[0]!.n).toBeLessThan(700);
      expect(paused.rows[0]!.cursor).toEqual([String(paused.rows[0]!.n)]);
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['IDLE', 'FAILED'], 60_000);
      const { rows } = await db.admin.query<{ n: number; sum: string }>(
        'SELECT count(*)::int AS n, sum(id)::text AS sum FROM analytics.group_paused',
      );
      expect(rows[0]).toEqual({ n: 1500, sum: String((1500 * 1501) / 2) });
      const { rows: runs } = await db.admin.query<{ status: string }>(
        'SELECT status FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
        [pipeline.id],
      );
      expect(runs.map((r) => r.status)).toEqual(['PAUSED', 'SUCCESS']);
    } finally {
      await runner.stop();
    }
  }, 90_000);
});
