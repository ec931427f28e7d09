import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * The real servers the remote-source tests read from: the system PostgreSQL (127.0.0.1:5432, trust
 * auth) and the system MariaDB (127.0.0.1:3306, root without a password). `.ci/run` starts them when
 * they do not answer; a test never skips when they are missing: it fails saying which one.
 * Each test file makes its own uniquely named database and drops it, so two runs of the suite at once
 * (embedded PostgreSQL 18 and TEST_DATABASE_URL) do not collide.
 */
export const REMOTE_PG = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const;
export const REMOTE_MYSQL = { host: '127.0.0.1', port: 3306, user: 'root' } as const;

export interface RemotePostgres {
  readonly database: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

export interface RemoteMysql {
  readonly database: string;
  readonly pool: mysql.Pool;
  drop(): Promise<void>;
}

const uniqueName = () => `siphon_remote_${process.pid}_${randomBytes(4).toString('hex')}`;

export async function createRemotePostgres(): Promise<RemotePostgres> {
  const root = new pg.Client({ ...REMOTE_PG, database: 'postgres', connectionTimeoutMillis: 5_000 });
  try {
    await root.connect();
  } catch (error) {
    throw new Error(
      `the system PostgreSQL at ${REMOTE_PG.host}:${REMOTE_PG.port} does not answer (${(error as Error).message}); ` +
        'start it (.ci/run does: pg_ctlcluster … main start) — these tests never skip',
    );
  }
  const database = uniqueName();
  try {
    await root.query(`CREATE DATABASE ${database}`);
  } finally {
    await root.end();
  }
  const pool = new pg.Pool({ ...REMOTE_PG, database, max: 4 });
  pool.on('error', () => {});
  return {
    database,
    pool,
    drop: async () => {
      await pool.end();
      const admin = new pg.Client({ ...REMOTE_PG, database: 'postgres' });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

export async function createRemoteMysql(): Promise<RemoteMysql> {
  let root: mysql.Connection;
  try {
    root = await mysql.createConnection({ ...REMOTE_MYSQL, connectTimeout: 5_000 });
  } catch (error) {
    throw new Error(
      `the system MariaDB at ${REMOTE_MYSQL.host}:${REMOTE_MYSQL.port} does not answer (${(error as Error).message}); ` +
        'start it (.ci/run does: start-stop-daemon … mariadbd) — these tests never skip',
    );
  }
  const database = uniqueName();
  try {
    await root.query(`CREATE DATABASE \`${database}\``);
  } finally {
    await root.end();
  }
  const pool = mysql.createPool({ ...REMOTE_MYSQL, database, connectionLimit: 4, dateStrings: true });
  return {
    database,
    pool,
    drop: async () => {
      await pool.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await pool.end();
    },
  };
}
