import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../src/db/copy-binary.js';
import {
  assertOneRowPerMessage,
  copyDataMessage,
  CopyMessageCutter,
  CopyMessagesOut,
} from '../../src/db/copy-frames.js';
import { int4, tuple } from '../helpers/copy-binary.js';

// NULLs, empty values, a field longer than most chunks, a tuple without fields.
const TUPLES = Array.from({ length: 23 }, (_, i) =>
  tuple(
    i === 11
      ? []
      : [int4(i), i % 4 === 0 ? null : Buffer.from(i % 5 === 0 ? '' : 'ü'.repeat(i % 7 === 0 ? 150 : i))],
  ),
);
const LINES = Array.from({ length: 23 }, (_, i) =>
  Buffer.from(`${i}\t${i % 4 === 0 ? '\\N' : 'x\\n\\t'.repeat(i % 7 === 0 ? 100 : i)}\n`),
);

/**
 * A binary COPY as PostgreSQL sends it: the header with the first tuple in one CopyData message
 * (header and trailer together when there is no tuple), each next tuple in its own, the trailer last.
 */
function binaryMessages(tuples: readonly Buffer[], extension = 0): Buffer {
  const header = Buffer.from(BINARY_COPY_HEADER);
  header.writeInt32BE(extension, 15);
  const head = Buffer.concat([header, Buffer.alloc(extension, 7)]);
  if (tuples.length === 0) return copyDataMessage(Buffer.concat([head, BINARY_COPY_TRAILER]));
  return Buffer.concat([
    copyDataMessage(Buffer.concat([head, tuples[0]!])),
    ...tuples.slice(1).map(copyDataMessage),
    copyDataMessage(BINARY_COPY_TRAILER),
  ]);
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** Cuts a stream arriving in `size`-byte chunks into batches of `limit` rows, as a window does. */
function cut(bytes: Buffer, size: number, limit: number, binary: boolean) {
  const cutter = new CopyMessageCutter(binary);
  const chunks = chunksOf(bytes, size);
  const batches: { bytes: Buffer; rows: number; last: Buffer | undefined }[] = [];
  let carry: Buffer | undefined;
  let next = 0;
  let ended = false;
  while (!ended) {
    const parts: Buffer[] = [];
    let rows = 0;
    while (rows < limit && !ended) {
      const chunk = carry ?? chunks[next++];
      carry = undefined;
      if (!chunk) {
        // Text has no trailer: the end of the stream ends it.
        ended = true;
        break;
      }
      const scanned = cutter.scan(chunk, limit - rows);
      parts.push(...scanned.messages);
      rows += scanned.rows;
      carry = scanned.rest;
      ended = scanned.ended;
    }
    batches.push({ bytes: Buffer.concat(parts), rows, last: rows > 0 ? cutter.lastRow() : undefined });
  }
  return batches;
}

/** The batches of `limit` rows a stream of `rows` should be cut into, each row's message whole. */
function expected(rows: readonly Buffer[], limit: number) {
  const batches: Buffer[][] = [];
  for (let at = 0; at < rows.length; at += limit) batches.push(rows.slice(at, at + limit));
  // A stream of whole batches ends with an empty one, as a read at the end of the source does.
  if (rows.length % limit === 0) batches.push([]);
  return batches;
}

describe('CopyMessageCutter', () => {
  it.each([1, 2, 3, 5, 6, 7, 13, 64, 100_000])(
    'cuts binary CopyData messages read in %i-byte chunks into batches of whole rows, header and trailer left out',
    (size) => {
      for (const limit of [1, 2, 3, 7, 23, 100]) {
        for (const extension of [0, 5]) {
          const batches = cut(binaryMessages(TUPLES, extension), size, limit, true);
          const want = expected(TUPLES, limit);
          expect(batches.map((b) => b.rows)).toEqual(want.map((e) => e.length));
          // The first tuple, sent with the header, goes on in a message of its own.
          expect(batches.map((b) => b.bytes)).toEqual(want.map((e) => Buffer.concat(e.map(copyDataMessage))));
          expect(batches.map((b) => b.last)).toEqual(want.map((e) => e.at(-1)));
        }
      }
    },
  );

  it.each([1, 4, 5, 6, 64, 100_000])(
    'cuts text CopyData messages read in %i-byte chunks, one row each',
    (size) => {
      for (const limit of [1, 3, 23, 100]) {
        const batches = cut(Buffer.concat(LINES.map(copyDataMessage)), size, limit, false);
        const want = expected(LINES, limit);
        expect(batches.map((b) => b.rows)).toEqual(want.map((e) => e.length));
        expect(batches.map((b) => b.bytes)).toEqual(want.map((e) => Buffer.concat(e.map(copyDataMessage))));
        expect(batches.map((b) => b.last)).toEqual(want.map((e) => e.at(-1)));
      }
    },
  );

  it('ends a binary COPY without rows at its first message', () => {
    for (const size of [1, 3, 100]) {
      expect(cut(binaryMessages([]), size, 10, true)).toEqual([
        { bytes: Buffer.alloc(0), rows: 0, last: undefined },
      ]);
    }
  });

  it('refuses a stream that is not CopyData messages, or binary without its signature', () => {
    expect(() => new CopyMessageCutter(false).scan(Buffer.from('1\tx\n'.repeat(3)), 1)).toThrow(
      /not COPY data/,
    );
    expect(() => new CopyMessageCutter(true).scan(copyDataMessage(Buffer.from('1\tx\n')), 1)).toThrow(
      /signature/,
    );
  });

  it('fails a batch whose rows were not one message each', () => {
    expect(() => assertOneRowPerMessage(10, 10)).not.toThrow();
    expect(() => assertOneRowPerMessage(10, 11)).toThrow(/not one message per row/);
  });
});

/** A server message: its type byte, its length (counting itself), its body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/**
 * `CopyMessagesOut` on a socket that delivers `bytes` in `size`-byte chunks, as node-postgres's
 * connection holds it: what it forwarded, and what it handed back to node-postgres's data handler.
 */
async function relay(bytes: Buffer, size: number) {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => handedBack.push(chunk));
  const sent: string[] = [];
  const copy = new CopyMessagesOut('COPY (SELECT 1) TO STDOUT');
  copy.submit({ stream: socket, query: (text: string) => sent.push(text) });
  for (const chunk of chunksOf(bytes, size)) socket.write(chunk);
  const forwarded: Buffer[] = [];
  for await (const chunk of copy) forwarded.push(chunk as Buffer);
  await new Promise((resolve) => setImmediate(resolve));
  return { sent, forwarded: Buffer.concat(forwarded), handedBack: Buffer.concat(handedBack) };
}

