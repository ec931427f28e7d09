import { describe, expect, it } from 'vitest';
import type { BatchPlan } from '../../src/db/batch-sql.js';
import { assertCursorMoved } from '../../src/runner/run-support.js';

const plan: BatchPlan = {
  sourceQuery: 'SELECT k, v FROM t',
  target: { schema: 'analytics', table: 't' },
  columns: ['k', 'v'],
  keys: ['k'],
  cursorColumns: ['k'],
  incrementalKey: null,
  touchUpdatedAt: false,
  targetTypes: { k: 'real', v: 'integer' },
};

describe('a batch that does not move the keyset on', () => {
  it('is refused, naming the cursor, when its last row is the cursor it was read after', () => {
    let caught: unknown;
    try {
      assertCursorMoved(plan, { after: ['1'] }, ['1']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'SIPHON_ERR_SOURCE_QUERY',
      field: 'unique_key',
      details: { cursor: ['1'] },
    });
    expect((caught as Error).message).toContain('(k) = (1)');
  });

  it('passes a batch that ended past its cursor, a first batch, and a lookback start (inclusive)', () => {
    expect(() => assertCursorMoved(plan, { after: ['1'] }, ['1.0000001'])).not.toThrow();
    expect(() => assertCursorMoved(plan, null, ['1'])).not.toThrow();
    expect(() => assertCursorMoved(plan, { from: '1' }, ['1'])).not.toThrow();
    expect(() => assertCursorMoved(plan, { after: ['1'] }, null)).not.toThrow();
  });
});
