import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import type { Pool } from '../db/pool.js';
import type { SqlPolicy } from '../sql-guard/index.js';
import type { IncidentNotifier } from '../incidents/index.js';
import { registerAuth, type TokenConfig } from './plugins/auth.plugin.js';
import { registerErrorHandling } from './plugins/errors.plugin.js';
import { healthRoutes } from './routes/health.routes.js';
import { pipelineAdminRoutes, pipelineRoutes } from './routes/pipelines.routes.js';
import { runRoutes } from './routes/runs.routes.js';
import { incidentRoutes } from './routes/incidents.routes.js';
import { socialReplayRoutes, syncRoutes } from './routes/sync.routes.js';
import { replayInstagramRaw } from '../connectors/instagram/index.js';
import { replayTikTokRaw } from '../connectors/tiktok/index.js';
import { replayYouTubeRaw } from '../connectors/youtube/index.js';
import { createMetrics } from '../observability/index.js';

export interface ApiDeps {
  /** Pool logged in as siphon_api. */
  readonly pool: Pool;
  /** Pool logged in as siphon_reader: validate and reconcile read sources with it, READ ONLY. */
  readonly readerPool: Pool;
  readonly logger: Logger;
  readonly tokens: TokenConfig;
  /** A runner whose heartbeat is older than this is not live. */
  readonly runnerStaleMs: number;
  /** What pipeline SQL may read, write and call. @default DEFAULT_SQL_POLICY */
  readonly sqlPolicy?: SqlPolicy;
  /** Told when a person resolves an incident through the API (the webhook). @default none: nobody is notified */
  readonly incidentNotifier?: IncidentNotifier;
  /**
   * A siphon_writer pool for `POST /social/replay`, the one route that writes social tables (the
   * API's own role only reads them). @default none: the route is not served
   */
  readonly writerPool?: Pool;
}

/** Builds the API without listening (tests use app.inject()). */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: 1_048_576,
    // Errors the router raises before any route runs (malformed URL, over-long path parameter) get
    // the same envelope as everything else.
    frameworkErrors: (error, _request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void (reply as FastifyReply).status(tooLong ? 414 : 400).send({
        error: {
          code: 'SIPHON_ERR_REQUEST_INVALID',
          message: tooLong ? 'a path parameter is too long (at most 100 characters)' : 'the URL is malformed',
        },
      });
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });
  registerErrorHandling(app);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Siphon API',
        version: '0.1.0',
        description: 'Manage configuration-driven ETL pipelines.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } });
  registerAuth(app, deps.tokens);
  healthRoutes(app, deps);
  pipelineRoutes(app, deps);
  pipelineAdminRoutes(app, deps);
  runRoutes(app, deps);
  incidentRoutes(app, deps);
  syncRoutes(app, deps);
  if (deps.writerPool) {
    socialReplayRoutes(app, {
      writerPool: deps.writerPool,
      replayers: { youtube: replayYouTubeRaw, instagram: replayInstagramRaw, tiktok: replayTikTokRaw },
    });
  }
  const metrics = createMetrics(deps.pool, deps.runnerStaleMs);
  app.get(
    '/metrics',
    { schema: { tags: ['health'], summary: 'Prometheus metrics (viewer token)' } },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  return app;
}
