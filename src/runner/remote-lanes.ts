import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { clockOf } from '../core/clock.js';
import { backoffMs } from '../core/duration.js';
import { classifyFailure, SiphonError } from '../core/errors.js';
import { isDuplicateKeyInBatch, type BatchCursor } from '../db/batch-sql.js';
import { withTransaction, type PoolClient } from '../db/pool.js';
import {
  createLanes,
  readLanes,
  saveLanePosition,
  type LaneRow,
} from '../db/repositories/lanes.repository.js';
import { fenceAndRenew, type ClaimedPipeline, type Fence } from '../db/repositories/lease.repository.js';
import {
  copyIntoStaging,
  copyIntoTarget,
  mergeStaged,
  targetIsEmpty,
} from '../db/repositories/remote-batch.repository.js';
import { findRun, recordBatch, type RunRow } from '../db/repositories/run.repository.js';
import { clearSeenKeys } from '../db/repositories/seen-keys.repository.js';
import { markPassIntoEmpty } from '../db/repositories/state.repository.js';
import { holdIndexes } from '../db/repositories/held-indexes.repository.js';
import { DEFAULT_LANES, type RemoteSource, type SourceSnapshot } from '../sources/index.js';
import type { ResolvedPlan } from './plan.js';
import {
  assertCursorMoved,
  assertCursorNotNull,
  batchTransaction,
  handOff,
  LeaseLost,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  type ExecutorDeps,
} from './run-support.js';

/**
 * A full pass into an empty target from a PostgreSQL source, read in parallel lanes (docs/adr/0016,
 * "Parallel lanes"). At the pass's start the source's keys are cut into `lanes` ranges of about equal
 * size, in a snapshot exported on the source (`pg_export_snapshot`); every lane reads its range batch by
 * batch in that snapshot (so the copy is of one moment of the source) and copies each batch straight
 * into the target, committing its rows, its own position (etl.full_pass_lanes) and the ledger row in
 * one local transaction behind the fence. The fence is checked after the copy, so lanes hold the
 * pipeline's row lock only for their commit and write in parallel.
 *
 * A pass resumed after a pause, a hand-off or a kill -9 goes on from each lane's position in a new
 * snapshot; a lane that had to retry a batch reads on in fresh transactions. Either way every key is
 * written once (a lane's rows and position commit together); what an interrupted pass gives up is only
 * the single moment, as a sequential pass does at every batch.
 */

export type LanesOutcome = 'succeeded' | 'paused' | 'handed-off';

export interface LanesRun {
  readonly deps: ExecutorDeps;
  readonly claimed: ClaimedPipeline;
  readonly plan: ResolvedPlan;
  readonly fence: Fence;
  readonly run: RunRow;
  readonly log: Logger;
  readonly source: RemoteSource;
}

/**
 * Runs the pass in lanes when it can: a pass already cut into lanes goes on in them; a new one (no
 * position yet) is cut when the source has copy and snapshots, the runner allows lanes, the target
 * is empty and the source has at least four batches per lane. Otherwise `undefined`: the sequential
 * loop reads the pass.
 */
export async function runInLanes(r: LanesRun, cursor: BatchCursor): Promise<LanesOutcome | undefined> {
  const { deps, claimed, plan, source } = r;
  const lanes = deps.sources?.lanes ?? DEFAULT_LANES;
  if (claimed.mode !== 'full' || !source.copyBatch || !source.exportSnapshot || !source.splitPoints) {
    return undefined;
  }
  let stored = await readLanes(deps.pool, claimed.id);
  if (stored.length === 0 && (cursor !== null || lanes < 2 || plan.dedup)) return undefined;
  const snapshot = await source.exportSnapshot();
  try {
    if (stored.length === 0) {
      const splits = await source.splitPoints(plan, lanes, lanes * 4 * claimed.batch_size, snapshot.id);
      if (splits.length === 0) return undefined;
      const cut = await withTransaction(deps.pool, async (tx) => {
        if (!(await fenceAndRenew(tx, r.fence, deps.leaseMs))) throw new LeaseLost();
        if (!(await targetIsEmpty(tx, plan))) return false;
        await clearSeenKeys(tx, claimed.id);
        await markPassIntoEmpty(tx, claimed.id, true);
        await holdIndexes(tx, claimed.id, plan.target);
        await createLanes(tx, claimed.id, splits);
        return true;
      });
      if (!cut) return undefined;
      stored = await readLanes(deps.pool, claimed.id);
      r.log.info({ lanes: stored.length }, 'full pass into an empty target: reading in parallel lanes');
    }
    return await readAllLanes(r, stored, snapshot);
  } finally {
    await snapshot.release();
  }
}

async function readAllLanes(r: LanesRun, lanes: LaneRow[], snapshot: SourceSnapshot): Promise<LanesOutcome> {
  const shared: SharedLaneState = { stop: new AbortController(), paused: false, error: undefined };
  await Promise.all(lanes.filter((l) => !l.done).map((lane) => readLane(r, lane, snapshot.id, shared)));
  if (shared.error !== undefined) throw shared.error;
  if (shared.paused || r.deps.stopSignal.aborted) {
    await handOff(r.deps, r.fence, r.run);
    return shared.paused ? 'paused' : 'handed-off';
  }
  return 'succeeded';
}

interface SharedLaneState {
  /** Aborted when one lane fails or sees a pause: the others stop after their current batch. */
  readonly stop: AbortController;
  paused: boolean;
  error: unknown;
}

