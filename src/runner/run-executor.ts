import { clockOf } from '../core/clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffMs, parseDuration } from '../core/duration.js';
import {
  classifyFailure,
  copyFailureAt,
  isSiphonError,
  runFailureCode,
  SiphonError,
  truncateMessage,
} from '../core/errors.js';
import { isDuplicateKeyInBatch, type BatchCursor } from '../db/batch-sql.js';
import { commitDurably, withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import {
  fenceAndRenew,
  releasePipeline,
  setCurrentRun,
  type ClaimedPipeline,
  type Fence,
} from '../db/repositories/lease.repository.js';
import {
  findRun,
  finishRun,
  insertRun,
  interruptRun,
  type RunRow,
} from '../db/repositories/run.repository.js';
import { readState, restartFullPass } from '../db/repositories/state.repository.js';
import { sealBatch, type BatchLedgerRow } from '../db/repositories/batch-seal.repository.js';
import type { CopiedResult } from '../db/repositories/remote-batch.repository.js';
import {
  hasNullIncrementalKey,
  runBatch,
  subtractLookback,
  writeBatchFromText,
} from '../db/repositories/target.repository.js';
import { inSpan, markSpanFailed, setSpanAttributes, traceLogFields } from '../observability/index.js';
import { assertSafePipeline } from '../pipelines/index.js';
import { resolvePlan, type ResolvedPlan } from './plan.js';
import { finish, pendingTasks } from './run-finish.js';
import {
  assertCursorMoved,
  assertCursorNotNull,
  batchTransaction,
  handOff,
  LeaseLost,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  withRetries,
  type ExecutorDeps,
} from './run-support.js';
import { targetNameOf } from '../db/plan-checks.js';
import { readStreamed, StreamReader, type StreamedBatch } from './stream-reader.js';
import {
  buildIndexesHeldByAnotherPass,
  copyRemoteBatch,
  openRemoteSource,
  prepareRemotePlan,
  writeStreamedRemoteBatch,
  type StreamedGroup,
} from './remote-run.js';
import { runInLanes } from './remote-lanes.js';
import { CopyWindow, type CopyGroup } from './copy-window.js';
import { DEFAULT_COMMIT_GROUP_MS, type RemoteSource } from '../sources/index.js';
import { completeSocialRun, coordinateSocialRun, SocialLeaseLost } from '../sync/social-run.js';

export type { ExecutorDeps } from './run-support.js';

type Outcome = 'succeeded' | 'paused' | 'handed-off';

/**
 * Executes one claimed pipeline to its end: success, pause, failure, hand-off on shutdown, or silent
 * exit when the lease was lost. Every batch commits its rows, its checkpoint and its counters in one
 * transaction that first re-checks the fencing epoch.
 */
export async function executeClaim(deps: ExecutorDeps, claimed: ClaimedPipeline): Promise<void> {
  // One trace per run attempt: its batches, steps, queries and log lines are inside this span.
  const attributes = {
    'siphon.pipeline.id': claimed.id,
    'siphon.pipeline.name': claimed.name,
    'siphon.run.mode': claimed.mode,
    'siphon.runner.id': deps.runnerId,
    'siphon.lease.epoch': claimed.lease_epoch,
    'siphon.transfer': deps.transfer,
  };
  return inSpan('siphon.run', attributes, () => executeClaimed(deps, claimed), { root: true });
}

async function executeClaimed(deps: ExecutorDeps, claimed: ClaimedPipeline): Promise<void> {
  const fence: Fence = { pipelineId: claimed.id, runnerId: deps.runnerId, epoch: claimed.lease_epoch };
  const takeover = claimed.previous_status !== 'RUN_REQUESTED';
  const run = await startRun(deps, claimed, fence, takeover);
  if (!run) return;
  setSpanAttributes({
    'siphon.run.id': run.id,
    'siphon.run.trigger': run.trigger,
    'siphon.run.takeover': takeover,
  });
  const log = deps.logger.child({ pipelineId: claimed.id, pipeline: claimed.name, runId: run.id });
  deps.events.emit('run:claimed', {
    pipelineId: claimed.id,
    pipelineName: claimed.name,
    runId: run.id,
    epoch: fence.epoch,
    takeover,
  });
  log.info({ mode: claimed.mode, epoch: fence.epoch, takeover, trigger: run.trigger }, 'run started');
  const started = clockOf(deps).now();
  // The batch that was executing when the run failed, for the failure's log line and stored details.
  const failure: FailurePoint = {};
  let remote: RemoteSource | undefined;
  try {
    if (claimed.kind === 'social') {
      await executeSocial(deps, claimed, fence, run, log, started);
      return;
    }
    failure.phase = 'prepare';
    remote = await openRemoteSource(deps, claimed);
    const plan = await withRetries(deps, () => preparePlan(deps, claimed, fence, remote));
    failure.phase = 'batch';
    await pendingTasks(deps, claimed.id);
    const outcome = await batchLoop(deps, claimed, plan, fence, run, log, failure, remote);
    setSpanAttributes({ 'siphon.run.outcome': outcome });
    if (outcome === 'succeeded') {
      delete failure.batchNo;
      await finish(deps, claimed, plan, fence, run, log, failure);
      const totals = await totalsOf(deps.pool, run.id);
      const durationMs = clockOf(deps).now() - started;
      log.info({ ...totals, durationMs }, 'run succeeded');
      deps.events.emit('run:succeeded', {
        pipelineId: claimed.id,
        runId: run.id,
        ...totals,
        durationMs,
      });
    } else if (outcome === 'paused') {
      log.info('run paused after its batch; checkpoint committed');
      deps.events.emit('run:paused', { pipelineId: claimed.id, runId: run.id });
    } else {
      log.info('runner stopping: run handed off after its batch; checkpoint committed');
      deps.events.emit('run:handed-off', { pipelineId: claimed.id, runId: run.id });
    }
  } catch (error) {
    if (error instanceof LeaseLost || error instanceof SocialLeaseLost) {
      setSpanAttributes({ 'siphon.run.outcome': 'lease-lost' });
      log.warn(
        { epoch: fence.epoch },
        'lease lost: another runner owns this pipeline now; stopping without committing',
      );
      deps.events.emit('lease:lost', { pipelineId: claimed.id, runId: run.id, epoch: fence.epoch });
      return;
    }
    if (deps.stopSignal.aborted && classifyFailure(error) === 'retryable') {
      // Shutting down while the database is going away too: not a failure of the pipeline. The lease
      // expires and the next runner resumes from the last committed checkpoint.
      log.warn(
        { err: (error as Error).message },
        'stopped mid-batch; the run resumes from its checkpoint after the lease expires',
      );
      return;
    }
    await fail(deps, fence, run, error, log, failure);
  } finally {
    await remote?.close();
  }
}

/** Where a run failed: the number of the batch it was executing, when it failed in the batch loop. */
interface FailurePoint {
  batchNo?: number;
  /** Rows of the failed COPY before the failed batch's first (batches sent together, docs/adr/0027). */
  copyRowsBefore?: number;
  /** What the run was doing: `prepare`, `batch`, `delete-not-seen`, `step <name>` or `finish`. */
  phase?: string;
}

/** Which batch of a COPY of several (docs/adr/0027), from 0, holds the row the target refused. */
function batchOfCopyFailure(error: unknown, batchSize: number): number {
  const at = isSiphonError(error) ? undefined : copyFailureAt(error);
  return at ? Math.floor((at.row - 1) / batchSize) : 0;
}

/** A social pipeline: its coordinator waits for the accounts' jobs, executed by sync workers. */
async function executeSocial(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  fence: Fence,
  run: RunRow,
  log: Logger,
  started: number,
): Promise<void> {
  const socialDeps = { ...deps, adapters: deps.adapters };
  const outcome = await coordinateSocialRun(socialDeps, claimed, fence, run, log);
  if (outcome === 'succeeded') {
    await withRetries(deps, () => completeSocialRun(socialDeps, fence, run));
    const totals = await totalsOf(deps.pool, run.id);
    const durationMs = clockOf(deps).now() - started;
    log.info({ ...totals, durationMs }, 'run succeeded');
    deps.events.emit('run:succeeded', { pipelineId: claimed.id, runId: run.id, ...totals, durationMs });
  } else if (outcome === 'paused') {
    log.info('social run paused; open tasks keep their cursors');
    deps.events.emit('run:paused', { pipelineId: claimed.id, runId: run.id });
  } else {
    await handOff(deps, fence, run);
    log.info('runner stopping: social run handed off; open tasks keep their cursors');
    deps.events.emit('run:handed-off', { pipelineId: claimed.id, runId: run.id });
  }
}

async function startRun(deps: ExecutorDeps, claimed: ClaimedPipeline, fence: Fence, takeover: boolean) {
  return withTransaction(deps.pool, async (tx) => {
    // A runner that froze between its claim and here may have been taken over already.
    if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) return undefined;
    if (takeover && claimed.previous_run_id) {
      await interruptRun(
        tx,
        claimed.previous_run_id,
        'SIPHON_ERR_RUNNER_LEASE_EXPIRED',
        `runner ${claimed.previous_owner ?? '?'} stopped renewing its lease; ${deps.runnerId} took the pipeline over`,
      );
    }
    if (claimed.status === 'PAUSE_REQUESTED') {
      await releasePipeline(tx, fence, 'PAUSED');
      return undefined;
    }
    const run = await insertRun(tx, {
      pipelineId: claimed.id,
      configVersion: claimed.version,
      trigger: takeover ? 'takeover' : (claimed.run_trigger ?? 'manual'),
      mode: claimed.mode,
      runnerId: deps.runnerId,
      epoch: fence.epoch,
    });
    await setCurrentRun(tx, claimed.id, run.id);
    return run;
  });
}

