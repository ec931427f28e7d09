import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Type } from '@fastify/type-provider-typebox';
import { SiphonError } from '../../core/errors.js';
import type { Executor, Pool } from '../../db/pool.js';
import { enrichmentSummary, type EnrichmentSummary } from '../../enrichment/index.js';
import { getPipeline } from '../../pipelines/index.js';
import {
  listQuotaStatus,
  PLATFORMS,
  readSyncSummary,
  type Platform,
  type SyncSummary,
  planQuotas,
} from '../../sync/index.js';
import { replayRawZone, type RawReplayer } from '../../sync/replay.js';
import type { ApiDeps } from '../api-deps.js';
import { IdParams } from '../route-schemas.js';

/** What `GET /pipelines/{id}/sync` and `siphon sync status` answer: the pipeline, then its run's summary. */
export interface PipelineSyncStatus extends SyncSummary {
  readonly pipeline_id: string;
  readonly name: string;
  readonly platform: string;
  readonly accounts: number;
  readonly pipeline_status: string;
  /** The run's enrichment items (waiting, oldest wait, done, failed, expired); null when there is no run. */
  readonly enrichment: EnrichmentSummary | null;
}

/**
 * The sync summary of a social pipeline's run (`runId`, else its current run, else its latest).
 * A pipeline of another kind is SIPHON_ERR_PIPELINE_NOT_SOCIAL; a run of another pipeline, RUN_NOT_FOUND.
 */
export async function pipelineSyncStatus(
  db: Executor,
  idOrName: string,
  runId?: string,
): Promise<PipelineSyncStatus> {
  const pipeline = await getPipeline(db, idOrName);
  if (pipeline.kind !== 'social' || !pipeline.social) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_NOT_SOCIAL',
      `pipeline ${pipeline.name} is of kind ${pipeline.kind}: only social pipelines have a sync status`,
    );
  }
  const summary = await readSyncSummary(db, pipeline.id, runId);
  if (runId && !summary.run) {
    throw new SiphonError('SIPHON_ERR_RUN_NOT_FOUND', `no run ${runId} for pipeline ${pipeline.name}`, {
      field: 'querystring.run',
    });
  }
  return {
    pipeline_id: pipeline.id,
    name: pipeline.name,
    platform: pipeline.social.platform,
    accounts: pipeline.social.accounts?.length ?? summary.jobs.total,
    pipeline_status: pipeline.status,
    ...summary,
    enrichment: summary.run ? await enrichmentSummary(db, summary.run.id) : null,
  };
}

/** Visibility of the social sync: the shared quota limiters, and where a social pipeline's run stands. */
export function syncRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/quotas',
    {
      schema: {
        tags: ['sync'],
        summary: 'Per platform and credential: call rate, calls made, 429s, daily units used and left, pause',
      },
    },
    async () => ({ items: await listQuotaStatus(deps.pool) }),
  );

  app.get(
    '/quotas/plan',
    {
      schema: {
        tags: ['sync'],
        summary:
          'The quota planner: per platform, what the tracked accounts need a day at their tiers (measured cost of a regular sync) against the credentials’ capacity; which tiers fall behind, and what would fit',
        querystring: Type.Object({
          days: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 90,
              default: 7,
              description: 'Measure costs on this many days of runs',
            }),
          ),
        }),
      },
    },
    async (request) => planQuotas(deps.pool, (request.query as { days?: number }).days ?? 7),
  );

  app.get(
    '/pipelines/:id/sync',
    {
      schema: {
        tags: ['sync'],
        summary:
          'A social pipeline’s current or last run (or ?run=): jobs, tasks, waits, calls, failures, skipped accounts, enrichment',
        params: IdParams,
        querystring: Type.Object({
          run: Type.Optional(Type.String({ format: 'uuid', description: 'an earlier run of this pipeline' })),
        }),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { run } = request.query as { run?: string };
      return pipelineSyncStatus(deps.pool, id, run);
    },
  );
}

export interface SocialReplayDeps {
  /** A siphon_writer pool: replay writes the unified tables (the API's own pool only reads them). */
  readonly writerPool: Pool;
  /** Each platform's pure transform of a stored page (the connectors' `replay*Raw`). */
  readonly replayers: Readonly<Partial<Record<Platform, RawReplayer>>>;
}

/**
 * `POST /social/replay` (operator token): runs the transforms again from the raw zone for a range of
 * fetched_at, without calling any platform (src/sync/replay.ts); answers the replay's summary.
 */
export function socialReplayRoutes(app: FastifyInstance, deps: SocialReplayDeps): void {
  app.post(
    '/social/replay',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['sync'],
        summary: 'Re-run transforms from the raw zone for a range (no platform call): upserts only',
        body: Type.Object(
          {
            platform: Type.Union(PLATFORMS.map((p) => Type.Literal(p))),
            since: Type.Optional(Type.String({ format: 'date-time', description: 'fetched at or after' })),
            until: Type.Optional(Type.String({ format: 'date-time', description: 'fetched before' })),
            kind: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'one raw kind' })),
            batch: Type.Optional(
              Type.Integer({ minimum: 1, maximum: 10_000, description: 'pages per transaction' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const body = request.body as {
        platform: Platform;
        since?: string;
        until?: string;
        kind?: string;
        batch?: number;
      };
      const since = body.since === undefined ? undefined : new Date(body.since);
      const until = body.until === undefined ? undefined : new Date(body.until);
      if (since && until && since >= until) {
        throw new SiphonError('SIPHON_ERR_REQUEST_INVALID', 'since must be before until', {
          field: 'body.since',
        });
      }
      const replay = deps.replayers[body.platform];
      if (!replay) {
        throw new SiphonError('SIPHON_ERR_REQUEST_INVALID', `no replay for platform ${body.platform}`, {
          field: 'body.platform',
        });
      }
      return replayRawZone(
        { pool: deps.writerPool, replay, logger: request.log as unknown as Logger },
        {
          platform: body.platform,
          ...(since ? { since } : {}),
          ...(until ? { until } : {}),
          ...(body.kind ? { kind: body.kind } : {}),
          ...(body.batch ? { pagesPerTransaction: body.batch } : {}),
        },
      );
    },
  );
}
