import type { Executor } from '../pool.js';
import type { PipelineRow } from './pipeline.repository.js';

export interface ClaimedPipeline extends PipelineRow {
  /** Status before the claim: RUN_REQUESTED for a fresh run, RUNNING/PAUSE_REQUESTED for a takeover. */
  previous_status: string;
  previous_run_id: string | null;
  previous_owner: string | null;
}

// Lease times use clock_timestamp() (the database's wall clock), not now(): now() is the start of the
// transaction, which for a renewal late in a long batch would shorten the lease it grants.

/**
 * Claims one pipeline that wants a runner: RUN_REQUESTED, or RUNNING/PAUSE_REQUESTED whose lease has
 * expired (its owner died). SKIP LOCKED lets many runners claim concurrently; the epoch grows on every
 * claim, so a previous owner that wakes up can no longer commit. Lease times use the database clock.
 *
 * `executing`: the pipelines this runner's own executors are still running. Their lease can lapse
 * without anyone dying — a COMMIT that waited seconds for a stalled disk flush after the last renewal,
 * a starved process — and taking over oneself then only interrupts a healthy run (its executor loses
 * the fence and the run is restarted by the same process). Another runner still takes over at once;
 * this runner re-claims its own only a further lease later (an executor that hangs for good).
 */
export async function claimPipeline(
  db: Executor,
  runnerId: string,
  leaseMs: number,
  executing: readonly string[] = [],
): Promise<ClaimedPipeline | undefined> {
  const { rows } = await db.query<ClaimedPipeline>(
    `WITH candidate AS (
       SELECT id, status AS previous_status, current_run_id AS previous_run_id, lease_owner AS previous_owner
         FROM etl.etl_pipelines
        WHERE (enabled AND status = 'RUN_REQUESTED')
           -- A dead owner's run is taken over even if the pipeline was disabled meanwhile (it is then
           -- parked as PAUSED): nothing may stay RUNNING without a live owner.
           OR (status IN ('RUNNING', 'PAUSE_REQUESTED')
               AND (lease_expires_at IS NULL
                    OR lease_expires_at < clock_timestamp()
                         - CASE WHEN lease_owner = $1 AND id = ANY ($3::uuid[])
                                THEN make_interval(secs => $2::double precision / 1000)
                                ELSE interval '0' END))
        ORDER BY updated_at
        LIMIT 1
        FOR UPDATE SKIP LOCKED)
     UPDATE etl.etl_pipelines p
        SET status = CASE WHEN candidate.previous_status = 'PAUSE_REQUESTED' OR NOT p.enabled THEN 'PAUSE_REQUESTED'
                          ELSE 'RUNNING' END,
            lease_owner = $1, lease_epoch = p.lease_epoch + 1,
            lease_expires_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
       FROM candidate
      WHERE p.id = candidate.id
     RETURNING p.*, candidate.previous_status, candidate.previous_run_id, candidate.previous_owner`,
    [runnerId, leaseMs, executing],
  );
  return rows[0];
}

export interface Fence {
  readonly pipelineId: string;
  readonly runnerId: string;
  readonly epoch: number;
}

/**
 * Inside a batch transaction: renews the lease only if this runner still holds this epoch, and locks
 * the pipeline row until COMMIT, so no takeover can interleave. Returns the status (to see a pause
 * request), or undefined when the lease was lost — the caller must roll back.
 */
export async function fenceAndRenew(
  db: Executor,
  fence: Fence,
  leaseMs: number,
): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>(
    fenceUpdateSql({ pipeline: '$1', runner: '$2', epoch: '$3', leaseMs: '$4' }),
    [fence.pipelineId, fence.runnerId, fence.epoch, leaseMs],
  );
  return rows[0]?.status;
}

/**
 * The fence's `UPDATE`, given where its parameters are: the lease renewed only for this owner and
 * epoch, the pipeline row locked until COMMIT, the status returned (a disabled pipeline's as a pause
 * request). One text for `fenceAndRenew` and a batch's seal (batch-seal.repository.ts).
 */
export function fenceUpdateSql(at: {
  readonly pipeline: string;
  readonly runner: string;
  readonly epoch: string;
  readonly leaseMs: string;
}): string {
  return `UPDATE etl.etl_pipelines
        SET lease_expires_at = clock_timestamp() + make_interval(secs => ${at.leaseMs}::double precision / 1000)
      WHERE id = ${at.pipeline} AND lease_owner = ${at.runner} AND lease_epoch = ${at.epoch}
      RETURNING CASE WHEN enabled THEN status ELSE 'PAUSE_REQUESTED' END AS status`;
}

/** Heartbeat for all pipelines a runner holds; SKIP LOCKED so a busy batch transaction never blocks it. */
export async function renewLeases(
  db: Executor,
  runnerId: string,
  leaseMs: number,
  pipelineIds: readonly string[],
): Promise<void> {
  // Only the pipelines this process is executing right now: a run whose executor is gone must expire.
  if (pipelineIds.length === 0) return;
  await db.query(
    `UPDATE etl.etl_pipelines p
        SET lease_expires_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
       FROM (SELECT id FROM etl.etl_pipelines
              WHERE lease_owner = $1 AND id = ANY ($3::uuid[]) AND status IN ('RUNNING', 'PAUSE_REQUESTED')
              FOR UPDATE SKIP LOCKED) mine
      WHERE p.id = mine.id`,
    [runnerId, leaseMs, pipelineIds],
  );
}

/** Ends ownership and sets the pipeline's next status (IDLE, PAUSED, FAILED, or RUN_REQUESTED on hand-off). */
export async function releasePipeline(db: Executor, fence: Fence, status: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE etl.etl_pipelines
        SET status = $4, lease_owner = NULL, lease_expires_at = NULL, current_run_id = NULL, updated_at = now()
      WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $3`,
    [fence.pipelineId, fence.runnerId, fence.epoch, status],
  );
  if (status === 'RUN_REQUESTED')
    await db.query(`SELECT pg_notify('siphon_pipelines', $1)`, [fence.pipelineId]);
  return rowCount === 1;
}

export async function setCurrentRun(db: Executor, pipelineId: string, runId: string): Promise<void> {
  await db.query('UPDATE etl.etl_pipelines SET current_run_id = $2 WHERE id = $1', [pipelineId, runId]);
}
