import type { FastifyInstance } from 'fastify';
import { SiphonError } from '../../core/errors.js';
import { INCIDENT_STATUSES, type IncidentStatus } from '../../core/incident.js';
import { PIPELINE_STATUSES } from '../../core/pipeline-spec.schema.js';
import {
  listPipelineSummaries,
  listRunnerSummaries,
  listUnresolvedIncidents,
  previousFullRunRows,
  rowsMovedToday,
} from '../../db/repositories/console.repository.js';
import {
  listAccountSyncStates,
  listEnrichmentBacklog,
  listQuotaBurn,
} from '../../db/repositories/console-social.repository.js';
import { listVersions } from '../../db/repositories/pipeline.repository.js';
import { findRun, listBatches, listRuns } from '../../db/repositories/run.repository.js';
import { readState } from '../../db/repositories/state.repository.js';
import { readSyncSummary } from '../../db/repositories/sync-status.repository.js';
import { listIncidents } from '../../incidents/index.js';
import { getPipeline } from '../../pipelines/index.js';
import { latestReconciliation } from '../../reconcile/index.js';
import { idParam, oneOf, sendHtml, type ConsoleKit } from './console-kit.js';
import { freshnessVerdict } from './freshness.js';
import { incidentsPage } from './incidents.page.js';
import { overviewPage } from './overview.page.js';
import { pipelinePage } from './pipeline.page.js';
import { summarize } from './pipeline-summary.js';
import { PIPELINE_KINDS, pipelinesPage } from './pipelines.page.js';
import { runPage } from './run.page.js';
import { socialPage, socialPipelinePage } from './social.page.js';
import { versionsPage } from './versions.page.js';

/** The pages anyone signed in may read, and their live streams. */
export function consoleReadRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const { deps, opts, ctxOf, live } = kit;

  app.get('/', opts('viewer'), async (request, reply) => {
    const now = new Date();
    const [pipelines, runners, incidents, today] = await Promise.all([
      listPipelineSummaries(deps.pool),
      listRunnerSummaries(deps.pool, deps.runnerStaleMs),
      listUnresolvedIncidents(deps.pool, 50),
      rowsMovedToday(deps.pool),
    ]);
    return sendHtml(
      reply,
      overviewPage(ctxOf(request), { pipelines: summarize(pipelines, now), runners, incidents, today }),
    );
  });

  app.get('/pipelines', opts('viewer'), async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const filter = {
      text: typeof q.q === 'string' ? q.q.trim().slice(0, 200) || undefined : undefined,
      kind: oneOf(q.kind, PIPELINE_KINDS),
      status: oneOf(q.status, PIPELINE_STATUSES),
    };
    const rows = await listPipelineSummaries(deps.pool, filter);
    return sendHtml(reply, pipelinesPage(ctxOf(request), filter, summarize(rows, new Date())));
  });

  app.get('/pipelines/:id', opts('viewer'), async (request, reply) => {
    const pipeline = await getPipeline(deps.pool, idParam(request));
    const now = new Date();
    const [state, runs, versions, [summary], reconciliation] = await Promise.all([
      readState(deps.pool, pipeline.id),
      listRuns(deps.pool, pipeline.id, 30),
      listVersions(deps.pool, pipeline.id),
      listPipelineSummaries(deps.pool, { id: pipeline.id }),
      latestReconciliation(deps.pool, pipeline.id),
    ]);
    const staleness = summary?.staleness_seconds;
    const verdict = freshnessVerdict(pipeline, staleness ?? 0, now);
    return sendHtml(
      reply,
      pipelinePage(
        ctxOf(request),
        { pipeline, state, runs, versions, verdict, stalenessSeconds: staleness, reconciliation },
        now,
      ),
    );
  });

  app.get('/pipelines/:id/versions', opts('viewer'), async (request, reply) => {
    const pipeline = await getPipeline(deps.pool, idParam(request));
    const versions = await listVersions(deps.pool, pipeline.id);
    const q = request.query as Record<string, unknown>;
    const pick = (value: unknown, fallback: number | undefined) =>
      versions.find((v) => String(v.version) === value) ?? versions.find((v) => v.version === fallback);
    const to = pick(q.to, versions[0]?.version);
    const from = pick(q.from, versions[1]?.version ?? versions[0]?.version);
    if (!from || !to)
      throw new SiphonError('SIPHON_ERR_REQUEST_INVALID', 'this pipeline has no recorded version');
    return sendHtml(reply, versionsPage(ctxOf(request), pipeline, versions, from, to));
  });

  app.get('/pipelines/:id/events', opts('viewer'), async (request, reply) => {
    const pipeline = await getPipeline(deps.pool, idParam(request));
    live.pipeline(request, reply, pipeline.id);
  });

  app.get('/runs/:id', opts('viewer'), async (request, reply) => {
    const run = await findRun(deps.pool, idParam(request));
    if (!run) throw new SiphonError('SIPHON_ERR_RUN_NOT_FOUND', 'there is no such run');
    const [pipeline, batches, expectedRows] = await Promise.all([
      getPipeline(deps.pool, run.pipeline_id),
      listBatches(deps.pool, run.id),
      run.mode === 'full' ? previousFullRunRows(deps.pool, run.pipeline_id, run.id) : undefined,
    ]);
    return sendHtml(reply, runPage(ctxOf(request), { run, pipeline, batches, expectedRows }, new Date()));
  });

  app.get('/runs/:id/events', opts('viewer'), async (request, reply) => {
    const run = await findRun(deps.pool, idParam(request));
    if (!run) throw new SiphonError('SIPHON_ERR_RUN_NOT_FOUND', 'there is no such run');
    live.run(request, reply, run);
  });

  app.get('/social', opts('viewer'), async (request, reply) => {
    const [quotas, backlog, pipelines] = await Promise.all([
      listQuotaBurn(deps.pool),
      listEnrichmentBacklog(deps.pool),
      listPipelineSummaries(deps.pool, { kind: 'social' }),
    ]);
    const now = new Date();
    return sendHtml(
      reply,
      socialPage(ctxOf(request), { quotas, backlog, pipelines: summarize(pipelines, now) }, now),
    );
  });

  app.get('/social/:id', opts('viewer'), async (request, reply) => {
    const pipeline = await getPipeline(deps.pool, idParam(request));
    if (pipeline.kind !== 'social')
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_NOT_SOCIAL',
        `pipeline ${pipeline.name} is not a social sync`,
      );
    const summary = await readSyncSummary(deps.pool, pipeline.id, undefined);
    const accounts = summary.run ? await listAccountSyncStates(deps.pool, summary.run.id, 1000) : [];
    return sendHtml(reply, socialPipelinePage(ctxOf(request), pipeline, summary, accounts));
  });

  app.get('/incidents', opts('viewer'), async (request, reply) => {
    const status = oneOf((request.query as Record<string, unknown>).status, INCIDENT_STATUSES) as
      IncidentStatus | undefined;
    const incidents = await listIncidents(deps.pool, { status, limit: 200, offset: 0 });
    return sendHtml(reply, incidentsPage(ctxOf(request), status, incidents));
  });
}
