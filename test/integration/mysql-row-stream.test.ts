import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyFailure } from '../../src/core/errors.js';
import { decodeCopyLine } from '../../src/db/copy-text.js';
import type { BatchCursor, BatchPlan } from '../../src/db/batch-sql.js';
import { openMysqlSource } from '../../src/sources/mysql/mysql.source.js';
import type { RemoteSource, SourceBatch } from '../../src/sources/source.js';
import { createRemoteMysql, REMOTE_MYSQL, type RemoteMysql } from '../helpers/remote-servers.js';

/**
 * A MySQL source reads a batch row by row and keeps it as COPY text (src/db/copy-text.ts,
 * CopyTextBuilder): the text a first load copies, and the columns a merge decodes from it, must be
 * the server's values exactly; a session lost in the middle of a result must fail the read (retried
 * by the runner), never leave it waiting.
 */
let remote: RemoteMysql;
let source: RemoteSource;

const QUERY = 'SELECT id, name, price, made, changed, data, doc, took, ratio, kind FROM items';

const PLAN: BatchPlan = {
  sourceQuery: QUERY,
  target: { schema: 'analytics', table: 'items' },
  columns: ['id', 'name', 'price', 'made', 'changed', 'data', 'doc', 'took', 'ratio', 'kind'],
  keys: ['id'],
  cursorColumns: ['id'],
  incrementalKey: null,
  touchUpdatedAt: true,
  targetTypes: {},
};
const read = (limit: number, cursor: BatchCursor = null) => source.readBatch(PLAN, cursor, limit);

async function copyTextOf(batch: SourceBatch): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of batch.copyText!()) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  remote = await createRemoteMysql();
  await remote.pool.query(
    `CREATE TABLE items (id int PRIMARY KEY, name text, price decimal(8,3), made datetime(6),
       changed timestamp(3) NULL, data varbinary(16), doc json, took time, ratio double,
       kind enum('plain', 'tab\there'))`,
  );
  // In UTC, as the source reads: a TIMESTAMP is stored from the session's zone.
  const session = await remote.pool.getConnection();
  try {
    await session.query("SET time_zone = '+00:00'");
    await session.query(
      `INSERT INTO items VALUES
         (1, 'tab\\there, line\\nbreak, cr\\r, back\\\\slash', 1.500, '2024-02-29 23:59:59.123456', '2025-01-01 00:00:00.250', X'00FF5C0A', '{"a": "x\\\\ty"}', '-838:59:59', 1e-7, 'tab\\there'),
         (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
         (3, '\\\\N', -0.001, '1999-12-31 00:00:00', '2025-06-30 12:00:00', X'', '[]', '00:00:01', -2.5, 'plain'),
         (4, 'ünïcödé ✓ 🎬', 99999.999, '2000-01-01 00:00:00.000001', '2038-01-19 03:14:07', X'5C', 'null', '23:59:59', 12345678.875, NULL)`,
    );
  } finally {
    session.release();
  }
  source = openMysqlSource(
    { name: 'remote_my', ...REMOTE_MYSQL, database: remote.database, password: undefined },
    { statementTimeoutMs: 30_000, applicationName: 'siphon-test' },
  );
  await source.describe(QUERY);
});

afterAll(async () => {
  await source?.close();
  await remote?.drop();
});

describe('a MySQL batch kept as COPY text', () => {
  it('holds the server values exactly, and its columns are the text decoded', async () => {
    const batch = await read(10);
    expect(batch.rows).toBe(4);
    expect(batch.lastCursor).toEqual(['4']);
    const text = await copyTextOf(batch);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const rows = lines.map(decodeCopyLine);
    expect(rows).toEqual([
      [
        '1',
        'tab\there, line\nbreak, cr\r, back\\slash',
        '1.500',
        '2024-02-29 23:59:59.123456',
        '2025-01-01 00:00:00.250+00',
        '\\x00ff5c0a',
        '{"a": "x\\ty"}',
        '-838:59:59',
        '0.0000001',
        'tab\there',
      ],
      ['2', null, null, null, null, null, null, null, null, null],
      [
        '3',
        '\\N',
        '-0.001',
        '1999-12-31 00:00:00.000000',
        '2025-06-30 12:00:00.000+00',
        '\\x',
        '[]',
        '00:00:01',
        '-2.5',
        'plain',
      ],
      [
        '4',
        'ünïcödé ✓ 🎬',
        '99999.999',
        '2000-01-01 00:00:00.000001',
        '2038-01-19 03:14:07.000+00',
        '\\x5c',
        'null',
        '23:59:59',
        '12345678.875',
        null,
      ],
    ]);
    // Column-major, the same values (what a merge writes).
    expect(batch.columns).toEqual(rows[0]!.map((_, c) => rows.map((row) => row[c])));
  });

  it('reads on from the last row of a batch', async () => {
    const first = await read(3);
    expect(first.rows).toBe(3);
    const rest = await read(3, { after: first.lastCursor! });
    expect(rest.rows).toBe(1);
    expect(rest.columns[0]).toEqual(['4']);
  });
});

describe('a MySQL session lost in the middle of a result', () => {
  it('fails the read as a transient error, and the next read succeeds', async () => {
    // Enough rows that the result is still being sent when its session is killed.
    await remote.pool.query(
      `INSERT INTO items (id, name, price) SELECT seq + 10, REPEAT('x', 200), seq / 1000 FROM seq_1_to_300000`,
    );
    const outcome = read(300_010).then(
      () => 'finished' as const,
      (error: unknown) => error,
    );
    let killed = false;
    for (let i = 0; i < 400 && !killed; i += 1) {
      const [sessions] = await remote.pool.query<RowDataPacket[]>(
        `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT s.%FROM (%' AND DB = ?`,
        [remote.database],
      );
      for (const session of sessions) {
        await remote.pool.query(`KILL CONNECTION ${Number(session.ID)}`);
        killed = true;
      }
      if (!killed) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(killed).toBe(true);
    const error = await outcome;
    expect(error).not.toBe('finished');
    expect(classifyFailure(error)).toBe('retryable');
    const again = await read(10);
    expect(again.rows).toBe(10);
  });
});
