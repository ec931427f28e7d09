import { describe, expect, it } from 'vitest';
import {
  BINARY_COPY_HEADER,
  binaryCopyFits,
  BinaryTupleCutter,
  decodeBinaryCursor,
} from '../../src/db/copy-binary.js';

/** A tuple in COPY binary: its field count, then each field's length (-1: NULL) and bytes. */
function tuple(fields: readonly (Buffer | null)[]): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  return Buffer.concat([
    count,
    ...fields.map((f) => {
      const length = Buffer.alloc(4);
      length.writeInt32BE(f === null ? -1 : f.length);
      return f === null ? length : Buffer.concat([length, f]);
    }),
  ]);
}

const int4 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** A whole COPY binary stream as PostgreSQL writes it, with a header extension of `extension` bytes. */
function stream(tuples: readonly Buffer[], extension = 0): Buffer {
  const header = Buffer.from(BINARY_COPY_HEADER);
  header.writeInt32BE(extension, 15);
  return Buffer.concat([header, Buffer.alloc(extension, 7), ...tuples, Buffer.from([0xff, 0xff])]);
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** Cuts a stream arriving in `size`-byte chunks into batches of `limit` tuples, as a window does. */
function cut(bytes: Buffer, size: number, limit: number) {
  const cutter = new BinaryTupleCutter();
  const chunks = chunksOf(bytes, size);
  const batches: { bytes: Buffer; tuples: number; last: Buffer | undefined }[] = [];
  let carry: Buffer | undefined;
  let next = 0;
  let ended = false;
  while (!ended) {
    const parts: Buffer[] = [];
    let tuples = 0;
    while (tuples < limit && !ended) {
      const chunk = carry ?? chunks[next++];
      carry = undefined;
      if (!chunk) throw new Error('the stream ended before its trailer');
      const scanned = cutter.scan(chunk, limit - tuples);
      parts.push(scanned.bytes);
      tuples += scanned.tuples;
      carry = scanned.rest;
      ended = scanned.ended;
    }
    batches.push({ bytes: Buffer.concat(parts), tuples, last: tuples > 0 ? cutter.lastTuple() : undefined });
  }
  return batches;
}

// NULLs, empty values, a field longer than most chunks, a tuple without fields.
const TUPLES = Array.from({ length: 23 }, (_, i) =>
  tuple(
    i === 11
      ? []
      : [int4(i), i % 4 === 0 ? null : Buffer.from(i % 5 === 0 ? '' : 'ü'.repeat(i % 7 === 0 ? 150 : i))],
  ),
);

describe('BinaryTupleCutter', () => {
  it.each([1, 2, 3, 5, 7, 13, 64, 100_000])(
    'cuts a stream read in %i-byte chunks at tuple boundaries, header and trailer left out',
    (size) => {
      for (const limit of [1, 2, 3, 7, 23, 100]) {
        for (const extension of [0, 5]) {
          const batches = cut(stream(TUPLES, extension), size, limit);
          const expected: Buffer[][] = [];
          for (let at = 0; at < TUPLES.length; at += limit) expected.push(TUPLES.slice(at, at + limit));
          // A stream of whole batches ends with an empty one, as a read at the end of the source does.
          if (TUPLES.length % limit === 0) expected.push([]);
          expect(batches.map((b) => b.tuples)).toEqual(expected.map((e) => e.length));
          expect(batches.map((b) => b.bytes)).toEqual(expected.map((e) => Buffer.concat(e)));
          expect(batches.map((b) => b.last)).toEqual(expected.map((e) => e.at(-1)));
        }
      }
    },
  );

  it('refuses a stream without the binary signature, or with OIDs', () => {
    expect(() => new BinaryTupleCutter().scan(Buffer.from('1\tx\n'.repeat(10)), 1)).toThrow(/signature/);
    const withOids = stream(TUPLES);
    withOids.writeInt32BE(1 << 16, 11);
    expect(() => new BinaryTupleCutter().scan(withOids, 1)).toThrow(/OIDs/);
  });
});

describe('decodeBinaryCursor', () => {
  it('reads the cursor columns of a tuple as the text the keyset compares with', () => {
    const int2 = Buffer.alloc(2);
    int2.writeInt16BE(-5);
    const int8 = Buffer.alloc(8);
    int8.writeBigInt64BE(-9_007_199_254_740_993n);
    const uuid = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const row = tuple([int2, int4(-2_147_483_648), int8, Buffer.from('a\tü\\'), uuid, null]);
    const types = ['smallint', 'integer', 'bigint', 'character varying(20)', 'uuid', 'text'];
    expect(
      decodeBinaryCursor(
        row,
        types.map((type, index) => ({ index, type })),
      ),
    ).toEqual([
      '-5',
      '-2147483648',
      '-9007199254740993',
      'a\tü\\',
      '01234567-89ab-cdef-0123-456789abcdef',
      null,
    ]);
  });
});

describe('binaryCopyFits', () => {
  const column = (name: string, sourceType: string, targetType = sourceType) => ({
    name,
    sourceType,
    targetType,
  });

  it('takes the same built-in type on both sides, with a key it can decode', () => {
    const columns = [
      column('id', 'bigint'),
      column('title', 'character varying(40)'),
      column('rating', 'numeric(4,2)'),
      column('tags', 'text[]'),
      column('at', 'timestamp(3) with time zone'),
    ];
    expect(binaryCopyFits(columns, ['id'])).toBe(true);
    expect(binaryCopyFits(columns, ['title'])).toBe(true);
  });

  it('keeps text for another type in the target, a key it cannot decode, or a type whose binary differs', () => {
    expect(binaryCopyFits([column('id', 'integer', 'bigint')], ['id'])).toBe(false);
    expect(
      binaryCopyFits([column('v', 'numeric(4,2)', 'numeric(6,2)'), column('id', 'integer')], ['id']),
    ).toBe(false);
    expect(binaryCopyFits([column('day', 'date')], ['day'])).toBe(false);
    expect(binaryCopyFits([column('ids', 'integer[]')], ['ids'])).toBe(false);
    expect(binaryCopyFits([column('id', 'integer'), column('t', 'regclass')], ['id'])).toBe(false);
    expect(binaryCopyFits([column('id', 'integer'), column('m', 'money')], ['id'])).toBe(false);
    // PostgreSQL 17's infinite interval would reach an older target as a finite one.
    expect(binaryCopyFits([column('id', 'integer'), column('iv', 'interval')], ['id'])).toBe(false);
  });
});
