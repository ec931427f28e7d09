import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/bootstrap/embedded-postgres.js';

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
