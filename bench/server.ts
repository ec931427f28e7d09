import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../src/bootstrap/embedded-postgres.js';
import { createPool, urlForRole, type Pool } from '../src/db/pool.js';
import { ROLES, type RolePasswords } from '../src/db/roles.js';
import { Runner, type RunnerOptions } from '../src/runner/index.js';

export interface BenchServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The server a bench measures on: BENCH_DATABASE_URL, or a throwaway embedded PostgreSQL removed after. */
export async function benchServer(prefix: string): Promise<BenchServer> {
  const given = process.env.BENCH_DATABASE_URL;
  if (given) return { url: given, close: async () => {} };
  const home = mkdtempSync(join(tmpdir(), prefix));
  const server = await startEmbeddedPostgres({ home, port: 0, password: 'bench-superuser' });
  return {
    url: server.url,
    close: async () => {
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * One in-process runner for a bench of social syncs, with the writer pool it runs on and an api pool
 * for the services (pipelines, accounts) a bench calls as the API would. `stop` ends all three.
 */
export function benchSyncRunner(
  url: string,
  passwords: RolePasswords,
  name: string,
  sync: NonNullable<RunnerOptions['sync']>,
): { readonly writer: Pool; readonly api: Pool; readonly runner: Runner; stop(): Promise<void> } {
  const writerUrl = urlForRole(url, ROLES.writer, passwords.writer);
  const writer = createPool({ connectionString: writerUrl, applicationName: name, max: 12 });
  const api = createPool({
    connectionString: urlForRole(url, ROLES.api, passwords.api),
    applicationName: `${name}-api`,
    max: 2,
  });
  const runner = new Runner({
    pool: writer,
    listenUrl: writerUrl,
    logger: pino({ level: 'silent' }),
    pollIntervalMs: 100,
    leaseMs: 30_000,
    concurrency: 1,
    maxAttempts: 3,
    sync,
  });
  return {
    writer,
    api,
    runner,
    stop: async () => {
      await runner.stop();
      await Promise.allSettled([writer.end(), api.end()]);
    },
  };
}
