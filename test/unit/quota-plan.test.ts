import { describe, expect, it } from 'vitest';
import { planPlatform } from '../../src/core/quota-plan.js';

describe('the quota planner’s arithmetic', () => {
  it('serves the fastest tiers first, says how far the others fall behind and what would fit', () => {
    const plan = planPlatform(
      'tiktok',
      [
        {
          tier: 'weekly',
          intervalSeconds: 7 * 86_400,
          accounts: 1000,
          measuredCostPerSync: null,
          measuredSyncs: 0,
        },
        { tier: 'hourly', intervalSeconds: 3600, accounts: 10, measuredCostPerSync: 6, measuredSyncs: 240 },
        {
          tier: 'daily',
          intervalSeconds: 86_400,
          accounts: 500,
          measuredCostPerSync: 4,
          measuredSyncs: 3500,
        },
      ],
      [
        { credential: 'research-1', perDay: 1000, rejected: false },
        { credential: 'research-2', perDay: 1000, rejected: false },
        { credential: 'research-3', perDay: 1000, rejected: true }, // refused: gives nothing
      ],
    );
    expect(plan).toMatchObject({
      platform: 'tiktok',
      credentials: 2,
      capacity_per_day: 2000,
      need_per_day: 4340, // 10·24·6 + 500·1·4 + 1000/7·6.3
      fits: false,
      credentials_needed: 5,
    });
    expect(plan.tiers).toEqual([
      {
        tier: 'hourly',
        accounts: 10,
        interval_seconds: 3600,
        cost_per_sync: 6,
        cost_source: 'measured',
        measured_syncs: 240,
        need_per_day: 1440,
        allocated_per_day: 1440,
        coverage: 1,
        fits: true,
        effective_interval_seconds: 3600,
        interval_that_fits_seconds: null,
      },
      {
        tier: 'daily',
        accounts: 500,
        interval_seconds: 86_400,
        cost_per_sync: 4,
        cost_source: 'measured',
        measured_syncs: 3500,
        need_per_day: 2000,
        allocated_per_day: 560,
        coverage: 0.28,
        fits: false,
        effective_interval_seconds: 308_571, // synced every 3.6 days instead of daily
        interval_that_fits_seconds: 308_572,
      },
      {
        tier: 'weekly',
        accounts: 1000,
        interval_seconds: 604_800,
        cost_per_sync: 6.3,
        cost_source: 'default',
        measured_syncs: 0,
        need_per_day: 900,
        allocated_per_day: 0,
        coverage: 0,
        fits: false,
        effective_interval_seconds: null, // never synced
        interval_that_fits_seconds: null,
      },
    ]);
  });

  it('fits with room to spare; no credential at all gives nothing and needs an answer', () => {
    const demand = [
      { tier: 'daily', intervalSeconds: 86_400, accounts: 100, measuredCostPerSync: 5, measuredSyncs: 10 },
    ];
    expect(
      planPlatform('youtube', demand, [{ credential: 'a', perDay: 10_000, rejected: false }]),
    ).toMatchObject({
      fits: true,
      need_per_day: 500,
      credentials_needed: 1,
      tiers: [{ fits: true, coverage: 1, allocated_per_day: 500 }],
    });
    expect(planPlatform('youtube', demand, [])).toMatchObject({
      fits: false,
      capacity_per_day: 0,
      credentials_needed: null,
    });
  });
});
