import { Readable, Transform, type TransformCallback } from 'node:stream';

/**
 * PostgreSQL's COPY text format, as much of it as a batch copied straight from a source server into
 * the target needs: the bytes pass through untouched, and only the last row is decoded, for the
 * batch's cursor (the keyset's next start), so the cursor is the source's own last row and nothing is
 * compared locally.
 *
 * Format (PostgreSQL docs, "COPY — Text Format"): one row per line ending in `\n`, fields separated by
 * a tab, NULL as `\N`, and a backslash escaping `\b \f \n \r \t \v \\`. COPY TO also documents
 * octal and hex escapes on input; PostgreSQL's output never writes them, so they are not decoded.
 */
const ESCAPES: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

/** One field of a COPY text row: its text, or null for `\N`. */
export function decodeCopyField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/gsu, (_, ch: string) => ESCAPES[ch] ?? ch);
}

/** The fields of one COPY text line (without its newline). */
export function decodeCopyLine(line: string): (string | null)[] {
  return line.split('\t').map(decodeCopyField);
}

const NEWLINE = 0x0a;

/**
 * A pass-through stream that remembers the last complete line of COPY text flowing through it (a
 * tab or a newline inside a value is always escaped, so a raw newline ends a row).
 */
export class CopyTextTail extends Transform {
  #pending: Buffer = Buffer.alloc(0);
  #last: Buffer | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const end = chunk.lastIndexOf(NEWLINE);
    if (end < 0) {
      this.#pending = Buffer.concat([this.#pending, chunk]);
    } else {
      const start = end === 0 ? -1 : chunk.lastIndexOf(NEWLINE, end - 1);
      this.#last =
        start >= 0
          ? Buffer.from(chunk.subarray(start + 1, end))
          : Buffer.concat([this.#pending, chunk.subarray(0, end)]);
      this.#pending = Buffer.from(chunk.subarray(end + 1));
    }
    done(null, chunk);
  }

  /** The last row's fields, or null when no row went through. */
  lastRow(): (string | null)[] | null {
    return this.#last === null ? null : decodeCopyLine(this.#last.toString('utf8'));
  }
}

const ENCODE: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value as a COPY text field: `\N` for NULL, backslash, tab, newline and carriage return escaped. */
export function encodeCopyField(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/u.test(value) ? value.replace(/[\\\t\n\r]/gu, (c) => ENCODE[c]!) : value;
}

/** Rows of column-major text values (a streamed batch) as COPY text, a thousand rows a chunk. */
export function copyTextOf(columns: readonly (readonly (string | null)[])[], rows: number): Readable {
  const CHUNK = 1000;
  return Readable.from(
    (function* lines() {
      for (let start = 0; start < rows; start += CHUNK) {
        let text = '';
        for (let r = start; r < Math.min(rows, start + CHUNK); r += 1) {
          text += `${columns.map((c) => encodeCopyField(c[r] ?? null)).join('\t')}\n`;
        }
        yield text;
      }
    })(),
  );
}
