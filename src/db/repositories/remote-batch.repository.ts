import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent, quoteQualified } from '../../core/identifiers.js';
import { buildMergeStagedSql, streamColumns, type BatchPlan } from '../batch-sql.js';
import { assertOneRowPerMessage, copyMessagesIn } from '../copy-frames.js';
import { CopyTextTail } from '../copy-text.js';
import type { PoolClient } from '../pool.js';
import type { BatchResult } from './target.repository.js';

/**
 * The COPY path of a PostgreSQL source: the batch's rows arrive as `COPY … TO STDOUT` from the source
 * server and go straight into a staging table of this session (`COPY … FROM STDIN`), inside the batch
 * transaction, without being parsed in Node; one statement then merges them into the target. The
 * staging table is temporary and empties at every commit or rollback.
 */
const STAGING = 'pg_temp.siphon_remote_batch';

/** Copies one batch into the staging table (created on the session's first use). */
export async function copyIntoStaging(tx: PoolClient, rows: Readable): Promise<void> {
  await tx.query(
    'CREATE TEMP TABLE IF NOT EXISTS siphon_remote_batch (seq bigint GENERATED ALWAYS AS IDENTITY, v text[] NOT NULL) ON COMMIT DELETE ROWS',
  );
  await pipeline(rows, tx.query(copyFrom(`COPY ${STAGING} (v) FROM STDIN`)));
}

/** Upserts the staged batch; returns its counts and last cursor, as a streamed batch's write does. */
export async function mergeStaged(tx: PoolClient, plan: BatchPlan): Promise<BatchResult> {
  const { rows } = await tx.query<{ rows_read: number; rows_written: number; last_row: string[] | null }>(
    buildMergeStagedSql(plan, STAGING),
  );
  const row = rows[0]!;
  const order = streamColumns(plan);
  return {
    rowsRead: row.rows_read,
    rowsWritten: row.rows_written,
    rowsDeleted: 0,
    lastCursor: row.last_row ? plan.cursorColumns.map((c) => row.last_row![order.indexOf(c)]!) : null,
  };
}

/** Stages the keys of the staged batch for delete-not-seen (a full pass of a remote source). */
export async function stageKeysFromStaging(
  tx: PoolClient,
  pipelineId: string,
  plan: BatchPlan,
): Promise<void> {
  const order = streamColumns(plan);
  const key = plan.keys.map((k) => `v[${order.indexOf(k) + 1}]`).join(', ');
  await tx.query(
    `INSERT INTO etl.remote_seen_keys (pipeline_id, key) SELECT $1, ARRAY[${key}] FROM ${STAGING}`,
    [pipelineId],
  );
}

/** Whether the target has no row at all (a full pass that begins on it may copy straight in). */
export async function targetIsEmpty(tx: PoolClient, plan: BatchPlan): Promise<boolean> {
  const { rows } = await tx.query<{ empty: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM ${quoteQualified(plan.target)}) AS empty`,
  );
  return rows[0]!.empty;
}

/** One batch of a COPY from the source: a first load's window (runner/copy-window.ts), or a lane's. */
export interface CopyBatch {
  readonly rows: Readable;
  readonly format: 'text' | 'binary';
  /**
   * When `rows` are the source's CopyData messages (docs/adr/0026): how many rows (messages) the batch
   * sent, once `rows` ended. Otherwise `rows` is COPY text.
   */
  readonly messages?: () => number;
  /** The cursor of the batch's last row, once `rows` ended (else decoded here from its last line). */
  readonly lastCursor?: () => string[] | null;
  /**
   * With `messages`: the batches of `batch_size` rows `rows` was made of, once it ended (a first load
   * commits consecutive batches together, docs/adr/0027).
   */
  readonly batches?: () => readonly CopiedBatch[];
}

/** What a COPY wrote: with several batches sent in it (docs/adr/0027), each of them. */
export type CopiedResult = BatchResult & { readonly batches?: readonly CopiedBatch[] };

/** One batch of several sent in one COPY: its rows, its last row's cursor, when its last row was sent. */
export interface CopiedBatch {
  readonly rows: number;
  readonly lastCursor: string[];
  readonly sentAt: number;
}

/**
 * A batch of a full pass into an empty target: the source's COPY output goes straight into the target
 * (`COPY target (columns) FROM STDIN`, in the batch's format), with no staging table, no cast and no
 * merge. Safe because the pass began on an empty target and its keyset only moves forward: no row of
 * this batch can be there yet (a key the source yields twice fails the COPY with 23505; the runner
 * then merges instead).
 */
export async function copyIntoTarget(
  tx: PoolClient,
  plan: BatchPlan,
  batch: CopyBatch,
): Promise<CopiedResult> {
  const order = streamColumns(plan);
  const format = batch.format === 'binary' ? ' (FORMAT binary)' : '';
  const sql = `COPY ${quoteQualified(plan.target)} (${order.map(quoteIdent).join(', ')}) FROM STDIN${format}`;
  let lastCursor: string[] | null;
  let rowCount: number;
  if (batch.messages) {
    const into = tx.query(copyMessagesIn(sql));
    await pipeline(batch.rows, into);
    rowCount = into.rowCount;
    assertOneRowPerMessage(batch.messages(), rowCount);
    lastCursor = batch.lastCursor?.() ?? null;
  } else {
    const into = tx.query(copyFrom(sql));
    const tail = new CopyTextTail();
    await pipeline(batch.rows, tail, into);
    rowCount = into.rowCount;
    const last = tail.lastRow();
    lastCursor = last ? plan.cursorColumns.map((c) => last[order.indexOf(c)] as string) : null;
  }
  // A NULL in a cursor column is refused by the runner after the write, as for any batch.
  const batches = batch.batches?.();
  return {
    rowsRead: rowCount,
    rowsWritten: rowCount,
    rowsDeleted: 0,
    lastCursor,
    ...(batches && batches.length > 1 ? { batches } : {}),
  };
}

/**
 * Streamed batches (a MySQL source: rows read through Node) of a full pass into an empty target,
 * written as COPY text instead of an upsert, for the same reason as `copyIntoTarget`: one batch's COPY
 * text, or several batches' one after the other (docs/adr/0027). Returns the rows copied.
 */
export async function copyStreamedIntoTarget(
  tx: PoolClient,
  plan: BatchPlan,
  text: Readable,
): Promise<number> {
  const into = tx.query(
    copyFrom(
      `COPY ${quoteQualified(plan.target)} (${streamColumns(plan).map(quoteIdent).join(', ')}) FROM STDIN`,
    ),
  );
  await pipeline(text, into);
  return into.rowCount;
}
