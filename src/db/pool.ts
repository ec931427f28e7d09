import { createHash } from 'node:crypto';
import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: a pool, or a client inside a transaction the caller owns. */
export type Executor = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PoolOptions {
  readonly connectionString: string;
  readonly applicationName: string;
  readonly max?: number;
  readonly statementTimeoutMs?: number;
  /** Server-side kill switch for a session stuck inside a transaction (a frozen process). */
  readonly idleInTransactionTimeoutMs?: number;
}

const preparedNames = new Map<string, string>();

/**
 * A statement PostgreSQL parses and plans once per connection instead of on every call: a named
 * prepared statement, named after a hash of its text (so one text is one name on every connection,
 * and two texts never share one). For the fixed-text statements a sync step runs on every page —
 * measured with pgbench, the per-page statements took 0.62 ms prepared against 1.0 ms parsed and
 * planned each time (ADR 0018). Only for texts drawn from a bounded set: every distinct text stays
 * prepared on each connection for the connection's life. A pooler in transaction mode (PgBouncer
 * before 1.21) cannot carry named statements; Siphon's runners connect to PostgreSQL directly, as
 * graphile-worker, which prepares its own statements, already requires.
 */
export function prepared(text: string, values: readonly unknown[]): pg.QueryConfig<unknown[]> {
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `siphon_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    preparedNames.set(text, name);
  }
  return { name, text, values: values as unknown[] };
}

// bigint (int8) and numeric stay strings by default in pg; counters here fit a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 10,
    keepAlive: true,
    // Notice a half-open connection in seconds, not after the OS default of two hours.
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 10_000,
    ...(options.statementTimeoutMs
      ? // The server cancels a long statement; the client gives up on a silent socket a little later.
        { statement_timeout: options.statementTimeoutMs, query_timeout: options.statementTimeoutMs + 5_000 }
      : {}),
    ...(options.idleInTransactionTimeoutMs
      ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }
      : {}),
  });
  // A server restart or a terminated backend must not crash the process: the pool drops the client.
  pool.on('error', () => {});
  // Checked-out clients too (graphile-worker holds some for long): the query that hits it reports it.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * Runs `work` inside BEGIN/COMMIT on one client; rolls back on any error. `readOnly` opens the
 * transaction READ ONLY (source reads): PostgreSQL itself then refuses any write.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: {
    readOnly?: boolean;
    /** REPEATABLE READ (a snapshot exported or imported by the first statement of `work`). */
    repeatableRead?: boolean;
    /** Roll back even when `work` succeeds: a probe that must leave nothing behind. */
    rollback?: boolean;
    /**
     * COMMIT without waiting for the WAL to reach the disk (`synchronous_commit = off`, set with the
     * BEGIN in one round trip). Only for a transaction whose every effect may be lost together by a
     * server crash and done again (docs/adr/0021); `work` can ask to wait after all (`commitDurably`).
     */
    asyncCommit?: boolean;
  } = {},
): Promise<T> {
  const client = await pool.connect();
  // While checked out, a client has no pool listener: a server-side kill (idle-in-transaction timeout,
  // restart) between queries would be an unhandled 'error' event. The next query reports it instead.
  const onError = () => {};
  client.on('error', onError);
  let broken = false;
  try {
    const isolation = options.repeatableRead ? ' ISOLATION LEVEL REPEATABLE READ' : '';
    const local = options.asyncCommit ? '; SET LOCAL synchronous_commit = off' : '';
    await client.query(`BEGIN${isolation}${options.readOnly ? ' READ ONLY' : ''}${local}`);
    const result = await work(client);
    await client.query(options.rollback ? 'ROLLBACK' : 'COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken ? true : undefined);
  }
}

/** Makes this transaction's COMMIT wait as the server is configured to again, after `asyncCommit`. */
export async function commitDurably(tx: pg.PoolClient): Promise<void> {
  await tx.query('SET LOCAL synchronous_commit TO DEFAULT');
}

/** Returns a copy of `url` that logs in as `user` with `password`. */
export function urlForRole(url: string, user: string, password: string | undefined): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = password ? encodeURIComponent(password) : '';
  return parsed.toString();
}

/**
 * A query sent over the extended protocol even without parameters: PostgreSQL then accepts exactly
 * one statement, whatever the text holds. Used wherever user SQL is embedded (defence in depth
 * behind the parser guard).
 */
export function oneStatement(text: string, values: unknown[] = []): pg.QueryConfig {
  return { text, values, queryMode: 'extended' } as pg.QueryConfig;
}