/** Checks the source and target fit together, creating the target when it does not exist yet. */
async function preparePlan(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  fence: Fence,
  remote: RemoteSource | undefined,
): Promise<ResolvedPlan> {
  const fenced = async (work: (tx: PoolClient) => Promise<void>) => {
    await withTransaction(deps.pool, async (tx) => {
      if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new LeaseLost();
      await work(tx);
    });
  };
  const createTarget = async (create: (tx: PoolClient) => Promise<void>) => {
    await fenced(create);
    deps.logger.info(
      { pipelineId: claimed.id, target: claimed.target_table },
      'target table created from the source columns',
    );
  };
  // The source query changed while an earlier run wrote this pass: its position belongs to the old
  // query, so a run of the new query starts the pass over (migration 0029), and the indexes it held
  // are built below. A run claimed just before the change still reads the old query: it goes on.
  const restartAt = (await readState(deps.pool, claimed.id))?.full_pass_restart_version;
  if (restartAt != null && claimed.version >= restartAt) {
    await fenced((tx) => restartFullPass(tx, claimed.id));
    deps.logger.info(
      { pipelineId: claimed.id },
      'the source query changed during the unfinished full pass: the pass starts over',
    );
  }
  await buildIndexesHeldByAnotherPass(deps, claimed, targetNameOf(claimed), fenced);
  // A source on another server: its dialect's guard, its description, its types (remote-run.ts).
  if (remote) return prepareRemotePlan(deps, claimed, remote, createTarget);
  // The parser guard and PostgreSQL's own resolution again: the row may have been written behind the
  // API's back, and operators, casts or views may have changed since it was saved.
  await assertSafePipeline(claimed, deps.sqlPolicy, { target: { pool: deps.pool }, unresolved: 'refuse' });
  const plan = await resolvePlan(deps.pool, claimed, createTarget);
  // Deleting inside each batch's key range is a pushdown feature, and only complete when this run
  // makes the whole pass: a resumed pass (pause, crash, hand-off, another transfer mode) and a
  // streamed run delete with the final anti-join instead.
  const resumingPass =
    claimed.mode === 'full' && (await readState(deps.pool, claimed.id))?.full_cursor != null;
  return {
    ...plan,
    deleteInBatch: plan.deleteInBatch === true && deps.transfer === 'pushdown' && !resumingPass,
  };
}

