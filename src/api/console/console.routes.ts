import type { FastifyInstance, FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import { isSiphonError } from '../../core/errors.js';
import { tokenVerifier } from '../plugins/auth.plugin.js';
import { consoleActionRoutes } from './action.routes.js';
import { CONSOLE_CSS, CONSOLE_JS } from './console.assets.js';
import {
  refuse,
  sameOrigin,
  sendHtml,
  type ConsoleAccess,
  type ConsoleDeps,
  type ConsoleKit,
} from './console-kit.js';
import type { PageContext } from './layout.js';
import { openLiveStreams } from './live-stream.js';
import { consoleReadRoutes } from './read.routes.js';
import { csrfMatches, SessionStore, type ConsoleSession } from './session.store.js';
import { problemPage, signInPage } from './sign-in.page.js';

export type { ConsoleDeps } from './console-kit.js';

export const SESSION_COOKIE = 'siphon_session';

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
    schema: { hide: true as const },
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
      // Secure over https, also behind a proxy that terminates TLS and says so (a client that
      // claims https falsely only gets a cookie its browser keeps off plain http).
      secure: request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https',
    });
    request.log.info({ principal: principal.name }, 'console: signed in');
    return reply.redirect('/ui', 303);
  });

  app.post('/sign-out', opts('viewer'), async (request, reply) => {
    sessions.destroy(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'strict' });
    return reply.redirect('/ui/sign-in', 303);
  });

  const kit: ConsoleKit = { deps, opts, sessionOf: (request) => sessionOf.get(request)!, ctxOf, by, live };
  consoleReadRoutes(app, kit);
  consoleActionRoutes(app, kit);
}
