import { classifyFailure, isSiphonError, SiphonError } from '../core/errors.js';

/** PostgreSQL: a refused login (class 28) or a database that does not exist (3D000). */
const PG_REFUSED = /^(28|3D000)/;
/** MySQL and MariaDB: access denied, unknown database, a host not allowed to connect. */
const MYSQL_REFUSED = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_NOT_SUPPORTED_AUTH_MODE',
]);

/**
 * How a failure of a remote source reaches the runner: a transient one (lost connection, restarting
 * server) unchanged, so the batch is retried; a refused login as SIPHON_ERR_CONNECTION_FAILED; any
 * other as SIPHON_ERR_SOURCE_QUERY naming `source_query`. Messages are the server's, which never hold
 * the password.
 */
export function asSourceFailure(error: unknown, connection: string): unknown {
  if (isSiphonError(error) || classifyFailure(error) === 'retryable') return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && (PG_REFUSED.test(code) || MYSQL_REFUSED.has(code))) {
    return new SiphonError(
      'SIPHON_ERR_CONNECTION_FAILED',
      `connection ${connection}: the server refused it: ${message}`,
      { field: 'source_connection', cause: error, details: { connection, code } },
    );
  }
  const sqlstate = (error as { sqlState?: unknown } | null)?.sqlState ?? code;
  return new SiphonError('SIPHON_ERR_SOURCE_QUERY', `source_query failed on ${connection}: ${message}`, {
    field: 'source_query',
    cause: error,
    details: { connection, ...(typeof sqlstate === 'string' ? { sqlstate } : {}) },
  });
}
