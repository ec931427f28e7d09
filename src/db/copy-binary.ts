/**
 * PostgreSQL's COPY binary format, as much of it as a first load copied straight from a PostgreSQL
 * source into the target needs (docs/adr/0023): the source's `COPY … TO STDOUT (FORMAT binary)` is cut
 * into batches at row boundaries without decoding a value (one CopyData message a row: copy-frames.ts,
 * docs/adr/0026), each batch sent to the target as a binary COPY of its own, and only the batch's
 * last tuple decoded, for its cursor.
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

/**
 * Checks the binary header at the start of `bytes` (a COPY's first message): the signature, and no
 * OIDs (flags bit 16: each tuple carries one, a server before PostgreSQL 12 asked WITH OIDS). Returns
 * the header's length, its extension included.
 */
export function readBinaryHeader(bytes: Buffer): number {
  if (
    bytes.length < FIXED_HEADER ||
    !bytes.subarray(0, SIGNATURE.length).equals(SIGNATURE) ||
    bytes.readInt32BE(SIGNATURE.length) & (1 << 16)
  ) {
    throw new Error('the source sent a COPY stream this reader cannot cut (no binary signature, or OIDs)');
  }
  return FIXED_HEADER + bytes.readInt32BE(SIGNATURE.length + 4);
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
