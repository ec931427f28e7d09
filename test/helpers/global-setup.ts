import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/bootstrap/embedded-postgres.js';
import { installJobQueue } from '../../src/db/job-queue.js';
import { migrate } from '../../src/db/migrator.js';
import { ensureRoles } from '../../src/db/roles.js';
import { TEST_ROLE_PASSWORDS, type TestServer } from './test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testServer: TestServer;
  }
}

/**
 * Once per `npm test`: a real PostgreSQL (embedded 18 by default, or TEST_DATABASE_URL), the roles,
 * and a migrated template database that each test file clones with CREATE DATABASE … TEMPLATE.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedServer | undefined;
  let home: string | undefined;
  let serverUrl = process.env.TEST_DATABASE_URL;
  // Every folder a test makes (CLI homes, clusters, traces) lives under this one, removed at the end.
  const tmpRoot = mkdtempSync(join(tmpdir(), 'siphon-tests-'));
  if (!serverUrl) {
    home = mkdtempSync(join(tmpRoot, 'cluster-'));
    embedded = await startEmbeddedPostgres({ home, port: 0, password: 'siphon-test-superuser' });
    serverUrl = embedded.url;
  }
  const prefix = `siphon_t${process.pid}_${Date.now().toString(36)}`;
  const template = `${prefix}_tpl`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const { rows } = await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  await admin.query(`CREATE DATABASE ${template}`);
  const templateUrl = withDatabase(serverUrl, template);
  const client = new pg.Client({ connectionString: templateUrl });
  await client.connect();
  await ensureRoles(client, TEST_ROLE_PASSWORDS);
  await migrate(client);
  await installJobQueue(client);
  await client.end();
  process.stdout.write(
    `[siphon tests] PostgreSQL ${rows[0]?.v} (${embedded ? 'embedded' : 'TEST_DATABASE_URL'})\n`,
  );
  project.provide('testServer', { serverUrl, template, prefix, serverVersion: rows[0]?.v ?? '?', tmpRoot });

  return async () => {
    const { rows: leftovers } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${prefix}%`],
    );
    for (const { datname } of leftovers) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
    rmSync(tmpRoot, { recursive: true, force: true });
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