/** Where this run resumes: the stored checkpoint (minus the lookback at the start of an incremental run). */
async function startCursor(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  plan: Pick<ResolvedPlan, 'incrementalType'>,
  atRunStart: boolean,
): Promise<BatchCursor> {
  const state = await readState(deps.pool, claimed.id);
  if (claimed.mode === 'full') return state?.full_cursor ? { after: state.full_cursor } : null;
  const last = state?.last_processed_key;
  if (!last) return null;
  if (atRunStart && claimed.lookback && state.last_processed_value !== null) {
    const lookback = /^\d+$/.test(claimed.lookback)
      ? { amount: Number(claimed.lookback) }
      : { ms: parseDuration(claimed.lookback) };
    const from = await subtractLookback(
      deps.pool,
      state.last_processed_value,
      plan.incrementalType,
      lookback,
    );
    if (from !== undefined) return { from };
  }
  return { after: last };
}

// Longer than 80 lines on purpose: the loop, its retry and de-duplication paths and the hand-off share
// cursor, batch number and attempt state; the transaction body is commitBatch.
async function batchLoop(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  resolved: ResolvedPlan,
  fence: Fence,
  run: RunRow,
  log: Logger,
  failure: FailurePoint,
  remote: RemoteSource | undefined,
): Promise<Outcome> {
  let plan = resolved;
  let cursor = await startCursor(deps, claimed, plan, true);
  if (remote) {
    // A full pass into an empty target may be read in parallel lanes instead (remote-lanes.ts).
    const source = remote;
    const laned = await withRetries(deps, () =>
      runInLanes({ deps, claimed, plan, fence, run, log, source }, cursor),
    );
    if (laned) return laned;
  }
  let batchNo = 0;
  let attempt = 0;
  // Streaming: the next batch is read while the current one is written (reader and writer are two
  // connections). A prefetch is used only if its cursor is exactly where the loop stands.
  // A remote source is always read by its own server: copied into the batch transaction when it can
  // (PostgreSQL: COPY), else streamed like this.
  const limit = claimed.batch_size;
  const reads = remote
    ? remote.copyBatch
      ? undefined
      : new StreamReader((at) => remote.readBatch(plan, at, limit), limit)
    : deps.transfer === 'stream'
      ? new StreamReader((at) => readStreamed(deps, plan, at, limit), limit)
      : undefined;
  // A full pass copied straight into an empty target reads several batches per source COPY.
  const window = remote?.copyBatch
    ? new CopyWindow(remote, plan, {
        limit,
        // A remote source is only opened with `deps.sources` (openRemoteSource).
        statementTimeoutMs: deps.sources?.statementTimeoutMs ?? 0,
        now: () => clockOf(deps).now(),
        binary: plan.copyBinary === true,
        onOpen: (rows) =>
          log.info(
            { rows, batches: rows / limit, format: plan.copyBinary ? 'binary' : 'text' },
            'reading the next batches in one source COPY',
          ),
      })
    : undefined;
  let needsReload = false;
  // Streamed from another server: the cursor (as JSON) after the last batch this loop copied into the
  // empty target of a first load; the batch read there continues that pass.
  let streamedFirstLoad: string | undefined;
  let sealedBefore = clockOf(deps).now();
  let groupBatches = 1;
  try {
    for (;;) {
      if (deps.stopSignal.aborted) {
        await handOff(deps, fence, run);
        return 'handed-off';
      }
      const began = clockOf(deps).now();
      try {
        if (needsReload) {
          batchNo = (await totalsOf(deps.pool, run.id)).batches;
          // Before this run's first commit, the retry starts again from the lookback window.
          cursor = await startCursor(deps, claimed, plan, batchNo === 0);
          needsReload = false;
        }
        const streamed = reads ? await inSpan('siphon.source.read', {}, () => reads.take(cursor)) : undefined;
        // A first load's next batch (the next of a window, or a streamed batch after one this loop
        // copied into the empty target) commits without waiting for the WAL flush: its rows,
        // checkpoint and ledger row are lost together or not at all (docs/adr/0021).
        const continuing = window
          ? window.continues(cursor)
          : streamedFirstLoad !== undefined && streamedFirstLoad === JSON.stringify(cursor);
        const step = await batchTransaction(
          deps.pool,
          batchNo + 1,
          attempt,
          (tx) =>
            commitBatch(tx, {
              deps,
              claimed,
              plan,
              fence,
              run,
              cursor,
              batchNo,
              began,
              streamed,
              remote,
              window,
              reads,
              continuing,
              sealedBefore,
              groupBatches,
            }),
          { asyncCommit: continuing },
        );
        attempt = 0;
        sealedBefore = step.sealStartedAt;
        groupBatches = Math.min(groupBatches * 2, MAX_GROUP_BATCHES);
        streamedFirstLoad =
          step.intoEmpty && step.result.lastCursor && !step.done
            ? JSON.stringify({ after: step.result.lastCursor })
            : undefined;
        for (const batch of step.ledger) {
          batchNo = batch.batchNo;
          log.info(
            {
              batchNo,
              rowsRead: batch.rowsRead,
              rowsWritten: batch.rowsWritten,
              durationMs: batch.durationMs,
              // Committed without waiting for the WAL flush (docs/adr/0021).
              ...(continuing ? { asyncCommit: true } : {}),
            },
            'batch committed',
          );
          deps.events.emit('batch:committed', {
            pipelineId: claimed.id,
            runId: run.id,
            batchNo,
            rowsRead: batch.rowsRead,
            rowsWritten: batch.rowsWritten,
            durationMs: batch.durationMs,
          });
        }
        if (step.result.rowsRead > 0 && step.result.lastCursor) cursor = { after: step.result.lastCursor };
        if (step.pause) return 'paused';
        if (step.done) {
          const nullKey = plan.incrementalKey
            ? await (remote ? remote.hasNullIncrementalKey(plan) : hasNullIncrementalKey(deps.pool, plan))
            : false;
          if (nullKey) {
            throw new SiphonError(
              'SIPHON_ERR_SOURCE_QUERY',
              `source_query yields rows whose incremental_key "${plan.incrementalKey}" is NULL; incremental reads cannot reach them (filter them out or COALESCE the key)`,
              { field: 'incremental_key' },
            );
          }
          return 'succeeded';
        }
      } catch (error) {
        reads?.discard();
        await window?.close();
        streamedFirstLoad = undefined;
        if (!plan.dedup && isDuplicateKeyInBatch(error)) {
          // The source yields a key twice in this batch (an upsert's 21000, or 23505 from a batch copied
          // straight into an empty target); the batch rolled back whole. De-duplicate
          // from now on (one sort per batch) and run it again: this is not a failed attempt.
          log.info(
            { batchNo: batchNo + 1 },
            'the source yields a key more than once; de-duplicating batches',
          );
          plan = { ...plan, dedup: true };
          continue;
        }
        if (error instanceof LeaseLost || classifyFailure(error) !== 'retryable' || deps.stopSignal.aborted) {
          // A row the target refused in a COPY of several batches (docs/adr/0027) names its own batch.
          const within = batchOfCopyFailure(error, claimed.batch_size);
          failure.batchNo = batchNo + 1 + within;
          failure.copyRowsBefore = within * claimed.batch_size;
          throw error;
        }
        attempt += 1;
        if (attempt >= deps.maxAttempts) {
          failure.batchNo = batchNo + 1;
          throw new SiphonError(
            'SIPHON_ERR_RUNNER_TRANSIENT',
            `batch ${batchNo + 1} failed ${attempt} times: ${(error as Error).message}`,
            { cause: error, details: { batchNo: batchNo + 1, attempts: attempt } },
          );
        }
        const delayMs = backoffMs(attempt, RETRY_BASE_MS, RETRY_CAP_MS);
        log.warn(
          { batchNo: batchNo + 1, attempt, delayMs, err: (error as Error).message },
          'transient failure; retrying batch',
        );
        deps.events.emit('batch:retry', {
          pipelineId: claimed.id,
          runId: run.id,
          attempt,
          delayMs,
          message: (error as Error).message,
        });
        await sleep(delayMs);
        // The commit may have happened before the connection dropped: the next attempt first reloads
        // the stored checkpoint and batch count (a failed reload is itself a failed attempt).
        needsReload = true;
      }
    }
  } finally {
    await window?.close();
  }
}

