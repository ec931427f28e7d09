import { loadConfig, type Config } from '../config/index.js';
import { SiphonError } from '../core/errors.js';
import { openDatabase, prepareDatabase, type Database } from '../bootstrap/database.js';
import { currentMigrationVersion, readMigrations } from '../db/migrator.js';
import { createPool, type Pool } from '../db/pool.js';
import { createLogger, type Logger } from '../observability/index.js';

export interface CliContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Database;
  /** Admin pool: only for migrations and demo sources. */
  readonly admin: Pool;
  /** siphon_api pool: what the CLI's management commands use (the same rights as the API). */
  readonly api: Pool;
  /** siphon_writer pool: for work that reads sources and targets (reconcile). */
  readonly writer: Pool;
}

/**
 * Opens the database for one CLI command (attaching to a running embedded server, or starting it for
 * the duration of the command), runs `work`, and closes everything — also when `work` fails.
 */
export async function withContext<T>(
  work: (ctx: CliContext) => Promise<T>,
  options: { migrate?: boolean; requireCurrent?: boolean } = {},
): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const db = await openDatabase(config, { attach: true });
  const admin = createPool({ connectionString: db.adminUrl, applicationName: 'siphon-cli-admin', max: 2 });
  const api = createPool({ connectionString: db.urls.api, applicationName: 'siphon-cli', max: 2 });
  const writer = createPool({
    connectionString: db.urls.writer,
    applicationName: 'siphon-cli-writer',
    max: 4,
    statementTimeoutMs: config.runner.statementTimeoutMs,
  });
  try {
    if (options.migrate) await prepareDatabase(db.adminUrl, db.secrets.rolePasswords);
    if (options.requireCurrent !== false) await assertMigrated(admin);
    return await work({ config, logger, db, admin, api, writer });
  } finally {
    await Promise.allSettled([admin.end(), api.end(), writer.end()]);
    await db.close();
  }
}

export async function assertMigrated(pool: Pool): Promise<void> {
  const expected = readMigrations().at(-1)?.version ?? 0;
  const current = await currentMigrationVersion(pool);
  if (current < expected) {
    throw new SiphonError(
      'SIPHON_ERR_MIGRATE_PENDING',
      `the database is at migration ${current} of ${expected}; run \`siphon migrate\` (or \`npm start\`) first`,
    );
  }
}
