import type { Executor } from '../pool.js';

/** SQL about the PostgreSQL server itself, run before Siphon's schema exists. */

/** `server_version_num`: 150004 for 15.4, 180000 for 18.0. */
export async function serverVersionNum(db: Executor): Promise<number> {
  const { rows } = await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(rows[0]?.v ?? 0);
}

/** Creates the database when it is missing; `name` is Siphon's own, a plain identifier. */
export async function ensureDatabaseExists(db: Executor, name: string): Promise<void> {
  const { rows } = await db.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (rows.length === 0) await db.query(`CREATE DATABASE ${name}`);
}
