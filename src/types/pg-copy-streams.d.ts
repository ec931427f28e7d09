declare module 'pg-copy-streams' {
  import type { Readable, Writable } from 'node:stream';
  import type { Submittable } from 'pg';

  /** `COPY … TO STDOUT`: a readable stream of the server's COPY data, passed to `client.query`. */
  export function to(text: string): Submittable & Readable;
  /**
   * `COPY … FROM STDIN`: a writable stream into the server, passed to `client.query`; `rowCount` is
   * the server's count of rows copied, set when the stream has finished.
   */
  export function from(text: string): Submittable & Writable & { readonly rowCount: number };
}
