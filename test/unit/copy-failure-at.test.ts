import { describe, expect, it } from 'vitest';
import { copyFailureAt } from '../../src/core/errors.js';

describe("where a COPY refused a value, from PostgreSQL's error context", () => {
  it('reads the column and the row, or the row alone', () => {
    expect(copyFailureAt({ where: 'COPY my_t, line 2, column d: "0000-01-01"' })).toEqual({
      column: 'd',
      row: 2,
    });
    expect(copyFailureAt({ where: 'COPY my_t, line 7' })).toEqual({ row: 7 });
    expect(copyFailureAt({ where: 'SQL statement "…"\nCOPY t, line 3, column v' })).toEqual({
      column: 'v',
      row: 3,
    });
  });

  it('says nothing for an error that is not a COPY', () => {
    expect(copyFailureAt({ where: 'PL/pgSQL function f() line 3 at RAISE' })).toBeUndefined();
    expect(copyFailureAt(new Error('boom'))).toBeUndefined();
    expect(copyFailureAt(null)).toBeUndefined();
  });
});
