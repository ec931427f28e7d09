import { prepared, type Executor } from '../pool.js';
import { fenceUpdateSql, type Fence } from './lease.repository.js';

/** Where the pass stands after a batch: the checkpoint its commit stores. */
export type BatchCheckpoint =
  | { readonly kind: 'incremental'; readonly lastValue: string | null; readonly lastKey: readonly string[] }
  | { readonly kind: 'full'; readonly cursor: readonly string[] };

/** A batch's row in the run's ledger, and what it adds to the run's counters. */
export interface BatchLedgerRow {
  readonly runId: string;
  readonly batchNo: number;
  readonly cursorFrom: unknown;
  readonly cursorTo: unknown;
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly rowsDeleted: number;
  readonly durationMs: number;
  /**
   * The batches the run must have before this one: when it has not (a batch lost with a server crash
   * after an asynchronous commit, docs/adr/0021), nothing is counted.
   */
  readonly expectBatches: number;
}

export interface BatchSeal {
  /** The pipeline's status (a disabled one reads PAUSE_REQUESTED); undefined: the lease was lost. */
  readonly status: string | undefined;
  /** The ledger row was counted (always true without one). */
  readonly counted: boolean;
}

/**
 * A batch's last statement before COMMIT, after its rows were written (docs/adr/0025): the fence (the
 * lease renewed only for this owner and epoch, the pipeline's row locked until COMMIT), the checkpoint,
 * and the ledger row (a row each, for batches committed together) with the run's counters, in one
 * statement. The checkpoint and the ledger are written only when the fence matched (they select from
 * it). A full pass's checkpoint keeps the time the pass began (set by its first batch).
 *
 * Prepared (ADR 0018): the text is one of six (checkpoint none, incremental or full; ledger rows or
 * not: they go in as arrays), its parameters numbered in the order they are added.
 */
export async function sealBatch(
  db: Executor,
  seal: {
    readonly fence: Fence;
    readonly leaseMs: number;
    readonly runId: string;
    /** None when the batch read no row (the pass's empty last batch). */
    readonly checkpoint?: BatchCheckpoint | undefined;
    /**
     * None when the batch neither read nor deleted a row. Several: consecutive batches of a first load
     * committed together (docs/adr/0027), numbered on from the first, whose `expectBatches` counts.
     */
    readonly ledger?: BatchLedgerRow | readonly BatchLedgerRow[] | undefined;
  },
): Promise<BatchSeal> {
  const values: unknown[] = [];
  const $ = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const { fence, checkpoint } = seal;
  const pipeline = $(fence.pipelineId);
  // Numbered on first use: a seal with neither a checkpoint nor a ledger row has no run parameter.
  let runParameter: string | undefined;
  const run = () => (runParameter ??= $(seal.runId));
  const fenceSql = fenceUpdateSql({
    leaseMs: $(seal.leaseMs),
    pipeline: `${pipeline}::uuid`,
    runner: $(fence.runnerId),
    epoch: $(fence.epoch),
  });
  const parts = [`fence AS (${fenceSql})`];
  if (checkpoint?.kind === 'incremental') {
    parts.push(`checkpoint AS (
       INSERT INTO etl.etl_state (pipeline_id, last_processed_value, last_processed_key, last_run_id)
       SELECT ${pipeline}::uuid, ${$(checkpoint.lastValue)}::text, ${$(JSON.stringify(checkpoint.lastKey))}::jsonb, ${run()}::uuid
         FROM fence
       ON CONFLICT (pipeline_id) DO UPDATE SET last_processed_value = EXCLUDED.last_processed_value,
         last_processed_key = EXCLUDED.last_processed_key, last_run_id = EXCLUDED.last_run_id, updated_at = now())`);
  } else if (checkpoint?.kind === 'full') {
    parts.push(`checkpoint AS (
       INSERT INTO etl.etl_state (pipeline_id, full_cursor, full_run_started_at, last_run_id)
       SELECT ${pipeline}::uuid, ${$(JSON.stringify(checkpoint.cursor))}::jsonb, now(), ${run()}::uuid
         FROM fence
       ON CONFLICT (pipeline_id) DO UPDATE SET full_cursor = EXCLUDED.full_cursor,
         full_run_started_at = CASE WHEN etl.etl_state.full_cursor IS NULL THEN now() ELSE etl.etl_state.full_run_started_at END,
         last_run_id = EXCLUDED.last_run_id, updated_at = now())`);
  }
  let counted = 'true';
  const ledger = seal.ledger === undefined ? [] : 'runId' in seal.ledger ? [seal.ledger] : seal.ledger;
  if (ledger.length > 0) {
    const sum = (of: (row: BatchLedgerRow) => number) => ledger.reduce((total, row) => total + of(row), 0);
    const read = $(sum((row) => row.rowsRead));
    const written = $(sum((row) => row.rowsWritten));
    const deleted = $(sum((row) => row.rowsDeleted));
    const column = (of: (row: BatchLedgerRow) => unknown) => $(ledger.map(of));
    parts.push(
      `ledger AS (
         INSERT INTO etl.etl_run_batches
           (run_id, batch_no, cursor_from, cursor_to, rows_read, rows_written, duration_ms, rows_deleted)
         SELECT ${run()}::uuid, b.batch_no, b.cursor_from, b.cursor_to, b.rows_read, b.rows_written, b.duration_ms,
                b.rows_deleted
           FROM fence, unnest(${column((row) => row.batchNo)}::int[],
                              ${column((row) => JSON.stringify(row.cursorFrom))}::jsonb[],
                              ${column((row) => JSON.stringify(row.cursorTo))}::jsonb[],
                              ${column((row) => row.rowsRead)}::int[], ${column((row) => row.rowsWritten)}::int[],
                              ${column((row) => row.durationMs)}::int[], ${column((row) => row.rowsDeleted)}::int[])
                AS b (batch_no, cursor_from, cursor_to, rows_read, rows_written, duration_ms, rows_deleted))`,
      `counters AS (
         UPDATE etl.etl_runs SET rows_read = rows_read + ${read}::int, rows_written = rows_written + ${written}::int,
                rows_deleted = rows_deleted + ${deleted}::int, batches = batches + ${$(ledger.length)}::int
          WHERE id = ${run()}::uuid AND batches = ${$(ledger[0]!.expectBatches)}::int AND EXISTS (SELECT FROM fence)
          RETURNING 1)`,
    );
    counted = 'EXISTS (SELECT FROM counters)';
  }
  const { rows } = await db.query<{ status: string | null; counted: boolean }>(
    prepared(
      `WITH ${parts.join(',\n')}
       SELECT (SELECT status FROM fence) AS status, ${counted} AS counted`,
      values,
    ),
  );
  return { status: rows[0]?.status ?? undefined, counted: rows[0]?.counted === true };
}
