/**
 * Time as the engine reads it. The executor and the sync step take one in their deps, so behaviour
 * that depends on time (backoff, reschedules, lease renewal, durations) is tested with a fake clock
 * instead of sleeping.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The clock a deps object carries, or the system's. */
export function clockOf(deps: { readonly clock?: Clock | undefined }): Clock {
  return deps.clock ?? systemClock;
}
