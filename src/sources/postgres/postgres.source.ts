import pg from 'pg';
import type { Readable } from 'node:stream';
import { to as copyTo } from 'pg-copy-streams';
import {
  buildCopyReadSql,
  buildCopyRowsSql,
  buildCountSql,
  buildKeyAtSql,
  normalizeSourceQuery,
  type BatchCursor,
  type BatchPlan,
} from '../../db/batch-sql.js';
import { CopyMessagesOut } from '../../db/copy-frames.js';
import { withTransaction, oneStatement } from '../../db/pool.js';
import { hasNullIncrementalKey, readBatchAsText } from '../../db/repositories/target.repository.js';
import {
  canonicalText,
  portableBucketDigests,
  rowsInPortableBuckets,
  summarize,
} from '../../db/repositories/reconcile.repository.js';
import { asSourceFailure } from '../source-errors.js';
import type {
  ConnectionProbe,
  CopyOptions,
  SourceSnapshot,
  OpenOptions,
  ReconcileShape,
  RemoteColumn,
  RemoteEndpoint,
  RemoteSource,
  RemoteSummary,
  SourceBatch,
} from '../source.js';
import { mapPostgresType } from './postgres.types.js';

/**
 * A PostgreSQL source. This file holds the remote dialect's SQL (the rule that SQL lives in
 * src/db/repositories has this one exception per source kind, see src/sources/README.md); the batch
 * read itself is the stream path's own statement (`readBatchAsText`), run on the remote server.
 *
 * Sessions open READ ONLY by default (`default_transaction_read_only`), in UTC (so `timestamptz` text
 * carries `+00`), with the statement timeout; each read is also its own `BEGIN READ ONLY` transaction.
 */
/** A failure of the local half of a COPY (`into`), told apart from the source's own. */
class LocalFailure extends Error {
  constructor(override readonly cause: unknown) {
    super('the local half of a copy failed');
  }
}

/** A lane's read joins the pass's snapshot: the first statement of its REPEATABLE READ transaction. */
async function importSnapshot(client: pg.PoolClient, id: string): Promise<void> {
  await client.query(`SET TRANSACTION SNAPSHOT ${client.escapeLiteral(id)}`);
}

export class PostgresSource implements RemoteSource {
  readonly #pool: pg.Pool;
  readonly #name: string;

