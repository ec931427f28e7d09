import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parse } from 'lossless-json';
import { setTimeout as sleep } from 'node:timers/promises';
import { createControl, type SimRequest, type TikTokSimulatorControl } from './control.js';
import { TikTokDataset } from './dataset.js';
import { errors, tiktokJson, withLogId, type SimResponse } from './error-bodies.js';
import { FaultQueue } from './faults.js';
import { HANDLERS, SimFailure, type Body, type HandlerContext } from './handlers.js';
import { DailyQuota, RateWindows, TokenStore } from './limits.js';

export interface TikTokSimulatorOptions {
  /** Same seed, same data. @default 1 */
  readonly seed?: number;
  /** @default 10 */
  readonly users?: number;
  /** Inclusive range. @default [0, 60] */
  readonly videosPerUser?: readonly [number, number];
  /** Top-level comments per video. @default [0, 30] */
  readonly commentsPerVideo?: readonly [number, number];
  /** @default [0, 3] */
  readonly repliesPerComment?: readonly [number, number];
  /** @default [0, 150] */
  readonly followersPerUser?: readonly [number, number];
  /** @default [0, 80] */
  readonly followingPerUser?: readonly [number, number];
  /** Videos are spread over this many days before `asOf`. @default 365 */
  readonly historyDays?: number;
  /** Silent stretches of 60–240 days per user, in which it published nothing. @default 0 */
  readonly silentStretches?: number;
  /** Generated content is dated before this instant. @default '2026-01-01T00:00:00Z' */
  readonly asOf?: string;
  /** Share of private users (their info, videos and follow lists are not served). @default 0.05 */
  readonly privateShare?: number;
  /** Accepted client key → secret. @default { 'sim-client-key': 'sim-client-secret' } */
  readonly clients?: Readonly<Record<string, string>>;
  /** Client token lifetime. @default 7200 */
  readonly tokenTtlSeconds?: number;
  /** Daily requests per client key for user info, video query and comments. @default 1000 */
  readonly dailyRequestLimit?: number;
  /** Daily requests per client key for followers/following. @default 20000 */
  readonly dailyFollowsLimit?: number;
  /** N requests per W ms over every endpoint; excess answers 429 with Retry-After. @default none */
  readonly rateLimit?: { readonly requests: number; readonly windowMs: number };
  /** A `search_id` expires this long after the search's first page. @default 600_000 */
  readonly searchTtlMs?: number;
  /** Unknown or private user/video: 400 `invalid_params` or 404 `<what>_not_found`. @default 'invalid_params' */
  readonly notFoundStyle?: 'invalid_params' | 'http_404';
  /** The clock for tokens, quota days, search expiry, rate windows and new content. @default Date.now */
  readonly now?: () => number;
  /** Fastify logging. @default false */
  readonly logger?: boolean;
}

export interface TikTokSimulator {
  readonly app: FastifyInstance;
  readonly control: TikTokSimulatorControl;
}

const MAX_LOGGED_REQUESTS = 10_000;
/** Marks a JSON body that did not parse. */
const INVALID_JSON = Symbol('invalid-json');