describe('CopyMessagesOut', () => {
  const rows = LINES.map(copyDataMessage);
  const notice = message('N', Buffer.from('SNOTICE\0Mrow 7\0\0', 'latin1'));
  const after = Buffer.concat([message('C', Buffer.from('COPY 23\0')), message('Z', Buffer.from('I'))]);
  const stream = Buffer.concat([
    message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0])),
    ...rows.slice(0, 7),
    notice,
    ...rows.slice(7),
    message('c', Buffer.alloc(0)),
    after,
  ]);

  it.each([1, 2, 4, 5, 6, 7, 64, 100_000])(
    'forwards only the CopyData messages of a socket read in %i-byte chunks, and hands back what follows CopyDone',
    async (size) => {
      const { sent, forwarded, handedBack } = await relay(stream, size);
      expect(sent).toEqual(['COPY (SELECT 1) TO STDOUT']);
      expect(forwarded).toEqual(Buffer.concat(rows));
      expect(handedBack).toEqual(after);
    },
  );

  it('hands an ErrorResponse, and what follows it, back to node-postgres', async () => {
    const error = Buffer.concat([
      message('E', Buffer.from('SERROR\0C22012\0Mdivision by zero\0\0', 'latin1')),
      message('Z', Buffer.from('I')),
    ]);
    for (const size of [1, 3, 100_000]) {
      const socket = new PassThrough();
      const handedBack: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => handedBack.push(chunk));
      const copy = new CopyMessagesOut('COPY (SELECT 1) TO STDOUT');
      copy.submit({ stream: socket, query: () => {} });
      const forwarded: Buffer[] = [];
      copy.on('data', (chunk: Buffer) => forwarded.push(chunk));
      for (const chunk of chunksOf(Buffer.concat([...rows.slice(0, 3), error]), size)) socket.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
      expect(Buffer.concat(forwarded)).toEqual(Buffer.concat(rows.slice(0, 3)));
      expect(Buffer.concat(handedBack)).toEqual(error);
    }
  });
});
