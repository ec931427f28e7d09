import type { Clock } from '../core/clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffMs } from '../core/duration.js';
import { classifyFailure } from '../core/errors.js';
import type { Pool } from '../db/pool.js';
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
