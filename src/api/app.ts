import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifySchemaCompiler,
} from 'fastify';
import AjvCompiler from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ApiDeps } from './api-deps.js';
import { registerAuth } from './plugins/auth.plugin.js';
import { registerErrorHandling } from './plugins/errors.plugin.js';
import { VALIDATED_BY_HANDLER } from './route-schemas.js';
import { healthRoutes } from './routes/health.routes.js';
import { pipelineAdminRoutes, pipelineRoutes } from './routes/pipelines.routes.js';
import { runRoutes } from './routes/runs.routes.js';
import { incidentRoutes } from './routes/incidents.routes.js';
import { connectionRoutes } from './routes/connections.routes.js';
import { accountRoutes } from './routes/accounts.routes.js';
import { socialReplayRoutes, syncRoutes } from './routes/sync.routes.js';
import { replayInstagramRaw } from '../connectors/instagram/index.js';
import { replayTikTokRaw } from '../connectors/tiktok/index.js';
import { replayYouTubeRaw } from '../connectors/youtube/index.js';
import { createMetrics } from '../observability/index.js';
import { consoleRoutes, type SessionStore } from './console/index.js';

/** SIPHON_API_BODY_LIMIT's default: 1 MiB. */
export const DEFAULT_BODY_LIMIT = 1_048_576;

/**
 * Query strings, path parameters and headers are text, converted to their schema's types (`?limit=5`);
 * bodies are JSON and never converted (`"target_table": true` is not a table name). A body schema
 * generated from a zod schema (route-schemas.ts) documents what its handler validates with that zod
 * schema, so Fastify lets it through.
 */
function validatorCompiler(): FastifySchemaCompiler<Record<string, unknown>> {
  const factory = AjvCompiler();
  const options = { removeAdditional: false, allErrors: false } as const;
  const converting = factory({}, { customOptions: { ...options, coerceTypes: true } });
  const exact = factory({}, { customOptions: { ...options, coerceTypes: false } });
  return (route) => {
    if (route.httpPart !== 'body') return converting(route);
    if (route.schema[VALIDATED_BY_HANDLER] === true) return () => true;
    return exact(route);
  };
}

/** Builds the API without listening (tests use app.inject()). */
export async function buildApp(
  deps: ApiDeps,
  options: { readonly sessions?: SessionStore } = {},
): Promise<FastifyInstance> {
  const bodyLimit = deps.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit,
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
  });
  app.setValidatorCompiler(validatorCompiler());
  registerErrorHandling(app, { bodyLimit });
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
  connectionRoutes(app, deps);
  syncRoutes(app, deps);
  accountRoutes(app, deps);
  if (deps.writerPool) {
    socialReplayRoutes(app, {
      writerPool: deps.writerPool,
      replayers: { youtube: replayYouTubeRaw, instagram: replayInstagramRaw, tiktok: replayTikTokRaw },
    });
  }
  // The web console (HTML, its own session and form token); hidden from the OpenAPI document.
  await app.register(async (ui) => consoleRoutes(ui, { ...deps, sessions: options.sessions }), {
    prefix: '/ui',
  });
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
