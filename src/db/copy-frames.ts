import { Readable, type Duplex, type ReadableOptions } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER, readBinaryHeader } from './copy-binary.js';

/**
 * A first load's COPY relayed through Node as the protocol's own messages (docs/adr/0026): the
 * source's CopyData messages go to the target as they came, unopened, and Node reads only their
 * five-byte headers.
 *
 * The wire protocol (PostgreSQL docs, "Message Flow — COPY Operations") says of copy-out mode: "the
 * backend sends a CopyOutResponse message to the frontend, followed by zero or more CopyData messages
 * (always one per row), followed by CopyDone". So a message is a row: a batch of `limit` rows is its
 * next `limit` messages, and its last row, for the cursor, is its last message's payload. In binary
 * the stream's header comes in the first message, ahead of the first tuple, and the trailer in a
 * message of its own. Copy-in mode takes data "divided into CopyData messages" at any boundary, so
 * the same messages are a valid COPY into the target: a binary batch is sent as a header message,
 * the source's messages, and a trailer message.
 *
 * The documented "one per row" is still checked, not trusted: the target counts what its COPY
 * inserted, and a batch whose count differs from its messages fails (`assertOneRowPerMessage`)
 * instead of committing a cursor that is not its last row's.
 */

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
/** A message's type byte and its length (which counts itself, not the type byte). */
const MESSAGE_HEADER = 5;

/** A CopyData message carrying `payload`. */
export function copyDataMessage(payload: Buffer): Buffer {
  const message = Buffer.allocUnsafe(MESSAGE_HEADER + payload.length);
  message[0] = COPY_DATA;
  message.writeUInt32BE(payload.length + 4, 1);
  payload.copy(message, MESSAGE_HEADER);
  return message;
}

/** A binary batch's first and last messages. */
export const BINARY_HEADER_MESSAGE = copyDataMessage(BINARY_COPY_HEADER);
export const BINARY_TRAILER_MESSAGE = copyDataMessage(BINARY_COPY_TRAILER);

/** The part of node-postgres's connection a COPY relay drives (not in its published types). */
interface PgConnection {
  readonly stream: Duplex;
  query(text: string): void;
}

/**
 * `COPY … TO STDOUT` read as its raw CopyData messages, header included: a readable stream of bytes
 * that are whole or partial CopyData messages in order and nothing else (a notice or parameter
 * status the server slips in is left out). Passed to `client.query` like pg-copy-streams' `to`, whose
 * way of taking over the connection's socket it follows: the socket's data is read here until
 * CopyDone, then handed back to node-postgres with whatever follows (CommandComplete,
 * ReadyForQuery), or from an ErrorResponse on, which node-postgres then reports as the query's error.
 */
export class CopyMessagesOut extends Readable {
  readonly text: string;
  #connection: PgConnection | undefined;
  #handler: ((chunk: Buffer) => void) | undefined;
  #onReadable = () => this.#forward();
  #wanted = false;
  #forwarding = false;
  /** The start of a message header that a socket chunk ended inside. */
  #head: Buffer | undefined;
  /** Bytes of the current message still to come: forwarded (CopyData) or skipped (anything else). */
  #left = 0;
  #forwardingMessage = false;

  constructor(text: string, options?: ReadableOptions) {
    super(options);
    this.text = text;
  }

