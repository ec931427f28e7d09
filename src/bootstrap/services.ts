import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { SiphonError } from '../core/errors.js';
import { createPool, type Pool } from '../db/pool.js';
import { buildApp } from '../api/index.js';
import { Runner } from '../runner/index.js';
import type { Logger } from '../observability/index.js';
import type { Database } from './database.js';
import { isPortFree } from './ports.js';
import { VERSION } from './version.js';

export interface RunningApi {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly pool: Pool;
  stop(): Promise<void>;
}

/** The API, logged in as siphon_api, listening on SIPHON_API_HOST:SIPHON_API_PORT. */
export async function startApi(config: Config, db: Database, logger: Logger): Promise<RunningApi> {
  if (!(await isPortFree(config.api.port, config.api.host))) {
    throw new SiphonError(
      'SIPHON_ERR_PORT_IN_USE',
      `SIPHON_API_PORT ${config.api.port} on ${config.api.host} is already in use; stop what uses it or set SIPHON_API_PORT`,
    );
  }
  const pool = createPool({ connectionString: db.urls.api, applicationName: 'siphon-api', max: 10 });
  const readerPool = createPool({
    connectionString: db.urls.reader,
    applicationName: 'siphon-api-read',
    max: 4,
    statementTimeoutMs: Math.min(config.runner.statementTimeoutMs, 30_000),
  });
  const app = await buildApp({
    pool,
    readerPool,
    logger,
    tokens: { operator: [db.secrets.adminToken], viewer: [db.secrets.viewerToken] },
    runnerStaleMs: config.runner.leaseMs,
    sqlPolicy: config.sqlPolicy,
  });
  await app.listen({ host: config.api.host, port: config.api.port });
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  return {
    app,
    pool,
    url: `http://${host}:${config.api.port}`,
    stop: async () => {
      await app.close();
      await Promise.all([pool.end(), readerPool.end()]);
    },
  };
}

export interface RunningRunner {
  readonly runner: Runner;
  readonly pool: Pool;
  stop(): Promise<void>;
}

/** A runner, logged in as siphon_writer, with server-side timeouts that bound a frozen process. */
export async function startRunner(config: Config, db: Database, logger: Logger): Promise<RunningRunner> {
  const pool = createPool({
    connectionString: db.urls.writer,
    applicationName: 'siphon-runner',
    max: config.runner.concurrency + 3,
    statementTimeoutMs: config.runner.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.runner.leaseMs,
  });
  const readerPool = createPool({
    connectionString: db.urls.reader,
    applicationName: 'siphon-runner-read',
    max: config.runner.concurrency + 1,
    statementTimeoutMs: config.runner.statementTimeoutMs,
    idleInTransactionTimeoutMs: config.runner.leaseMs,
  });
  const runner = new Runner({
    pool,
    readerPool,
    transfer: config.runner.transfer,
    sqlPolicy: config.sqlPolicy,
    listenUrl: db.urls.writer,
    logger: logger.child({ component: 'runner' }),
    pollIntervalMs: config.runner.pollIntervalMs,
    leaseMs: config.runner.leaseMs,
    concurrency: config.runner.concurrency,
    maxAttempts: config.runner.maxAttempts,
    version: VERSION,
  });
  await runner.start();
  return {
    runner,
    pool,
    stop: async () => {
      await runner.stop();
      await Promise.all([pool.end(), readerPool.end()]);
    },
  };
}

/** Runs `shutdown` once on SIGINT/SIGTERM; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, shutdown: () => Promise<void>): void {
  let stoppingSince = 0;
  const handler = (signal: NodeJS.Signals) => {
    // `npm start` + Ctrl-C delivers SIGINT twice (terminal and npm): only a later one forces.
    if (stoppingSince && Date.now() - stoppingSince < 1500) return;
    if (stoppingSince) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'stopping (press Ctrl-C again to force)');
    shutdown()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
