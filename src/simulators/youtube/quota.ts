/**
 * Per-key daily unit budget. The day is the calendar day in Pacific Time: YouTube quotas reset at
 * midnight PT. Costs follow the current table (every list method used here costs 1 unit per call,
 * page or not); a request that would overrun the budget is refused and not charged.
 */
export const DEFAULT_UNIT_COSTS: Readonly<Record<string, number>> = {
  channels: 1,
  playlistItems: 1,
  videos: 1,
  commentThreads: 1,
  comments: 1,
  subscriptions: 1,
};

const pacificDate = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/Los_Angeles',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** `YYYY-MM-DD` of the instant in America/Los_Angeles. */
export function pacificDay(ms: number): string {
  return pacificDate.format(new Date(ms));
}

export class QuotaLedger {
  readonly #now: () => number;
  readonly #limits = new Map<string, number>();
  #defaultLimit: number;
  #day = '';
  #used = new Map<string, number>();

  constructor(dailyUnits: number, now: () => number) {
    this.#defaultLimit = dailyUnits;
    this.#now = now;
  }

  /** Charges `cost` units to `key`; false (and nothing charged) when the budget would be exceeded. */
  charge(key: string, cost: number): boolean {
    this.#roll();
    const used = this.#used.get(key) ?? 0;
    if (used + cost > this.limit(key)) return false;
    this.#used.set(key, used + cost);
    return true;
  }

  used(key: string): number {
    this.#roll();
    return this.#used.get(key) ?? 0;
  }

  limit(key: string): number {
    return this.#limits.get(key) ?? this.#defaultLimit;
  }

  /** Changes one key's budget, or the default for all keys without their own. */
  setLimit(units: number, key?: string): void {
    if (key === undefined) this.#defaultLimit = units;
    else this.#limits.set(key, units);
  }

  reset(): void {
    this.#used = new Map();
  }

  #roll(): void {
    const day = pacificDay(this.#now());
    if (day !== this.#day) {
      this.#day = day;
      this.#used = new Map();
    }
  }
}
