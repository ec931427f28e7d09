import type { Readable } from 'node:stream';
import type { ConnectionKind } from '../core/connection-spec.schema.js';
import type { SqlPolicy } from '../core/sql-policy.js';
import type { BatchCursor, BatchPlan } from '../db/batch-sql.js';

/**
 * The source-kind contract: what the runner, the pipeline checks and the connection test need of a
 * server other than Siphon's own database. One sibling folder per kind (`postgres/`, `mysql/`), each
 * with a `*.source.ts` (the client: the remote dialect's SQL lives there and only there), a pure
 * `*.types.ts` (the source type → PostgreSQL type table) and a `*.guard.ts` (the dialect's parser
 * check of a source query).
 *
 * Rules for a kind:
 * - Every read runs in a READ ONLY transaction under the statement timeout it was opened with; nothing
 *   a source does writes on the remote server.
 * - Values travel as text (PostgreSQL's input syntax for the mapped type), binary as `\x…` hex, so the
 *   local write casts them back exactly as the stream path does.
 * - The keyset is evaluated by the remote server: `WHERE (cursor columns) > (last values) ORDER BY
 *   cursor columns LIMIT n`, so the order is the source's own (its collation), never compared locally.
 * - A lost connection or a restarting server surfaces as an error `classifyFailure` calls retryable;
 *   an error of the query itself becomes SIPHON_ERR_SOURCE_QUERY; a refused login
 *   SIPHON_ERR_CONNECTION_FAILED.
 */

/** A result column of a remote source query and its PostgreSQL counterpart. */
export interface RemoteColumn {
  readonly name: string;
  /** The type as the source server names it (`int unsigned`, `timestamp with time zone`). */
  readonly sourceType: string;
  /** The PostgreSQL type of the target column created for it. */
  readonly pgType: string;
  /**
   * The PostgreSQL type in which the cursor value as read is written (lookback arithmetic). Usually
   * `pgType`; a MySQL TIMESTAMP is read as UTC wall-clock time: `timestamp`.
   */
  readonly cursorType: string;
}

/** One batch read from the source: column-major text values (streamColumns order) and the last cursor. */
export interface SourceBatch {
  readonly columns: string[][];
  readonly rows: number;
  readonly lastCursor: string[] | null;
  /**
   * The same rows as COPY text (streamColumns order), when the kind writes it more cheaply than from
   * `columns` (MySQL: from the rows as read, without turning them into columns). Used by a full pass
   * into an empty target; `columns` is then never built.
   */
  copyText?(): Readable;
}

export interface CopyOptions {
  /** `array` (default): one `text[]` per row; `columns`: the stream columns in the source's types. */
  readonly form?: 'array' | 'columns';
  /** With `columns`: COPY's binary format (`FORMAT binary`) instead of text (docs/adr/0023). */
  readonly binary?: boolean;
  /**
   * With `columns`: the stream is the COPY's raw CopyData messages, one row each (`CopyMessagesOut`,
   * docs/adr/0026), not their payloads joined.
   */
  readonly messages?: boolean;
  /** Read in this exported snapshot (`exportSnapshot`). */
  readonly snapshot?: string;
  /** A lane's last key, inclusive. */
  readonly until?: readonly string[];
  /**
   * Ends the read where it stands: its connection to the source is closed (a COPY that streams cannot
   * be stopped otherwise), and the read rejects. For a read left unfinished on purpose (`CopyWindow`).
   */
  readonly signal?: AbortSignal;
}

/** A snapshot held open on the source for a pass's lanes. */
export interface SourceSnapshot {
  readonly id: string;
  release(): Promise<void>;
}

/** What `connections test` reports (never a password). */
export interface ConnectionProbe {
  readonly serverVersion: string;
  /** False when the credential may write, create or is a superuser on the source: `warnings` say what. */
  readonly readOnly: boolean;
  readonly warnings: string[];
}

/** Reconcile: row count and the range of the first key (and incremental key) as PostgreSQL text. */
export interface RemoteSummary {
  readonly rows: number | string;
  readonly key_min: string | null;
  readonly key_max: string | null;
  readonly inc_min: string | null;
  readonly inc_max: string | null;
}

/** What a reconcile compares: the source query, its key and compared columns, the bucket count. */
export interface ReconcileShape {
  readonly sourceQuery: string;
  readonly keys: readonly string[];
  /** The compared columns, keys among them, in this order on both sides. */
  readonly columns: readonly string[];
  readonly buckets: number;
}

