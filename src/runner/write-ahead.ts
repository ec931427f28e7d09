import type { Clock } from '../core/clock.js';
import type { BatchCursor } from '../db/batch-sql.js';
import { beginTransaction, type OpenTransaction, type Pool } from '../db/pool.js';
import { copyIntoTarget } from '../db/repositories/remote-batch.repository.js';
import type { BatchResult } from '../db/repositories/target.repository.js';
import { inSpan } from '../observability/index.js';
import type { CopyWindow } from './copy-window.js';
import type { ResolvedPlan } from './plan.js';

/** A batch whose rows are written, in its own open transaction, and not sealed yet. */
export interface WrittenBatch {
  readonly tx: OpenTransaction;
  readonly result: BatchResult;
}

/**
 * A first load's next batch written while the batch before it seals and commits (docs/adr/0026): the
 * window's next rows go into the target on a second connection, in a transaction of their own, as
 * soon as the batch before has written its rows. The loop seals it (fence, checkpoint, ledger) only
 * once the batch before has committed, so batches still commit one at a time and in order, each
 * with its own checkpoint: a kill -9 at any point leaves what it always left, the batches committed
 * so far. A written batch the loop does not seal (the one before failed or paused, the run stops) is
 * rolled back.
 *
 * Only a window's batches into an empty target are written ahead: they insert rows no other batch
 * has, so the two transactions never wait on each other (a key the source repeats across the two
 * fails the later one with 23505 once the earlier commits, as it would have in turn).
 */
export class WriteAhead {
  readonly #pool: Pool;
  readonly #clock: Clock;
  #pending:
    { readonly at: string; readonly began: number; readonly written: Promise<WrittenBatch> } | undefined;

  constructor(pool: Pool, clock: Clock) {
    this.#pool = pool;
    this.#clock = clock;
  }

  /** Begins writing the window's batch at `cursor` (the window stands there) in a transaction of its own. */
  start(plan: ResolvedPlan, window: CopyWindow, cursor: BatchCursor): void {
    const pool = this.#pool;
    const began = this.#clock.now();
    // Taken from the window now, not after BEGIN: a window the loop closes meanwhile ends this read
    // too, instead of this batch opening a new one.
    const batch = window.batchAt(cursor);
    const written = (async () => {
      let tx: OpenTransaction;
      try {
        // Every batch written ahead is a first load's next: committed without waiting for the WAL flush.
        tx = await beginTransaction(pool, { asyncCommit: true });
      } catch (error) {
        batch.rows.destroy();
        throw error;
      }
      try {
        const result = await inSpan('siphon.target.write', {}, () => copyIntoTarget(tx.client, plan, batch));
        window.wrote(result.lastCursor);
        return { tx, result };
      } catch (error) {
        await tx.rollback();
        throw error;
      }
    })();
    written.catch(() => {}); // observed by `take`, or dropped
    this.#pending = { at: JSON.stringify(cursor), began, written };
  }

  /**
   * The batch written ahead at `cursor` (rejecting as its write failed), if one was started there;
   * one started anywhere else is dropped.
   */
  async take(cursor: BatchCursor): Promise<{ began: number; written: Promise<WrittenBatch> } | undefined> {
    const pending = this.#pending;
    if (!pending) return undefined;
    if (pending.at !== JSON.stringify(cursor)) {
      await this.drop();
      return undefined;
    }
    this.#pending = undefined;
    return pending;
  }

  /**
   * Rolls back a batch written ahead and not taken, once its write ended (a window closed first ends
   * a write still reading from it).
   */
  async drop(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending)
      await pending.written.then(
        (w) => w.tx.rollback(),
        () => {},
      );
  }
}