interface BatchContext {
  readonly deps: ExecutorDeps;
  readonly claimed: ClaimedPipeline;
  readonly plan: ResolvedPlan;
  readonly fence: Fence;
  readonly run: RunRow;
  readonly cursor: BatchCursor;
  /** Batches committed before this one. */
  readonly batchNo: number;
  /** When the batch began (clock ms). */
  readonly began: number;
  /** Streaming: the rows already read for this batch, as text. */
  readonly streamed: StreamedBatch | undefined;
  /** A source on another server: its COPY path, when it has one, is used inside this transaction. */
  readonly remote: RemoteSource | undefined;
  /** With the COPY path: the source read a first load's batches come from. */
  readonly window: CopyWindow | undefined;
  /** Streaming: where the batch came from; a first load's COPY goes on with its next ones. */
  readonly reads?: StreamReader | undefined;
  /** When the run's last seal read the pipeline's status (this clock), or the run began. */
  readonly sealedBefore: number;
  /**
   * At most this many batches in this transaction (docs/adr/0027): 1 for a run's first, doubling
   * with each commit, so a short load still commits often and its first batches commit alone.
   */
  readonly groupBatches: number;
  /**
   * A first load's next batch (the window's next, or a streamed batch after one copied into the empty
   * target): committed without waiting for the WAL flush.
   */
  readonly continuing: boolean;
}

