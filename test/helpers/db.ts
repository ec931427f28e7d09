import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createPool, urlForRole, type Pool } from '../../src/db/pool.js';
import { ROLES } from '../../src/db/roles.js';
import { TEST_ROLE_PASSWORDS } from './test-server.js';

export interface TestDatabase {
  readonly name: string;
  readonly adminUrl: string;
  readonly urls: { readonly writer: string; readonly api: string; readonly reader: string };
  /** Superuser pool for arranging fixtures and asserting (never handed to code under test as its own). */
  readonly admin: Pool;
  /** Least-privilege pools, as the product uses them. */
  readonly writer: Pool;
  readonly api: Pool;
  readonly reader: Pool;
  drop(): Promise<void>;
}

/** A fresh, migrated database cloned from the template (fast: no migrations per file). */
export async function createTestDatabase(options: { writerLeaseMs?: number } = {}): Promise<TestDatabase> {
  const server = inject('testServer');
  const name = `${server.prefix}_${randomBytes(4).toString('hex')}`;
  const root = new pg.Client({ connectionString: server.serverUrl });
  await root.connect();
  try {
    await root.query(`CREATE DATABASE ${name} TEMPLATE ${server.template}`);
  } finally {
    await root.end();
  }
  const url = new URL(server.serverUrl);
  url.pathname = `/${name}`;
  const adminUrl = url.toString();
  const urls = {
    writer: urlForRole(adminUrl, ROLES.writer, TEST_ROLE_PASSWORDS.writer),
    api: urlForRole(adminUrl, ROLES.api, TEST_ROLE_PASSWORDS.api),
    reader: urlForRole(adminUrl, ROLES.reader, TEST_ROLE_PASSWORDS.reader),
  };
  const admin = createPool({ connectionString: adminUrl, applicationName: 'test-admin', max: 4 });
  const writer = createPool({
    connectionString: urls.writer,
    applicationName: 'test-writer',
    max: 8,
    statementTimeoutMs: 30_000,
    idleInTransactionTimeoutMs: options.writerLeaseMs ?? 30_000,
  });
  const api = createPool({ connectionString: urls.api, applicationName: 'test-api', max: 4 });
  const reader = createPool({
    connectionString: urls.reader,
    applicationName: 'test-reader',
    max: 4,
    statementTimeoutMs: 30_000,
  });
  return {
    name,
    adminUrl,
    urls,
    admin,
    writer,
    api,
    reader,
    drop: async () => {
      await Promise.allSettled([admin.end(), writer.end(), api.end(), reader.end()]);
      const again = new pg.Client({ connectionString: server.serverUrl });
      await again.connect();
      try {
        await again.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.end();
      }
    },
  };
}

/** A test's own source table (`content.name (columns…)`), readable by the reader role as the runner needs. */
export async function createSourceTable(db: TestDatabase, definition: string): Promise<void> {
  await db.admin.query(`CREATE TABLE ${definition}`);
  await db.admin.query(`GRANT SELECT ON ${definition.split(/[\s(]/)[0]} TO siphon_reader`);
}
