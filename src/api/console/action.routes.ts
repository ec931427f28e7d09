import type { FastifyInstance } from 'fastify';
import { isSiphonError, SiphonError } from '../../core/errors.js';
import { isUuid } from '../../core/identifiers.js';
import type { PipelineRow } from '../../db/repositories/pipeline.repository.js';
import { acknowledge, resolve } from '../../incidents/index.js';
import {
  changeEnabled,
  getPipeline,
  patchPipeline,
  requestStatusChange,
  resetPipelineState,
  savePipeline,
} from '../../pipelines/index.js';
import { validatePipeline } from '../../pipelines/validate.service.js';
import { reconcilePipeline } from '../../reconcile/index.js';
import { idParam, sendHtml, type ConsoleDeps, type ConsoleKit } from './console-kit.js';
import { formValues, patchOf, pipelineFormPage, specOf, valuesOf } from './pipeline-form.page.js';
import {
  confirmPage,
  isPipelineAction,
  PIPELINE_ACTIONS,
  reconciliationSummary,
  type PipelineAction,
} from './pipeline.page.js';

/**
 * What operators do: a pipeline's actions behind their confirmation page, the new-pipeline form
 * with its dry run, and acknowledging and resolving incidents. Each POST answers with a redirect
 * and a one-shot message, or with the form again and the refusal at its field.
 */
export function consoleActionRoutes(app: FastifyInstance, kit: ConsoleKit): void {
  const { deps, opts, ctxOf, by, sessionOf } = kit;

  app.get('/pipelines/new', opts('operator'), async (request, reply) =>
    sendHtml(reply, pipelineFormPage(ctxOf(request), { values: { mode: 'full' } })),
  );

  app.post('/pipelines/new', opts('operator'), async (request, reply) => {
    const values = formValues(request.body);
    const spec = specOf(values);
    const intent = (request.body as Record<string, unknown>).intent === 'save' ? 'save' : 'validate';
    try {
      if (intent === 'validate') {
        const report = await validatePipeline(deps.readerPool, deps.pool, spec, deps.sqlPolicy, deps.sources);
        return sendHtml(reply, pipelineFormPage(ctxOf(request), { values, report }));
      }
      const row = await savePipeline(deps.pool, spec, by(request), {
        policy: deps.sqlPolicy,
        readerPool: deps.readerPool,
      });
      sessionOf(request).flash = { kind: 'ok', message: `Pipeline ${row.name} is created.` };
      return reply.redirect(`/ui/pipelines/${row.id}`, 303);
    } catch (error) {
      if (!isSiphonError(error)) throw error;
      const problem = { code: error.code, message: error.message, field: error.field };
      return sendHtml(reply.status(error.status), pipelineFormPage(ctxOf(request), { values, problem }));
    }
  });

  app.get('/pipelines/:id/edit', opts('operator'), async (request, reply) => {
    const pipeline = await editable(deps, idParam(request));
    const edit = { id: pipeline.id, name: pipeline.name, version: pipeline.version };
    return sendHtml(reply, pipelineFormPage(ctxOf(request), { values: valuesOf(pipeline), edit }));
  });

  app.post('/pipelines/:id/edit', opts('operator'), async (request, reply) => {
    const pipeline = await editable(deps, idParam(request));
    const body = request.body as Record<string, unknown>;
    const values = formValues(body);
    const version =
      typeof body.version === 'string' && /^\d{1,9}$/.test(body.version) ? Number(body.version) : undefined;
    const edit = { id: pipeline.id, name: pipeline.name, version: version ?? pipeline.version };
    try {
      if (body.intent !== 'save') {
        const spec = { ...specOf(values), ...patchOf(values) };
        const report = await validatePipeline(deps.readerPool, deps.pool, spec, deps.sqlPolicy, deps.sources);
        return sendHtml(reply, pipelineFormPage(ctxOf(request), { values, report, edit }));
      }
      const result = await patchPipeline(deps.pool, pipeline.id, patchOf(values), by(request), version, {
        policy: deps.sqlPolicy,
        readerPool: deps.readerPool,
      });
      const what =
        result.changed.length === 0
          ? 'Nothing changed.'
          : `Saved as version ${result.pipeline.version}: ${result.changed.join(', ')} changed` +
            `${result.appliesFrom === 'next_run' ? ', from the next run' : ''}` +
            `${result.checkpointReset ? '; the checkpoint was reset' : ''}.`;
      sessionOf(request).flash = { kind: 'ok', message: what };
      return reply.redirect(`/ui/pipelines/${pipeline.id}`, 303);
    } catch (error) {
      if (!isSiphonError(error)) throw error;
      const problem = { code: error.code, message: error.message, field: error.field };
      return sendHtml(
        reply.status(error.status),
        pipelineFormPage(ctxOf(request), { values, problem, edit }),
      );
    }
  });

  app.get('/pipelines/:id/confirm/:action', opts('operator'), async (request, reply) => {
    const action = (request.params as { action: string }).action;
    if (!isPipelineAction(action)) return reply.callNotFound();
    const pipeline = await getPipeline(deps.pool, idParam(request));
    return sendHtml(reply, confirmPage(ctxOf(request), pipeline, action));
  });

  app.post('/pipelines/:id/actions/:action', opts('operator'), async (request, reply) => {
    const action = (request.params as { action: string }).action;
    if (!isPipelineAction(action)) return reply.callNotFound();
    const pipeline = await getPipeline(deps.pool, idParam(request));
    const session = sessionOf(request);
    try {
      session.flash = { kind: 'ok', message: await act(deps, pipeline, action, by(request)) };
    } catch (error) {
      if (!isSiphonError(error)) throw error;
      session.flash = { kind: 'error', code: error.code, message: error.message };
    }
    return reply.redirect(`/ui/pipelines/${pipeline.id}`, 303);
  });

  for (const name of ['acknowledge', 'resolve'] as const) {
    app.post(`/incidents/:id/${name}`, opts('operator'), async (request, reply) => {
      const id = idParam(request);
      if (!isUuid(id)) throw new SiphonError('SIPHON_ERR_INCIDENT_NOT_FOUND', 'there is no such incident');
      const session = sessionOf(request);
      const service = { db: deps.pool, notifier: deps.incidentNotifier };
      try {
        const row = await (name === 'acknowledge' ? acknowledge : resolve)(service, id, by(request));
        session.flash = { kind: 'ok', message: `Incident ${row.kind} is now ${row.status}.` };
      } catch (error) {
        if (!isSiphonError(error)) throw error;
        session.flash = { kind: 'error', code: error.code, message: error.message };
      }
      return reply.redirect('/ui/incidents', 303);
    });
  }
}

