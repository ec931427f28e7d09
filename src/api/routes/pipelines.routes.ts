import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { PIPELINE_STATUSES } from '../../core/pipeline-spec.schema.js';
import { listPipelines } from '../../db/repositories/pipeline.repository.js';
import { listRuns } from '../../db/repositories/run.repository.js';
import { readState } from '../../db/repositories/state.repository.js';
import { changeEnabled, getPipeline, requestStatus, savePipeline } from '../../pipelines/index.js';
import type { ApiDeps } from '../app.js';
import { presentPipeline } from '../presenters.js';

const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200, description: 'uuid or unique name' }),
});
const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
};

export function pipelineRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const by = (request: { principal?: { name: string } }) => request.principal?.name ?? 'api';

  app.get(
    '/pipelines',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'List pipelines',
        querystring: Type.Object({
          status: Type.Optional(Type.Union(PIPELINE_STATUSES.map((s) => Type.Literal(s)))),
          enabled: Type.Optional(Type.Boolean()),
          ...Paging,
        }),
      },
    },
    async (request) => {
      const q = request.query as {
        status?: (typeof PIPELINE_STATUSES)[number];
        enabled?: boolean;
        limit?: number;
        offset?: number;
      };
      const rows = await listPipelines(deps.pool, q);
      return { items: rows.map(presentPipeline), limit: q.limit ?? 50, offset: q.offset ?? 0 };
    },
  );

  app.post(
    '/pipelines',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Create a pipeline',
        body: Type.Object({}, { additionalProperties: true }),
      },
    },
    async (request, reply) => {
      const row = await savePipeline(deps.pool, request.body, by(request), { policy: deps.sqlPolicy });
      return reply.status(201).send(presentPipeline(row));
    },
  );

  app.get(
    '/pipelines/:id',
    { schema: { tags: ['pipelines'], summary: 'One pipeline', params: IdParams } },
    async (request) => presentPipeline(await getPipeline(deps.pool, (request.params as { id: string }).id)),
  );

  app.get(
    '/pipelines/:id/status',
    { schema: { tags: ['pipelines'], summary: 'Current status', params: IdParams } },
    async (request) => {
      const row = await getPipeline(deps.pool, (request.params as { id: string }).id);
      return {
        id: row.id,
        name: row.name,
        status: row.status,
        enabled: row.enabled,
        current_run_id: row.current_run_id,
      };
    },
  );

  app.get(
    '/pipelines/:id/state',
    { schema: { tags: ['pipelines'], summary: 'The checkpoint (etl_state)', params: IdParams } },
    async (request) => {
      const row = await getPipeline(deps.pool, (request.params as { id: string }).id);
      const state = await readState(deps.pool, row.id);
      return { pipeline_id: row.id, state: state ?? null };
    },
  );

  app.get(
    '/pipelines/:id/runs',
    {
      schema: {
        tags: ['runs'],
        summary: 'Recent runs, newest first',
        params: IdParams,
        querystring: Type.Object(Paging),
      },
    },
    async (request) => {
      const row = await getPipeline(deps.pool, (request.params as { id: string }).id);
      const q = request.query as { limit?: number; offset?: number };
      return { items: await listRuns(deps.pool, row.id, q.limit ?? 50, q.offset ?? 0) };
    },
  );

  for (const action of ['run', 'pause'] as const) {
    app.post(
      `/pipelines/:id/${action}`,
      {
        config: { access: 'operator' },
        schema: {
          tags: ['pipelines'],
          summary: action === 'run' ? 'Request a run' : 'Request a pause',
          params: IdParams,
        },
      },
      async (request, reply) => {
        const row = await requestStatus(
          deps.pool,
          (request.params as { id: string }).id,
          action,
          by(request),
          'api',
        );
        return reply.status(202).send(presentPipeline(row));
      },
    );
  }

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    app.post(
      `/pipelines/:id/${action}`,
      {
        config: { access: 'operator' },
        schema: { tags: ['pipelines'], summary: `${action} the pipeline`, params: IdParams },
      },
      async (request) =>
        presentPipeline(
          await changeEnabled(deps.pool, (request.params as { id: string }).id, enabled, by(request)),
        ),
    );
  }
}
