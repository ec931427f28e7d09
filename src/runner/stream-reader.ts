import type { BatchCursor, BatchPlan } from '../db/batch-sql.js';
import { withTransaction } from '../db/pool.js';
import { readBatchAsText } from '../db/repositories/target.repository.js';
import type { SourceBatch } from '../sources/index.js';
import type { ExecutorDeps } from './run-support.js';

/** Streaming read half: the reader role, in a READ ONLY transaction (statement timeout from its pool). */
export function readStreamed(deps: ExecutorDeps, plan: BatchPlan, cursor: BatchCursor, limit: number) {
  return withTransaction(deps.readerPool ?? deps.pool, (tx) => readBatchAsText(tx, plan, cursor, limit), {
    readOnly: true,
  });
}

/** A batch read through Node: from this database (stream transfer) or a source in another one. */
export type StreamedBatch = SourceBatch;

/**
 * Reads batches one ahead: `take(cursor)` returns the batch at `cursor` and starts the next. `read` is
 * this database's reader (stream transfer) or a source in another database (its own READ ONLY
 * transaction on that server): the batch loop is the same for both.
 */
export class StreamReader {
  #ahead: { key: string; batch: Promise<StreamedBatch> } | undefined;

  constructor(
    private readonly read: (cursor: BatchCursor) => Promise<StreamedBatch>,
    private readonly limit: number,
  ) {}

  async take(cursor: BatchCursor): Promise<StreamedBatch> {
    const key = JSON.stringify(cursor);
    const ahead = this.#ahead?.key === key ? this.#ahead.batch : undefined;
    this.discard();
    const batch = await (ahead ?? this.read(cursor));
    if (batch.rows === this.limit && batch.lastCursor) {
      const next: BatchCursor = { after: batch.lastCursor };
      const promise = this.read(next);
      promise.catch(() => {}); // an unused or failed prefetch is simply read again
      this.#ahead = { key: JSON.stringify(next), batch: promise };
    }
    return batch;
  }

  discard(): void {
    this.#ahead = undefined;
  }
}
