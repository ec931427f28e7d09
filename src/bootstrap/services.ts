import type { FastifyInstance } from 'fastify';
import { buildAdapters, buildCredentialPools } from './adapters.js';
import { createSecretResolver, type Config } from '../config/index.js';
import { MlClient } from '../connectors/ml/index.js';
import { SiphonError } from '../core/errors.js';
import { createPool, type Pool } from '../db/pool.js';
import { buildApp } from '../api/index.js';
import { Runner } from '../runner/index.js';
import { attachIncidentReporting, createWebhookNotifier } from '../incidents/index.js';
import { serveRunnerMetrics, shutdownTracing, type Logger } from '../observability/index.js';
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
  // Only POST /social/replay writes (the unified social tables, from the raw zone).
  const writerPool = createPool({
    connectionString: db.urls.writer,
    applicationName: 'siphon-api-replay',
    max: 2,
  });
  // A person resolving an incident through the API is announced like an automatic resolution.
  const webhookUrl = config.incidents.webhookUrl;
  const incidentNotifier = webhookUrl ? createWebhookNotifier({ url: webhookUrl, logger }) : undefined;
  const app = await buildApp({
    pool,
    readerPool,
    logger,
    tokens: { operator: [db.secrets.adminToken], viewer: [db.secrets.viewerToken] },
    runnerStaleMs: config.runner.leaseMs,
    sqlPolicy: config.sqlPolicy,
    incidentNotifier,
    writerPool,
    bodyLimit: config.api.bodyLimitBytes,
    sources: {
      resolveSecret: createSecretResolver(config),
      statementTimeoutMs: Math.min(config.runner.statementTimeoutMs, 30_000),
      applicationName: 'siphon-api',
    },
  });
  await app.listen({ host: config.api.host, port: config.api.port });
  const host = config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host;
  return {
    app,
    pool,
    url: `http://${host}:${config.api.port}`,
    stop: async () => {
      await app.close();
      await incidentNotifier?.drain();
      await Promise.all([pool.end(), readerPool.end(), writerPool.end()]);
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
    // Runs (a full pass from a source connection in up to SIPHON_REMOTE_LANES lanes), the heartbeat
    // and LISTEN, and each sync step (graphile-worker shares this pool).
    max: config.runner.concurrency * config.runner.remoteLanes + config.runner.syncConcurrency + 3,
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
  const webhookUrl = config.incidents.webhookUrl;
  const notifier = webhookUrl ? createWebhookNotifier({ url: webhookUrl, logger }) : undefined;
  const runner = new Runner({
    pool,
    readerPool,
    transfer: config.runner.transfer,
    sqlPolicy: config.sqlPolicy,
    sources: {
      resolveSecret: createSecretResolver(config),
      statementTimeoutMs: config.runner.statementTimeoutMs,
      applicationName: 'siphon-runner',
      lanes: config.runner.remoteLanes,
      binaryCopy: config.runner.remoteCopyFormat === 'binary',
      commitGroupMs: config.runner.remoteCommitGroupMs,
    },
    listenUrl: db.urls.writer,
    logger: logger.child({ component: 'runner' }),
    pollIntervalMs: config.runner.pollIntervalMs,
    leaseMs: config.runner.leaseMs,
    concurrency: config.runner.concurrency,
    maxAttempts: config.runner.maxAttempts,
    version: VERSION,
    retention: config.retention,
    sync: {
      adapters: buildAdapters(config),
      pools: buildCredentialPools(config),
      concurrency: config.runner.syncConcurrency,
      ml: buildMlClient(config),
      tierReserve: config.runner.tierReserve,
      ...(notifier ? { notifier } : {}),
    },
  });
  // SIPHON_RUNNER_METRICS_PORT: subscribed before start, so the first claim is counted too.
  const metrics = await serveRunnerMetrics(runner, {
    port: config.runner.metricsPort,
    host: config.api.host,
    logger,
  }).catch(async (error: unknown) => {
    await Promise.all([pool.end(), readerPool.end()]);
    throw error;
  });
  if (metrics) logger.info({ url: `${metrics.url}/metrics` }, 'runner metrics listening');
  const incidents = attachIncidentReporting(runner.events, { db: pool, logger, notifier });
  await runner.start();
  return {
    runner,
    pool,
    stop: async () => {
      await runner.stop();
      await incidents.drain();
      incidents.detach();
      await metrics?.close();
      await Promise.all([pool.end(), readerPool.end()]);
    },
  };
}

/** The ML service's client when SIPHON_ML_BASE_URL is set; enrichment is off without it. */
function buildMlClient(config: Config): MlClient | undefined {
  const { baseUrl, token } = config.ml;
  return baseUrl ? new MlClient({ baseUrl, token }) : undefined;
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
    // Spans still buffered by the exporter are flushed before the process exits.
    shutdown()
      .then(() => shutdownTracing())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
