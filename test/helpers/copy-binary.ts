/** A tuple in COPY binary: its field count, then each field's length (-1: NULL) and bytes. */
export function tuple(fields: readonly (Buffer | null)[]): Buffer {
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

export const int4 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
