import type { ConnectionKind, ConnectionSpec } from '../../core/connection-spec.schema.js';
import type { Executor } from '../pool.js';

/** A stored source connection: the credential by reference only (never a password). */
export interface ConnectionRow {
  name: string;
  kind: ConnectionKind;
  host: string;
  port: number;
  database: string;
  user: string;
  password_env: string | null;
  password_secret: string | null;
  allowed_schemas: string[] | null;
  created_at: Date;
  created_by: string;
}

const COLUMNS =
  'name, kind, host, port, database, "user", password_env, password_secret, allowed_schemas, created_at, created_by';

/** Inserts a connection; a name clash is PostgreSQL's 23505 for the caller to name. */
export async function insertConnection(
  db: Executor,
  spec: ConnectionSpec,
  by: string,
): Promise<ConnectionRow> {
  const { rows } = await db.query<ConnectionRow>(
    `INSERT INTO etl.source_connections
       (name, kind, host, port, database, "user", password_env, password_secret, allowed_schemas, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     RETURNING ${COLUMNS}`,
    [
      spec.name,
      spec.kind,
      spec.host,
      spec.port,
      spec.database,
      spec.user,
      spec.password_env ?? null,
      spec.password_secret ?? null,
      spec.allowed_schemas ?? null,
      by,
    ],
  );
  return rows[0]!;
}

export async function findConnection(
  db: Executor,
  name: string,
  forUpdate = false,
): Promise<ConnectionRow | undefined> {
  const { rows } = await db.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM etl.source_connections WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [name],
  );
  return rows[0];
}

export async function listConnections(db: Executor): Promise<ConnectionRow[]> {
  const { rows } = await db.query<ConnectionRow>(
    `SELECT ${COLUMNS} FROM etl.source_connections ORDER BY name`,
  );
  return rows;
}

/** Names of the pipelines that read through a connection. */
export async function pipelinesUsingConnection(db: Executor, name: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT name FROM etl.etl_pipelines WHERE source_connection = $1 ORDER BY name',
    [name],
  );
  return rows.map((r) => r.name);
}

export async function deleteConnectionRow(db: Executor, name: string): Promise<void> {
  await db.query('DELETE FROM etl.source_connections WHERE name = $1', [name]);
}