/** The most batches one transaction takes, whatever SIPHON_REMOTE_COMMIT_GROUP allows (docs/adr/0027). */
const MAX_GROUP_BATCHES = 1024;

/**
 * This transaction's group (docs/adr/0027): at most `groupBatches` batches, for up to
 * SIPHON_REMOTE_COMMIT_GROUP from now, ended early when the runner stops or when the pipeline was
 * asked to pause after the run's last seal read its status (the pause waited for that commit).
 */
function groupOf(b: BatchContext): CopyGroup {
  const now = () => clockOf(b.deps).now();
  const until = now() + (b.deps.sources?.commitGroupMs ?? DEFAULT_COMMIT_GROUP_MS);
  return {
    batches: b.groupBatches,
    ends: () =>
      now() >= until ||
      b.deps.stopSignal.aborted ||
      (b.deps.pauseAskedSince?.(b.claimed.id, b.sealedBefore) ?? false),
  };
}

/** The same group over a streamed first load: its next batches are the reader's. */
function streamedGroupOf(b: BatchContext, reads: StreamReader): StreamedGroup {
  return {
    ...groupOf(b),
    read: (after) => reads.take({ after: after.lastCursor! }),
    now: () => clockOf(b.deps).now(),
  };
}

/**
 * One batch, inside its transaction: the rows (pushdown, streamed or copied), then the seal (the fence,
 * the checkpoint and the ledger in one statement, docs/adr/0025), and a pause that ends the run here.
 */