  constructor(endpoint: RemoteEndpoint, options: OpenOptions) {
    this.#name = endpoint.name;
    this.#pool = new pg.Pool({
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database,
      user: endpoint.user,
      // A function, so the password is not an enumerable property of the pool's options.
      ...(endpoint.password === undefined ? {} : { password: () => endpoint.password! }),
      // Reads and a prefetch, plus one per parallel lane and the lanes' snapshot.
      max: (options.lanes ?? 1) > 1 ? 2 + options.lanes! : 2,
      application_name: options.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      // A statement timeout of 0 turns all three off (pg would otherwise give up on a read after 5 s).
      ...(options.statementTimeoutMs > 0
        ? {
            statement_timeout: options.statementTimeoutMs,
            query_timeout: options.statementTimeoutMs + 5_000,
            idle_in_transaction_session_timeout: options.statementTimeoutMs + 5_000,
          }
        : {}),
      // jit off: a keyset batch is short, and compiling it on every read cost more than running it.
      // Values travel as text and are cast back on Siphon's server: the settings that change a type's
      // text are pinned to what that cast reads (ISO dates, exact floats, postgres intervals, UTC), so
      // a source database set to `DateStyle = 'SQL, DMY'` cannot turn 2024-02-01 into January 2.
      options:
        '-c default_transaction_read_only=on -c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c jit=off',
    });
    this.#pool.on('error', () => {});
    this.#pool.on('connect', (client) => client.on('error', () => {}));
  }

  async #readOnly<T>(work: (client: pg.PoolClient) => Promise<T>, repeatableRead = false): Promise<T> {
    try {
      return await withTransaction(this.#pool, work, { readOnly: true, repeatableRead });
    } catch (error) {
      if (error instanceof LocalFailure) throw error.cause;
      throw asSourceFailure(error, this.#name);
    }
  }

  describe(sourceQuery: string): Promise<RemoteColumn[]> {
    return this.#readOnly(async (client) => {
      const result = await client.query(
        oneStatement(`SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s LIMIT 0`),
      );
      const { rows } = await client.query<{ name: string }>(
        'SELECT format_type(t.oid, t.mod) AS name FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS t(oid, mod, n) ORDER BY n',
        [result.fields.map((f) => f.dataTypeID), result.fields.map((f) => f.dataTypeModifier)],
      );
      return result.fields.map((f, i) => {
        const formatted = rows[i]?.name ?? 'unknown';
        const pgType = mapPostgresType(f.name, f.dataTypeID, formatted);
        return { name: f.name, sourceType: formatted, pgType, cursorType: pgType };
      });
    });
  }

  readBatch(plan: BatchPlan, cursor: BatchCursor, limit: number): Promise<SourceBatch> {
    return this.#readOnly((client) => readBatchAsText(client, plan, cursor, limit));
  }

  copyBatch<T>(
    plan: BatchPlan,
    cursor: BatchCursor,
    limit: number,
    into: (rows: Readable) => Promise<T>,
    options: CopyOptions = {},
  ): Promise<T> {
    // pg's client has no way to stop a COPY TO mid-stream: its socket is closed, the stream fails, and
    // the client is released as broken (no ROLLBACK can pass a COPY that has not ended).
    let end: (() => void) | undefined;
    const abort = () => end?.();
    options.signal?.addEventListener('abort', abort, { once: true });
    const read = this.#readOnly(async (client) => {
      if (options.snapshot) await importSnapshot(client, options.snapshot);
      const literal = (value: string) => client.escapeLiteral(value);
      const sql =
        options.form === 'columns'
          ? buildCopyRowsSql(plan, cursor, limit, literal, options.until)
          : buildCopyReadSql(plan, cursor, limit, literal, options.until);
      const format = options.form === 'columns' && options.binary ? ' (FORMAT binary)' : '';
      const text = `COPY (${sql}) TO STDOUT${format}`;
      const rows = client.query(
        options.form === 'columns' && options.messages ? new CopyMessagesOut(text) : copyTo(text),
      );
      end = () => (client as unknown as pg.Client).connection.stream.destroy();
      if (options.signal?.aborted) end();
      let remoteFailed = false;
      rows.once('error', () => (remoteFailed = true));
      try {
        return await into(rows);
      } catch (error) {
        if (!rows.readableEnded) end();
        // The local side's own failure (a key twice in a batch, a value the target refuses) is not
        // the source's: it reaches the runner as it is.
        throw remoteFailed ? error : new LocalFailure(error);
      } finally {
        end = undefined; // the client goes back to the pool: a late abort must not close it
      }
    }, options.snapshot !== undefined);
    return read.finally(() => options.signal?.removeEventListener('abort', abort));
  }

  async exportSnapshot(): Promise<SourceSnapshot> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The exporting transaction sits idle while the lanes read: only its end releases the snapshot.
      await client.query("SET LOCAL idle_in_transaction_session_timeout = '0'");
      const { rows } = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      const held = client;
      return {
        id: rows[0]!.id,
        release: async () => {
          const broken = await held.query('ROLLBACK').then(
            () => false,
            () => true,
          );
          held.release(broken || undefined);
        },
      };
    } catch (error) {
      client?.release(true);
      throw asSourceFailure(error, this.#name);
    }
  }

  splitPoints(plan: BatchPlan, lanes: number, minRows: number, snapshot: string): Promise<string[][]> {
    return this.#readOnly(async (client) => {
      await importSnapshot(client, snapshot);
      const { rows } = await client.query<{ n: string }>(oneStatement(buildCountSql(plan)));
      const count = Number(rows[0]!.n);
      if (count < minRows || lanes < 2) return [];
      const splits: string[][] = [];
      for (let lane = 1; lane < lanes; lane += 1) {
        const at = await client.query<{ key: string[] }>(buildKeyAtSql(plan), [
          Math.floor((count * lane) / lanes) - 1,
        ]);
        if (at.rows[0]) splits.push(at.rows[0].key);
      }
      return splits;
    }, true);
  }

  hasNullIncrementalKey(plan: BatchPlan): Promise<boolean> {
    return this.#readOnly((client) => hasNullIncrementalKey(client, plan));
  }

  /**
   * Reconcile reads: the very statements reconcile runs on the local target (reconcile.repository),
   * run here under the same text settings, so a PostgreSQL source renders values exactly as the target.
   */
  summarize(sourceQuery: string, key: string, incrementalKey: string | null): Promise<RemoteSummary> {
    return this.#readOnly(async (client) => {
      await canonicalText(client);
      return summarize(client, { query: sourceQuery }, key, incrementalKey);
    });
  }

  bucketDigests(shape: ReconcileShape): Promise<Map<number, string>> {
    return this.#readOnly(async (client) => {
      await canonicalText(client);
      return portableBucketDigests(client, { query: shape.sourceQuery }, shape);
    });
  }

  readBuckets(shape: ReconcileShape, buckets: readonly number[]): Promise<Array<Array<string | null>>> {
    return this.#readOnly(async (client) => {
      await canonicalText(client);
      return rowsInPortableBuckets(client, { query: shape.sourceQuery }, shape, buckets);
    });
  }

  probe(allowedSchemas: readonly string[]): Promise<ConnectionProbe> {
    return this.#readOnly(async (client) => {
      const { rows } = await client.query<{
        version: string;
        superuser: boolean;
        writable: string[] | null;
        create_in: string[] | null;
        create_schema: boolean;
      }>(
        `SELECT current_setting('server_version') AS version,
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
                (SELECT array_agg(n.nspname || '.' || c.relname ORDER BY n.nspname, c.relname)
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = ANY ($1::text[]) AND c.relkind IN ('r', 'p')
                    AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
                         OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))) AS writable,
                (SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace
                  WHERE nspname = ANY ($1::text[]) AND has_schema_privilege(oid, 'CREATE')) AS create_in,
                has_database_privilege(current_database(), 'CREATE') AS create_schema`,
        [allowedSchemas],
      );
      const row = rows[0]!;
      const warnings: string[] = [];
      if (row.superuser) warnings.push('the user is a superuser: it can write anything');
      if (row.writable?.length) {
        const shown = row.writable.slice(0, 5).join(', ');
        warnings.push(
          `the user may write ${row.writable.length} table(s): ${shown}${row.writable.length > 5 ? ', …' : ''}`,
        );
      }
      if (row.create_in?.length) warnings.push(`the user may create objects in ${row.create_in.join(', ')}`);
      if (row.create_schema) warnings.push('the user may create schemas in the database');
      return { serverVersion: `PostgreSQL ${row.version}`, readOnly: warnings.length === 0, warnings };
    });
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }
}

export function openPostgresSource(endpoint: RemoteEndpoint, options: OpenOptions): RemoteSource {
  const source = new PostgresSource(endpoint, options);
  if (options.copy !== false) return source;
  return {
    describe: (query) => source.describe(query),
    readBatch: (plan, cursor, limit) => source.readBatch(plan, cursor, limit),
    hasNullIncrementalKey: (plan) => source.hasNullIncrementalKey(plan),
    summarize: (query, key, incrementalKey) => source.summarize(query, key, incrementalKey),
    bucketDigests: (shape) => source.bucketDigests(shape),
    readBuckets: (shape, buckets) => source.readBuckets(shape, buckets),
    probe: (schemas) => source.probe(schemas),
    close: () => source.close(),
  };
}
