import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { BatchCursor } from '../db/batch-sql.js';
import { CopyTextTail } from '../db/copy-text.js';

/**
 * A full pass into an empty target from a PostgreSQL source reads the next batch's COPY text while
 * the current one is written here (docs/adr/0020): the source's read of batch n + 1 runs during the
 * local COPY and commit of batch n, instead of after them. Reading is idempotent and commits nothing,
 * so a batch read ahead is only a copy of what a live read would return: it is used when the loop
 * stands exactly at its cursor and dropped otherwise (a retry, a hand-off, the last batch). At most one
 * batch is held beyond the one being written, as COPY text (bounded by batch_size, like a streamed
 * batch).
 */

export interface CopyText {
  /** The batch's COPY text, whole. */
  readonly text: Buffer;
  readonly rows: number;
  /** The last row's fields, or null for an empty batch. */
  readonly lastRow: (string | null)[] | null;
}

const NEWLINE = 0x0a;

/** Collects a source's COPY text (rows end with a newline; a newline inside a value is escaped). */
export async function collectCopyText(rows: Readable): Promise<CopyText> {
  const chunks: Buffer[] = [];
  let count = 0;
  const tail = new CopyTextTail();
  await pipeline(
    rows,
    tail,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) count += 1;
        done();
      },
    }),
  );
  return { text: Buffer.concat(chunks), rows: count, lastRow: tail.lastRow() };
}

export class CopyReadAhead {
  readonly #read: (cursor: BatchCursor) => Promise<CopyText>;
  readonly #limit: number;
  #ahead: { readonly key: string; readonly text: Promise<CopyText> } | undefined;

  constructor(read: (cursor: BatchCursor) => Promise<CopyText>, limit: number) {
    this.#read = read;
    this.#limit = limit;
  }

  /** The batch at `cursor` if it was read ahead (its read's failure is thrown by the promise). */
  take(cursor: BatchCursor): Promise<CopyText> | undefined {
    const ahead = this.#ahead;
    this.#ahead = undefined;
    return ahead && ahead.key === keyOf(cursor) ? ahead.text : undefined;
  }

  /** After a full batch, starts reading the one that follows it (a short batch ends the pass). */
  follow(rows: number, lastCursor: string[] | null): void {
    if (rows < this.#limit || lastCursor === null) return;
    const cursor: BatchCursor = { after: lastCursor };
    const text = this.#read(cursor);
    // Seen by the batch that takes it; one that is never taken fails nobody.
    text.catch(() => {});
    this.#ahead = { key: keyOf(cursor), text };
  }

  /** Forgets the batch read ahead (a failed batch: the loop may stand elsewhere when it retries). */
  discard(): void {
    this.#ahead = undefined;
  }
}

const keyOf = (cursor: BatchCursor) => JSON.stringify(cursor);