  submit(connection: PgConnection): void {
    this.#connection = connection;
    const socket = connection.stream;
    const handlers = socket.listeners('data');
    if (handlers.length !== 1) throw new Error('the connection is not in a state to start a COPY');
    this.#handler = handlers[0] as (chunk: Buffer) => void;
    socket.removeListener('data', this.#handler);
    socket.pause();
    socket.on('readable', this.#onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.#wanted = true;
    this.#forward();
  }

  #forward(): void {
    const connection = this.#connection;
    if (this.#forwarding || !this.#wanted || !connection) return;
    this.#forwarding = true;
    let chunk: Buffer | null;
    while (this.#wanted && this.#connection && (chunk = connection.stream.read() as Buffer | null) !== null) {
      this.#wanted = this.#scan(chunk);
    }
    this.#forwarding = false;
  }

  /** Forwards the chunk's CopyData bytes; false when the reader wants no more for now. */
  #scan(input: Buffer): boolean {
    let chunk = input;
    let at = 0;
    let wanted = true;
    let from = -1;
    const send = (end: number) => {
      if (from >= 0 && end > from) wanted = this.push(chunk.subarray(from, end)) && wanted;
      from = -1;
    };
    while (at < chunk.length) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, chunk.length - at);
        if (this.#forwardingMessage && from < 0) from = at;
        at += take;
        this.#left -= take;
        continue;
      }
      if (this.#head || at + MESSAGE_HEADER > chunk.length) {
        // A header split between socket chunks: joined with the next chunk's first bytes.
        send(at);
        const head: Buffer = Buffer.concat([this.#head ?? Buffer.alloc(0), chunk.subarray(at)]);
        if (head.length < MESSAGE_HEADER) {
          this.#head = head;
          return wanted;
        }
        this.#head = undefined;
        chunk = head;
        at = 0;
        continue;
      }
      const type = chunk[at]!;
      const length = chunk.readUInt32BE(at + 1);
      if (type === COPY_DATA) {
        if (from < 0) from = at;
        this.#forwardingMessage = true;
        this.#left = length - 4;
        at += MESSAGE_HEADER;
        continue;
      }
      send(at);
      if (type === ERROR_RESPONSE) {
        this.#detach(chunk.subarray(at));
        return wanted;
      }
      at += MESSAGE_HEADER;
      if (type === COPY_DONE) {
        this.#detach(chunk.subarray(at));
        this.push(null);
        return false;
      }
      // CopyOutResponse, NoticeResponse, ParameterStatus, NotificationResponse: not COPY data.
      this.#forwardingMessage = false;
      this.#left = length - 4;
    }
    send(at);
    return wanted;
  }

  /** Gives the socket back to node-postgres, with the bytes it has not read yet. */
  #detach(unread: Buffer): void {
    const connection = this.#connection!;
    const socket = connection.stream;
    this.#connection = undefined;
    socket.removeListener('readable', this.#onReadable);
    socket.on('data', this.#handler!);
    if (unread.length > 0) this.#handler!(unread);
    // The socket may have been paused by reading it here; node-postgres reads it by 'data' events.
    process.nextTick(() => socket.resume());
  }

  handleError(error: Error): void {
    this.destroy(error);
  }

  /** The rows are counted by the target's COPY (`assertOneRowPerMessage`), not here. */
  handleCommandComplete(): void {}

  handleReadyForQuery(): void {}
}

/**
 * `COPY … FROM STDIN` fed with whole CopyData messages (those `CopyMessagesOut` read, and the
 * binary header and trailer messages): written to the socket as they are, not wrapped again.
 */
export function copyMessagesIn(text: string): ReturnType<typeof copyFrom> {
  const into = copyFrom(text) as ReturnType<typeof copyFrom> & {
    flushChunk(chunk: Buffer): boolean;
    connection: PgConnection;
  };
  into.flushChunk = (chunk: Buffer) => into.connection.stream.write(chunk);
  return into;
}

/** What `CopyMessageCutter.scan` found in one chunk. */
export interface CutMessages {
  /** Whole CopyData messages to send on, in order (a binary stream's header and trailer left out). */
  readonly messages: readonly Buffer[];
  /** Rows (messages) in `messages`. */
  readonly rows: number;
  /** What follows the `limit`-th row: the next batch's, scanned again then. */
  readonly rest: Buffer | undefined;
  /** The stream holds no more rows (binary: its trailer was reached). */
  readonly ended: boolean;
}

const NOTHING: CutMessages['messages'] = [];

/**
 * Cuts a stream of CopyData messages (`CopyMessagesOut`) into runs of whole messages, one row each,
 * reading only the message headers, and remembers the last row's payload (for the batch's cursor).
 * In binary, the stream's first message also holds the COPY header, read and checked here and cut
 * off; its trailer's message (a field count of -1) ends the rows.
 */
export class CopyMessageCutter {
  readonly #binary: boolean;
  /** The start of a message that the last chunk ended inside. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** The held message's whole size, or 0 while its header is not whole yet. */
  #heldSize = 0;
  /** Binary: the stream's first message, with the header, is still to come. */
  #first: boolean;
  #ended = false;
  #lastChunk: Buffer | undefined;
  #lastFrom = 0;
  #lastTo = 0;

  constructor(binary: boolean) {
    this.#binary = binary;
    this.#first = binary;
  }

  /** Scans `chunk` up to the end of its `limit`-th row at most (`limit` > 0). */
  scan(chunk: Buffer, limit: number): CutMessages {
    const messages: Buffer[] = [];
    let rows = 0;
    let at = 0;
    if (this.#heldBytes > 0) {
      const joined = this.#join(chunk);
      if (!joined) return { messages: NOTHING, rows: 0, rest: undefined, ended: false };
      at = joined.used;
      if (this.#message(joined.message, 0, joined.message.length, messages)) rows += 1;
    }
    let from = at;
    let holding = false;
    while (!this.#ended && rows < limit && at < chunk.length) {
      const end = at + MESSAGE_HEADER > chunk.length ? Infinity : at + 1 + this.#lengthAt(chunk, at);
      if (end > chunk.length) {
        this.#hold(chunk.subarray(at));
        holding = true;
        break;
      }
      if (this.#first || (this.#binary && isTrailer(chunk, at + MESSAGE_HEADER, end))) {
        if (at > from) messages.push(chunk.subarray(from, at));
        if (this.#message(chunk, at, end, messages)) rows += 1;
        from = end;
      } else {
        rows += 1;
        this.#lastChunk = chunk;
        this.#lastFrom = at + MESSAGE_HEADER;
        this.#lastTo = end;
      }
      at = end;
    }
    if (at > from) messages.push(chunk.subarray(from, at));
    const rest = !holding && at < chunk.length ? chunk.subarray(at) : undefined;
    return { messages, rows, rest, ended: this.#ended };
  }

  /** The payload of the last row scanned, or undefined before the first. */
  lastRow(): Buffer | undefined {
    return this.#lastChunk?.subarray(this.#lastFrom, this.#lastTo);
  }

  #lengthAt(chunk: Buffer, at: number): number {
    if (chunk[at] !== COPY_DATA) throw new Error('the source sent a message that is not COPY data');
    return chunk.readUInt32BE(at + 1);
  }

  /** Keeps the start of a message the chunk ended inside (its size, once its header is whole). */
  #hold(part: Buffer): void {
    this.#held = [part];
    this.#heldBytes = part.length;
    this.#heldSize = part.length >= MESSAGE_HEADER ? 1 + this.#lengthAt(part, 0) : 0;
  }

  /** Completes the held message from `chunk`: the whole message and the bytes of `chunk` it took. */
  #join(chunk: Buffer): { message: Buffer; used: number } | undefined {
    let used = 0;
    if (this.#heldSize === 0) {
      const head = Buffer.concat([...this.#held, chunk.subarray(0, MESSAGE_HEADER - this.#heldBytes)]);
      used = head.length - this.#heldBytes;
      this.#hold(head);
      if (this.#heldSize === 0) return undefined;
    }
    const need = this.#heldSize - this.#heldBytes;
    if (chunk.length - used < need) {
      this.#held.push(chunk.subarray(used));
      this.#heldBytes += chunk.length - used;
      return undefined;
    }
    const message = Buffer.concat([...this.#held, chunk.subarray(used, used + need)]);
    this.#held = [];
    this.#heldBytes = 0;
    this.#heldSize = 0;
    return { message, used: used + need };
  }

  /**
   * A message taken on its own (held across chunks, binary's first, a trailer): pushed to `messages`
   * when it holds a row; true when it did.
   */
  #message(chunk: Buffer, at: number, end: number, messages: Buffer[]): boolean {
    let from = at + MESSAGE_HEADER;
    const first = this.#first;
    if (first) {
      this.#first = false;
      from += readBinaryHeader(chunk.subarray(from, end));
    }
    if (this.#binary && isTrailer(chunk, from, end)) {
      this.#ended = true;
      return false;
    }
    // The stream's first message goes on without the header it carried.
    messages.push(first ? copyDataMessage(chunk.subarray(from, end)) : chunk.subarray(at, end));
    this.#lastChunk = chunk;
    this.#lastFrom = from;
    this.#lastTo = end;
    return true;
  }
}

/** Whether the payload `chunk[from, end)` is a binary COPY's trailer: a field count of -1. */
function isTrailer(chunk: Buffer, from: number, end: number): boolean {
  return end - from === 2 && chunk.readInt16BE(from) === -1;
}

/** The target's count of rows its COPY inserted must be the batch's count of messages. */
export function assertOneRowPerMessage(messages: number, inserted: number): void {
  if (messages !== inserted) {
    throw new Error(
      `the source's COPY sent ${messages} CopyData messages for ${inserted} rows: not one message per row, as the protocol documents`,
    );
  }
}
