import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { Pool } from '../../db/pool.js';
import {
  acknowledge,
  getIncident,
  INCIDENT_STATUSES,
  listIncidents,
  resolve,
  type IncidentNotifier,
  type IncidentStatus,
} from '../../incidents/index.js';

/** What the incident routes need from ApiDeps; the notifier is the webhook, when one is configured. */
export interface IncidentRouteDeps {
  /** Pool logged in as siphon_api (reads incidents, may only acknowledge and resolve them). */
  readonly pool: Pool;
  /** Told when a person resolves an incident. @default none: nobody is notified */
  readonly incidentNotifier?: IncidentNotifier;
}

const IncidentParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export function incidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps): void {
  const service = { db: deps.pool, notifier: deps.incidentNotifier };
  const by = (request: { principal?: { name: string } }) => request.principal?.name ?? 'api';
  const id = (request: { params: unknown }) => (request.params as { id: string }).id;

  app.get(
    '/incidents',
    {
      schema: {
        tags: ['incidents'],
        summary: 'Incidents, most recently seen first',
        querystring: Type.Object({
          status: Type.Optional(Type.Union(INCIDENT_STATUSES.map((s) => Type.Literal(s)))),
          pipeline: Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 200,
              pattern: '^[A-Za-z0-9_-]+$',
              description: 'uuid or name',
            }),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
        }),
      },
    },
    async (request) => {
      const q = request.query as {
        status?: IncidentStatus;
        pipeline?: string;
        limit?: number;
        offset?: number;
      };
      const limit = q.limit ?? 50;
      const offset = q.offset ?? 0;
      const items = await listIncidents(deps.pool, { status: q.status, pipeline: q.pipeline, limit, offset });
      return { items, limit, offset };
    },
  );

  app.get(
    '/incidents/:id',
    { schema: { tags: ['incidents'], summary: 'One incident', params: IncidentParams } },
    async (request) => getIncident(deps.pool, id(request)),
  );

  app.post(
    '/incidents/:id/acknowledge',
    {
      config: { access: 'operator' },
      schema: { tags: ['incidents'], summary: 'Acknowledge an OPEN incident', params: IncidentParams },
    },
    async (request) => acknowledge(service, id(request), by(request)),
  );

  app.post(
    '/incidents/:id/resolve',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['incidents'],
        summary: 'Resolve an OPEN or ACKNOWLEDGED incident',
        params: IncidentParams,
      },
    },
    async (request) => resolve(service, id(request), by(request)),
  );
}
