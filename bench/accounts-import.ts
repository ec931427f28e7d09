/**
 * A bulk import of 100,000 tracked accounts (CSV with tags and a tier), then the same file again: time,
 * the process's peak RSS above its start, and the rows. Part of `npm run bench:social` (skip with
 * `--import 0`). The service is called as the API's POST /accounts/import calls it.
 */
import { importAccounts } from '../src/accounts/index.js';
import { createPool, urlForRole } from '../src/db/pool.js';
import { ROLES, type RolePasswords } from '../src/db/roles.js';

export interface ImportResult {
  readonly accounts: number;
  readonly csvMiB: number;
  readonly firstSeconds: number;
  readonly againSeconds: number;
  readonly rssPeakAboveStartMiB: number;
  readonly inserted: number;
  readonly unchangedOnReimport: number;
}

export async function measureImport(
  url: string,
  passwords: RolePasswords,
  accounts = 100_000,
): Promise<ImportResult> {
  const api = createPool({
    connectionString: urlForRole(url, ROLES.api, passwords.api),
    applicationName: 'bench-import',
    max: 2,
  });
  const lines = ['account,tags,tier'];
  for (let i = 0; i < accounts; i += 1)
    lines.push(`creator_${i},client:${i % 50};bench,${i % 3 === 0 ? 'daily' : 'weekly'}`);
  const text = `${lines.join('\n')}\n`;
  global.gc?.();
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const t0 = performance.now();
    const first = await importAccounts(api, 'tiktok', { format: 'csv', text }, 'bench');
    const t1 = performance.now();
    const again = await importAccounts(api, 'tiktok', { format: 'csv', text }, 'bench');
    const t2 = performance.now();
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      accounts,
      csvMiB: round(text.length / 2 ** 20),
      firstSeconds: round((t1 - t0) / 1000),
      againSeconds: round((t2 - t1) / 1000),
      rssPeakAboveStartMiB: round((peak - start) / 2 ** 20),
      inserted: first.inserted,
      unchangedOnReimport: again.unchanged,
    };
  } finally {
    clearInterval(sampler);
    await api.end();
  }
}
