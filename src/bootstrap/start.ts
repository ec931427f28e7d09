import cliProgress from 'cli-progress';
import type { Config } from '../config/index.js';
import { createPool } from '../db/pool.js';
import { installDemoPipelines, isDemoLoaded, loadDemo, requestFirstDemoRuns } from '../demo/demo.service.js';
import { redactUrl, type Logger } from '../observability/index.js';
import { openDatabase, prepareDatabase, type Database } from './database.js';
import { onShutdownSignal, startApi, startRunner, type RunningApi, type RunningRunner } from './services.js';

/**
 * `siphon start` / `npm start`: PostgreSQL (embedded unless DATABASE_URL), migrations, the demo data
 * and pipelines, the API and one runner in this process. Ctrl-C stops everything in order.
 */
export async function startAll(config: Config, logger: Logger, options: { demo: boolean }): Promise<void> {
  const db = await openDatabase(config, { attach: false });
  let api: RunningApi | undefined;
  let runner: RunningRunner | undefined;
  const shutdown = async () => {
    await runner?.stop();
    await api?.stop();
    await db.close();
    logger.info('stopped');
  };
  try {
    if (db.embedded)
      logger.info({ port: db.embedded.port, dataDir: db.embedded.dataDir }, 'embedded PostgreSQL 18 started');
    else logger.info({ database: redactUrl(db.adminUrl) }, 'using DATABASE_URL');
    const migrated = await prepareDatabase(db.adminUrl, db.secrets.rolePasswords);
    logger.info({ applied: migrated.applied, schemaVersion: migrated.current }, 'migrations current');
    if (options.demo) await ensureDemo(config, db, logger);
    api = await startApi(config, db, logger);
    runner = await startRunner(config, db, logger);
    if (options.demo) {
      const requested = await requestFirstDemoRuns(api.pool);
      if (requested.length > 0)
        logger.info({ pipelines: requested }, 'first start: demo pipelines requested to run once');
    }
  } catch (error) {
    await shutdown().catch(() => {});
    throw error;
  }
  onShutdownSignal(logger, shutdown);
  printBanner(db, api.url);
}

async function ensureDemo(config: Config, db: Database, logger: Logger): Promise<void> {
  const admin = createPool({ connectionString: db.adminUrl, applicationName: 'siphon-demo', max: 2 });
  try {
    if (await isDemoLoaded(admin)) {
      await installDemoPipelines(admin);
      return;
    }
    logger.info(
      { films: config.demo.films, ratings: config.demo.ratings },
      'loading the demo data set (first start only)',
    );
    const bar = process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: '  {step} [{bar}] {value}/{total}', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    let current = '';
    const counts = await loadDemo(admin, config.demo, (step, done, total) => {
      if (!bar) return;
      if (step !== current) {
        if (current) bar.stop();
        current = step;
        bar.start(total, 0, { step: step.padEnd(7) });
      }
      bar.update(done, { step: step.padEnd(7) });
    });
    bar?.stop();
    logger.info(counts, 'demo data loaded');
  } finally {
    await admin.end();
  }
}

function printBanner(db: Database, apiUrl: string): void {
  const psql = db.embedded
    ? `PGPASSWORD='${db.secrets.postgresPassword}' psql -h 127.0.0.1 -p ${db.embedded.port} -U postgres siphon`
    : 'psql "$DATABASE_URL"';
  const lines = [
    '',
    'Siphon is running.',
    `  API          ${apiUrl}            (GET /health, /pipelines, /runs/{id})`,
    `  API docs     ${apiUrl}/docs`,
    `  Admin token  ${db.secrets.adminToken}`,
    `  Viewer token ${db.secrets.viewerToken}`,
    `  Try          curl -H "Authorization: Bearer ${db.secrets.adminToken}" ${apiUrl}/pipelines`,
    `  CLI          npm run siphon -- pipelines list   |   npm run siphon -- runs film_dim_full`,
    `  psql         ${psql}`,
    '  Stop         Ctrl-C (stops the API, the runner and PostgreSQL; data stays in .siphon/)',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
