import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { streamColumns, type BatchCursor, type BatchPlan } from '../db/batch-sql.js';
import { decodeBinaryCursor } from '../db/copy-binary.js';
import { BINARY_HEADER_MESSAGE, BINARY_TRAILER_MESSAGE, CopyMessageCutter } from '../db/copy-frames.js';
import { decodeCopyLine } from '../db/copy-text.js';
import type { CopiedBatch, CopyBatch } from '../db/repositories/remote-batch.repository.js';
import type { RemoteSource } from '../sources/index.js';

/** At most this many bytes of COPY text per source read (a window), rounded down to whole batches. */
export const WINDOW_BYTES = 32 * 2 ** 20;
/** A window's read is planned to last at most this share of the source's statement timeout. */
const WINDOW_SHARE_OF_TIMEOUT = 0.25;

/** A source read the batches of a first load take their rows from, in order. */
interface OpenWindow {
  /** The rows the read may yield: a whole number of batches. */
  readonly rows: number;
  /** Settles once the read is over: its COPY read to its end and its READ ONLY transaction ended. */
  readonly read: Promise<unknown>;
  /** Ends the read on the source (its connection closed) when the window is left unfinished. */
  readonly abort: AbortController;
  /** The COPY text, once the source's statement began. */
  readonly stream: Promise<Readable>;
  readonly openedAt: number;
  iterator?: AsyncIterator<Buffer>;
  /** Bytes read past the last row handed to a batch. */
  carry?: Buffer;
  /** Rows handed to batches. */
  handed: number;
  /** The source has no row left in this window. */
  ended: boolean;
  /** Cuts the window's stream of CopyData messages into batches. */
  readonly cutter: CopyMessageCutter;
}

/**
 * A full pass copied straight into an empty target from a PostgreSQL source, read in windows
 * (docs/adr/0021): one source `COPY (…) TO STDOUT` of several batches, cut at row boundaries into
 * batches of `batch_size` rows. Each batch still commits its rows with its checkpoint (the cursor of
 * its own last row) and its ledger row behind the fence, so a kill -9 anywhere loses and repeats
 * nothing: the rows of a window past the last commit are read again from that checkpoint.
 *
 * A read per batch cost the source a statement and a transaction each, and left it idle while the
 * target committed; a window keeps streaming into the socket while the target commits. The first
 * window is one batch; the next ones are sized from the rows seen so far: at most `WINDOW_BYTES` of
 * text, and a quarter of the source's statement timeout at the rate the batches took rows, so a
 * window of wide rows or a slow target never runs into the timeout.
 *
 * The window's COPY comes as the protocol's CopyData messages, one per row (docs/adr/0026): a batch is
 * the window's next `limit` messages, sent on to the target unopened, and its cursor is read from its
 * last message. Where every column has the same type on both sides the window reads binary instead
 * of text (docs/adr/0023); each binary batch is then a binary COPY of its own (header, tuples,
 * trailer).
 */
export class CopyWindow {
  readonly #source: RemoteSource;
  readonly #plan: BatchPlan;
  readonly #limit: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #onOpen: ((rows: number) => void) | undefined;
  /** Binary: where each cursor column is in a tuple, and its type. */
  readonly #binary: readonly { readonly index: number; readonly type: string }[] | undefined;
  /** Text: where each cursor column is in a row. */
  readonly #cursorAt: readonly number[];
  #window: OpenWindow | undefined;
  /** The cursor (as JSON) the open window's next batch starts at, once the last one was written. */
  #next: string | undefined;
  /** What the batches took so far, and how long the windows read to their end took: the next size. */
  #seen = { rows: 0, bytes: 0 };
  #timed = { rows: 0, ms: 0 };

  constructor(
    source: RemoteSource,
    plan: BatchPlan,
    options: {
      limit: number;
      statementTimeoutMs: number;
      now: () => number;
      /** Told the size of each window as it opens (for the run's log). */
      onOpen?: (rows: number) => void;
      /** Read in COPY's binary format (every stream column the same type on both sides). */
      binary?: boolean;
    },
  ) {
    this.#source = source;
    this.#plan = plan;
    this.#limit = options.limit;
    this.#timeoutMs = options.statementTimeoutMs;
    this.#now = options.now;
    this.#onOpen = options.onOpen;
    const order = streamColumns(plan);
    this.#cursorAt = plan.cursorColumns.map((c) => order.indexOf(c));
    this.#binary = options.binary
      ? plan.cursorColumns.map((c) => ({ index: order.indexOf(c), type: plan.targetTypes[c]! }))
      : undefined;
  }

