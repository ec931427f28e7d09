import type { FastifyInstance } from 'fastify';
import { currentMigrationVersion, readMigrations } from '../../db/migrator.js';
import { listRunners } from '../../db/repositories/runner.repository.js';
import type { ApiDeps } from '../api-deps.js';

export function healthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const expected = readMigrations().at(-1)?.version ?? 0;
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: { tags: ['health'], summary: 'Database reachable, migrations current, live runners' },
    },
    async (_request, reply) => {
      try {
        const version = await currentMigrationVersion(deps.pool);
        const runners = await listRunners(deps.pool, deps.runnerStaleMs);
        const live = runners.filter((r) => r.alive);
        const migrationsCurrent = version >= expected;
        const body = {
          status: migrationsCurrent ? 'ok' : 'degraded',
          database: 'reachable',
          migrations: { applied: version, expected, current: migrationsCurrent },
          runners: live.map((r) => ({
            id: r.id,
            hostname: r.hostname,
            pid: r.pid,
            heartbeat_at: r.heartbeat_at,
          })),
        };
        return reply.status(migrationsCurrent ? 200 : 503).send(body);
      } catch (error) {
        return reply.status(503).send({
          status: 'unavailable',
          database: 'unreachable',
          error: { code: 'SIPHON_ERR_DB_UNREACHABLE', message: (error as Error).message },
        });
      }
    },
  );
}
