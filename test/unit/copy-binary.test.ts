import { describe, expect, it } from 'vitest';
import {
  BINARY_COPY_HEADER,
  binaryCopyFits,
  decodeBinaryCursor,
  readBinaryHeader,
} from '../../src/db/copy-binary.js';
import { int4, tuple } from '../helpers/copy-binary.js';

describe('readBinaryHeader', () => {
  it('reads the header with its extension, and refuses a stream without the signature, or with OIDs', () => {
    const header = Buffer.from(BINARY_COPY_HEADER);
    expect(readBinaryHeader(header)).toBe(19);
    header.writeInt32BE(5, 15);
    expect(readBinaryHeader(Buffer.concat([header, Buffer.alloc(5)]))).toBe(24);
    expect(() => readBinaryHeader(Buffer.from('1\tx\n'.repeat(10)))).toThrow(/signature/);
    const withOids = Buffer.from(BINARY_COPY_HEADER);
    withOids.writeInt32BE(1 << 16, 11);
    expect(() => readBinaryHeader(withOids)).toThrow(/OIDs/);
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