  /** Whether the batch at `cursor` follows, in the open window, the batch this window handed out last. */
  continues(cursor: BatchCursor): boolean {
    return this.#window !== undefined && this.#next === JSON.stringify(cursor);
  }

  /**
   * The COPY (text, or binary with its own header and trailer) of the batch at `cursor`, as CopyData
   * messages: the open window's next rows when it stands exactly there, else the first rows of a new
   * window opened there (the old one is ended first). While the window has rows, up to `group.batches`
   * and until `group.ends()`, the COPY goes on with the window's next batches (docs/adr/0027). Its
   * `lastCursor`, `messages` and `batches` are known once its stream ended.
   */
  batchAt(cursor: BatchCursor, group: CopyGroup = ONE_BATCH): CopyBatch {
    const window = this.#window;
    const reuse =
      this.continues(cursor) &&
      (window!.ended || (window!.handed < window!.rows && this.#now() - window!.openedAt < this.#maxAgeMs()));
    this.#next = undefined;
    const own: TakenRows = {};
    const batch = Readable.from(this.#take(reuse ? window! : undefined, cursor, own, group), {
      objectMode: false,
    });
    // A batch whose write failed ends its window's read at once: the generator may be waiting for the
    // source's next chunk, and its own end (and so the stream's) waits for that.
    const destroy = batch._destroy.bind(batch);
    batch._destroy = (error, callback) => {
      if (!batch.readableEnded) own.window?.abort.abort();
      destroy(error, callback);
    };
    return {
      rows: batch,
      format: this.#binary ? 'binary' : 'text',
      messages: () => own.rows ?? 0,
      lastCursor: () => own.batches?.at(-1)?.lastCursor ?? null,
      batches: () => own.batches ?? [],
    };
  }

  /** A window older than half the source's statement timeout is not read on: a new one is opened. */
  #maxAgeMs(): number {
    return this.#timeoutMs > 0 ? this.#timeoutMs / 2 : Number.POSITIVE_INFINITY;
  }

  /** The batch handed out last was written up to `lastCursor`; its commit follows, or the run retries. */
  wrote(lastCursor: readonly string[] | null): void {
    if (lastCursor) this.#next = JSON.stringify({ after: lastCursor });
  }

  /** Leaves the window: a read the batches did not finish is ended on the source. */
  async close(): Promise<void> {
    this.#next = undefined;
    const window = this.#window;
    this.#window = undefined;
    if (!window) return;
    if (window.ended || window.handed === window.rows) {
      // Every row handed out: what is left is the end of the COPY. Read it, and let the read commit.
      try {
        const iterator = window.iterator ?? (await window.stream)[Symbol.asyncIterator]();
        while (!(await iterator.next()).done);
        await window.read;
        return;
      } catch {
        // failed at its very end: nothing more of it is used
      }
    }
    // Left early (its age, a pause, a failure): what it yielded still tells the next window's size.
    this.#timed.rows += window.handed;
    this.#timed.ms += this.#now() - window.openedAt;
    window.abort.abort();
    await window.read.catch(() => {});
  }

