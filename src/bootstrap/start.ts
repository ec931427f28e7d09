import cliProgress from 'cli-progress';
import type { Config } from '../config/index.js';
import { createPool, type Pool } from '../db/pool.js';
import {
  demoSocialPlatforms,
  installDemoPipelines,
  installSocialDemoPipelines,
  isDemoLoaded,
  loadDemo,
  requestFirstDemoRuns,
  socialDemoPipeline,
  withDemoSocialEndpoints,
  type SocialPlatform,
} from '../demo/index.js';
import { redactUrl, type Logger } from '../observability/index.js';
import { openDatabase, prepareDatabase, type Database } from './database.js';
import { startDemoSimulators, type RunningDemoSimulators } from './demo-simulators.js';
import { onShutdownSignal, startApi, startRunner, type RunningApi, type RunningRunner } from './services.js';

/**
 * `siphon start` / `npm start`: PostgreSQL (embedded unless DATABASE_URL), migrations, the demo data
 * and pipelines, the social demo's platform simulators, the API and one runner in this process.
 * Ctrl-C stops everything in order.
 */
export async function startAll(config: Config, logger: Logger, options: { demo: boolean }): Promise<void> {
  const db = await openDatabase(config, { attach: false });
  let api: RunningApi | undefined;
  let runner: RunningRunner | undefined;
  let social: SocialDemo | undefined;
  const shutdown = async () => {
    await runner?.stop();
    await api?.stop();
    await social?.simulators.close();
    await db.close();
    logger.info('stopped');
  };
  try {
    if (db.embedded)
      logger.info({ port: db.embedded.port, dataDir: db.embedded.dataDir }, 'embedded PostgreSQL 18 started');
    else logger.info({ database: redactUrl(db.adminUrl) }, 'using DATABASE_URL');
    const migrated = await prepareDatabase(db.adminUrl, db.secrets.rolePasswords);
    logger.info({ applied: migrated.applied, schemaVersion: migrated.current }, 'migrations current');
    if (options.demo) social = await ensureDemo(config, db, logger);
    api = await startApi(config, db, logger);
    // The runner's adapters point at the demo simulators; a platform the user configured is untouched.
    runner = await startRunner(social ? social.config : config, db, logger);
    if (options.demo) {
      const requested = [
        ...(social ? await requestFirstDemoRuns(api.pool, social.platforms.map(socialDemoPipeline)) : []),
        ...(await requestFirstDemoRuns(api.pool)),
      ];
      if (requested.length > 0)
        logger.info({ pipelines: requested }, 'first start: demo pipelines requested to run once');
    }
  } catch (error) {
    await shutdown().catch(() => {});
    throw error;
  }
  onShutdownSignal(logger, shutdown);
  printBanner(db, api.url, social?.platforms ?? []);
}

interface SocialDemo {
  readonly platforms: SocialPlatform[];
  readonly simulators: RunningDemoSimulators;
  /** The configuration the runner gets: the simulated platforms' URLs and demo credentials. */
  readonly config: Config;
}

async function ensureDemo(config: Config, db: Database, logger: Logger): Promise<SocialDemo | undefined> {
  const admin = createPool({ connectionString: db.adminUrl, applicationName: 'siphon-demo', max: 2 });
  try {
    await ensureFilmDemo(config, admin, logger);
    return await ensureSocialDemo(config, admin, logger);
  } finally {
    await admin.end();
  }
}

/** The demo social pipelines and their simulators, for the platforms the user configured no credential of. */
async function ensureSocialDemo(
  config: Config,
  admin: Pool,
  logger: Logger,
): Promise<SocialDemo | undefined> {
  const wanted = demoSocialPlatforms(config);
  const skipped = (['youtube', 'instagram', 'tiktok'] as const).filter((p) => !wanted.includes(p));
  if (skipped.length > 0)
    logger.info(
      { platforms: skipped },
      'social demo: credentials configured, no simulator for these platforms',
    );
  const installed = await installSocialDemoPipelines(admin, wanted);
  if (installed.platforms.length === 0) return undefined;
  const simulators = await startDemoSimulators(installed.platforms, installed.since);
  logger.info(
    { platforms: installed.platforms, asOf: installed.since.toISOString(), ...simulators.endpoints },
    'social demo: platform simulators started',
  );
  return {
    platforms: installed.platforms,
    simulators,
    config: withDemoSocialEndpoints(config, simulators.endpoints),
  };
}

async function ensureFilmDemo(config: Config, admin: Pool, logger: Logger): Promise<void> {
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
}

function printBanner(db: Database, apiUrl: string, social: readonly SocialPlatform[]): void {
  const psql = db.embedded
    ? `PGPASSWORD='${db.secrets.postgresPassword}' psql -h 127.0.0.1 -p ${db.embedded.port} -U postgres siphon`
    : 'psql "$DATABASE_URL"';
  const auth = `-H "Authorization: Bearer ${db.secrets.adminToken}"`;
  const lines = [
    '',
    'Siphon is running.',
    `  API          ${apiUrl}            (GET /health, /pipelines, /runs/{id})`,
    `  API docs     ${apiUrl}/docs`,
    `  Console      ${apiUrl}/ui          (web console: sign in with the admin or viewer token)`,
    `  Admin token  ${db.secrets.adminToken}`,
    `  Viewer token ${db.secrets.viewerToken}`,
    `  Try          curl ${auth} ${apiUrl}/pipelines`,
    `  CLI          npm run siphon -- pipelines list   |   npm run siphon -- runs film_dim_full`,
    `  psql         ${psql}`,
    ...(db.embedded?.portNote ? [`               (port ${db.embedded.port}: ${db.embedded.portNote})`] : []),
    ...(social.length > 0 ? socialLines(psql, auth, apiUrl, social) : []),
    `  Stop         Ctrl-C (stops the API, the runner${social.length > 0 ? ', the simulators' : ''} and PostgreSQL; data stays in .siphon/)`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function socialLines(
  psql: string,
  auth: string,
  apiUrl: string,
  platforms: readonly SocialPlatform[],
): string[] {
  const names = platforms.map((p) => `${p}_demo`);
  const count = (table: string) => `SELECT platform, count(*) FROM social.${table} GROUP BY 1`;
  return [
    `  Social demo  ${names.join(', ')}: simulated accounts synced into social.profiles, posts, comments`,
    `    runs       curl ${auth} ${apiUrl}/pipelines/${names[0]}/runs`,
    `    profiles   ${psql} -c "${count('profiles')}"`,
    `    posts      ${psql} -c "${count('posts')}"`,
    `    comments   ${psql} -c "${count('comments')}"`,
  ];
}