// Longer than 80 lines: the simulator's wiring (routes, faults, quota, tokens) read in request order.
/** A local TikTok Research API (`POST /v2/…`) as a Fastify app; it does not listen. */
export function buildTikTokSimulator(options: TikTokSimulatorOptions = {}): TikTokSimulator {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const dataset = new TikTokDataset(
    {
      seed,
      users: options.users ?? 10,
      videosPerUser: options.videosPerUser ?? [0, 60],
      commentsPerVideo: options.commentsPerVideo ?? [0, 30],
      repliesPerComment: options.repliesPerComment ?? [0, 3],
      followersPerUser: options.followersPerUser ?? [0, 150],
      followingPerUser: options.followingPerUser ?? [0, 80],
      historyDays: options.historyDays ?? 365,
      silentStretches: options.silentStretches ?? 0,
      asOfMs: Date.parse(options.asOf ?? '2026-01-01T00:00:00Z'),
      privateShare: options.privateShare ?? 0.05,
    },
    now,
  );
  const clients = new Map(Object.entries(options.clients ?? { 'sim-client-key': 'sim-client-secret' }));
  const tokens = new TokenStore(seed, options.tokenTtlSeconds ?? 7200, now);
  const quota = new DailyQuota(
    { research: options.dailyRequestLimit ?? 1000, follows: options.dailyFollowsLimit ?? 20_000 },
    now,
  );
  const rate = new RateWindows(options.rateLimit, now);
  const faults = new FaultQueue();
  const log: SimRequest[] = [];
  const context = {
    dataset,
    now,
    notFoundStyle: options.notFoundStyle ?? 'invalid_params',
    searchTtlMs: options.searchTtlMs ?? 600_000,
    searches: new Map(),
    counter: { searches: 0 },
  } satisfies Omit<HandlerContext, 'short'>;

  const send = (reply: FastifyReply, endpoint: string, response: SimResponse): FastifyReply => {
    const body = withLogId(response.body, now());
    const error = (body as { error?: unknown } | null)?.error;
    const code = typeof error === 'string' ? error : ((error as { code?: string } | undefined)?.code ?? 'ok');
    if (log.length >= MAX_LOGGED_REQUESTS) log.shift();
    log.push({ endpoint, status: response.status, code, at: now() });
    return reply
      .code(response.status)
      .headers({ ...response.headers, 'content-type': 'application/json; charset=UTF-8' })
      .send(tiktokJson(body));
  };

  const token = (body: unknown): SimResponse => {
    const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const { client_key: key, client_secret: secret, grant_type: grant } = form;
    if (typeof key !== 'string' || typeof secret !== 'string' || typeof grant !== 'string') {
      return errors.invalidRequest('client_key, client_secret and grant_type are required.');
    }
    if (grant !== 'client_credentials') return errors.unsupportedGrantType();
    if (clients.get(key) !== secret) return errors.invalidClient();
    const issued = tokens.issue(key);
    return {
      status: 200,
      body: { access_token: issued.accessToken, expires_in: issued.expiresIn, token_type: 'Bearer' },
    };
  };

  const research = (endpoint: string, request: FastifyRequest, short: boolean): SimResponse => {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    const clientKey = bearer === undefined ? undefined : tokens.check(bearer);
    if (clientKey === undefined) return errors.accessTokenInvalid();
    const route = HANDLERS[endpoint]!;
    // Every authorised request counts, invalid ones included; a spent day is refused uncounted.
    if (!quota.charge(clientKey, route.bucket)) return errors.dailyQuotaExceeded();
    if (request.body === INVALID_JSON) return errors.invalidParams('The request body is not valid JSON.');
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Body;
    const fields = (request.query as Record<string, string | undefined>).fields;
    try {
      const data = route.handler({ ...context, short }, fields, body);
      return { status: 200, body: { data, error: { code: 'ok', message: '', log_id: '' } } };
    } catch (error) {
      if (error instanceof SimFailure) return error.response;
      throw error;
    }
  };

  const app = Fastify({ logger: options.logger ?? false, routerOptions: { ignoreTrailingSlash: true } });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      // LosslessNumbers: an int64 id is read exactly as it was written.
      done(null, text === '' ? {} : parse(text as string));
    } catch {
      done(null, INVALID_JSON);
    }
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, text, done) => {
      done(null, Object.fromEntries(new URLSearchParams(text as string)));
    },
  );

  for (const endpoint of ['oauth/token', ...Object.keys(HANDLERS)]) {
    app.post(`/v2/${endpoint}/`, async (request, reply) => {
      if (faults.delayMs > 0) await sleep(faults.delayMs);
      const arrival = rate.arrive();
      if (!arrival.allowed) return send(reply, endpoint, errors.rateLimitExceeded(arrival.retryAfterSeconds));
      const fault = faults.take(endpoint);
      if (fault?.kind === 'drop') {
        log.push({ endpoint, status: 0, code: 'dropped', at: now() });
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
      if (fault?.kind === 'slow') await sleep(fault.ms);
      if (fault?.kind === 'respond') return send(reply, endpoint, fault.response);
      const response =
        endpoint === 'oauth/token'
          ? token(request.body)
          : research(endpoint, request, fault?.kind === 'short');
      return send(reply, endpoint, response);
    });
  }
  app.setNotFoundHandler((request, reply) => send(reply, request.url, errors.pathNotFound()));
  app.setErrorHandler((_error, request, reply) => send(reply, request.url, errors.internalError(500)));

  return { app, control: createControl({ dataset, faults, tokens, quota, rate, log }) };
}

export interface RunningTikTokSimulator extends TikTokSimulator {
  /** `http://127.0.0.1:<port>/`: the client's base URL (the API lives under `/v2/`). */
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Builds the simulator and listens on 127.0.0.1 (port 0 = any free port). */
export async function startTikTokSimulator(
  options: TikTokSimulatorOptions = {},
  port = 0,
): Promise<RunningTikTokSimulator> {
  const simulator = buildTikTokSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port });
  const address = simulator.app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    ...simulator,
    baseUrl: `http://127.0.0.1:${actualPort}/`,
    close: () => simulator.app.close(),
  };
}