  #windowRows(): number {
    const { rows, bytes } = this.#seen;
    if (rows === 0) return this.#limit;
    const byBytes = WINDOW_BYTES / Math.max(1, bytes / rows);
    const timed = this.#timed;
    // No statement timeout: bytes alone. No duration measured yet (or a clock that stepped back): one
    // batch, as the first read.
    const byTime =
      this.#timeoutMs <= 0
        ? byBytes
        : timed.ms > 0
          ? ((this.#timeoutMs * WINDOW_SHARE_OF_TIMEOUT) / timed.ms) * timed.rows
          : this.#limit;
    return Math.max(1, Math.floor(Math.min(byBytes, byTime) / this.#limit)) * this.#limit;
  }

  #open(cursor: BatchCursor): OpenWindow {
    const abort = new AbortController();
    let attach!: (rows: Readable) => void;
    const stream = new Promise<Readable>((resolve) => (attach = resolve));
    const rows = this.#windowRows();
    this.#onOpen?.(rows);
    const read = this.#source.copyBatch!(
      this.#plan,
      cursor,
      rows,
      (copy) => {
        attach(copy);
        // The source's READ ONLY transaction stays open until the batches read the stream to its end.
        return finished(copy);
      },
      { form: 'columns', messages: true, signal: abort.signal, ...(this.#binary ? { binary: true } : {}) },
    );
    read.catch(() => {}); // observed by the batch reading from it, or by close()
    return {
      rows,
      read,
      abort,
      stream,
      openedAt: this.#now(),
      handed: 0,
      ended: false,
      cutter: new CopyMessageCutter(this.#binary !== undefined),
    };
  }

  /** The window at `cursor`: the open one to go on with, or a new one opened there. */
  async #enter(open: OpenWindow | undefined, cursor: BatchCursor, own: { window?: OpenWindow }) {
    let window = open;
    if (!window) {
      await this.close();
      window = this.#window = this.#open(cursor);
    }
    own.window = window;
    return window;
  }

  /** A batch's rows have been handed out: the next windows' size learns from them. */
  #handed(window: OpenWindow, rows: number, bytes: number): void {
    window.handed += rows;
    this.#seen.rows += rows;
    this.#seen.bytes += bytes;
    if (window.ended || window.handed === window.rows) {
      this.#timed.rows += window.handed;
      this.#timed.ms += this.#now() - window.openedAt;
    }
  }

  /**
   * A batch: the window's next `limit` rows as CopyData messages (in binary between header and
   * trailer), and the window's next batches after it while it has rows and the group allows.
   */
  async *#take(
    open: OpenWindow | undefined,
    cursor: BatchCursor,
    own: TakenRows,
    group: CopyGroup,
  ): AsyncGenerator<Buffer> {
    const window = await this.#enter(open, cursor, own);
    const cutter = window.cutter;
    const batches: CopiedBatch[] = (own.batches = []);
    let rows = 0;
    let bytes = 0;
    if (this.#binary) yield BINARY_HEADER_MESSAGE;
    for (let end = this.#limit; ; end += this.#limit) {
      while (rows < end && !window.ended) {
        const chunk = await this.#nextChunk(window);
        if (chunk === undefined) break;
        const cut = cutter.scan(chunk, end - rows);
        window.carry = cut.rest;
        if (cut.ended) window.ended = true;
        rows += cut.rows;
        for (const messages of cut.messages) {
          bytes += messages.length;
          yield messages;
        }
      }
      const taken = rows - (end - this.#limit);
      if (taken > 0) {
        batches.push({ rows: taken, lastCursor: this.#cursorOf(cutter.lastRow()!), sentAt: this.#now() });
      }
      own.rows = rows;
      const more =
        rows === end &&
        !window.ended &&
        window.handed + rows < window.rows &&
        batches.length < group.batches &&
        !group.ends();
      if (!more) break;
    }
    this.#handed(window, rows, bytes);
    if (this.#binary) yield BINARY_TRAILER_MESSAGE;
  }

  /** The cursor in a row's payload: a binary tuple, or a line of text with its newline. */
  #cursorOf(row: Buffer): string[] {
    if (this.#binary) return decodeBinaryCursor(row, this.#binary) as string[];
    const fields = decodeCopyLine(row.toString('utf8', 0, row.length - 1));
    return this.#cursorAt.map((i) => fields[i] as string);
  }

  /** What the last batch left of the window, else its next chunk; undefined (the window ended) at its end. */
  async #nextChunk(window: OpenWindow): Promise<Buffer | undefined> {
    const chunk = window.carry ?? (await this.#pull(window));
    window.carry = undefined;
    if (chunk === undefined) window.ended = true;
    return chunk;
  }

  /** The window's next chunk, or undefined at its end; a failed read throws the source's own error. */
  async #pull(window: OpenWindow): Promise<Buffer | undefined> {
    try {
      // A read that fails before its COPY began (no connection, a refused statement) has no stream.
      window.iterator ??= (await Promise.race([window.stream, window.read.then(notStarted)]))[
        Symbol.asyncIterator
      ]();
      const next = await window.iterator.next();
      return next.done ? undefined : (next.value as Buffer);
    } catch (error) {
      window.abort.abort(); // the read cannot go on: its connection is not left in the middle of a COPY
      await window.read; // rejects with the source's failure, as the source reports it
      throw error;
    }
  }
}

/**
 * How far one COPY into the target goes on with the next batches (a window's, or those a streamed
 * reader brings), all committed together (docs/adr/0027).
 */
export interface CopyGroup {
  /** At most this many batches, the first included. */
  readonly batches: number;
  /** Asked at each whole batch's end: true ends the group there (its time is up, a stop, a pause). */
  ends(): boolean;
}

/** One batch per COPY: what a window hands out when no group is asked for. */
const ONE_BATCH: CopyGroup = { batches: 1, ends: () => true };

/** What a batch's COPY took from its window, known once its stream ended. */
interface TakenRows {
  window?: OpenWindow;
  rows?: number;
  /** The batches of `limit` rows it was made of (the last may be shorter: the window's end). */
  batches?: CopiedBatch[];
}

function notStarted(): never {
  throw new Error('the source read ended before its COPY began');
}
