import type { Clock } from '../core/clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffMs } from '../core/duration.js';
import { classifyFailure, SiphonError } from '../core/errors.js';
import type { BatchCursor, BatchPlan } from '../db/batch-sql.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { fenceAndRenew, releasePipeline, type Fence } from '../db/repositories/lease.repository.js';
import { finishRun, interruptRun, type RunRow } from '../db/repositories/run.repository.js';
import { inSpan } from '../observability/index.js';
import type { SqlPolicy } from '../sql-guard/index.js';
import type { TaskRegistry } from '../tasks/index.js';
import type { RunnerEvents } from '../core/runner-events.js';
import type { CredentialPools } from '../sync/credential-pool.js';
import type { PlatformAdapter } from '../connectors/connector.js';
import type { SourceDeps } from '../sources/index.js';

/** What one run's executor needs; the claim loop (runner.ts) builds it. */
export interface ExecutorDeps {
  readonly pool: Pool;
  readonly logger: Logger;
  readonly events: RunnerEvents;
  readonly runnerId: string;
  readonly leaseMs: number;
  readonly maxAttempts: number;
  /** Aborted when the runner shuts down: the run hands off after its current batch. */
  readonly stopSignal: AbortSignal;
  readonly tasks: TaskRegistry;
  /**
   * `pushdown`: each batch is one INSERT … SELECT executed by PostgreSQL. `stream`: the batch is read
   * by `readerPool` (siphon_reader, READ ONLY) and written through Node, memory bounded by the batch.
   */
  readonly transfer: 'pushdown' | 'stream';
  readonly readerPool: Pool | undefined;
  /** Re-checked at every claim: a pipeline row written behind the API's back is still guarded. */
  readonly sqlPolicy: SqlPolicy;
  /** Platform adapters this runner has credentials for (social pipelines). */
  readonly adapters: ReadonlyMap<string, PlatformAdapter>;
  /** Platforms with several credentials (SIPHON_CREDENTIALS_FILE). */
  readonly pools?: CredentialPools | undefined;
  /**
   * Sources in other databases: how to find a connection's password and the timeout of every remote
   * statement. @default none: a pipeline with a source_connection fails with
   * SIPHON_ERR_CONNECTION_SECRET_MISSING
   */
  readonly sources?: SourceDeps | undefined;
  /** Durations, lease renewal before COMMIT and task timing read it. @default systemClock */
  readonly clock?: Clock;
  /**
   * Whether the pipeline was announced as asked to pause at or after `since` (this clock): a group of
   * batches committed together ends at the next batch (docs/adr/0027). @default never
   */
  readonly pauseAskedSince?: (pipelineId: string, since: number) => boolean;
}

/** Backoff between attempts of a batch after a transient failure: 0.5 s doubling up to 15 s. */
export const RETRY_BASE_MS = 500;
export const RETRY_CAP_MS = 15_000;

/** Thrown inside a transaction when the fencing check fails: someone else owns the pipeline now. */
export class LeaseLost extends Error {}

/** Runs `work` again after transient failures (not after a lost lease, nor while stopping). */
export async function withRetries<T>(deps: ExecutorDeps, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      const retryable = classifyFailure(error) === 'retryable' && !deps.stopSignal.aborted;
      if (error instanceof LeaseLost || !retryable || attempt >= deps.maxAttempts) throw error;
      await sleep(backoffMs(attempt, RETRY_BASE_MS, RETRY_CAP_MS));
    }
  }
}

/** A batch whose last row has NULL in a cursor column cannot move its keyset on: refused. */
export function assertCursorNotNull(plan: BatchPlan, lastCursor: readonly (string | null)[] | null): void {
  if (lastCursor?.some((v) => v === null)) {
    throw new SiphonError(
      'SIPHON_ERR_SOURCE_QUERY',
      `a row has NULL in a cursor column (${plan.cursorColumns.join(', ')}); keys and incremental_key must be NOT NULL`,
      { field: plan.incrementalKey ? 'incremental_key' : 'unique_key' },
    );
  }
}

/**
 * A batch read after a cursor ends past it: its rows compare greater. One whose last row is the cursor
 * itself means the source compares the key otherwise than it prints it (a value rounded in its text),
 * and the next batch would read the same rows again, for ever: refused before anything is written.
 */
export function assertCursorMoved(
  plan: BatchPlan,
  cursor: BatchCursor,
  lastCursor: readonly (string | null)[] | null,
): void {
  if (!cursor || !('after' in cursor) || !lastCursor) return;
  if (JSON.stringify(cursor.after) !== JSON.stringify(lastCursor)) return;
  throw new SiphonError(
    'SIPHON_ERR_SOURCE_QUERY',
    `the batch after (${plan.cursorColumns.join(', ')}) = (${lastCursor.join(', ')}) ended at the same values: the source compares these columns otherwise than it prints them, so the keyset cannot move on; key on other columns or cast them in source_query`,
    { field: plan.incrementalKey ? 'incremental_key' : 'unique_key', details: { cursor: lastCursor } },
  );
}

/** One batch's transaction inside a "siphon.batch" span, which its queries are children of. */
export function batchTransaction<
  T extends { result: { rowsRead: number; rowsWritten: number; rowsDeleted: number } },
>(
  pool: Pool,
  batchNo: number,
  failedAttempts: number,
  work: (tx: PoolClient) => Promise<T>,
  options: { asyncCommit?: boolean } = {},
): Promise<T> {
  const attributes = { 'siphon.batch.number': batchNo, 'siphon.batch.attempt': failedAttempts + 1 };
  return inSpan('siphon.batch', attributes, async (span) => {
    const step = await withTransaction(pool, work, options);
    span.setAttributes({
      'siphon.batch.rows_read': step.result.rowsRead,
      'siphon.batch.rows_written': step.result.rowsWritten,
      'siphon.batch.rows_deleted': step.result.rowsDeleted,
    });
    return step;
  });
}

/** Stopping after a committed batch: the run is paused (a person asked for it) or handed to the next runner. */
export async function handOff(deps: ExecutorDeps, fence: Fence, run: RunRow): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    const status = await fenceAndRenew(tx, fence, deps.leaseMs);
    if (!status) throw new LeaseLost();
    if (status === 'PAUSE_REQUESTED') {
      // A person asked for a pause (or disabled the pipeline): shutting down must not undo that.
      await finishRun(tx, run.id, { status: 'PAUSED' });
      await releasePipeline(tx, fence, 'PAUSED');
      return;
    }
    await interruptRun(
      tx,
      run.id,
      'SIPHON_ERR_RUNNER_SHUTDOWN',
      `runner ${deps.runnerId} shut down; the run resumes from its checkpoint`,
    );
    await releasePipeline(tx, fence, 'RUN_REQUESTED');
  });
}
