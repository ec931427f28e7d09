/**
 * The one catalogue of error codes. Codes are stable and never reused; each has an HTTP status
 * for the API, a kind that tells the engine what to do with it, and a line in docs/errors.md.
 */
export type ErrorKind = 'input' | 'conflict' | 'not-found' | 'auth' | 'retryable' | 'fatal';

export const ERROR_CATALOGUE = {
  SIPHON_ERR_CONFIG_INVALID: { status: 500, kind: 'fatal', title: 'A configuration variable is invalid' },
  SIPHON_ERR_CLI_USAGE: { status: 400, kind: 'input', title: 'The command line is not understood' },
  SIPHON_ERR_DB_URL_INVALID: { status: 500, kind: 'fatal', title: 'DATABASE_URL is not a PostgreSQL URL' },
  SIPHON_ERR_DB_UNREACHABLE: { status: 503, kind: 'retryable', title: 'PostgreSQL cannot be reached' },
  SIPHON_ERR_DB_VERSION: { status: 500, kind: 'fatal', title: 'PostgreSQL is too old' },
  SIPHON_ERR_DB_ROLES: { status: 500, kind: 'fatal', title: 'The database roles cannot be provisioned' },
  SIPHON_ERR_EMBEDDED_DATA_DIR: {
    status: 500,
    kind: 'fatal',
    title: 'The embedded data directory cannot be used',
  },
  SIPHON_ERR_EMBEDDED_START: { status: 500, kind: 'fatal', title: 'The embedded PostgreSQL did not start' },
  SIPHON_ERR_PORT_IN_USE: { status: 500, kind: 'fatal', title: 'A port Siphon needs is already in use' },
  SIPHON_ERR_MIGRATE_LOCKED: { status: 409, kind: 'conflict', title: 'Another migration is running' },
  SIPHON_ERR_MIGRATE_CHECKSUM: { status: 500, kind: 'fatal', title: 'An applied migration was changed' },
  SIPHON_ERR_MIGRATE_FAILED: { status: 500, kind: 'fatal', title: 'A migration failed and was rolled back' },
  SIPHON_ERR_MIGRATE_PENDING: { status: 503, kind: 'fatal', title: 'Migrations have not been applied' },
  SIPHON_ERR_PIPELINE_NOT_FOUND: { status: 404, kind: 'not-found', title: 'No such pipeline' },
  SIPHON_ERR_PIPELINE_INVALID: { status: 422, kind: 'input', title: 'The pipeline configuration is invalid' },
  SIPHON_ERR_PIPELINE_NAME_TAKEN: {
    status: 409,
    kind: 'conflict',
    title: 'A pipeline with this name exists',
  },
  SIPHON_ERR_PIPELINE_TRANSITION: { status: 409, kind: 'conflict', title: 'The status does not allow this' },
  SIPHON_ERR_PIPELINE_DISABLED: { status: 409, kind: 'conflict', title: 'The pipeline is disabled' },
  SIPHON_ERR_PIPELINE_RUNNING_FIELD: {
    status: 409,
    kind: 'conflict',
    title: 'This field cannot change while RUNNING',
  },
  SIPHON_ERR_PIPELINE_VERSION: {
    status: 409,
    kind: 'conflict',
    title: 'The pipeline changed since you read it',
  },
  SIPHON_ERR_PIPELINE_VERSION_REQUIRED: {
    status: 428,
    kind: 'input',
    title: 'Say which version you are changing',
  },
  SIPHON_ERR_RUN_WAIT_TIMEOUT: { status: 504, kind: 'retryable', title: 'The run did not finish in time' },
  SIPHON_ERR_RUN_NOT_FOUND: { status: 404, kind: 'not-found', title: 'No such run' },
  SIPHON_ERR_INCIDENT_NOT_FOUND: { status: 404, kind: 'not-found', title: 'No such incident' },
  SIPHON_ERR_INCIDENT_TRANSITION: {
    status: 409,
    kind: 'conflict',
    title: "The incident's status does not allow this",
  },
  SIPHON_ERR_SQL_SYNTAX: { status: 422, kind: 'input', title: 'The SQL does not parse' },
  SIPHON_ERR_SQL_FORBIDDEN: {
    status: 422,
    kind: 'input',
    title: 'The SQL does something a pipeline may not do',
  },
  SIPHON_ERR_SQL_TOO_EXPENSIVE: {
    status: 422,
    kind: 'input',
    title: "The query's plan estimates more rows or cost than allowed",
  },
  SIPHON_ERR_TARGET_FORBIDDEN: {
    status: 422,
    kind: 'input',
    title: 'The target table is outside the allowed schemas',
  },
  SIPHON_ERR_SOURCE_QUERY: { status: 422, kind: 'fatal', title: 'The source query failed' },
  SIPHON_ERR_TARGET_SCHEMA: { status: 422, kind: 'fatal', title: 'The target table does not fit the source' },
  SIPHON_ERR_TARGET_WRITE: { status: 500, kind: 'fatal', title: 'The target refused a row (a constraint)' },
  SIPHON_ERR_BATCH_FAILED: { status: 500, kind: 'fatal', title: 'A batch failed in PostgreSQL' },
  SIPHON_ERR_BATCH_TIMEOUT: { status: 500, kind: 'fatal', title: 'A batch exceeded the statement timeout' },
  SIPHON_ERR_TASK_UNKNOWN: {
    status: 422,
    kind: 'input',
    title: 'A CODE task names an unregistered function',
  },
  SIPHON_ERR_TASK_FAILED: { status: 500, kind: 'fatal', title: 'A pipeline task failed' },
  SIPHON_ERR_RUNNER_LEASE_LOST: { status: 409, kind: 'conflict', title: 'The runner lost its lease' },
  SIPHON_ERR_RUNNER_LEASE_EXPIRED: {
    status: 500,
    kind: 'fatal',
    title: 'The runner owning this run stopped renewing it',
  },
  SIPHON_ERR_RUNNER_SHUTDOWN: {
    status: 503,
    kind: 'retryable',
    title: 'The runner shut down and handed the run over',
  },
  SIPHON_ERR_RUNNER_TRANSIENT: {
    status: 503,
    kind: 'retryable',
    title: 'A transient database failure outlasted its retries',
  },
  SIPHON_ERR_CONNECTOR_TRANSIENT: {
    status: 503,
    kind: 'retryable',
    title: 'The platform failed temporarily (5xx, timeout, dropped connection)',
  },
  SIPHON_ERR_CONNECTOR_RATE_LIMITED: {
    status: 429,
    kind: 'retryable',
    title: 'The platform asked to slow down (short-term rate limit)',
  },
  SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED: {
    status: 429,
    kind: 'retryable',
    title: "The platform's daily quota is spent until its reset",
  },
  SIPHON_ERR_CONNECTOR_AUTH: {
    status: 502,
    kind: 'auth',
    title: 'The platform refused the credential (API key or token)',
  },
  SIPHON_ERR_CONNECTOR_PERMISSION: {
    status: 502,
    kind: 'fatal',
    title: 'The credential may not read this resource',
  },
  SIPHON_ERR_CONNECTOR_NOT_FOUND: {
    status: 404,
    kind: 'not-found',
    title: 'The resource is gone or not readable (skip it)',
  },
  SIPHON_ERR_CONNECTOR_BAD_REQUEST: {
    status: 502,
    kind: 'fatal',
    title: 'The platform rejected the request as malformed',
  },
  SIPHON_ERR_SYNC_NO_CREDENTIAL: {
    status: 400,
    kind: 'fatal',
    title: "The runner has no credential for the social pipeline's platform",
  },
  SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE: {
    status: 404,
    kind: 'not-found',
    title: 'The platform does not show this account (not found, private, personal or suspended)',
  },
  SIPHON_ERR_QUOTA_RESERVED: {
    status: 429,
    kind: 'retryable',
    title: "A tier's sync waits: the rest of the day's quota is kept for faster tiers",
  },
  SIPHON_ERR_SYNC_FAILED: {
    status: 502,
    kind: 'fatal',
    title: 'Some accounts of a social sync run failed',
  },
  SIPHON_ERR_ENRICHMENT_FAILED: {
    status: 502,
    kind: 'fatal',
    title: 'The ML service failed an enrichment job',
  },
  SIPHON_ERR_ENRICHMENT_EXPIRED: {
    status: 504,
    kind: 'fatal',
    title: 'An enrichment item had no result by its deadline',
  },
  SIPHON_ERR_PIPELINE_NOT_SOCIAL: {
    status: 404,
    kind: 'not-found',
    title: 'The pipeline is not a social sync (it has no sync status)',
  },
  SIPHON_ERR_ACCOUNTS_INVALID: {
    status: 422,
    kind: 'input',
    title: 'An accounts import or change cannot be applied',
  },
  SIPHON_ERR_ACCOUNT_NOT_FOUND: { status: 404, kind: 'not-found', title: 'No such tracked account' },
  SIPHON_ERR_CONNECTION_INVALID: {
    status: 422,
    kind: 'input',
    title: 'The source connection configuration is invalid',
  },
  SIPHON_ERR_CONNECTION_NOT_FOUND: { status: 404, kind: 'not-found', title: 'No such source connection' },
  SIPHON_ERR_CONNECTION_NAME_TAKEN: {
    status: 409,
    kind: 'conflict',
    title: 'A source connection with this name exists',
  },
  SIPHON_ERR_CONNECTION_IN_USE: {
    status: 409,
    kind: 'conflict',
    title: 'Pipelines still read through this source connection',
  },
  SIPHON_ERR_CONNECTION_SECRET_MISSING: {
    status: 422,
    kind: 'fatal',
    title: "This process does not hold the connection's password (variable or secrets file entry)",
  },
  SIPHON_ERR_CONNECTION_FAILED: {
    status: 502,
    kind: 'fatal',
    title: 'The source server refused the connection (login, database, TLS)',
  },
  SIPHON_ERR_SOURCE_TYPE_UNMAPPED: {
    status: 422,
    kind: 'fatal',
    title: 'A source column has a type with no PostgreSQL counterpart',
  },
  SIPHON_ERR_AUTH_MISSING: { status: 401, kind: 'auth', title: 'A bearer token is required' },
  SIPHON_ERR_AUTH_INVALID: { status: 401, kind: 'auth', title: 'The bearer token is not valid' },
  SIPHON_ERR_AUTH_FORBIDDEN: { status: 403, kind: 'auth', title: 'This token may not do that' },
  SIPHON_ERR_CONSOLE_CSRF: {
    status: 403,
    kind: 'auth',
    title: "A console form lacks this session's form token, or came from another site",
  },
  SIPHON_ERR_REQUEST_INVALID: { status: 400, kind: 'input', title: 'The request is not valid' },
  SIPHON_ERR_REQUEST_TOO_LARGE: { status: 413, kind: 'input', title: 'The request body is over the limit' },
  SIPHON_ERR_ROUTE_NOT_FOUND: { status: 404, kind: 'not-found', title: 'No such endpoint' },
  SIPHON_ERR_INTERNAL: { status: 500, kind: 'fatal', title: 'Unexpected internal error' },
} as const satisfies Record<string, { status: number; kind: ErrorKind; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Longest error message stored on a run (etl_runs.error); longer ones are cut with an ellipsis. */
export const MAX_STORED_ERROR_LENGTH = 2000;

export class SiphonError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { field?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SiphonError';
    this.code = code;
    this.field = options.field;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  get kind(): ErrorKind {
    return ERROR_CATALOGUE[this.code].kind;
  }
}

export function isSiphonError(error: unknown): error is SiphonError {
  return error instanceof SiphonError;
}

export function truncateMessage(message: string, max = MAX_STORED_ERROR_LENGTH): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`;
}

/**
 * Where in a COPY PostgreSQL refused a value, from the error's context (`COPY t, line 2, column d:
 * "0000-01-01"`): the column and the row of the COPY (a batch's row), which its message alone does not
 * say (`date/time field value out of range: "0000-01-01"`). Undefined for any other error.
 */
export function copyFailureAt(error: unknown): { column?: string; row: number } | undefined {
  const where = (error as { where?: unknown } | null)?.where;
  if (typeof where !== 'string') return undefined;
  const at = /(?:^|\n)COPY [^\n]*?, line (\d+)(?:, column ([^:\n]+))?/.exec(where);
  if (!at) return undefined;
  return { row: Number(at[1]), ...(at[2] ? { column: at[2] } : {}) };
}

/**
 * A database error raised while running a person's source query (validate, reconcile) becomes a 422
 * SIPHON_ERR_SOURCE_QUERY naming the field; transient failures and SiphonErrors pass unchanged.
 */
export function asSourceQueryFailure(error: unknown): unknown {
  if (isSiphonError(error) || classifyFailure(error) === 'retryable') return error;
  const sqlstate = (error as { code?: unknown } | null)?.code;
  if (typeof sqlstate !== 'string' || !/^[0-9A-Z]{5}$/.test(sqlstate)) return error;
  return new SiphonError('SIPHON_ERR_SOURCE_QUERY', `source_query failed: ${(error as Error).message}`, {
    field: 'source_query',
    cause: error,
    details: { sqlstate },
  });
}

/** The SQLSTATE of a PostgreSQL error, also when it arrives wrapped in a SiphonError. */
export function sqlstateOf(error: unknown): string | undefined {
  const direct = (error as { code?: unknown } | null)?.code;
  if (typeof direct === 'string' && /^[0-9A-Z]{5}$/.test(direct)) return direct;
  if (error instanceof SiphonError) {
    const wrapped = error.details?.sqlstate ?? (error.cause as { code?: unknown } | undefined)?.code;
    return typeof wrapped === 'string' ? wrapped : undefined;
  }
  return undefined;
}

/**
 * PostgreSQL could not analyse a statement at all: SQLSTATE class 42 (an undefined table, column or
 * function, a permission on a schema, syntax an older server refuses) or 3F000 (no such schema).
 */
export function isUnresolvableSql(error: unknown): boolean {
  const sqlstate = sqlstateOf(error);
  return sqlstate !== undefined && (sqlstate.startsWith('42') || sqlstate === '3F000');
}

/** The path of the first string holding a NUL character (PostgreSQL refuses them in text), if any. */
export function findNulCharacter(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') || 'body' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = findNulCharacter(child, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** mysql2 error codes after which a read of a MySQL or MariaDB source may simply be tried again. */
const MYSQL_RETRYABLE = [
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'EHOSTUNREACH',
  'ENOTFOUND',
];

/** SQLSTATEs after which the same work may simply be tried again. */
const RETRYABLE_SQLSTATE = /^(08|25P03|40001|40P01|53|57P0[1-3])/;

/**
 * The code stored on a failed run for an error that is not a SiphonError: by SQLSTATE class — a
 * constraint of the target (23), the statement timeout (57014), anything else in the batch.
 */
export function runFailureCode(error: unknown): ErrorCode {
  if (isSiphonError(error)) return error.code;
  const sqlstate = (error as { code?: unknown } | null)?.code;
  if (typeof sqlstate === 'string' && sqlstate.startsWith('23')) return 'SIPHON_ERR_TARGET_WRITE';
  if (sqlstate === '57014') return 'SIPHON_ERR_BATCH_TIMEOUT';
  return 'SIPHON_ERR_BATCH_FAILED';
}

/** How the engine treats a failure: retry it (with backoff) or store it and stop. */
export function classifyFailure(error: unknown): 'retryable' | 'fatal' {
  if (isSiphonError(error)) return error.kind === 'retryable' ? 'retryable' : 'fatal';
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (RETRYABLE_SQLSTATE.test(code)) return 'retryable';
    if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return 'retryable';
    // A MySQL or MariaDB source (mysql2): the connection dropped, the server is going away or full.
    if (MYSQL_RETRYABLE.includes(code)) return 'retryable';
  }
  const message = error instanceof Error ? error.message : String(error);
  if (
    // `Query read timeout`: node-postgres gave up on a server that sent nothing for the statement
    // timeout and 5 s more (a session killed mid-COPY whose end never reached the client): the
    // connection is dropped and the idempotent read or the rolled-back batch is tried again.
    /Connection terminated|connection.*(closed|ended)|Client has encountered a connection error|closed state|Query read timeout/i.test(
      message,
    )
  ) {
    return 'retryable';
  }
  return 'fatal';
}
