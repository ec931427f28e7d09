import type { FastifyReply, FastifyRequest } from 'fastify';
import { SiphonError } from '../../core/errors.js';
import type { ApiDeps } from '../api-deps.js';
import type { Role } from '../plugins/auth.plugin.js';
import type { Html } from './html.js';
import type { PageContext } from './layout.js';
import type { LiveStreams } from './live-stream.js';
import type { ConsoleSession, SessionStore } from './session.store.js';
import { problemPage } from './sign-in.page.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may open a console route (the bearer hook sees these routes as `public`). */
    consoleAccess?: 'public' | Role;
  }
}

/** What the console needs: the API's own deps, and optionally its session store and live-update pace. */
export interface ConsoleDeps extends Pick<
  ApiDeps,
  'pool' | 'readerPool' | 'sqlPolicy' | 'tokens' | 'runnerStaleMs' | 'incidentNotifier' | 'logger' | 'sources'
> {
  /** @default a new in-memory store */
  readonly sessions?: SessionStore;
  /** How often a live stream reads progress from the database. @default 1000 ms */
  readonly liveIntervalMs?: number;
}

/** Who may open a console route: anyone (sign-in, assets), any signed-in person, or operators only. */
export type ConsoleAccess = 'public' | Role;

/** What the route groups share, built once by consoleRoutes. */
export interface ConsoleKit {
  readonly deps: ConsoleDeps;
  /** Route options: public to the bearer hook, hidden from OpenAPI, with the console's own access. */
  readonly opts: (access: ConsoleAccess) => {
    config: { access: 'public'; consoleAccess: ConsoleAccess };
    schema: { hide: true };
  };
  /** The signed-in session of a request that passed the guard. */
  readonly sessionOf: (request: FastifyRequest) => ConsoleSession;
  /** The header of a page for this request; takes the one-shot message out of the session. */
  readonly ctxOf: (request: FastifyRequest) => PageContext;
  /** Who acts: the token's name (`operator-1`), as the API records it. */
  readonly by: (request: FastifyRequest) => string;
  readonly live: LiveStreams;
}

export function sendHtml(reply: FastifyReply, page: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(page.toString());
}

export function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return sendHtml(
    reply.status(status),
    problemPage(status === 401 ? 'Signed out' : 'Refused', message, code),
  );
}

/** A POST whose Origin (sent by browsers) names another site is refused, before any session is read. */
export function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** The `:id` of the address: a uuid or a name (letters, digits, `_`, `-`), like the API's IdParams. */
export function idParam(request: FastifyRequest): string {
  const id = (request.params as { id: string }).id;
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(id))
    throw new SiphonError('SIPHON_ERR_REQUEST_INVALID', 'the address does not hold an id or a name');
  return id;
}

export function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value)
    ? (value as T)
    : undefined;
}
