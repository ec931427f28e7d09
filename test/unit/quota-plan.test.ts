import { describe, expect, it } from 'vitest';
import { admitsSync, planPlatform, tierReserves } from '../../src/core/quota-plan.js';

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
        kept_for_faster_per_day: 0,
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
        kept_for_faster_per_day: 1440,
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
        kept_for_faster_per_day: 3440, // hourly 1,440 + daily 2,000: their need, not what they get
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

describe('spending a day the way the plan allocates it', () => {
  const plan = planPlatform(
    'youtube',
    [
      { tier: 'hourly', intervalSeconds: 3_600, accounts: 100, measuredCostPerSync: 3, measuredSyncs: 50 },
      { tier: 'daily', intervalSeconds: 86_400, accounts: 4_000, measuredCostPerSync: 2, measuredSyncs: 50 },
      { tier: 'weekly', intervalSeconds: 604_800, accounts: 7_000, measuredCostPerSync: 6, measuredSyncs: 0 },
      { tier: 'daily_b', intervalSeconds: 86_400, accounts: 10, measuredCostPerSync: 2, measuredSyncs: 5 },
    ],
    [
      { credential: 'a', perDay: 10_000, rejected: false },
      { credential: 'b', perDay: 10_000, rejected: false },
    ],
  );

  it('each tier leaves what the tiers of a shorter interval need a day; a tier of the same interval is not faster', () => {
    const reserves = tierReserves(plan);
    expect(reserves.get('hourly')).toEqual({ fasterNeedPerDay: 0, costPerSync: 3 });
    // hourly: 100 · 24 · 3
    expect(reserves.get('daily')).toEqual({ fasterNeedPerDay: 7_200, costPerSync: 2 });
    expect(reserves.get('daily_b')).toEqual({ fasterNeedPerDay: 7_200, costPerSync: 2 });
    // + daily 4,000 · 2 + daily_b 10 · 2; weekly has no measured sync: YouTube's default cost
    expect(reserves.get('weekly')).toEqual({ fasterNeedPerDay: 15_220, costPerSync: 4.5 });
  });

  it('a sync starts when the pool’s rest of the day covers it and what the faster tiers still need', () => {
    const daily = { fasterNeedPerDay: 7_200, costPerSync: 2 };
    // Half the day to come: 3,600 are the hourly tier's.
    expect(admitsSync(3_602, daily, 0.5)).toBe(true);
    expect(admitsSync(3_601.9, daily, 0.5)).toBe(false);
    // The day's end: nothing is kept any more; its start: all of the need.
    expect(admitsSync(2, daily, 0)).toBe(true);
    expect(admitsSync(7_201, daily, 1)).toBe(false);
    // A clock past the platform's reset counts as a whole day at most, never as a negative one.
    expect(admitsSync(7_202, daily, 1.3)).toBe(true);
    expect(admitsSync(1, daily, -0.2)).toBe(false);
    // The fastest tier is only bounded by the budget itself (the limiter's business).
    expect(admitsSync(0, { fasterNeedPerDay: 0, costPerSync: 3 }, 0.5)).toBe(true);
  });
});
