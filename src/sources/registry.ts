import { allowedSchemasOf, isSystemSchema, type ConnectionKind } from '../core/connection-spec.schema.js';
import { SiphonError } from '../core/errors.js';
import type { SqlPolicy } from '../core/sql-policy.js';
import type { SecretResolver } from '../config/index.js';
import type { ConnectionRow } from '../db/repositories/connection.repository.js';
import { mysqlSourceKind } from './mysql/index.js';
import { postgresSourceKind } from './postgres/index.js';
import type { RemoteSource, SourceKind } from './source.js';

/** The source kinds by name; a connection of another kind cannot be stored (the table's CHECK). */
export const SOURCE_KINDS: Readonly<Record<ConnectionKind, SourceKind>> = {
  postgres: postgresSourceKind,
  mysql: mysqlSourceKind,
};

/** Lanes of a full pass into an empty target when SIPHON_REMOTE_LANES is not set. */
export const DEFAULT_LANES = 1;
/** How long a first load's transaction takes further batches when SIPHON_REMOTE_COMMIT_GROUP is not set. */
export const DEFAULT_COMMIT_GROUP_MS = 200;

/** What opening a connection needs: how to find its password, and the bounds of every remote read. */

export interface SourceDeps {
  readonly resolveSecret: SecretResolver;
  /** Statement timeout of every remote statement (SIPHON_STATEMENT_TIMEOUT). */
  readonly statementTimeoutMs: number;
  /** Shown on the source server (`application_name`, `program_name`). @default siphon */
  readonly applicationName?: string;
  /** A kind's COPY path when it has one. @default true */
  readonly copy?: boolean;
  /**
   * A first load by COPY travels in COPY's binary format where every column has the same type on
   * both sides (docs/adr/0023); off: always text, as the benchmark compares. @default true
   */
  readonly binaryCopy?: boolean;
  /**
   * Parallel lanes a full pass into an empty target is read in, when the kind can (PostgreSQL:
   * one exported snapshot) and the source has at least four batches per lane (SIPHON_REMOTE_LANES).
   * @default 1
   */
  readonly lanes?: number;
  /**
   * How long one transaction of a first load into an empty target goes on taking the next batches
   * into the same COPY, all committed together (docs/adr/0027, SIPHON_REMOTE_COMMIT_GROUP); 0: one
   * batch each.
   * @default DEFAULT_COMMIT_GROUP_MS
   */
  readonly commitGroupMs?: number;
}

/** Opens a connection's source (a small pool, nothing sent yet); the caller closes it. */
export function openSource(deps: SourceDeps, connection: ConnectionRow): RemoteSource {
  const password = deps.resolveSecret(connection);
  return SOURCE_KINDS[connection.kind].open(
    {
      name: connection.name,
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password,
    },
    {
      statementTimeoutMs: deps.statementTimeoutMs,
      applicationName: deps.applicationName ?? 'siphon',
      ...(deps.copy === undefined ? {} : { copy: deps.copy }),
      lanes: deps.lanes ?? DEFAULT_LANES,
    },
  );
}

/** The dialect's parser check of a source query for this connection (its allowed schemas). */
export async function assertSafeRemoteQuery(
  connection: ConnectionRow,
  sql: string,
  policy: SqlPolicy,
  field = 'source_query',
): Promise<void> {
  const kind = SOURCE_KINDS[connection.kind];
  if (!kind) {
    throw new SiphonError('SIPHON_ERR_CONNECTION_INVALID', `unknown connection kind ${connection.kind}`, {
      field: 'kind',
    });
  }
  if (connection.kind === 'mysql' && isSystemSchema(connection.database)) {
    // A table named without its database is read from the connection's own.
    throw new SiphonError(
      'SIPHON_ERR_SQL_FORBIDDEN',
      `${field}: connection "${connection.name}" opens the system database ${connection.database}, which a source query never reads`,
      { field },
    );
  }
  await kind.assertSafeQuery(sql, allowedSchemasOf(connection), policy, field);
}

/** Runs `work` on an opened source and always closes it. */
export async function withSource<T>(
  deps: SourceDeps,
  connection: ConnectionRow,
  work: (source: RemoteSource) => Promise<T>,
): Promise<T> {
  const source = openSource(deps, connection);
  try {
    return await work(source);
  } finally {
    await source.close();
  }
}
