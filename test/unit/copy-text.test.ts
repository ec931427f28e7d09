import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  columnsOfCopyText,
  copyTextOf,
  CopyTextBuilder,
  CopyTextTail,
  decodeCopyField,
  decodeCopyLine,
  encodeCopyField,
} from '../../src/db/copy-text.js';

/** Streams `text` through a tail in chunks of `size` bytes; returns what came out and the last row. */
async function through(text: string, size: number) {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const tail = new CopyTextTail();
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    tail,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return { passed: Buffer.concat(out).toString('utf8'), last: tail.lastRow() };
}

describe('COPY text format', () => {
  it('decodes NULL, the escapes PostgreSQL writes, and leaves other text alone', () => {
    expect(decodeCopyField('\\N')).toBeNull();
    expect(decodeCopyField('N')).toBe('N');
    expect(decodeCopyField('NULL')).toBe('NULL');
    expect(decodeCopyField('a\\tb\\nc\\\\d\\re')).toBe('a\tb\nc\\d\re');
    expect(decodeCopyField('\\b\\f\\v')).toBe('\b\f\v');
    expect(decodeCopyField('ünïcødé ✓')).toBe('ünïcødé ✓');
    expect(decodeCopyLine('7\t\\N\tx\\ty')).toEqual(['7', null, 'x\ty']);
    expect(decodeCopyLine('')).toEqual(['']);
  });

  it.each([1, 2, 3, 7, 64, 1 << 16])(
    'passes every byte through and finds the last row with chunks of %i bytes',
    async (size) => {
      const text = '1\tfirst\n2\tsecond \\\\ é\n3\tlast\\tone ✓\t\\N\n';
      const { passed, last } = await through(text, size);
      expect(passed).toBe(text);
      expect(last).toEqual(['3', 'last\tone ✓', null]);
    },
  );

  it('has no last row when no row went through, and finds a single row', async () => {
    expect((await through('', 4)).last).toBeNull();
    expect((await through('42\tonly\n', 3)).last).toEqual(['42', 'only']);
  });
});

describe('COPY text written from streamed values', () => {
  it('escapes what COPY reads specially and round-trips every value, NULL included', async () => {
    expect(encodeCopyField(null)).toBe('\\N');
    expect(encodeCopyField('\\N')).toBe('\\\\N');
    expect(encodeCopyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(encodeCopyField('plain ✓')).toBe('plain ✓');
    const columns = [
      ['1', '2', '3'],
      ['tab\there', null, 'NULL'],
      ['back\\slash', 'new\nline', ''],
    ];
    const chunks: string[] = [];
    for await (const chunk of copyTextOf(columns, 3)) chunks.push(String(chunk));
    const lines = chunks.join('').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map(decodeCopyLine)).toEqual([
      ['1', 'tab\there', 'back\\slash'],
      ['2', null, 'new\nline'],
      ['3', 'NULL', ''],
    ]);
  });

  it('cuts a long batch into chunks of a thousand rows', async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => String(i));
    const chunks: string[] = [];
    for await (const chunk of copyTextOf([ids], ids.length)) chunks.push(String(chunk));
    expect(chunks.map((c) => c.split('\n').length - 1)).toEqual([1000, 1000, 500]);
  });
});

describe('COPY text written row by row (a MySQL batch)', () => {
  it('escapes what it must, writes verbatim columns as they are, suffixes non-NULL values', () => {
    const text = new CopyTextBuilder([{ verbatim: true }, {}, { verbatim: true, suffix: '+00' }]);
    text.add(['1', 'tab\there\\', '2025-01-01 00:00:00']);
    text.add(['2', null, null]);
    text.add(['3', '\\N', '2025-01-01 00:00:01.5']);
    expect(text.rows).toBe(3);
    const chunks = text.finish();
    expect(Buffer.concat(chunks).toString('utf8')).toBe(
      '1\ttab\\there\\\\\t2025-01-01 00:00:00+00\n2\t\\N\t\\N\n3\t\\\\N\t2025-01-01 00:00:01.5+00\n',
    );
    expect(columnsOfCopyText(chunks, 3)).toEqual([
      ['1', '2', '3'],
      ['tab\there\\', null, '\\N'],
      ['2025-01-01 00:00:00+00', null, '2025-01-01 00:00:01.5+00'],
    ]);
  });

  it('keeps whole lines in chunks of a thousand rows, multi-byte text included', () => {
    const text = new CopyTextBuilder([{ verbatim: true }, {}]);
    for (let i = 0; i < 2500; i += 1) text.add([String(i), `ünï ✓ 🎬 line\n${i}`]);
    const chunks = text.finish();
    expect(chunks.map((c) => c.toString('utf8').split('\n').length - 1)).toEqual([1000, 1000, 500]);
    const columns = columnsOfCopyText(chunks, 2);
    expect(columns[0]).toHaveLength(2500);
    expect(columns[1]![2499]).toBe('ünï ✓ 🎬 line\n2499');
  });

  it('writes nothing for an empty batch', () => {
    const text = new CopyTextBuilder([{}]);
    expect(text.rows).toBe(0);
    expect(text.finish()).toEqual([]);
    expect(columnsOfCopyText([], 1)).toEqual([[]]);
  });
});
