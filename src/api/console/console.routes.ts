import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import { isSiphonError, SiphonError } from '../../core/errors.js';
import { isUuid } from '../../core/identifiers.js';
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
import { readSyncSummary } from '../../db/repositories/sync-status.repository.js';
import { socialPage, socialPipelinePage } from './social.page.js';
import { listVersions } from '../../db/repositories/pipeline.repository.js';
import { findRun, listBatches, listRuns } from '../../db/repositories/run.repository.js';
import { readState } from '../../db/repositories/state.repository.js';
import { acknowledge, listIncidents, resolve } from '../../incidents/index.js';
import {
  changeEnabled,
  getPipeline,
  requestStatusChange,
  resetPipelineState,
  savePipeline,
} from '../../pipelines/index.js';
import { validatePipeline } from '../../pipelines/validate.service.js';
import { formValues, pipelineFormPage, specOf } from './pipeline-form.page.js';
import type { ApiDeps } from '../api-deps.js';
import { tokenVerifier, type Role } from '../plugins/auth.plugin.js';
import { CONSOLE_CSS, CONSOLE_JS } from './console.assets.js';
import { freshnessVerdict } from './freshness.js';
import type { Html } from './html.js';
import { incidentsPage } from './incidents.page.js';
import type { PageContext } from './layout.js';
import { openLiveStreams } from './live-stream.js';
import { overviewPage } from './overview.page.js';
import {
  confirmPage,
  isPipelineAction,
  pipelinePage,
  PIPELINE_ACTIONS,
  reconciliationSummary,
  type PipelineAction,
} from './pipeline.page.js';
import type { PipelineRow } from '../../db/repositories/pipeline.repository.js';
import { latestReconciliation, reconcilePipeline } from '../../reconcile/index.js';
import { PIPELINE_KINDS, pipelinesPage } from './pipelines.page.js';
import { summarize } from './pipeline-summary.js';
import { runPage } from './run.page.js';
import { SessionStore, csrfMatches, type ConsoleSession } from './session.store.js';
import { problemPage, signInPage } from './sign-in.page.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may open a console route (the bearer hook sees these routes as `public`). */
    consoleAccess?: 'public' | Role;
  }
}

export const SESSION_COOKIE = 'siphon_session';

/** What the console needs: the API's own deps, and optionally its session store and live-update pace. */
export interface ConsoleDeps extends Pick<
  ApiDeps,
  'pool' | 'readerPool' | 'sqlPolicy' | 'tokens' | 'runnerStaleMs' | 'incidentNotifier' | 'logger'
> {
  /** @default a new in-memory store */
  readonly sessions?: SessionStore;
  /** How often a live stream reads progress from the database. @default 1000 ms */
  readonly liveIntervalMs?: number;
}

/** Who may open a console route: anyone (sign-in, assets), any signed-in person, or operators only. */
type ConsoleAccess = 'public' | Role;

/**
 * Content-Security-Policy of every console response: scripts, styles and connections only from
 * this origin, no inline script, no framing, forms only to this origin.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The web console at /ui: server-rendered pages over the same services as the API routes, signed
 * in with an API token exchanged for a server-side session (ADR 0015). Registered with the prefix
 * /ui; every route is `public` to the bearer-token hook and checks the session itself, and hidden
 * from the OpenAPI document.
 */
