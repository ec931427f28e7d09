import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config/index.js';
import { SiphonError } from '../core/errors.js';
import { migrate, type MigrateResult } from '../db/migrator.js';
import { installJobQueue } from '../db/job-queue.js';
import { urlForRole } from '../db/pool.js';
import { ensureDatabaseExists, serverVersionNum } from '../db/repositories/server.repository.js';
import { ensureRoles, ROLES, type RolePasswords } from '../db/roles.js';
import { livePostmaster, startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres.js';
import { loadSecrets, type LocalSecrets } from './secrets.js';

export const EMBEDDED_DATABASE = 'siphon';
const MIN_SERVER_VERSION = 140000;

export interface Database {
  /** Owner/superuser connection: migrations, roles, demo sources. Never used by the API or runs. */
  readonly adminUrl: string;
  /** Least-privilege connections (seed 003 §2.3). */
  readonly urls: { readonly writer: string; readonly api: string; readonly reader: string };
  readonly secrets: LocalSecrets;
  readonly embedded: EmbeddedServer | undefined;
  /** True when this process started the embedded server (and must stop it). */
  readonly ownsServer: boolean;
  close(): Promise<void>;
}

/**
 * Finds the database: DATABASE_URL when set; otherwise the embedded cluster in SIPHON_HOME, attached
 * to if another Siphon process already serves it (`attach`), or started by this process.
 */
export async function openDatabase(config: Config, options: { attach: boolean }): Promise<Database> {
  const secrets = loadSecrets(config);
  if (config.databaseUrl) {
    await assertReachable(config.databaseUrl);
    return assemble(config.databaseUrl, secrets, undefined, false);
  }
  const running = options.attach ? runningEmbedded(config.home) : undefined;
  if (running) {
    const url = `postgres://postgres:${encodeURIComponent(secrets.postgresPassword)}@127.0.0.1:${running.port}/${EMBEDDED_DATABASE}`;
    await assertReachable(url);
    return assemble(url, secrets, undefined, false);
  }
  const server = await startEmbeddedPostgres({
    home: config.home,
    port: config.embeddedPort,
    password: secrets.postgresPassword,
  });
  try {
    await ensureDatabase(server.url, EMBEDDED_DATABASE);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const url = new URL(server.url);
  url.pathname = `/${EMBEDDED_DATABASE}`;
  return assemble(url.toString(), secrets, server, true);
}

function assemble(
  adminUrl: string,
  secrets: LocalSecrets,
  server: EmbeddedServer | undefined,
  owns: boolean,
): Database {
  return {
    adminUrl,
    urls: {
      writer: urlForRole(adminUrl, ROLES.writer, secrets.rolePasswords.writer),
      api: urlForRole(adminUrl, ROLES.api, secrets.rolePasswords.api),
      reader: urlForRole(adminUrl, ROLES.reader, secrets.rolePasswords.reader),
    },
    secrets,
    embedded: server,
    ownsServer: owns,
    close: async () => {
      if (owns && server) await server.stop();
    },
  };
}

/** Roles first (the migrations grant to them), then the numbered migrations, then the job queue. */
export async function prepareDatabase(adminUrl: string, passwords: RolePasswords): Promise<MigrateResult> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'siphon-migrate' });
  client.on('error', () => {}); // reported by the query that hits it
  await client.connect();
  try {
    const version = await serverVersionNum(client);
    if (version < MIN_SERVER_VERSION) {
      throw new SiphonError(
        'SIPHON_ERR_DB_VERSION',
        `PostgreSQL ${Math.floor(version / 10000)} is too old; Siphon needs 14 or newer`,
      );
    }
    await ensureRoles(client, passwords);
    const result = await migrate(client);
    await installJobQueue(client);
    return result;
  } finally {
    await client.end();
  }
}

async function ensureDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await ensureDatabaseExists(client, name);
  } finally {
    await client.end();
  }
}

/** Connects once, so a wrong host, port or password is one clear line instead of a stack trace. */
export async function assertReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const target = (() => {
      try {
        const u = new URL(url);
        return `${u.hostname}:${u.port || 5432}${u.pathname}`;
      } catch {
        return 'the database';
      }
    })();
    throw new SiphonError(
      'SIPHON_ERR_DB_UNREACHABLE',
      `cannot connect to PostgreSQL at ${target}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** The embedded cluster's port, when a live postmaster serves SIPHON_HOME/pg. */
function runningEmbedded(home: string): { port: number } | undefined {
  const postmaster = livePostmaster(join(home, 'pg'));
  return postmaster && postmaster.port > 0 ? { port: postmaster.port } : undefined;
}
