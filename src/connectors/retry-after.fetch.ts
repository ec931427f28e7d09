import { setTimeout as sleep } from 'node:timers/promises';
import { parseRetryAfter } from './connector-errors.js';

/**
 * Wraps a platform client's `fetch` so that once an answer carries `Retry-After` (429, 503), no
 * request of this client leaves before it has passed: later requests wait in place. The barrier is
 * set the moment the answer's headers arrive, before anyone parses the body; requests already on the
 * wire then could not know. Across processes, the shared limiter (etl.quota_limits.next_slot_at)
 * carries the same pause.
 */
export function retryAfterGuard(
  inner: typeof fetch = globalThis.fetch,
  now: () => number = Date.now,
): typeof fetch {
  let notBefore = 0;
  return async (input, init) => {
    for (let wait = notBefore - now(); wait > 0; wait = notBefore - now()) {
      await sleep(wait, undefined, init?.signal ? { signal: init.signal } : undefined);
    }
    const response = await inner(input, init);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now());
    if (retryAfterMs !== undefined && (response.status === 429 || response.status === 503)) {
      notBefore = Math.max(notBefore, now() + retryAfterMs);
    }
    return response;
  };
}