/** An open source: one small pool on the remote server, closed by `close()`. */
export interface RemoteSource {
  /** The result columns of a source query, without reading a row (LIMIT 0). */
  describe(sourceQuery: string): Promise<RemoteColumn[]>;
  /** The next `limit` rows after `cursor`, in keyset order, as text. */
  readBatch(plan: BatchPlan, cursor: BatchCursor, limit: number): Promise<SourceBatch>;
  /**
   * Optional fast path (PostgreSQL): the same batch as `readBatch`, as `COPY (…) TO STDOUT` text handed
   * to `into` while the source's READ ONLY transaction stays open. Rows are never parsed in Node.
   * `options.form` `array`: one `text[]` of the stream columns per row (copied into the batch
   * transaction's staging table, then merged); `columns`: the stream columns themselves, in the
   * source's types (copied straight into an empty target, `copyIntoTarget`).
   */
  copyBatch?<T>(
    plan: BatchPlan,
    cursor: BatchCursor,
    limit: number,
    into: (rows: Readable) => Promise<T>,
    options?: CopyOptions,
  ): Promise<T>;
  /**
   * Optional (PostgreSQL), with `copyBatch`: a full pass read in parallel lanes. Opens a REPEATABLE
   * READ transaction holding a snapshot the lanes' reads import (`pg_export_snapshot`), until
   * `release`.
   */
  exportSnapshot?(): Promise<SourceSnapshot>;
  /**
   * Keys cutting the source's rows into `lanes` ranges of about equal size (each split is the last key
   * of a lane), read in `snapshot`; none when the source has fewer than `minRows` rows.
   */
  splitPoints?(plan: BatchPlan, lanes: number, minRows: number, snapshot: string): Promise<string[][]>;
  /** Whether the source has rows whose incremental key is NULL (no keyset can reach them). */
  hasNullIncrementalKey(plan: BatchPlan): Promise<boolean>;
  /**
   * Reconcile across servers (docs/adr/0016, "Reconcile"). Each of these is computed by the source
   * server, in a READ ONLY transaction, after `describe`. A value's text here is PostgreSQL's text of the
   * mapped type (UTC, ISO dates, `\x` hex bytes) as far as the dialect can render it; a rendering the
   * dialect cannot match only makes a bucket differ, and its rows are then compared locally.
   */
  summarize(sourceQuery: string, key: string, incrementalKey: string | null): Promise<RemoteSummary>;
  /**
   * Per bucket: `rows:sum1:sum2`. The bucket of a row is the first 32 bits of md5 of its framed key
   * text modulo `buckets`; sum1 and sum2 add up two 60-bit pieces of md5 of its framed row text
   * (`length:text` per value, `-` for NULL). Rows never leave the server.
   */
  bucketDigests(shape: ReconcileShape): Promise<Map<number, string>>;
  /** The rows of the given buckets, each value as the text a run writes (`shape.columns` order). */
  readBuckets(shape: ReconcileShape, buckets: readonly number[]): Promise<Array<Array<string | null>>>;
  /** Server version and whether the credential can write (the connection test). */
  probe(allowedSchemas: readonly string[]): Promise<ConnectionProbe>;
  close(): Promise<void>;
}

/** Where and as whom to connect; the password is resolved from its reference by the caller. */
export interface RemoteEndpoint {
  /** The connection's name, for messages. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string | undefined;
}

export interface OpenOptions {
  /** Every remote statement is cancelled by the server after this long. */
  readonly statementTimeoutMs: number;
  /** Shown to the source's administrators (`application_name`, connection attributes). */
  readonly applicationName: string;
  /** Giving up on connecting. @default 10 s */
  readonly connectTimeoutMs?: number;
  /** Use the kind's COPY path when it has one (off: read rows, as the benchmark compares). @default true */
  readonly copy?: boolean;
  /** Parallel lanes a full pass may be read in (connections to keep beyond the usual two). @default 1 */
  readonly lanes?: number;
}

/** One kind of source server. */
export interface SourceKind {
  readonly kind: ConnectionKind;
  /**
   * The dialect's parser check of a source query: one read-only SELECT over the allowed schemas,
   * allowed functions only. Throws SIPHON_ERR_SQL_SYNTAX or SIPHON_ERR_SQL_FORBIDDEN naming `field`.
   */
  assertSafeQuery(
    sql: string,
    allowedSchemas: readonly string[],
    policy: SqlPolicy,
    field?: string,
  ): Promise<void>;
  open(endpoint: RemoteEndpoint, options: OpenOptions): RemoteSource;
}
