/**
 * PostgreSQL's COPY binary format, as much of it as a first load copied straight from a PostgreSQL
 * source into the target needs (docs/adr/0023): the source's `COPY … TO STDOUT (FORMAT binary)` is cut
 * into batches at tuple boundaries without decoding a value, each batch sent to the target as a
 * binary COPY of its own, and only the batch's last tuple decoded, for its cursor.
 *
 * Format (PostgreSQL docs, "COPY — Binary Format"): an 11-byte signature `PGCOPY\n\377\r\n\0`, a
 * 32-bit flags field, a 32-bit header-extension length and that many bytes; then per tuple a 16-bit
 * field count and per field a 32-bit length (-1 for NULL) and that many bytes; a field count of -1
 * ends the data. All integers in network byte order.
 *
 * Binary pays where the target parses values: PostgreSQL reads a binary `timestamptz` or `numeric`
 * without the text parser (a 1,000,000-row COPY FROM of the benchmark's films took 0.39 s in binary
 * against 0.59-0.67 s in text on this machine). It needs the same type on both sides: a binary
 * value is read by the target column's own type, with no cast.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags 0 (no OIDs), no header extension. */
export const BINARY_COPY_HEADER = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
/** A field count of -1. */
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

const FIXED_HEADER = SIGNATURE.length + 8;

/**
 * Built-in types (as `format_type` names them, modifiers and array brackets removed) whose binary
 * form the target reads the same as the source wrote it. Left out on purpose: `reg*` types (a binary
 * value is the OID on the source server, the text a name); `interval` (PostgreSQL 17 writes an
 * infinite interval as extreme field values, which a target before 17 reads as a finite interval,
 * where its text would be refused); `money`; and every type without binary I/O. The target's type
 * must also be built in (its OID, not only its printed name: see `TargetShape.builtin`).
 */
const BINARY_TYPES = new Set([
  'boolean',
  'smallint',
  'integer',
  'bigint',
  'real',
  'double precision',
  'numeric',
  'text',
  'character varying',
  'character',
  'bytea',
  'date',
  'time without time zone',
  'time with time zone',
  'timestamp without time zone',
  'timestamp with time zone',
  'uuid',
  'json',
  'jsonb',
  'inet',
  'cidr',
  'macaddr',
]);

/** How a cursor column's binary value becomes the text the keyset compares with. */
const CURSOR_DECODERS: Readonly<Record<string, (value: Buffer) => string>> = {
  smallint: (v) => String(v.readInt16BE(0)),
  integer: (v) => String(v.readInt32BE(0)),
  bigint: (v) => v.readBigInt64BE(0).toString(),
  text: (v) => v.toString('utf8'),
  'character varying': (v) => v.toString('utf8'),
  uuid: (v) => {
    const hex = v.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  },
};

function baseType(formatted: string): string {
  return formatted
    .replace(/\(\d+(,\s?\d+)?\)/g, '')
    .replace(/(\[\])+$/, '')
    .trim();
}

/**
 * Whether a first load can travel in binary: every stream column has the same built-in type on the
 * source and in the target (`format_type` names, modifiers included), a type listed above, and every
 * cursor column a type whose value is decoded here. Otherwise the load goes in text, as before.
 */
export function binaryCopyFits(
  columns: readonly { readonly name: string; readonly sourceType: string; readonly targetType: string }[],
  cursorColumns: readonly string[],
): boolean {
  return columns.every(
    (c) =>
      c.sourceType === c.targetType &&
      BINARY_TYPES.has(baseType(c.sourceType)) &&
      (!cursorColumns.includes(c.name) ||
        (!c.sourceType.endsWith('[]') && baseType(c.sourceType) in CURSOR_DECODERS)),
  );
}