async function commitBatch(tx: PoolClient, b: BatchContext) {
  const { deps, claimed, plan, fence, run, cursor, batchNo, began, streamed, remote, window, continuing } = b;
  const copy = !streamed && remote?.copyBatch ? { source: remote, window: window! } : undefined;
  const result: CopiedResult & { readonly intoEmpty?: boolean } = copy
    ? await inSpan('siphon.target.write', {}, () =>
        copyRemoteBatch(tx, copy.source, claimed, plan, cursor, copy.window, groupOf(b)),
      )
    : streamed && plan.remote
      ? await inSpan('siphon.target.write', {}, () =>
          writeStreamedRemoteBatch(
            tx,
            claimed,
            plan,
            cursor,
            streamed,
            continuing,
            continuing && b.reads ? streamedGroupOf(b, b.reads) : undefined,
          ),
        )
      : streamed
        ? {
            rowsRead: streamed.rows,
            rowsWritten:
              streamed.rows > 0
                ? await inSpan('siphon.target.write', {}, () =>
                    writeBatchFromText(tx, plan, streamed.columns),
                  )
                : 0,
            rowsDeleted: 0,
            lastCursor: streamed.lastCursor,
          }
        : await inSpan('siphon.target.write', {}, () => runBatch(tx, plan, cursor, claimed.batch_size));
  assertCursorNotNull(plan, result.lastCursor);
  if (result.rowsRead > 0) assertCursorMoved(plan, cursor, result.lastCursor);
  const now = clockOf(deps).now();
  const durationMs = now - began;
  const next = result.rowsRead > 0 ? result.lastCursor! : undefined;
  // A first load's batches sent in one COPY (docs/adr/0027) keep a ledger row each. The last, empty
  // batch of a full run may still delete rows past the previous cursor.
  const copied = result.batches;
  const ledger: BatchLedgerRow[] = copied
    ? copied.map((part, i) => ({
        runId: run.id,
        batchNo: batchNo + 1 + i,
        cursorFrom: i === 0 ? cursor : { after: copied[i - 1]!.lastCursor },
        cursorTo: part.lastCursor,
        rowsRead: part.rows,
        rowsWritten: part.rows,
        rowsDeleted: 0,
        durationMs: (i === copied.length - 1 ? now : part.sentAt) - (i === 0 ? began : copied[i - 1]!.sentAt),
        expectBatches: batchNo,
      }))
    : result.rowsRead > 0 || result.rowsDeleted > 0
      ? [
          {
            runId: run.id,
            batchNo: batchNo + 1,
            cursorFrom: cursor,
            cursorTo: result.lastCursor ?? cursor,
            rowsRead: result.rowsRead,
            rowsWritten: result.rowsWritten,
            rowsDeleted: result.rowsDeleted,
            durationMs,
            expectBatches: batchNo,
          },
        ]
      : [];
  // The fence, the checkpoint and the ledger row in one statement, the batch's last before COMMIT
  // (docs/adr/0025): the lease is renewed as the batch commits, however long it took.
  const sealStartedAt = clockOf(deps).now();
  const sealed = await sealBatch(tx, {
    fence,
    leaseMs: deps.leaseMs,
    runId: run.id,
    checkpoint:
      next === undefined
        ? undefined
        : claimed.mode === 'full'
          ? { kind: 'full', cursor: next }
          : { kind: 'incremental', lastValue: next[0]!, lastKey: next },
    ledger,
  });
  const status = sealed.status;
  if (!status) throw new LeaseLost();
  // The ledger rows are counted only if the run has exactly the batches this loop counted: the batch
  // before may have committed without waiting for the WAL flush (docs/adr/0021) and been lost with a
  // server crash since. Then this batch rolls back and the loop reloads what is stored. A window's
  // empty last batch writes no ledger row, and asks.
  const counted =
    ledger.length > 0 ? sealed.counted : !continuing || (await findRun(tx, run.id))?.batches === batchNo;
  if (!counted) {
    throw new SiphonError(
      'SIPHON_ERR_RUNNER_TRANSIENT',
      `the run's ledger does not hold the ${batchNo} batches this runner committed (one committed without waiting for the WAL flush was lost); reading again from the stored checkpoint`,
    );
  }
  const pause = status === 'PAUSE_REQUESTED';
  // The pass ends with a batch shorter than batch_size (the last of those sent together, if several).
  const done = (ledger.at(-1)?.rowsRead ?? 0) < claimed.batch_size;
  // The pass's last batch, or one that pauses, commits durably, and so do the async ones before it
  // (the WAL is flushed in order): the run's end and its pause build on them.
  if (continuing && (done || pause)) await commitDurably(tx);
  if (pause && !done) {
    await finishRun(tx, run.id, { status: 'PAUSED' });
    await releasePipeline(tx, fence, 'PAUSED');
  }
  const intoEmpty = result.intoEmpty === true;
  return { result, ledger, pause: pause && !done, done, intoEmpty, sealStartedAt };
}

