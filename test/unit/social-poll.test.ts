import { describe, expect, it } from 'vitest';
import { pollInterval } from '../../src/sync/social-run.js';

describe('how often a social run’s coordinator looks at its run', () => {
  it('every poll interval while a look is cheap; nine times a slow look’s duration, within a third of the lease', () => {
    expect(pollInterval(500, 0, 30_000)).toBe(500);
    expect(pollInterval(500, 50, 30_000)).toBe(500);
    // 0.7 s to read 100,000 running jobs: the next look in 6.3 s, not 0.5 s.
    expect(pollInterval(500, 700, 30_000)).toBe(6_300);
    expect(pollInterval(500, 40, 30_000)).toBe(500);
    expect(pollInterval(500, 100, 30_000)).toBe(900);
    // Several seconds on a busy server: still renewed three times a lease.
    expect(pollInterval(500, 6_000, 30_000)).toBe(10_000);
    // A lease shorter than the poll interval never makes it poll faster than asked.
    expect(pollInterval(500, 2_000, 1_200)).toBe(500);
  });
});