/** Decodes the cursor columns of one whole binary tuple (its field count first). */
export function decodeBinaryCursor(
  tuple: Buffer,
  positions: readonly { readonly index: number; readonly type: string }[],
): (string | null)[] {
  const fields: (Buffer | null)[] = [];
  const count = tuple.readInt16BE(0);
  let at = 2;
  for (let i = 0; i < count; i += 1) {
    const length = tuple.readInt32BE(at);
    at += 4;
    if (length < 0) {
      fields.push(null);
    } else {
      fields.push(tuple.subarray(at, at + length));
      at += length;
    }
  }
  return positions.map(({ index, type }) => {
    const value = fields[index];
    if (value === null || value === undefined) return null;
    const decode = CURSOR_DECODERS[baseType(type)];
    if (!decode) throw new Error(`no binary cursor decoder for ${type}`);
    return decode(value);
  });
}

/**
 * Where the tuple at `at` ends when the whole of it is in `chunk` (its field count is not the
 * trailer's), else 0.
 */
function wholeTuple(chunk: Buffer, at: number): number {
  const length = chunk.length;
  if (at + 2 > length) return 0;
  const count = chunk.readInt16BE(at);
  if (count < 0) return 0;
  let p = at + 2;
  for (let field = 0; field < count; field += 1) {
    if (p + 4 > length) return 0;
    const size = chunk.readInt32BE(p);
    p += 4;
    if (size > 0) {
      p += size;
      if (p > length) return 0;
    }
  }
  return p;
}

/** Where a tuple began: in the chunk being scanned from `from`, after earlier chunks' `parts`. */
interface TupleStart {
  parts: readonly Buffer[];
  from: number;
}

const NO_PARTS: readonly Buffer[] = [];

/** What `BinaryTupleCutter.scan` found in one chunk. */
export interface ScannedChunk {
  /** The bytes of whole or partial tuples to send on (the stream's header and trailer left out). */
  readonly bytes: Buffer;
  /** Tuples completed within `bytes`. */
  readonly tuples: number;
  /** What follows the `limit`-th tuple: the next batch's, scanned again then. */
  readonly rest: Buffer | undefined;
  /** The trailer was reached: the stream holds no more tuples. */
  readonly ended: boolean;
}

/**
 * Cuts a binary COPY stream into runs of whole tuples, chunk by chunk, reading only the header, the
 * field counts and the field lengths: a tuple or an integer may span chunks. Remembers the last whole
 * tuple (`lastTuple`), for the batch's cursor.
 */
export class BinaryTupleCutter {
  /** Header bytes still to read (the fixed part, then the extension). */
  #headerLeft = FIXED_HEADER;
  #header: Buffer[] = [];
  #inExtension = false;
  /** A field count's first byte, at the end of the last chunk: a tuple's start, or the trailer's. */
  #held: Buffer | undefined;
  /** A field length's bytes read so far, when it spans chunks. */
  #partial: Buffer | undefined;
  /** What is being read: a tuple's field count, a field's length, or a field's bytes. */
  #phase: 'count' | 'length' | 'data' = 'count';
  #fieldsLeft = 0;
  #dataLeft = 0;
  #tuple: TupleStart = { parts: NO_PARTS, from: 0 };
  /** The last whole tuple: earlier chunks' parts of it, then [from, to) of `#lastChunk`. */
  #lastParts: readonly Buffer[] = NO_PARTS;
  #lastChunk: Buffer | undefined;
  #lastFrom = 0;
  #lastTo = 0;
  #ended = false;

