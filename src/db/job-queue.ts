import pg from 'pg';
import { Logger, runMigrations } from 'graphile-worker';
import { quoteIdent } from '../core/identifiers.js';
import { ROLES } from './roles.js';

/** graphile-worker's own log lines are dropped: Siphon logs what its tasks do. */
export const silentLogger = new Logger(() => () => {});

/** The schema of graphile-worker's tables: the durable queue of social sync steps. */
export const JOB_QUEUE_SCHEMA = 'graphile_worker';

/**
 * Installs (or upgrades) graphile-worker's schema, owned by siphon_writer. Its tables use row-level
 * security with no policies, so only their owner can use them: the migration runs as siphon_writer
 * (`SET ROLE` from the admin connection), with a CREATE right on the database held only while it runs.
 * Idempotent; call after the numbered migrations (docs/adr/0010-graphile-worker-for-sync-fan-out.md).
 */
export async function installJobQueue(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
  const database = quoteIdent(rows[0]!.db);
  const writer = quoteIdent(ROLES.writer);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${JOB_QUEUE_SCHEMA} AUTHORIZATION ${writer}`);
  await client.query(`GRANT CREATE ON DATABASE ${database} TO ${writer}`);
  const params = client as unknown as { connectionParameters: pg.ClientConfig };
  const pool = new pg.Pool({
    ...params.connectionParameters,
    // pg keeps the password out of enumerable properties (so it is not logged): copy it by name.
    password: params.connectionParameters.password,
    max: 1,
    options: `-c role=${ROLES.writer}`,
  });
  pool.on('error', () => {}); // reported by the query that hits it
  pool.on('connect', (c) => c.on('error', () => {}));
  try {
    await runMigrations({ pgPool: pool, schema: JOB_QUEUE_SCHEMA, logger: silentLogger });
  } finally {
    await pool.end();
    await client.query(`REVOKE CREATE ON DATABASE ${database} FROM ${writer}`);
  }
}
