import { planPlatform, type PlatformPlan } from '../core/quota-plan.js';
import type { Executor } from '../db/pool.js';
import { readPlanCapacity, readPlanDemand } from '../db/repositories/quota.repository.js';

export interface QuotaPlan {
  /** Regular syncs of the last this many days give each tier's measured cost. */
  readonly measured_days: number;
  readonly platforms: readonly PlatformPlan[];
}

/**
 * `siphon quota plan` and `GET /quotas/plan`: for each platform, the calls (YouTube: units) a day the
 * tracked accounts need at their tiers — accounts × syncs a day × the measured cost of a regular sync
 * (the platform's default cost until a tier has runs) — against the day's capacity of its credentials
 * (each one's daily budget, or its rate over a day), and what falls behind (core/quota-plan.ts).
 */
export async function planQuotas(db: Executor, measuredDays = 7): Promise<QuotaPlan> {
  const [demand, capacity] = await Promise.all([readPlanDemand(db, measuredDays), readPlanCapacity(db)]);
  const platforms = [
    ...new Set([...demand.map((d) => d.platform), ...capacity.map((c) => c.platform)]),
  ].sort();
  return {
    measured_days: measuredDays,
    platforms: platforms.map((platform) =>
      planPlatform(
        platform,
        demand
          .filter((d) => d.platform === platform)
          .map((d) => ({
            tier: d.tier,
            intervalSeconds: d.interval_seconds,
            accounts: d.accounts,
            measuredCostPerSync: d.cost_per_sync,
            measuredSyncs: d.syncs,
          })),
        capacity
          .filter((c) => c.platform === platform)
          .map((c) => ({
            credential: c.credential,
            perDay: c.daily_units ?? Math.floor((c.calls_per_window * 86_400_000) / c.window_ms),
            rejected: c.rejected,
          })),
      ),
    ),
  };
}
