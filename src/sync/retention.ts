import type { Logger } from 'pino';
import { clockOf, type Clock } from '../core/clock.js';
import type { Pool } from '../db/pool.js';
import * as retention from '../db/repositories/retention.repository.js';
import { purgeRetiredSteps } from '../db/repositories/sync-queue.repository.js';

/**
 * How long what a sync leaves behind is kept. 0 keeps it forever. Raw responses are what replay reads
 * (a replay can only reach back this far); finished jobs are the per-account history of past runs.
 */
export interface RetentionPolicy {
  /** @default 28 days (SIPHON_RAW_RETENTION) */
  readonly rawMs: number;
  /** @default 30 days (SIPHON_SYNC_HISTORY_RETENTION) */
  readonly historyMs: number;
  /** Rows per delete statement. @default 5,000 */
  readonly batch?: number;
  /** A pass stops after this long and goes on at the next one. @default 30 s */
  readonly budgetMs?: number;
}

export interface PruneResult {
  readonly rawResponses: number;
  readonly syncJobs: number;
  readonly queueRows: number;
  /** The pass stopped at its time budget with rows left to delete. */
  readonly unfinished: boolean;
}

/**
 * One retention pass: raw responses and finished sync jobs past their retention, oldest first, in
 * bounded statements (each its own short transaction, so no lock is held for long and syncs go on),
 * and the queue's retired sync steps. Several runners may prune at once: each skips rows another is
 * deleting.
 */
export async function pruneOnce(
  pool: Pool,
  policy: RetentionPolicy,
  deps: { readonly clock?: Clock } = {},
): Promise<PruneResult> {
  const clock = clockOf(deps);
  const batch = policy.batch ?? 5000;
  const deadline = clock.now() + (policy.budgetMs ?? 30_000);
  let unfinished = false;
  const drain = async (prune: (before: Date, limit: number) => Promise<number>, keepMs: number) => {
    if (keepMs <= 0) return 0;
    const before = new Date(clock.now() - keepMs);
    let total = 0;
    for (;;) {
      const n = await prune(before, batch);
      total += n;
      if (n < batch) return total;
      if (clock.now() >= deadline) {
        unfinished = true;
        return total;
      }
    }
  };
  const rawResponses = await drain((b, l) => retention.pruneRawResponses(pool, b, l), policy.rawMs);
  const syncJobs = await drain((b, l) => retention.pruneSyncJobs(pool, b, l), policy.historyMs);
  const queueRows = await purgeRetiredSteps(pool);
  return { rawResponses, syncJobs, queueRows, unfinished };
}

/**
 * Runs a retention pass every `everyMs` (the first one a minute after start) until stopped; failures
 * are logged and retried at the next pass.
 */
export function scheduleRetention(
  pool: Pool,
  policy: RetentionPolicy & { readonly everyMs: number },
  logger: Logger,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let stopped = false;
  const pass = () => {
    if (running || stopped) return;
    running = pruneOnce(pool, policy)
      .then((result) => {
        if (result.rawResponses + result.syncJobs + result.queueRows > 0)
          logger.info(result, 'retention: pruned what is past its retention');
      })
      .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'retention pass failed'))
      .finally(() => (running = undefined));
  };
  const first = setTimeout(pass, Math.min(60_000, policy.everyMs));
  const timer = setInterval(pass, policy.everyMs);
  first.unref();
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
