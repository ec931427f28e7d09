import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { streamColumns, type BatchCursor, type BatchPlan } from '../db/batch-sql.js';
import {
  BINARY_COPY_HEADER,
  BINARY_COPY_TRAILER,
  BinaryTupleCutter,
  decodeBinaryCursor,
} from '../db/copy-binary.js';
import type { CopyBatch } from '../db/repositories/remote-batch.repository.js';
import type { RemoteSource } from '../sources/index.js';

const NEWLINE = 0x0a;

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
  /** In binary: cuts the window's stream at tuple boundaries. */
  cutter?: BinaryTupleCutter;
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
 * COPY text ends every row with a raw newline (a newline inside a value is escaped), so counting
 * newlines cuts the stream at row boundaries without decoding a row. Where every column has the same
 * type on both sides the window reads binary instead (docs/adr/0023), cut at tuple boundaries from
 * the field lengths; each batch is then a binary COPY of its own (header, tuples, trailer).
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
    this.#binary = options.binary
      ? plan.cursorColumns.map((c) => ({ index: order.indexOf(c), type: plan.targetTypes[c]! }))
      : undefined;
  }

  /** Whether the batch at `cursor` follows, in the open window, the batch this window handed out last. */
  continues(cursor: BatchCursor): boolean {
    return this.#window !== undefined && this.#next === JSON.stringify(cursor);
  }

  /**
   * The COPY (text, or binary with its own header and trailer) of the batch at `cursor`: the open
   * window's next rows when it stands exactly there, else the first rows of a new window opened there
   * (the old one is ended first). A binary batch's `lastCursor` is known once its rows ended.
   */
  batchAt(cursor: BatchCursor): CopyBatch {
    const window = this.#window;
    const reuse =
      this.continues(cursor) &&
      (window!.ended || (window!.handed < window!.rows && this.#now() - window!.openedAt < this.#maxAgeMs()));
    this.#next = undefined;
    const own: { window?: OpenWindow; lastCursor?: string[] | null } = {};
    const open = reuse ? window! : undefined;
    const binary = this.#binary;
    const batch = Readable.from(
      binary ? this.#takeBinary(open, cursor, own) : this.#take(open, cursor, own),
      {
        objectMode: false,
      },
    );
    // A batch whose write failed ends its window's read at once: the generator may be waiting for the
    // source's next chunk, and its own end (and so the stream's) waits for that.
    const destroy = batch._destroy.bind(batch);
    batch._destroy = (error, callback) => {
      if (!batch.readableEnded) own.window?.abort.abort();
      destroy(error, callback);
    };
    if (!binary) return { rows: batch, format: 'text' };
    return { rows: batch, format: 'binary', lastCursor: () => own.lastCursor ?? null };
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
      { form: 'columns', signal: abort.signal, ...(this.#binary ? { binary: true } : {}) },
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
      ...(this.#binary ? { cutter: new BinaryTupleCutter() } : {}),
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

  /** A batch in binary: a COPY of its own, the window's next `limit` tuples between header and trailer. */
  async *#takeBinary(
    open: OpenWindow | undefined,
    cursor: BatchCursor,
    own: { window?: OpenWindow; lastCursor?: string[] | null },
  ): AsyncGenerator<Buffer> {
    const window = await this.#enter(open, cursor, own);
    const cutter = window.cutter!;
    let rows = 0;
    let bytes = 0;
    yield BINARY_COPY_HEADER;
    while (rows < this.#limit && !window.ended) {
      const chunk = await this.#nextChunk(window);
      if (chunk === undefined) break;
      const scanned = cutter.scan(chunk, this.#limit - rows);
      window.carry = scanned.rest;
      if (scanned.ended) window.ended = true;
      rows += scanned.tuples;
      bytes += scanned.bytes.length;
      if (scanned.bytes.length > 0) yield scanned.bytes;
    }
    const last = rows > 0 ? cutter.lastTuple() : undefined;
    own.lastCursor = last ? (decodeBinaryCursor(last, this.#binary!) as string[]) : null;
    this.#handed(window, rows, bytes);
    yield BINARY_COPY_TRAILER;
  }

  async *#take(
    open: OpenWindow | undefined,
    cursor: BatchCursor,
    own: { window?: OpenWindow },
  ): AsyncGenerator<Buffer> {
    const window = await this.#enter(open, cursor, own);
    let rows = 0;
    let bytes = 0;
    while (rows < this.#limit && !window.ended) {
      let chunk = await this.#nextChunk(window);
      if (chunk === undefined) break;
      let at = 0;
      while (rows < this.#limit) {
        const end = chunk.indexOf(NEWLINE, at);
        if (end < 0) break;
        rows += 1;
        at = end + 1;
      }
      if (rows === this.#limit && at < chunk.length) {
        window.carry = chunk.subarray(at);
        chunk = chunk.subarray(0, at);
      }
      bytes += chunk.length;
      yield chunk;
    }
    this.#handed(window, rows, bytes);
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

function notStarted(): never {
  throw new Error('the source read ended before its COPY began');
}