// Longer than 60 lines: the lane's retry, reload and merge fallback share its position and attempt.
async function readLane(
  r: LanesRun,
  lane: LaneRow,
  snapshotId: string,
  shared: SharedLaneState,
): Promise<void> {
  const { deps, claimed } = r;
  let position = lane.position ?? lane.after_key;
  let snapshot: string | undefined = snapshotId;
  let attempt = 0;
  let merge = false;
  let reload = false;
  for (;;) {
    if (shared.stop.signal.aborted || deps.stopSignal.aborted) return;
    try {
      if (reload) {
        // The commit may have happened before the connection dropped: go on from the stored position.
        const row = (await readLanes(deps.pool, claimed.id)).find((l) => l.lane === lane.lane);
        if (!row || row.done) return;
        position = row.position ?? row.after_key;
        reload = false;
      }
      const cursor: BatchCursor = position ? { after: position } : null;
      const began = clockOf(deps).now();
      const step = await batchTransaction(deps.pool, 0, attempt, (tx) =>
        laneBatch(tx, r, { lane, cursor, snapshot, merge, began }),
      );
      attempt = 0;
      if (step.result.rowsRead > 0) {
        position = step.result.lastCursor;
        r.log.info(
          {
            lane: lane.lane,
            batchNo: step.batchNo,
            rowsRead: step.result.rowsRead,
            durationMs: step.durationMs,
          },
          'batch committed',
        );
        deps.events.emit('batch:committed', {
          pipelineId: claimed.id,
          runId: r.run.id,
          batchNo: step.batchNo,
          rowsRead: step.result.rowsRead,
          rowsWritten: step.result.rowsWritten,
          durationMs: step.durationMs,
        });
      }
      if (step.done) return;
      if (step.pause) {
        shared.paused = true;
        shared.stop.abort();
        return;
      }
    } catch (error) {
      if (!merge && isDuplicateKeyInBatch(error)) {
        // The source yields a key twice in this batch: this lane merges, one row per key, from now on.
        merge = true;
        continue;
      }
      if (snapshot !== undefined && snapshotGone(error)) {
        // The session holding the snapshot is gone (the source restarted): read on without it.
        snapshot = undefined;
        reload = true;
        continue;
      }
      const stopping = deps.stopSignal.aborted || shared.stop.signal.aborted;
      if (error instanceof LeaseLost || classifyFailure(error) !== 'retryable' || stopping) {
        if (!stopping || !(classifyFailure(error) === 'retryable')) shared.error ??= error;
        shared.stop.abort();
        return;
      }
      attempt += 1;
      if (attempt >= deps.maxAttempts) {
        shared.error ??= new SiphonError(
          'SIPHON_ERR_RUNNER_TRANSIENT',
          `lane ${lane.lane} failed ${attempt} times: ${(error as Error).message}`,
          { cause: error, details: { lane: lane.lane, attempts: attempt } },
        );
        shared.stop.abort();
        return;
      }
      const delayMs = backoffMs(attempt, RETRY_BASE_MS, RETRY_CAP_MS);
      r.log.warn(
        { lane: lane.lane, attempt, delayMs, err: (error as Error).message },
        'transient failure; retrying the lane',
      );
      deps.events.emit('batch:retry', {
        pipelineId: claimed.id,
        runId: r.run.id,
        attempt,
        delayMs,
        message: (error as Error).message,
      });
      // The snapshot may be what failed (its session gone with a restart): read on without it.
      snapshot = undefined;
      reload = true;
      await sleep(delayMs);
    }
  }
}

/**
 * One batch of a lane, in its transaction: the rows copied in first (merged instead once the lane met
 * a key twice), then the fence, the lane's position and the ledger, so the pipeline's row is locked
 * only from the fence to COMMIT.
 */
async function laneBatch(
  tx: PoolClient,
  r: LanesRun,
  b: { lane: LaneRow; cursor: BatchCursor; snapshot: string | undefined; merge: boolean; began: number },
) {
  const { deps, claimed, plan, source } = r;
  const limit = claimed.batch_size;
  const read = { until: b.lane.until_key ?? undefined, ...(b.snapshot ? { snapshot: b.snapshot } : {}) };
  const result = b.merge
    ? await source.copyBatch!(plan, b.cursor, limit, (rows) => copyIntoStaging(tx, rows), read).then(() =>
        mergeStaged(tx, { ...plan, dedup: true }),
      )
    : await source.copyBatch!(
        plan,
        b.cursor,
        limit,
        (rows) => copyIntoTarget(tx, plan, { rows, format: 'text' }),
        {
          ...read,
          form: 'columns',
        },
      );
  assertCursorNotNull(plan, result.lastCursor);
  if (result.rowsRead > 0) assertCursorMoved(plan, b.cursor, result.lastCursor);
  const status = await fenceAndRenew(tx, r.fence, deps.leaseMs);
  if (!status) throw new LeaseLost();
  const done = result.rowsRead < limit;
  await saveLanePosition(tx, claimed.id, b.lane.lane, result.lastCursor, done);
  const durationMs = clockOf(deps).now() - b.began;
  let batchNo = 0;
  if (result.rowsRead > 0) {
    // Numbered at commit, under the pipeline's row lock: lanes commit one at a time from the fence on.
    batchNo = ((await findRun(tx, r.run.id))?.batches ?? 0) + 1;
    await recordBatch(tx, {
      runId: r.run.id,
      batchNo,
      cursorFrom: b.cursor,
      cursorTo: result.lastCursor ?? b.cursor,
      rowsRead: result.rowsRead,
      rowsWritten: result.rowsWritten,
      rowsDeleted: 0,
      durationMs,
    });
  }
  return { result, batchNo, durationMs, done, pause: status === 'PAUSE_REQUESTED' && !done };
}

/** PostgreSQL's answer to importing a snapshot whose exporting transaction has ended (22023). */
function snapshotGone(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  return cause?.code === '22023' && /snapshot/i.test(String(cause.message));
}
