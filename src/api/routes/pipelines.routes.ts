import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { parsePipelinePatch, PIPELINE_STATUSES } from '../../core/pipeline-spec.schema.js';
import { listPipelines } from '../../db/repositories/pipeline.repository.js';
import { listRuns } from '../../db/repositories/run.repository.js';
import { readLanes } from '../../db/repositories/lanes.repository.js';
import { readState } from '../../db/repositories/state.repository.js';
import {
  changeEnabled,
  deletePipeline,
  getPipeline,
  patchPipeline,
  requestStatusChange,
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
import type { ApiDeps } from '../api-deps.js';
import { IdParams, Paging, PipelineBody, PipelinePatchBody, TaskListBody } from '../route-schemas.js';
import { presentPipeline } from '../presenters.js';

/** Who asked: the token's name, else 'api'. */
const by = (request: { principal?: { name: string } }) => request.principal?.name ?? 'api';
/** The `:id` path parameter (a uuid or a unique name). */
const id = (request: { params: unknown }) => (request.params as { id: string }).id;

/** Listing, reading and the status changes a person asks for: run, pause, enable, disable. */
export function pipelineRoutes(app: FastifyInstance, deps: ApiDeps): void {
  pipelineCollectionRoutes(app, deps);
  pipelineReadRoutes(app, deps);
  pipelineActionRoutes(app, deps);
}

/** Configuration lifecycle: change (optimistic), delete, checkpoint reset, steps, versions, validate, reconcile. */
export function pipelineAdminRoutes(app: FastifyInstance, deps: ApiDeps): void {
  pipelineChangeRoutes(app, deps);
  pipelineTaskRoutes(app, deps);
  pipelineCheckRoutes(app, deps);
}

/** `GET /pipelines` (filtered, paged) and `POST /pipelines`. */
function pipelineCollectionRoutes(app: FastifyInstance, deps: ApiDeps): void {
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
        summary: 'Create a pipeline (with its steps, optionally)',
        body: PipelineBody,
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
}

/** One pipeline: itself (with its ETag), its status, its checkpoint and its recent runs. */
function pipelineReadRoutes(app: FastifyInstance, deps: ApiDeps): void {
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
      // A full pass read in parallel lanes keeps each lane's position there, not in full_cursor.
      const lanes = await readLanes(deps.pool, row.id);
      return { pipeline_id: row.id, state: state ?? null, lanes };
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
}

/** Run, pause (202 when accepted, 200 when already in effect), enable and disable. */
function pipelineActionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  for (const action of ['run', 'pause'] as const) {
    app.post(
      `/pipelines/:id/${action}`,
      {
        config: { access: 'operator' },
        schema: {
          tags: ['pipelines'],
          summary:
            action === 'run'
              ? 'Request a run (202; 200 with "changed": false when one is already requested)'
              : 'Request a pause (202; 200 with "changed": false when already PAUSED or PAUSE_REQUESTED)',
          params: IdParams,
        },
      },
      async (request, reply) => {
        const { pipeline, changed } = await requestStatusChange(
          deps.pool,
          (request.params as { id: string }).id,
          action,
          by(request),
          'api',
        );
        // 202: the request was accepted and a runner will act on it; 200: it was already in effect.
        return reply.status(changed ? 202 : 200).send({ ...presentPipeline(pipeline), changed });
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

/** `PATCH` (optimistic, by version or If-Match) and `DELETE` a pipeline; reset its checkpoint. */
function pipelineChangeRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.patch(
    '/pipelines/:id',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Change part of a pipeline (If-Match: "<version>" or a version field is required)',
        params: IdParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 40 })) }),
        body: PipelinePatchBody,
      },
    },
    async (request, reply) => {
      const { version, patch } = parsePipelinePatch(request.body);
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
}

/** The steps run after the load (read and replace) and the configuration versions. */
function pipelineTaskRoutes(app: FastifyInstance, deps: ApiDeps): void {
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
        body: TaskListBody,
      },
    },
    async (request) => {
      const tasks = taskListOf(request.body);
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
}

/** Dry-run validation of a configuration; reconcile source and target, and its latest result. */
function pipelineCheckRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post(
    '/pipelines/validate',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary:
          'Dry run: check a configuration, its SQL, columns, row estimate, sample rows and target; saves nothing',
        body: PipelineBody,
      },
    },
    async (request) =>
      validatePipeline(deps.readerPool, deps.pool, request.body, deps.sqlPolicy, deps.sources),
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
        ...(deps.sources ? { sources: deps.sources } : {}),
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

/** The `tasks` of a `PUT /pipelines/{id}/tasks` body (each step is validated by parseTaskSpecs). */
function taskListOf(body: unknown): unknown {
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  const extra = isObject ? Object.keys(body).find((k) => k !== 'tasks') : undefined;
  if (!isObject || !('tasks' in body) || extra !== undefined) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      extra === undefined
        ? 'the body must be {"tasks": [...]}: the whole list of steps'
        : `${extra} is not a field of this body; send {"tasks": [...]}`,
      { field: extra ?? 'tasks' },
    );
  }
  return body.tasks;
}
