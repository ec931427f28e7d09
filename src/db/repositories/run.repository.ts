import { isUuid } from '../../core/identifiers.js';
import type { Executor } from '../pool.js';

export type RunStatus = 'RUNNING' | 'SUCCESS' | 'FAILED' | 'PAUSED' | 'INTERRUPTED';

export interface RunRow {
  id: string;
  pipeline_id: string;
  config_version: number;
  trigger: string;
  mode: string;
  status: RunStatus;
  runner_id: string;
  lease_epoch: number;
  started_at: Date;
  finished_at: Date | null;
  rows_read: number;
  rows_written: number;
  rows_deleted: number;
  batches: number;
  error_code: string | null;
  error: string | null;
  error_details: unknown;
}

export interface BatchRow {
  batch_no: number;
  cursor_from: unknown;
  cursor_to: unknown;
  rows_read: number;
  rows_written: number;
  rows_deleted: number;
  duration_ms: number;
  committed_at: Date;
}

export async function insertRun(
  db: Executor,
  run: {
    pipelineId: string;
    configVersion: number;
    trigger: string;
    mode: string;
    runnerId: string;
    epoch: number;
  },
): Promise<RunRow> {
  const { rows } = await db.query<RunRow>(
    `INSERT INTO etl.etl_runs (pipeline_id, config_version, trigger, mode, status, runner_id, lease_epoch)
     VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6) RETURNING *`,
    [run.pipelineId, run.configVersion, run.trigger, run.mode, run.runnerId, run.epoch],
  );
  return rows[0]!;
}

/** Closes a run that is still RUNNING (its owner died or handed it off). */
export async function interruptRun(
  db: Executor,
  runId: string,
  code: string,
  message: string,
): Promise<void> {
  await db.query(
    `UPDATE etl.etl_runs SET status = 'INTERRUPTED', finished_at = now(), error_code = $2, error = $3
      WHERE id = $1 AND status = 'RUNNING'`,
    [runId, code, message],
  );
}

/** A lane's ledger row and the run's counters (a sequence's batch writes them in its seal, batch-seal.repository.ts). */
export async function recordBatch(
  db: Executor,
  batch: {
    runId: string;
    batchNo: number;
    cursorFrom: unknown;
    cursorTo: unknown;
    rowsRead: number;
    rowsWritten: number;
    rowsDeleted: number;
    durationMs: number;
  },
): Promise<void> {
  await db.query(
    `WITH ledger AS (
       INSERT INTO etl.etl_run_batches
         (run_id, batch_no, cursor_from, cursor_to, rows_read, rows_written, duration_ms, rows_deleted)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8))
     UPDATE etl.etl_runs SET rows_read = rows_read + $5, rows_written = rows_written + $6,
            rows_deleted = rows_deleted + $8, batches = batches + 1
      WHERE id = $1`,
    [
      batch.runId,
      batch.batchNo,
      JSON.stringify(batch.cursorFrom),
      JSON.stringify(batch.cursorTo),
      batch.rowsRead,
      batch.rowsWritten,
      batch.durationMs,
      batch.rowsDeleted,
    ],
  );
}

export async function finishRun(
  db: Executor,
  runId: string,
  outcome: {
    status: Exclude<RunStatus, 'RUNNING'>;
    rowsDeleted?: number;
    errorCode?: string;
    error?: string;
    errorDetails?: unknown;
  },
): Promise<void> {
  await db.query(
    `UPDATE etl.etl_runs SET status = $2, finished_at = now(), rows_deleted = rows_deleted + $3,
            error_code = $4, error = $5, error_details = $6
      WHERE id = $1`,
    [
      runId,
      outcome.status,
      outcome.rowsDeleted ?? 0,
      outcome.errorCode ?? null,
      outcome.error ?? null,
      outcome.errorDetails === undefined ? null : JSON.stringify(outcome.errorDetails),
    ],
  );
}

export async function addRowsDeleted(db: Executor, runId: string, n: number): Promise<void> {
  if (n > 0)
    await db.query('UPDATE etl.etl_runs SET rows_deleted = rows_deleted + $2 WHERE id = $1', [runId, n]);
}

export async function listRuns(db: Executor, pipelineId: string, limit = 20, offset = 0): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(
    'SELECT * FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC, id LIMIT $2 OFFSET $3',
    [pipelineId, limit, offset],
  );
  return rows;
}

/** The run with this id; undefined for an id that is not a uuid (no run has it) instead of a type error. */
export async function findRun(db: Executor, runId: string): Promise<RunRow | undefined> {
  if (!isUuid(runId)) return undefined;
  const { rows } = await db.query<RunRow>('SELECT * FROM etl.etl_runs WHERE id = $1', [runId]);
  return rows[0];
}

export async function listBatches(db: Executor, runId: string): Promise<BatchRow[]> {
  const { rows } = await db.query<BatchRow>(
    `SELECT batch_no, cursor_from, cursor_to, rows_read, rows_written, rows_deleted, duration_ms, committed_at
       FROM etl.etl_run_batches WHERE run_id = $1 ORDER BY batch_no`,
    [runId],
  );
  return rows;
}
