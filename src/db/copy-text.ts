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

/** How `CopyTextBuilder` writes a column's values. */
export interface CopyColumn {
  /**
   * Its type's text never holds a backslash, a tab or a line break (numbers, dates, times): each
   * value is written as it is, without looking for what to escape.
   */
  readonly verbatim?: boolean;
  /** Appended to every value that is not NULL (a MySQL TIMESTAMP read in UTC gets `+00`). */
  readonly suffix?: string;
}

const CHUNK_ROWS = 1000;

/**
 * Rows, one at a time as a client library reads them, written as COPY text in chunks of a thousand
 * rows. A batch is kept as its text instead of its rows: a first load from MySQL spent most of its
 * time in Node building rows, keeping them and collecting them (docs/benchmarks.md).
 */
export class CopyTextBuilder {
  readonly #verbatim: boolean[];
  readonly #suffix: string[];
  readonly #chunks: Buffer[] = [];
  #text = '';
  #rows = 0;

  constructor(columns: readonly CopyColumn[]) {
    this.#verbatim = columns.map((c) => c.verbatim === true);
    this.#suffix = columns.map((c) => c.suffix ?? '');
  }

  add(row: readonly (string | null)[]): void {
    let line = '';
    for (let c = 0; c < this.#verbatim.length; c += 1) {
      const value = row[c] ?? null;
      if (c > 0) line += '\t';
      line +=
        value === null ? '\\N' : (this.#verbatim[c] ? value : encodeCopyField(value)) + this.#suffix[c]!;
    }
    this.#text += `${line}\n`;
    this.#rows += 1;
    if (this.#rows % CHUNK_ROWS === 0) this.#flush();
  }

  /**
   * A chunk leaves the JavaScript heap as bytes at once: kept as a string, its thousands of pieces
   * (a string built by `+=` is a tree of them) would outlive many collections until the batch is
   * written.
   */
  #flush(): void {
    this.#chunks.push(Buffer.from(this.#text, 'utf8'));
    this.#text = '';
  }

  get rows(): number {
    return this.#rows;
  }

  /** The text, in chunks of a thousand rows (UTF-8); the builder is done. */
  finish(): readonly Buffer[] {
    if (this.#text !== '') this.#flush();
    return this.#chunks;
  }
}

/** Column-major values of COPY text (each chunk whole lines), `width` fields a line. */
export function columnsOfCopyText(chunks: readonly Buffer[], width: number): (string | null)[][] {
  const columns: (string | null)[][] = Array.from({ length: width }, () => []);
  for (const chunk of chunks) {
    const lines = chunk.toString('utf8').split('\n');
    lines.pop(); // after the last newline
    for (const line of lines) {
      const fields = decodeCopyLine(line);
      for (let c = 0; c < width; c += 1) columns[c]!.push(fields[c] ?? null);
    }
  }
  return columns;
}

/** Rows of column-major text values (a streamed batch) as COPY text, a thousand rows a chunk. */
export function copyTextOf(columns: readonly (readonly (string | null)[])[], rows: number): Readable {
  return Readable.from(
    (function* lines() {
      for (let start = 0; start < rows; start += CHUNK_ROWS) {
        let text = '';
        for (let r = start; r < Math.min(rows, start + CHUNK_ROWS); r += 1) {
          let line = '';
          for (let c = 0; c < columns.length; c += 1) {
            if (c > 0) line += '\t';
            line += encodeCopyField(columns[c]![r] ?? null);
          }
          text += `${line}\n`;
        }
        yield text;
      }
    })(),
  );
}