  /** Scans `input` up to the end of its `limit`-th whole tuple at most (`limit` > 0). */
  scan(input: Buffer, limit: number): ScannedChunk {
    let chunk = input;
    if (this.#held) {
      chunk = Buffer.concat([this.#held, input]);
      this.#held = undefined;
    }
    let at = this.#readHeader(chunk);
    const start = at;
    let tuples = 0;
    const cut = (end: number, rest?: Buffer): ScannedChunk => ({
      bytes: chunk.subarray(start, end),
      tuples,
      rest: rest && rest.length > 0 ? rest : undefined,
      ended: this.#ended,
    });
    while (at < chunk.length) {
      if (this.#phase === 'count') {
        // Whole tuples inside the chunk: read without the state machine (nothing allocated per field).
        const end = wholeTuple(chunk, at);
        if (end > 0) {
          this.#lastParts = NO_PARTS;
          this.#lastChunk = chunk;
          this.#lastFrom = at;
          this.#lastTo = end;
          at = end;
          tuples += 1;
          if (tuples === limit) return cut(at, chunk.subarray(at));
          continue;
        }
        if (at + 2 > chunk.length) {
          // Sent on with the next chunk, once it says whether a tuple or the trailer begins here.
          this.#held = Buffer.from(chunk.subarray(at));
          return cut(at);
        }
        const count = chunk.readInt16BE(at);
        if (count === -1) {
          this.#ended = true;
          return cut(at);
        }
        this.#tuple = { parts: NO_PARTS, from: at };
        at += 2;
        this.#fieldsLeft = count;
        this.#phase = 'length';
      } else if (this.#phase === 'length') {
        const length = this.#length(chunk, at);
        if (length === undefined) {
          at = chunk.length;
          break;
        }
        at = length.at;
        if (length.value > 0) {
          this.#dataLeft = length.value;
          this.#phase = 'data';
          continue;
        }
        this.#fieldsLeft -= 1; // NULL or empty
      } else {
        const take = Math.min(this.#dataLeft, chunk.length - at);
        at += take;
        this.#dataLeft -= take;
        if (this.#dataLeft > 0) break;
        this.#phase = 'length';
        this.#fieldsLeft -= 1;
      }
      if (this.#phase === 'length' && this.#fieldsLeft === 0) {
        this.#lastParts = this.#tuple.parts;
        this.#lastChunk = chunk;
        this.#lastFrom = this.#tuple.from;
        this.#lastTo = at;
        this.#phase = 'count';
        tuples += 1;
        if (tuples === limit) return cut(at, chunk.subarray(at));
      }
    }
    if (this.#phase !== 'count') {
      // The tuple goes on in the next chunk: keep what of it this one holds.
      this.#tuple = { parts: [...this.#tuple.parts, chunk.subarray(this.#tuple.from)], from: 0 };
    }
    return cut(at);
  }

  /** The last whole tuple scanned, or undefined before the first. */
  lastTuple(): Buffer | undefined {
    if (!this.#lastChunk) return undefined;
    return Buffer.concat([...this.#lastParts, this.#lastChunk.subarray(this.#lastFrom, this.#lastTo)]);
  }

  /** A field's length at `at`, or undefined when the chunk ends inside it. */
  #length(chunk: Buffer, at: number): { value: number; at: number } | undefined {
    if (this.#partial === undefined && at + 4 <= chunk.length)
      return { value: chunk.readInt32BE(at), at: at + 4 };
    const had = this.#partial ?? Buffer.alloc(0);
    const take = Math.min(4 - had.length, chunk.length - at);
    const bytes = Buffer.concat([had, chunk.subarray(at, at + take)]);
    if (bytes.length < 4) {
      this.#partial = bytes;
      return undefined;
    }
    this.#partial = undefined;
    return { value: bytes.readInt32BE(0), at: at + take };
  }

  /** Reads (and checks) the stream's header; returns where the chunk's tuples begin. */
  #readHeader(chunk: Buffer): number {
    let at = 0;
    while (this.#headerLeft > 0 && at < chunk.length) {
      const take = Math.min(this.#headerLeft, chunk.length - at);
      if (!this.#inExtension) this.#header.push(chunk.subarray(at, at + take));
      at += take;
      this.#headerLeft -= take;
      if (this.#headerLeft === 0 && !this.#inExtension) {
        const header = Buffer.concat(this.#header);
        // Flags bit 16: each tuple carries an OID (a server before PostgreSQL 12, asked WITH OIDS).
        if (
          !header.subarray(0, SIGNATURE.length).equals(SIGNATURE) ||
          header.readInt32BE(SIGNATURE.length) & (1 << 16)
        ) {
          throw new Error(
            'the source sent a COPY stream this reader cannot cut (no binary signature, or OIDs)',
          );
        }
        this.#inExtension = true;
        this.#headerLeft = header.readInt32BE(SIGNATURE.length + 4);
      }
    }
    return at;
  }
}
