import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { SiphonError } from '../core/errors.js';

/** migrations/ at the package root, both from src/ (tsx) and from dist/ (compiled). */
export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** A fixed key for pg_advisory_lock: two migrators never run at once. */
const MIGRATION_LOCK_KEY = 7_140_215_001;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

const LEDGER_DDL = `CREATE TABLE IF NOT EXISTS public.siphon_schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;

export interface MigrateResult {
  readonly applied: string[];
  readonly current: number;
}

/**
 * Applies the pending migrations in order, each in its own transaction, and records them.
 * Refuses to run while another migrator holds the lock, and refuses if an applied file changed.
 */
export async function migrate(
  client: pg.Client | pg.PoolClient,
  migrations = readMigrations(),
): Promise<MigrateResult> {
  const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
    MIGRATION_LOCK_KEY,
  ]);
  if (!rows[0]?.locked) {
    throw new SiphonError(
      'SIPHON_ERR_MIGRATE_LOCKED',
      'another `siphon migrate` is running against this database',
    );
  }
  try {
    await client.query(LEDGER_DDL);
    const applied = await appliedMigrations(client);
    const done: string[] = [];
    for (const migration of migrations) {
      const existing = applied.get(migration.version);
      if (existing !== undefined) {
        if (existing !== migration.checksum) {
          throw new SiphonError(
            'SIPHON_ERR_MIGRATE_CHECKSUM',
            `migration ${migration.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(
          'INSERT INTO public.siphon_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [migration.version, migration.name, migration.checksum],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new SiphonError(
          'SIPHON_ERR_MIGRATE_FAILED',
          `migration ${migration.name} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      done.push(migration.name);
    }
    return { applied: done, current: migrations.at(-1)?.version ?? 0 };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

async function appliedMigrations(client: pg.Client | pg.PoolClient): Promise<Map<number, string>> {
  const { rows } = await client.query<{ version: number; checksum: string }>(
    'SELECT version, checksum FROM public.siphon_schema_migrations',
  );
  return new Map(rows.map((row) => [row.version, row.checksum]));
}

/** Latest applied version, or 0 when the ledger does not exist yet. Any role may call it. */
export async function currentMigrationVersion(client: Pick<pg.Pool, 'query'>): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(
    `SELECT CASE WHEN to_regclass('public.siphon_schema_migrations') IS NULL THEN 0
       ELSE (SELECT coalesce(max(version), 0) FROM public.siphon_schema_migrations) END AS version`,
  );
  return rows[0]?.version ?? 0;
}
