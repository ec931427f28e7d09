import type pg from 'pg';
import { SiphonError } from '../core/errors.js';

export const ROLES = { reader: 'siphon_reader', writer: 'siphon_writer', api: 'siphon_api' } as const;
export type RoleKey = keyof typeof ROLES;
export type RolePasswords = Record<RoleKey, string>;

const ROLE_LOCK_KEY = 7_140_215_002;

/**
 * Creates (or updates the password of) the three login roles. Roles are cluster-wide, so this runs
 * under an advisory lock and before the migrations that grant them privileges.
 */
export async function ensureRoles(
  client: pg.Client | pg.PoolClient,
  passwords: RolePasswords,
): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [ROLE_LOCK_KEY]);
  try {
    for (const key of Object.keys(ROLES) as RoleKey[]) {
      const role = ROLES[key];
      const { rows } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verb = rows.length === 0 ? 'CREATE' : 'ALTER';
      // DDL takes no parameters: the password is escaped as a literal by the driver.
      await client.query(`${verb} ROLE ${role} LOGIN PASSWORD ${client.escapeLiteral(passwords[key])}`);
    }
  } catch (error) {
    throw new SiphonError(
      'SIPHON_ERR_DB_ROLES',
      `cannot create the database roles (${(error as Error).message}); the DATABASE_URL user must be a superuser, or have CREATEROLE (on PostgreSQL 16+ also createrole_self_grant = 'set, inherit'; see docs/configuration.md)`,
      { cause: error },
    );
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [ROLE_LOCK_KEY]);
  }
}