async function fail(
  deps: ExecutorDeps,
  fence: Fence,
  run: RunRow,
  error: unknown,
  log: Logger,
  at: FailurePoint,
): Promise<void> {
  const code = runFailureCode(error);
  // Where it failed leads the message once the batches are done: a timeout in the final delete or in a
  // step is not a batch's (`step stats: canceling statement due to statement timeout`).
  // (A failed step's own error already names it.)
  const named = at.phase && at.phase !== 'batch' && at.phase !== 'prepare' && !isSiphonError(error);
  const phase = named ? `${at.phase}: ` : '';
  // A value the target's COPY refused: which column, and which row of the batch.
  const copyFailure = isSiphonError(error) ? undefined : copyFailureAt(error);
  const copyAt = copyFailure && { ...copyFailure, row: copyFailure.row - (at.copyRowsBefore ?? 0) };
  const atValue = copyAt
    ? ` (${copyAt.column ? `column ${copyAt.column}, ` : ''}row ${copyAt.row} of the batch)`
    : '';
  const message = truncateMessage(`${phase}${(error as Error)?.message ?? String(error)}${atValue}`);
  markSpanFailed(error);
  const where = {
    ...(at.batchNo === undefined ? {} : { batchNo: at.batchNo }),
    ...(at.phase === undefined ? {} : { phase: at.phase }),
  };
  const details = {
    ...(isSiphonError(error)
      ? { ...(error.details ?? {}), ...(error.field ? { field: error.field } : {}) }
      : { sqlstate: (error as { code?: string }).code, ...(copyAt ? { copy: copyAt } : {}) }),
    ...where,
  };
  log.error(
    { code, err: message, ...where },
    'run failed; pipeline set to FAILED, checkpoint kept at the last committed batch',
  );
  try {
    await withRetries(deps, () =>
      withTransaction(deps.pool, async (tx) => {
        if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new LeaseLost();
        await finishRun(tx, run.id, {
          status: 'FAILED',
          errorCode: code,
          error: message,
          errorDetails: details,
        });
        await releasePipeline(tx, fence, 'FAILED');
      }),
    );
    const traceId = traceLogFields().trace_id;
    deps.events.emit('run:failed', {
      pipelineId: fence.pipelineId,
      runId: run.id,
      code,
      message,
      ...(traceId ? { traceId } : {}),
    });
  } catch (secondary) {
    if (secondary instanceof LeaseLost) return;
    // The lease will expire and another runner will take over: the failure is not lost, only deferred.
    log.error({ err: (secondary as Error).message }, 'could not record the failure; the lease will expire');
  }
}

async function totalsOf(pool: Pool, runId: string) {
  const row = await findRun(pool, runId);
  return {
    rowsRead: row?.rows_read ?? 0,
    rowsWritten: row?.rows_written ?? 0,
    rowsDeleted: row?.rows_deleted ?? 0,
    batches: row?.batches ?? 0,
  };
}
