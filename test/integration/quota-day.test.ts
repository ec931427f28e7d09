import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextPacificMidnight } from '../../src/connectors/youtube/index.js';
import * as quota from '../../src/db/repositories/quota.repository.js';
import { listQuotaStatus } from '../../src/db/repositories/sync-status.repository.js';
import { defaultLimit, quotaDayEnd, quotaDayZone } from '../../src/sync/sync-step.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

// Kiritimati (UTC+14) and Etc/GMT+12 (UTC−12) are 26 hours apart: their dates always differ, so the
// test tells "the zone's day" from "the server's day" at any hour it runs.
const EAST = 'Pacific/Kiritimati';
const WEST = 'Etc/GMT+12';

describe("the shared limiter counts a credential's units per platform day", () => {
  it("starts a new day at midnight in the credential's zone, not at the server's", async () => {
    const limit = { callsPerWindow: 1000, windowMs: 1000, dailyUnits: 100, dayZone: EAST };
    await quota.upsertLimit(db.admin, 'youtube', 'east-key', limit);
    const reset = new Date(Date.now() + 3_600_000);

    // The whole budget spent today in the zone: no slot, the credential pauses until the reset.
    await db.admin.query(
      `UPDATE etl.quota_limits SET units_used = 100, day = (now() AT TIME ZONE $1)::date
        WHERE credential = 'east-key'`,
      [EAST],
    );
    expect(await quota.reserveSlot(db.admin, 'youtube', 'east-key', 1, reset)).toEqual({
      kind: 'exhausted',
      until: reset,
    });
    expect((await listQuotaStatus(db.admin))[0]).toMatchObject({ units_used: 100, units_remaining: 0 });

    // Spent on a date that is already over in the zone: a fresh budget, charged to the zone's today.
    await db.admin.query(
      `UPDATE etl.quota_limits SET paused_until = NULL, units_used = 100, day = (now() AT TIME ZONE $1)::date
        WHERE credential = 'east-key'`,
      [WEST],
    );
    expect((await listQuotaStatus(db.admin))[0]).toMatchObject({ units_used: 0, units_remaining: 100 });
    expect(await quota.reserveSlot(db.admin, 'youtube', 'east-key', 3, reset)).toMatchObject({
      kind: 'slot',
    });
    const { rows } = await db.admin.query(
      `SELECT units_used::int, day = (now() AT TIME ZONE $1)::date AS today FROM etl.quota_limits
        WHERE credential = 'east-key'`,
      [EAST],
    );
    expect(rows).toEqual([{ units_used: 3, today: true }]);
  });

  it('a changed zone is written to the limiter with the limits', async () => {
    await quota.upsertLimit(db.admin, 'tiktok', 'tt', { ...defaultLimit('tiktok') });
    await quota.upsertLimit(db.admin, 'tiktok', 'tt', { ...defaultLimit('tiktok'), dayZone: WEST });
    const { rows } = await db.admin.query(`SELECT day_zone FROM etl.quota_limits WHERE credential = 'tt'`);
    expect(rows).toEqual([{ day_zone: WEST }]);
  });

  it("YouTube's day is Pacific time (it resets at midnight in Los Angeles); the others' is UTC", () => {
    expect(quotaDayZone('youtube')).toBe('America/Los_Angeles');
    expect(defaultLimit('youtube').dayZone).toBe('America/Los_Angeles');
    expect(quotaDayZone('tiktok')).toBe('UTC');
    for (const now of ['2026-03-08T09:00:00Z', '2026-11-01T12:00:00Z', '2026-06-30T23:59:59Z']) {
      const t = Date.parse(now);
      expect(quotaDayEnd('youtube', t).getTime()).toBe(nextPacificMidnight(t));
    }
    expect(quotaDayEnd('youtube', Date.parse('2026-03-08T09:00:00Z')).toISOString()).toBe(
      '2026-03-09T07:00:00.000Z',
    );
    expect(quotaDayEnd('tiktok', Date.parse('2026-03-08T23:30:00Z')).toISOString()).toBe(
      '2026-03-09T00:00:00.000Z',
    );
  });
});