export async function consoleRoutes(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const sessions = deps.sessions ?? new SessionStore();
  const verify = tokenVerifier(deps.tokens);
  const sessionOf = new WeakMap<FastifyRequest, ConsoleSession>();
  const live = openLiveStreams(app, deps.pool, deps.liveIntervalMs ?? 1000);

  await app.register(cookie);
  // Form posts, parsed here only: the JSON API keeps refusing this content type.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 65_536 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on form posts.
    reply.header('referrer-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler(async (error, request, reply) => {
    if (isSiphonError(error)) {
      return sendHtml(reply.status(error.status), problemPage('Not possible', error.message, error.code));
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendHtml(reply.status(status), problemPage('Bad request', 'The request was not understood.'));
    }
    request.log.error({ err: error }, 'console: unexpected error');
    return sendHtml(
      reply.status(500),
      problemPage('Something went wrong', 'An unexpected error; it is logged.'),
    );
  });
  app.setNotFoundHandler((_request, reply) =>
    sendHtml(reply.status(404), problemPage('Not found', 'There is no such page.')),
  );

  /** Route options: public to the bearer hook, hidden from OpenAPI, with the console's own access. */
  const opts = (access: ConsoleAccess) => ({
    config: { access: 'public' as const, consoleAccess: access },
    schema: { hide: true },
  });

  app.addHook('preHandler', async (request, reply) => {
    const access = (request.routeOptions.config as { consoleAccess?: ConsoleAccess }).consoleAccess;
    if (access === undefined || access === 'public') {
      if (request.method === 'POST' && !sameOrigin(request))
        return refuse(reply, 403, 'SIPHON_ERR_CONSOLE_CSRF', 'the form was not sent from this console');
      return;
    }
    const session = sessions.get(request.cookies[SESSION_COOKIE]);
    if (!session) {
      if (request.method === 'GET' && !request.url.endsWith('/events'))
        return reply.redirect('/ui/sign-in', 303);
      return refuse(
        reply,
        401,
        'SIPHON_ERR_AUTH_MISSING',
        'sign in first: there is no session, or it has ended',
      );
    }
    if (request.method === 'POST') {
      const token = (request.body as Record<string, unknown> | undefined)?._csrf;
      if (!sameOrigin(request) || !csrfMatches(session, token))
        return refuse(
          reply,
          403,
          'SIPHON_ERR_CONSOLE_CSRF',
          'the form token is missing or wrong; reload the page and try again',
        );
    }
    if (access === 'operator' && session.principal.role !== 'operator')
      return refuse(
        reply,
        403,
        'SIPHON_ERR_AUTH_FORBIDDEN',
        'this needs an operator; you are signed in as a viewer',
      );
    sessionOf.set(request, session);
  });

  const ctxOf = (request: FastifyRequest): PageContext => {
    const session = sessionOf.get(request)!;
    const flash = session.flash;
    delete session.flash;
    return { who: session.principal, csrf: session.csrf, flash };
  };
  const by = (request: FastifyRequest) => sessionOf.get(request)!.principal.name;

  // Assets: part of the package, cacheable for an hour.
  for (const [name, type, body] of [
    ['console.css', 'text/css; charset=utf-8', CONSOLE_CSS],
    ['console.js', 'text/javascript; charset=utf-8', CONSOLE_JS],
  ] as const) {
    app.get(`/assets/${name}`, opts('public'), async (_request, reply) =>
      reply.type(type).header('cache-control', 'public, max-age=3600').send(body),
    );
  }

  app.get('/sign-in', opts('public'), async (request, reply) => {
    if (sessions.get(request.cookies[SESSION_COOKIE])) return reply.redirect('/ui', 303);
    return sendHtml(reply, signInPage());
  });

  app.post('/sign-in', opts('public'), async (request, reply) => {
    const token = (request.body as Record<string, unknown> | undefined)?.token;
    const principal = typeof token === 'string' && token.length <= 500 ? verify(token.trim()) : undefined;
    if (!principal) return sendHtml(reply.status(401), signInPage('That token is not valid.'));
    sessions.destroy(request.cookies[SESSION_COOKIE]);
    const id = sessions.create(principal);
    reply.setCookie(SESSION_COOKIE, id, {
      path: '/ui',
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
    });
    request.log.info({ principal: principal.name }, 'console: signed in');
    return reply.redirect('/ui', 303);
  });

  app.post('/sign-out', opts('viewer'), async (request, reply) => {
    sessions.destroy(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'strict' });
    return reply.redirect('/ui/sign-in', 303);
  });

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

  app.get('/pipelines/new', opts('operator'), async (request, reply) =>
    sendHtml(reply, pipelineFormPage(ctxOf(request), { values: { mode: 'full' } })),
  );

  app.post('/pipelines/new', opts('operator'), async (request, reply) => {
    const values = formValues(request.body);
    const spec = specOf(values);
    const intent = (request.body as Record<string, unknown>).intent === 'save' ? 'save' : 'validate';
    try {
      if (intent === 'validate') {
        const report = await validatePipeline(deps.readerPool, deps.pool, spec, deps.sqlPolicy);
        return sendHtml(reply, pipelineFormPage(ctxOf(request), { values, report }));
      }
      const row = await savePipeline(deps.pool, spec, by(request), {
        policy: deps.sqlPolicy,
        readerPool: deps.readerPool,
      });
      sessionOf.get(request)!.flash = { kind: 'ok', message: `Pipeline ${row.name} is created.` };
      return reply.redirect(`/ui/pipelines/${row.id}`, 303);
    } catch (error) {
      if (!isSiphonError(error)) throw error;
      const problem = { code: error.code, message: error.message, field: error.field };
      return sendHtml(reply.status(error.status), pipelineFormPage(ctxOf(request), { values, problem }));
    }
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
    const session = sessionOf.get(request)!;
    try {
      session.flash = { kind: 'ok', message: await act(deps, pipeline, action, by(request)) };
    } catch (error) {
      if (!isSiphonError(error)) throw error;
      session.flash = { kind: 'error', code: error.code, message: error.message };
    }
    return reply.redirect(`/ui/pipelines/${pipeline.id}`, 303);
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

  for (const name of ['acknowledge', 'resolve'] as const) {
    app.post(`/incidents/:id/${name}`, opts('operator'), async (request, reply) => {
      const id = idParam(request);
      if (!isUuid(id)) throw new SiphonError('SIPHON_ERR_INCIDENT_NOT_FOUND', 'there is no such incident');
      const session = sessionOf.get(request)!;
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

function sendHtml(reply: FastifyReply, page: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(page.toString());
}

function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return sendHtml(
    reply.status(status),
    problemPage(status === 401 ? 'Signed out' : 'Refused', message, code),
  );
}

/** A POST whose Origin (sent by browsers) names another site is refused, before any session is read. */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The `:id` of the address: a uuid or a name (letters, digits, `_`, `-`), like the API's IdParams. */
function idParam(request: FastifyRequest): string {
  const id = (request.params as { id: string }).id;
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(id))
    throw new SiphonError('SIPHON_ERR_REQUEST_INVALID', 'the address does not hold an id or a name');
  return id;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value)
    ? (value as T)
    : undefined;
}
