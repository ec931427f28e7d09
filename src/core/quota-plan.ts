/**
 * The quota planner's arithmetic (pure): what the tracked accounts need per day at their tiers, from
 * the cost of a regular sync measured on past runs, against what the platform's credentials can give
 * per day; which tiers fall behind when it does not fit, by how much, and what would make it fit.
 * Shorter intervals are served first: a tier only gets what the faster tiers leave.
 */

export interface TierDemand {
  readonly tier: string;
  readonly intervalSeconds: number;
  /** Tracked, not paused, reachable accounts. */
  readonly accounts: number;
  /** Calls (YouTube: units) of one account's regular sync, measured; null when never measured. */
  readonly measuredCostPerSync: number | null;
  /** How many syncs the measured cost averages. */
  readonly measuredSyncs: number;
}

export interface CredentialCapacity {
  readonly credential: string;
  /** Calls (units) per day: its daily budget, or its rate over a day when it has none. */
  readonly perDay: number;
  /** Refused by the platform right now: it gives nothing. */
  readonly rejected: boolean;
}

export interface TierPlan {
  readonly tier: string;
  readonly accounts: number;
  readonly interval_seconds: number;
  readonly cost_per_sync: number;
  readonly cost_source: 'measured' | 'default';
  readonly measured_syncs: number;
  readonly need_per_day: number;
  readonly allocated_per_day: number;
  /** allocated / need (1 when it fits). */
  readonly coverage: number;
  readonly fits: boolean;
  /** How often its accounts are really synced with what is allocated (= interval when it fits). */
  readonly effective_interval_seconds: number | null;
  /** The interval at which this tier would fit in what the faster tiers leave (null when it fits). */
  readonly interval_that_fits_seconds: number | null;
  /**
   * What the tiers of a shorter interval need a day: the engine keeps their share of each day's rest
   * from this tier's regular syncs (SIPHON_QUOTA_TIER_RESERVE, {@link admitsSync}).
   */
  readonly kept_for_faster_per_day: number;
}

export interface PlatformPlan {
  readonly platform: string;
  readonly credentials: number;
  readonly capacity_per_day: number;
  readonly need_per_day: number;
  readonly fits: boolean;
  /** Usable credentials like the current ones that the need takes (null without any credential). */
  readonly credentials_needed: number | null;
  readonly tiers: readonly TierPlan[];
}

const DAY = 86_400;

/**
 * Costs of a regular sync per account used until a tier has measured runs: the defaults' figures of
 * `npm run bench:social` (docs/benchmarks.md, "Freshness policies").
 */
export const DEFAULT_COST_PER_SYNC: Readonly<Record<string, number>> = {
  youtube: 4.5,
  instagram: 3.1,
  tiktok: 6.3,
};

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export function planPlatform(
  platform: string,
  tiers: readonly TierDemand[],
  credentials: readonly CredentialCapacity[],
): PlatformPlan {
  const usable = credentials.filter((c) => !c.rejected);
  const capacity = usable.reduce((sum, c) => sum + c.perDay, 0);
  let left = capacity;
  const planned = [...tiers]
    .sort((a, b) => a.intervalSeconds - b.intervalSeconds || a.tier.localeCompare(b.tier))
    .map((t): Omit<TierPlan, 'kept_for_faster_per_day'> => {
      const measured = t.measuredCostPerSync !== null && t.measuredSyncs > 0;
      const cost = measured ? t.measuredCostPerSync! : (DEFAULT_COST_PER_SYNC[platform] ?? 1);
      const need = t.accounts * (DAY / t.intervalSeconds) * cost;
      const allocated = Math.min(need, Math.max(left, 0));
      left -= allocated;
      const fits = allocated >= need - 1e-9;
      const coverage = need === 0 ? 1 : allocated / need;
      return {
        tier: t.tier,
        accounts: t.accounts,
        interval_seconds: t.intervalSeconds,
        cost_per_sync: round(cost, 2),
        cost_source: measured ? 'measured' : 'default',
        measured_syncs: t.measuredSyncs,
        need_per_day: round(need),
        allocated_per_day: round(allocated),
        coverage: round(coverage, 3),
        fits,
        effective_interval_seconds: coverage > 0 ? Math.round(t.intervalSeconds / coverage) : null,
        interval_that_fits_seconds:
          fits || allocated <= 0 ? null : Math.ceil((t.accounts * DAY * cost) / allocated),
      };
    });
  const tiersPlanned = planned.map((t) => ({
    ...t,
    kept_for_faster_per_day: round(
      planned
        .filter((f) => f.interval_seconds < t.interval_seconds)
        .reduce((sum, f) => sum + f.need_per_day, 0),
    ),
  }));
  const need = planned.reduce((sum, t) => sum + t.need_per_day, 0);
  const perCredential = usable.length > 0 ? capacity / usable.length : 0;
  return {
    platform,
    credentials: usable.length,
    capacity_per_day: round(capacity),
    need_per_day: round(need),
    fits: need <= capacity + 1e-9,
    credentials_needed: perCredential > 0 ? Math.ceil(need / perCredential) : null,
    tiers: tiersPlanned,
  };
}

/**
 * What a regular sync of one tier must leave for the faster tiers (those of a shorter interval): the
 * calls (units) a day they need, at the plan's costs. The engine spends quota the way the plan
 * allocates it — shorter intervals first — by holding that back (see {@link admitsSync}).
 */
export interface TierReserve {
  /** Calls (units) a day the tiers of a shorter interval need, over the whole pool. */
  readonly fasterNeedPerDay: number;
  /** One regular sync of this tier (measured, else the platform's default). */
  readonly costPerSync: number;
}

export function tierReserves(plan: PlatformPlan): ReadonlyMap<string, TierReserve> {
  return new Map(
    plan.tiers.map((t) => [
      t.tier,
      { fasterNeedPerDay: t.kept_for_faster_per_day, costPerSync: t.cost_per_sync },
    ]),
  );
}

/**
 * Whether a regular sync of a tier may start now: what the pool has left of its day, less the sync's
 * own cost, must cover what the faster tiers still need today — their daily need times the share of
 * the platform's day still to come (their accounts are spread over their interval, so they spend
 * evenly). The need, not the plan's allocation, is held back: when the faster tiers alone need more
 * than the pool gives, nothing is left for this one, as in the plan. Always true for the fastest tier.
 */
export function admitsSync(left: number, reserve: TierReserve, dayLeftFraction: number): boolean {
  if (reserve.fasterNeedPerDay <= 0) return true;
  return left - reserve.costPerSync >= fasterNeedLeftToday(reserve, dayLeftFraction);
}

/** What the faster tiers still need today: their daily need times the share of the day to come (0–1). */
export function fasterNeedLeftToday(reserve: TierReserve, dayLeftFraction: number): number {
  return reserve.fasterNeedPerDay * Math.min(Math.max(dayLeftFraction, 0), 1);
}
