import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { PIPELINE_STATUSES } from '../../core/pipeline-spec.schema.js';
import { listPipelines } from '../../db/repositories/pipeline.repository.js';
import { listRuns } from '../../db/repositories/run.repository.js';
import { readState } from '../../db/repositories/state.repository.js';
import {
  changeEnabled,
  deletePipeline,
  getPipeline,
  patchPipeline,
  requestStatus,
  resetPipelineState,
  savePipeline,
  setTasks,
} from '../../pipelines/index.js';
import { validatePipeline } from '../../pipelines/validate.service.js';
import { latestReconciliation, reconcilePipeline } from '../../reconcile/index.js';
import { listTasks } from '../../tasks/index.js';
import { orderTasks } from '../../core/task-order.js';
import { SiphonError } from '../../core/errors.js';
import { listVersions } from '../../db/repositories/pipeline.repository.js';
import type { ApiDeps } from '../app.js';
import { presentPipeline } from '../presenters.js';

/** A NUL never names a pipeline, and PostgreSQL refuses it in text: a 400 here, not a 500 there. */
export const IdParams = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 200,
    pattern: '^[^\\u0000]+$',
    description: 'uuid or unique name',
  }),
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
      const row = await savePipeline(deps.pool, request.body, by(request), {
        policy: deps.sqlPolicy,
        readerPool: deps.readerPool,
      });
      return reply.status(201).send(presentPipeline(row));
    },
  );

  app.get(
    '/pipelines/:id',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'One pipeline (ETag = its configuration version)',
        params: IdParams,
      },
    },
    async (request, reply) => {
      const row = await getPipeline(deps.pool, (request.params as { id: string }).id);
      return reply.header('etag', `"${row.version}"`).send(presentPipeline(row));
    },
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

/** Configuration lifecycle: change (optimistic), delete, checkpoint reset, steps, versions, validate, reconcile. */
export function pipelineAdminRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const by = (request: { principal?: { name: string } }) => request.principal?.name ?? 'api';
  const id = (request: { params: unknown }) => (request.params as { id: string }).id;

  app.patch(
    '/pipelines/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Change part of a pipeline (If-Match: "<version>" or a version field is required)',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 40 })) }),
        body: Type.Object(
          {
            version: Type.Optional(Type.Integer({ minimum: 1 })),
            name: Type.Optional(Type.String()),
            description: Type.Optional(Type.String()),
            source_query: Type.Optional(Type.String()),
            target_table: Type.Optional(Type.String()),
            unique_key: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
            mode: Type.Optional(Type.String()),
            batch_size: Type.Optional(Type.Integer()),
            incremental_key: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            lookback: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            enabled: Type.Optional(Type.Boolean()),
            schedule: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            freshness: Type.Optional(Type.Union([Type.String(), Type.Null()])),
            social: Type.Optional(Type.Unknown()),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { version, ...patch } = request.body as { version?: number } & Record<string, unknown>;
      const expected = version ?? parseIfMatch(request.headers['if-match']);
      const result = await patchPipeline(deps.pool, id(request), patch, by(request), expected, {
        policy: deps.sqlPolicy,
        readerPool: deps.readerPool,
      });
      return reply.header('etag', `"${result.pipeline.version}"`).send({
        ...presentPipeline(result.pipeline),
        changed: result.changed,
        applies_from: result.appliesFrom,
        checkpoint_reset: result.checkpointReset,
      });
    },
  );

  app.delete(
    '/pipelines/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Delete a pipeline (refused while RUNNING; the target table stays)',
        params: IdParams,
      },
    },
    async (request) => {
      const row = await deletePipeline(deps.pool, id(request), by(request));
      return { deleted: row.id, name: row.name, target_table: row.target_table, target_kept: true };
    },
  );

  app.post(
    '/pipelines/:id/state/reset',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Forget the checkpoint: the next run starts from the beginning (audited)',
        params: IdParams,
      },
    },
    async (request) => {
      const previous = await resetPipelineState(deps.pool, id(request), by(request));
      return { reset: true, previous_state: previous ?? null };
    },
  );

  app.get(
    '/pipelines/:id/tasks',
    { schema: { tags: ['pipelines'], summary: 'The steps run after the load, in order', params: IdParams } },
    async (request) => {
      const row = await getPipeline(deps.pool, id(request));
      return {
        pipeline_id: row.id,
        version: row.version,
        items: orderTasks(await listTasks(deps.pool, row.id)),
      };
    },
  );

  app.put(
    '/pipelines/:id/tasks',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Replace the steps (SQL, or CODE naming a registered function); a new configuration version',
        params: IdParams,
        body: Type.Object({
          tasks: Type.Array(Type.Object({}, { additionalProperties: true }), { maxItems: 100 }),
        }),
      },
    },
    async (request) => {
      const { tasks } = request.body as { tasks: unknown[] };
      const result = await setTasks(deps.pool, id(request), tasks, by(request), {
        policy: deps.sqlPolicy,
        readerPool: deps.readerPool,
      });
      return { pipeline_id: result.pipeline.id, version: result.pipeline.version, items: result.tasks };
    },
  );

  app.get(
    '/pipelines/:id/versions',
    {
      schema: {
        tags: ['pipelines'],
        summary: 'Every configuration version: who, when, what changed',
        params: IdParams,
      },
    },
    async (request) => {
      const row = await getPipeline(deps.pool, id(request));
      return { pipeline_id: row.id, items: await listVersions(deps.pool, row.id) };
    },
  );

  app.post(
    '/pipelines/validate',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary:
          'Dry run: check a configuration, its SQL, columns, row estimate, sample rows and target; saves nothing',
        body: Type.Object({}, { additionalProperties: true }),
      },
    },
    async (request) => validatePipeline(deps.readerPool, deps.pool, request.body, deps.sqlPolicy),
  );

  app.post(
    '/pipelines/:id/reconcile',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Compare source and target: counts, key ranges, bucket digests, differing keys (stored)',
        params: IdParams,
        body: Type.Optional(
          Type.Object(
            { buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })) },
            { additionalProperties: false },
          ),
        ),
      },
    },
    async (request) => {
      const row = await getPipeline(deps.pool, id(request));
      const body = (request.body ?? {}) as { buckets?: number };
      return reconcilePipeline({ source: deps.readerPool, target: deps.pool }, row, {
        requestedBy: by(request),
        ...(deps.sqlPolicy ? { policy: deps.sqlPolicy } : {}),
        ...(body.buckets ? { buckets: body.buckets } : {}),
      });
    },
  );

  app.get(
    '/pipelines/:id/reconcile',
    { schema: { tags: ['pipelines'], summary: 'The latest reconcile result', params: IdParams } },
    async (request) => {
      const row = await getPipeline(deps.pool, id(request));
      const latest = await latestReconciliation(deps.pool, row.id);
      if (!latest)
        throw new SiphonError('SIPHON_ERR_RUN_NOT_FOUND', `pipeline ${row.name} has not been reconciled yet`);
      return latest;
    },
  );
}

/** `If-Match: "3"` (or W/"3", or 3) → 3. */
function parseIfMatch(header: string | undefined): number | undefined {
  const match = header ? /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim()) : null;
  if (header && !match) {
    throw new SiphonError(
      'SIPHON_ERR_REQUEST_INVALID',
      'If-Match must be the ETag of GET /pipelines/{id}, such as "3"',
      {
        field: 'headers.if-match',
      },
    );
  }
  return match ? Number(match[1]) : undefined;
}
