import { randomFor, TIKTOK_ALPHABET } from './ids.js';

/**
 * Credentials and limits: client tokens with a lifetime on the simulator clock, the Research API's
 * daily request quotas per client key (reset at 00:00 UTC), and a fixed-window request limit whose
 * per-window arrival counts tests read to prove a client never went over it.
 */

export class TokenStore {
  readonly #seed: number;
  readonly #now: () => number;
  readonly #tokens = new Map<string, { clientKey: string; expiresAt: number }>();
  #issued = 0;
  ttlSeconds: number;

  constructor(seed: number, ttlSeconds: number, now: () => number) {
    this.#seed = seed;
    this.ttlSeconds = ttlSeconds;
    this.#now = now;
  }

  issue(clientKey: string): { accessToken: string; expiresIn: number } {
    this.#issued += 1;
    const accessToken = `clt.${randomFor(this.#seed, 'token', this.#issued).chars(40, TIKTOK_ALPHABET)}`;
    this.#tokens.set(accessToken, { clientKey, expiresAt: this.#now() + this.ttlSeconds * 1000 });
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  /** The client key of a live token, or undefined (unknown or expired). */
  check(token: string): string | undefined {
    const entry = this.#tokens.get(token);
    return entry && this.#now() < entry.expiresAt ? entry.clientKey : undefined;
  }

  /** Every token issued so far stops working (as if they had all expired). */
  expireAll(): void {
    for (const entry of this.#tokens.values()) entry.expiresAt = 0;
  }

  issued(): number {
    return this.#issued;
  }
}

/** `research`: user info, video query, comments (1,000/day); `follows`: followers/following (20,000/day). */
export type QuotaBucket = 'research' | 'follows';

export class DailyQuota {
  readonly #now: () => number;
  readonly #limits: Record<QuotaBucket, number>;
  #day = '';
  #used = new Map<string, number>();

  constructor(limits: Record<QuotaBucket, number>, now: () => number) {
    this.#limits = { ...limits };
    this.#now = now;
  }

  /** Counts one request; false (and nothing counted) when today's quota is spent. */
  charge(clientKey: string, bucket: QuotaBucket): boolean {
    this.#roll();
    const key = `${clientKey}|${bucket}`;
    const used = this.#used.get(key) ?? 0;
    if (used >= this.#limits[bucket]) return false;
    this.#used.set(key, used + 1);
    return true;
  }

  used(clientKey: string, bucket: QuotaBucket): number {
    this.#roll();
    return this.#used.get(`${clientKey}|${bucket}`) ?? 0;
  }

  limit(bucket: QuotaBucket): number {
    return this.#limits[bucket];
  }

  setLimit(bucket: QuotaBucket, requests: number): void {
    this.#limits[bucket] = requests;
  }

  /** Spends the rest of today's quota of `clientKey`: every further request is refused until 00:00 UTC. */
  exhaust(clientKey: string, bucket: QuotaBucket): void {
    this.#roll();
    this.#used.set(`${clientKey}|${bucket}`, this.#limits[bucket]);
  }

  reset(): void {
    this.#used = new Map();
  }

  #roll(): void {
    const day = new Date(this.#now()).toISOString().slice(0, 10);
    if (day !== this.#day) {
      this.#day = day;
      this.#used = new Map();
    }
  }
}

export interface RateWindow {
  /** Epoch ms of the window's start (a multiple of the window length). */
  readonly start: number;
  /** Requests that arrived in it, refused ones included. */
  readonly arrived: number;
  /** Requests refused with 429 because the window was full. */
  readonly rejected: number;
}

const MAX_WINDOWS = 10_000;

export class RateWindows {
  readonly #now: () => number;
  #limit: { requests: number; windowMs: number } | undefined;
  #windowMs: number;
  #windows = new Map<number, { arrived: number; rejected: number }>();

  constructor(limit: { requests: number; windowMs: number } | undefined, now: () => number) {
    this.#limit = limit;
    this.#windowMs = limit?.windowMs ?? 1000;
    this.#now = now;
  }

  /** Counts an arrival; `allowed: false` with the seconds until the window ends when it is over the limit. */
  arrive(): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.#now();
    const start = Math.floor(now / this.#windowMs) * this.#windowMs;
    const window = this.#windows.get(start) ?? { arrived: 0, rejected: 0 };
    if (!this.#windows.has(start)) {
      this.#windows.set(start, window);
      if (this.#windows.size > MAX_WINDOWS) this.#windows.delete(this.#windows.keys().next().value!);
    }
    window.arrived += 1;
    if (this.#limit === undefined || window.arrived - window.rejected <= this.#limit.requests) {
      return { allowed: true };
    }
    window.rejected += 1;
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((start + this.#windowMs - now) / 1000)),
    };
  }

  /** Sets (or removes) the limit and starts counting afresh. */
  setLimit(limit: { requests: number; windowMs: number } | undefined): void {
    this.#limit = limit;
    this.#windowMs = limit?.windowMs ?? 1000;
    this.#windows = new Map();
  }

  limit(): { requests: number; windowMs: number } | undefined {
    return this.#limit;
  }

  windows(): RateWindow[] {
    return [...this.#windows].map(([start, w]) => ({ start, ...w })).sort((a, b) => a.start - b.start);
  }
}
