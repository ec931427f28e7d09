import { describe, expect, it } from 'vitest';
import {
  buildBatchSql,
  buildDeleteNotSeenSql,
  buildReadSql,
  buildWriteSql,
  normalizeSourceQuery,
  type BatchPlan,
} from '../../src/db/batch-sql.js';

const plan: BatchPlan = {
  sourceQuery: 'SELECT id, v, modified FROM content.t;  \n',
  target: { schema: 'analytics', table: 't' },
  columns: ['id', 'v', 'modified'],
  keys: ['id'],
  cursorColumns: ['modified', 'id'],
  incrementalKey: 'modified',
  touchUpdatedAt: true,
  targetTypes: { id: 'integer', v: 'text', modified: 'timestamp with time zone' },
};

describe('batch SQL', () => {
  it('strips trailing semicolons so the query can be a subquery', () => {
    expect(normalizeSourceQuery('SELECT 1;;  \n')).toBe('SELECT 1');
  });

  it('uses a row-value keyset after a cursor — never OFFSET, never a bare > on the timestamp', () => {
    const { text, values } = buildBatchSql(plan, { after: ['2025-01-01 00:00:00+00', '7'] }, 100);
    expect(text).toContain('WHERE (s."modified", s."id") > ($2, $3)');
    expect(text).toContain('ORDER BY s."modified", s."id"');
    expect(text).not.toMatch(/OFFSET/i);
    expect(values).toEqual([100, '2025-01-01 00:00:00+00', '7']);
  });

  it('upserts in key order: sorts an incremental batch, and a full one (read in key order) not at all', () => {
    expect(buildBatchSql(plan, null, 10).text).toContain(
      'SELECT "id", "v", "modified" FROM src ORDER BY "id"\n',
    );
    const full = { ...plan, cursorColumns: ['id'], incrementalKey: null };
    expect(buildBatchSql(full, null, 10).text).toContain('SELECT "id", "v", "modified" FROM src\n');
    expect(buildWriteSql(full)).toContain('SELECT "id", "v", "modified" FROM src\n');
    expect(buildBatchSql(full, null, 10).text).not.toContain('DISTINCT ON');
  });

  it('once a batch proved duplicates: dedups by key keeping the newest, and skips unchanged rows', () => {
    const { text } = buildBatchSql({ ...plan, dedup: true }, null, 10);
    expect(text).not.toContain('WHERE (s.');
    expect(text).toContain(
      'SELECT DISTINCT ON ("id") "id", "v", "modified" FROM src ORDER BY "id", "modified" DESC',
    );
    expect(buildWriteSql({ ...plan, dedup: true })).toContain(
      'SELECT DISTINCT ON ("id") "id", "v", "modified" FROM src ORDER BY "id", "modified" DESC',
    );
    expect(text).toContain(
      'ON CONFLICT ("id") DO UPDATE SET "v" = EXCLUDED."v", "modified" = EXCLUDED."modified", "updated_at" = now()',
    );
    expect(text).toContain(
      'WHERE ROW(t."v", t."modified")::record *<> ROW(EXCLUDED."v", EXCLUDED."modified")::record',
    );
  });

  it('starts a lookback window inclusively on the incremental key', () => {
    const { text, values } = buildBatchSql(plan, { from: '2025-01-01' }, 10);
    expect(text).toContain('WHERE s."modified" >= $2');
    expect(values).toEqual([10, '2025-01-01']);
  });

  it('does nothing on conflict when every column is part of the key', () => {
    const { text } = buildBatchSql(
      { ...plan, columns: ['id'], cursorColumns: ['id'], incrementalKey: null },
      null,
      10,
    );
    expect(text).toContain('ON CONFLICT ("id") DO NOTHING');
  });

  it('streams as text in keyset order and writes back through unnest with the target types', () => {
    const read = buildReadSql(plan, { after: ['x', '1'] }, 50);
    expect(read.text).toContain('r."id"::text AS "id", r."v"::text AS "v", r."modified"::text AS "modified"');
    expect(read.values).toEqual([50, 'x', '1']);
    const write = buildWriteSql(plan);
    expect(write).toContain('FROM unnest($1::text[], $2::text[], $3::text[]) AS u("id", "v", "modified")');
    expect(write).toContain('u."modified"::timestamp with time zone AS "modified"');
    expect(write).toContain('ON CONFLICT ("id") DO UPDATE');
  });

  it('in full pushdown with non-text keys, deletes what the source lost inside the batch key range', () => {
    const full = { ...plan, cursorColumns: ['id'], incrementalKey: null, deleteInBatch: true };
    const { text } = buildBatchSql(full, { after: ['41'] }, 100);
    expect(text).toContain('gone AS (');
    // A full batch: an index range after the cursor up to its last key.
    expect(text).toContain('WHERE t."id" > $2 AND t."id" <= (SELECT last_key FROM stats)');
    expect(text).toContain('AND (SELECT n FROM stats) = $1 AND (SELECT count(*)');
    expect(text).toContain('AND NOT EXISTS (SELECT 1 FROM src s WHERE s."id" = t."id")');
    // The last, short batch: everything after the cursor.
    expect(text).toContain('gone_tail AS (');
    expect(text).toContain('WHERE t."id" > $2 AND (SELECT n FROM stats) < $1 AND (SELECT count(*)');
    expect(buildBatchSql({ ...full, deleteInBatch: false }, null, 100).text).not.toContain('gone AS');
  });

  it('runs the anti-join only when the target holds more keys in the range than the batch found there', () => {
    const full = { ...plan, cursorColumns: ['id'], incrementalKey: null, deleteInBatch: true };
    const { text } = buildBatchSql(full, { after: ['41'] }, 100);
    expect(text).toContain('RETURNING (t.xmax = 0) AS inserted');
    const gate = '> (SELECT n FROM stats) - (SELECT count(*) FROM up WHERE inserted) AND NOT EXISTS';
    expect(text).toContain(
      `(SELECT count(*) FROM "analytics"."t" AS t WHERE t."id" > $2 AND t."id" <= (SELECT last_key FROM stats))\n       ${gate}`,
    );
    expect(text).toContain(
      `(SELECT count(*) FROM "analytics"."t" AS t WHERE t."id" > $2 AND true)\n       ${gate}`,
    );
    // With duplicates in a batch its row count is not its key count: the plain anti-join.
    expect(buildBatchSql({ ...full, dedup: true }, { after: ['41'] }, 100).text).not.toContain(gate);
  });

  it('deletes target rows the source no longer has', () => {
    expect(buildDeleteNotSeenSql(plan)).toMatch(
      /DELETE FROM "analytics"\."t" AS t WHERE NOT EXISTS[\s\S]+s\."id" = t\."id"/,
    );
  });
});
