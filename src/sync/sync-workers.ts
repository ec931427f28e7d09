import { EventEmitter } from 'node:events';
import { clockOf } from '../core/clock.js';
import { run, type Runner, type WorkerEvents } from 'graphile-worker';
import { JOB_QUEUE_SCHEMA, silentLogger } from '../db/job-queue.js';
import {
  ENRICHMENT_POLL_TASK,
  enrichmentPollTask,
  requeueOverdue,
  type EnrichmentPolicy,
} from '../enrichment/index.js';
import { withExtractedContext } from '../observability/index.js';
import {
  enqueueTasks,
  purgeReturnedSteps,
  setQueueWorkerId,
  SYNC_STEP_TASK,
} from '../db/repositories/sync-queue.repository.js';
import { runSyncStep, type SyncStepDeps } from './sync-step.js';

export interface SyncWorkerOptions extends SyncStepDeps {
  readonly runnerId: string;
  /** Steps this runner executes at the same time. @default 4 */
  readonly concurrency?: number;
  /** Fallback poll for steps scheduled in the future (LISTEN/NOTIFY wakes workers for new ones). @default 1000 */
  readonly pollIntervalMs?: number;
  /**
   * Steps fetched (and locked) per query for this runner's workers; 1 fetches one per step.
   * @default concurrency + 1
   */
  readonly localQueueSize?: number;
  /** How long a finished step waits for others to be marked done in the same statement; -1 marks each alone. @default 20 */
  readonly completeBatchDelayMs?: number;
  /** With `ml`: waits between polls and submits per item. @default DEFAULT_ENRICHMENT_POLICY */
  readonly enrichment?: Partial<EnrichmentPolicy>;
}

export interface SyncWorkers {
  stop(): Promise<void>;
}

/**
 * Starts this runner's graphile-worker pool for social sync steps. Its pool id is stored on the
 * runner's row, so that when this process dies the coordinator frees the steps it held (graphile-worker
 * alone would keep them locked for 4 hours).
 */
export async function startSyncWorkers(options: SyncWorkerOptions): Promise<SyncWorkers> {
  const events = new EventEmitter() as WorkerEvents;
  events.on('pool:create', ({ workerPool }) => {
    void setQueueWorkerId(options.pool, options.runnerId, workerPool.id).catch(() => {});
  });
  // Steps the local queue hands back when the pool stops (purged below if their task is finished).
  const returned: string[] = [];
  events.on('localQueue:returnJobs', ({ jobs }) => {
    for (const job of jobs) if (job.task_identifier === SYNC_STEP_TASK) returned.push(job.id);
  });
  const ml = options.ml;
  // Items whose poll job was lost while no worker with an ML client ran get one again.
  if (ml) await requeueOverdue(options.pool);
  const concurrency = options.concurrency ?? 4;
  const localQueueSize = options.localQueueSize ?? concurrency + 1;
  const runner: Runner = await run({
    pgPool: options.pool,
    schema: JOB_QUEUE_SCHEMA,
    concurrency,
    // Batched fetching and completion (ADR 0019): one "next jobs" query per `localQueueSize` steps
    // instead of one per step, and one completion statement for the steps finished within
    // `completeBatchDelayMs`. Those were two of ~12.5 statements per step, and the two slowest.
    preset: {
      worker: {
        ...(localQueueSize > 1 ? { localQueue: { size: localQueueSize } } : {}),
        completeJobBatchDelay: options.completeBatchDelayMs ?? 20,
      },
    },
    pollInterval: options.pollIntervalMs ?? 1000,
    noHandleSignals: true,
    logger: silentLogger,
    taskList: {
      [SYNC_STEP_TASK]: async (payload, helpers) => {
        const { taskId, trace } = payload as { taskId: number; trace?: Record<string, string> };
        // The step joins the run's trace (the coordinator or the previous page queued it).
        try {
          await withExtractedContext(trace, 'siphon.sync.step', () =>
            runSyncStep(options, Number(taskId), helpers.abortSignal),
          );
        } catch (error) {
          // A database failure mid-step (deadlock, lost connection): nothing of the page committed.
          // Queue the step again in a second instead of graphile-worker's exponential backoff (which
          // reaches minutes); if even that fails, graphile-worker retries this job itself.
          options.logger.warn({ taskId, err: (error as Error).message }, 'sync step failed; queued again');
          await enqueueTasks(
            options.pool,
            [Number(taskId)],
            new Date(clockOf(options).now() + 1000),
            trace ?? {},
          );
        }
      },
      // One submit or poll of one enrichment item; only a runner with an ML client takes these jobs.
      ...(ml
        ? { [ENRICHMENT_POLL_TASK]: enrichmentPollTask({ ...options, ml, policy: options.enrichment }) }
        : {}),
    },
    events,
  });
  return {
    stop: async () => {
      // graphile-worker returns the steps still in the local queue (unlocks them) and writes the
      // pending completion batch before this resolves.
      await runner.stop();
      // A step fetched into the local queue may belong to a task another worker finished meanwhile
      // (a copy queued again after a takeover); handed back, it would stay queued until a runner ran
      // it as a no-op. Best effort: the run's end purges such steps too, when no local queue holds them.
      await purgeReturnedSteps(options.pool, returned).catch(() => {});
    },
  };
}