/** A pipeline the form can edit: kind `sql` (a social pipeline's spec is changed through the API). */
async function editable(deps: ConsoleDeps, id: string): Promise<PipelineRow> {
  const pipeline = await getPipeline(deps.pool, id);
  if (pipeline.kind !== 'sql')
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      `pipeline ${pipeline.name} is of kind ${pipeline.kind}: change it with PATCH /pipelines/{id}`,
    );
  return pipeline;
}

/** Carries out a confirmed action through the same use cases as the API; returns what happened, in words. */
async function act(
  deps: ConsoleDeps,
  pipeline: PipelineRow,
  action: PipelineAction,
  by: string,
): Promise<string> {
  const label = PIPELINE_ACTIONS[action].label;
  const id = pipeline.id;
  switch (action) {
    case 'run':
    case 'resume':
    case 'pause': {
      const request = action === 'pause' ? 'pause' : 'run';
      const { pipeline, changed } = await requestStatusChange(deps.pool, id, request, by, 'console');
      return changed
        ? `${label}: the pipeline is now ${pipeline.status}.`
        : `Already ${pipeline.status}: nothing changed.`;
    }
    case 'enable':
    case 'disable': {
      const pipeline = await changeEnabled(deps.pool, id, action === 'enable', by);
      return `The pipeline is ${pipeline.enabled ? 'enabled' : 'disabled'}.`;
    }
    case 'reconcile': {
      const result = await reconcilePipeline({ source: deps.readerPool, target: deps.pool }, pipeline, {
        requestedBy: by,
        ...(deps.sqlPolicy ? { policy: deps.sqlPolicy } : {}),
        ...(deps.sources ? { sources: deps.sources } : {}),
      });
      return `Reconciled: ${reconciliationSummary(result)}.`;
    }
    case 'reset-checkpoint': {
      const previous = await resetPipelineState(deps.pool, id, by);
      return previous
        ? 'The checkpoint is reset: the next run starts from the beginning.'
        : 'There was no checkpoint to reset.';
    }
    default: {
      const never: never = action;
      throw new Error(`unknown action ${String(never)}`);
    }
  }
}
