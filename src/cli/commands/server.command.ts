import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { openDatabase } from '../../bootstrap/database.js';
import { onShutdownSignal, startApi, startRunner } from '../../bootstrap/services.js';
import { startAll } from '../../bootstrap/start.js';
import { createLogger } from '../../observability/index.js';
import { createPool } from '../../db/pool.js';
import { assertMigrated } from '../context.js';

/** Long-running processes: everything in one (`start`), or the API and runners as separate services. */
export function registerServerCommands(program: Command): void {
  program
    .command('start')
    .description('all-in-one: PostgreSQL (embedded unless DATABASE_URL), migrations, demos, API and a runner')
    .option(
      '--no-demo',
      'no demo: neither the film data set and pipelines nor the social simulators and pipelines',
    )
    .action(async (options: { demo: boolean }) => {
      const config = loadConfig();
      await startAll(config, createLogger({ level: config.log.level, format: config.log.format }), options);
    });

  for (const service of ['api', 'runner'] as const) {
    program
      .command(service)
      .description(
        service === 'api'
          ? 'serve the HTTP API only'
          : 'run one runner process only (run as many as you like)',
      )
      .action(async () => {
        const config = loadConfig();
        const logger = createLogger({ level: config.log.level, format: config.log.format });
        const db = await openDatabase(config, { attach: true });
        try {
          const probe = createPool({
            connectionString: db.urls.api,
            applicationName: 'siphon-probe',
            max: 1,
          });
          await assertMigrated(probe).finally(() => probe.end());
          const running =
            service === 'api' ? await startApi(config, db, logger) : await startRunner(config, db, logger);
          if ('url' in running) logger.info({ url: running.url }, 'API listening');
          onShutdownSignal(logger, async () => {
            await running.stop();
            await db.close();
          });
        } catch (error) {
          await db.close();
          throw error;
        }
      });
  }
}
