/**
 * Per-token call counting over a rolling window, reported the way the Graph API does: as percentages
 * in `X-App-Usage` and `X-Business-Use-Case-Usage` (SOCIAL-APIS.md §2.5). A call that would pass 100 %
 * is refused (code 80002) and not counted; `estimated_time_to_regain_access` says when the oldest
 * counted call leaves the window, in minutes.
 */
export class UsageLedger {
  readonly #now: () => number;
  #limit: number;
  #windowMs: number;
  readonly #calls = new Map<string, number[]>();

  constructor(callsPerWindow: number, windowMs: number, now: () => number) {
    this.#limit = callsPerWindow;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Counts one call; false (nothing counted) when the window is full. */
  charge(token: string): boolean {
    const calls = this.#live(token);
    if (calls.length >= this.#limit) return false;
    calls.push(this.#now());
    return true;
  }

  calls(token: string): number {
    return this.#live(token).length;
  }

  setLimit(callsPerWindow: number, windowMs = this.#windowMs): void {
    this.#limit = callsPerWindow;
    this.#windowMs = windowMs;
  }

  reset(): void {
    this.#calls.clear();
  }

  /** The usage headers for `token`, keyed by the business account `accountId`. */
  headers(token: string, accountId: string): Record<string, string> {
    const calls = this.#live(token);
    const percent = Math.min(100, Math.round((calls.length / this.#limit) * 100));
    const regainMs = calls.length >= this.#limit ? calls[0]! + this.#windowMs - this.#now() : 0;
    const regain = Math.max(0, Math.ceil(regainMs / 60_000));
    const time = Math.floor(percent / 2);
    return {
      'x-app-usage': JSON.stringify({ call_count: percent, total_time: time, total_cputime: time }),
      'x-business-use-case-usage': JSON.stringify({
        [accountId]: [
          {
            type: 'instagram',
            call_count: percent,
            total_cputime: time,
            total_time: time,
            estimated_time_to_regain_access: regain,
          },
        ],
      }),
    };
  }

  #live(token: string): number[] {
    const since = this.#now() - this.#windowMs;
    const calls = (this.#calls.get(token) ?? []).filter((t) => t > since);
    this.#calls.set(token, calls);
    return calls;
  }
}
