import { clockOf, type Clock } from '../core/clock.js';
import { admitsSync, fasterNeedLeftToday, tierReserves, type TierReserve } from '../core/quota-plan.js';
import type { Executor } from '../db/pool.js';
import { unitsLeftToday } from '../db/repositories/quota.repository.js';
import { planQuotas } from './quota-plan.js';

/** Why a regular sync of a tier was not started: the pool's rest of the day is the faster tiers'. */
export interface HeldBack {
  readonly tier: string;
  /** What the pool has left of its day. */
  readonly left: number;
  /** What the faster tiers still need today. */
  readonly reserved: number;
}

const DAY_MS = 86_400_000;

/**
 * Spends a platform's daily quota the way the planner allocates it: shorter intervals first. Before
 * a tracked account's regular sync starts, the pool's units left today must cover the sync and what
 * the faster tiers still need today (core/quota-plan.ts `admitsSync`); when they do not, the account
 * is not started in this run and stays due. Only daily budgets are reserved: a platform paced by a
 * rate alone (Instagram) has no day to run out of. The plan is read at most every `refreshMs`
 * (it aggregates the past week's syncs), and shared by this runner's steps.
 */
export class TierReservation {
  private plan: Promise<ReadonlyMap<string, ReadonlyMap<string, TierReserve>>> | undefined;
  private readAt = 0;

  constructor(
    private readonly db: Executor,
    private readonly options: { readonly refreshMs?: number; readonly clock?: Clock | undefined } = {},
  ) {}

  /**
   * Undefined: the sync may start. Otherwise what holds it back. `dayEnd` is when the platform's
   * quota day ends; `credentials` the pool the step calls through.
   */
  async check(
    platform: string,
    tier: string,
    credentials: readonly string[],
    dayEnd: Date,
  ): Promise<HeldBack | undefined> {
    const reserve = (await this.reserves()).get(platform)?.get(tier);
    if (!reserve || reserve.fasterNeedPerDay <= 0) return undefined;
    const left = await unitsLeftToday(this.db, platform, credentials);
    if (left === null) return undefined;
    const dayLeft = (dayEnd.getTime() - clockOf(this.options).now()) / DAY_MS;
    if (admitsSync(left, reserve, dayLeft)) return undefined;
    return { tier, left, reserved: Math.ceil(fasterNeedLeftToday(reserve, dayLeft)) };
  }

  private reserves(): Promise<ReadonlyMap<string, ReadonlyMap<string, TierReserve>>> {
    const now = clockOf(this.options).now();
    if (!this.plan || now - this.readAt > (this.options.refreshMs ?? 5 * 60_000)) {
      this.readAt = now;
      const reading = planQuotas(this.db).then(
        (plan) => new Map(plan.platforms.map((p) => [p.platform, tierReserves(p)])),
      );
      // A failed read is tried again by the next step, not cached.
      reading.catch(() => {
        if (this.plan === reading) this.plan = undefined;
      });
      this.plan = reading;
    }
    return this.plan;
  }
}
