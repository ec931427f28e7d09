import { clockOf, type Clock } from '../core/clock.js';
import { allowedSchemasOf, parseConnectionSpec } from '../core/connection-spec.schema.js';
import { isSiphonError, SiphonError, type ErrorCode } from '../core/errors.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import {
  deleteConnectionRow,
  findConnection,
  insertConnection,
  listConnections as listConnectionRows,
  pipelinesUsingConnection,
  type ConnectionRow,
} from '../db/repositories/connection.repository.js';
import { withSource, type SourceDeps } from './registry.js';

/** A connection as the API and the CLI show it: the credential is only ever its reference. */
export interface ConnectionView {
  readonly name: string;
  readonly kind: ConnectionRow['kind'];
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password_env: string | null;
  readonly password_secret: string | null;
  readonly allowed_schemas: readonly string[];
  readonly created_at: string;
  readonly created_by: string;
}

export function presentConnection(row: ConnectionRow): ConnectionView {
  return {
    name: row.name,
    kind: row.kind,
    host: row.host,
    port: row.port,
    database: row.database,
    user: row.user,
    password_env: row.password_env,
    password_secret: row.password_secret,
    allowed_schemas: allowedSchemasOf(row),
    created_at: row.created_at.toISOString(),
    created_by: row.created_by,
  };
}

/** Stores a new connection. A password in the body is refused: only references are accepted. */
export async function createConnection(db: Pool, input: unknown, by: string): Promise<ConnectionView> {
  if (typeof input === 'object' && input !== null && 'password' in input) {
    throw new SiphonError(
      'SIPHON_ERR_CONNECTION_INVALID',
      'password is never accepted: put it in a SIPHON_SECRET_… variable (password_env) or the secrets file (password_secret) and name it',
      { field: 'password' },
    );
  }
  const spec = parseConnectionSpec(input);
  try {
    return presentConnection(await insertConnection(db, spec, by));
  } catch (error) {
    if ((error as { code?: string }).code === '23505') {
      throw new SiphonError(
        'SIPHON_ERR_CONNECTION_NAME_TAKEN',
        `a connection named "${spec.name}" already exists`,
        {
          field: 'name',
        },
      );
    }
    throw error;
  }
}

export async function getConnectionRow(db: Executor, name: string): Promise<ConnectionRow> {
  const row = await findConnection(db, name);
  if (!row) throw new SiphonError('SIPHON_ERR_CONNECTION_NOT_FOUND', `no source connection named "${name}"`);
  return row;
}

export async function listConnections(db: Executor): Promise<ConnectionView[]> {
  return (await listConnectionRows(db)).map(presentConnection);
}

/** Deletes a connection no pipeline reads through; otherwise 409 naming the pipelines. */
export async function deleteConnection(db: Pool, name: string): Promise<ConnectionView> {
  return withTransaction(db, async (tx) => {
    const row = await findConnection(tx, name, true);
    if (!row)
      throw new SiphonError('SIPHON_ERR_CONNECTION_NOT_FOUND', `no source connection named "${name}"`);
    const users = await pipelinesUsingConnection(tx, name);
    if (users.length > 0) {
      throw new SiphonError(
        'SIPHON_ERR_CONNECTION_IN_USE',
        `connection ${name} is the source of ${users.length} pipeline(s): ${users.join(', ')}; change or delete them first`,
        { details: { pipelines: users } },
      );
    }
    await deleteConnectionRow(tx, name);
    return presentConnection(row);
  });
}

/** What `POST /connections/{name}/test` and `siphon connections test` answer. */
export interface ConnectionTestResult {
  readonly name: string;
  readonly kind: ConnectionRow['kind'];
  /** Connected, logged in and ran a read. */
  readonly ok: boolean;
  readonly serverVersion: string | null;
  /** False when the credential can write on the source: see `warnings`. Null when not connected. */
  readonly readOnly: boolean | null;
  readonly warnings: string[];
  readonly latencyMs: number;
  readonly error: { readonly code: ErrorCode | string; readonly message: string } | null;
}

/** Connects with the connection's credential, reads the server version and what the credential may do. */
export async function testConnection(
  db: Executor,
  deps: SourceDeps & { readonly clock?: Clock },
  name: string,
): Promise<ConnectionTestResult> {
  const row = await getConnectionRow(db, name);
  const began = clockOf(deps).now();
  try {
    const probe = await withSource(deps, row, (source) => source.probe(allowedSchemasOf(row)));
    return {
      name,
      kind: row.kind,
      ok: true,
      serverVersion: probe.serverVersion,
      readOnly: probe.readOnly,
      warnings: probe.warnings,
      latencyMs: clockOf(deps).now() - began,
      error: null,
    };
  } catch (error) {
    const code = isSiphonError(error)
      ? error.code
      : String((error as { code?: unknown }).code ?? 'SIPHON_ERR_CONNECTION_FAILED');
    return {
      name,
      kind: row.kind,
      ok: false,
      serverVersion: null,
      readOnly: null,
      warnings: [],
      latencyMs: clockOf(deps).now() - began,
      error: { code, message: (error as Error).message },
    };
  }
}
