import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { createControl, type InstagramSimulatorControl, type SimRequest } from './control.js';
import { InstagramDataset } from './dataset.js';
import { errors, type SimResponse } from './error-bodies.js';
import { FaultQueue } from './faults.js';
import { endpointOf, handle, type Query } from './handlers.js';
import { userIdOf } from './ids.js';
import { SimFailure } from './paging.js';
import { UsageLedger } from './usage.js';

export interface InstagramSimulatorOptions {
  /** Same seed, same data. @default 1 */
  readonly seed?: number;
  /** Professional (and a few personal) accounts. @default 10 */
  readonly accounts?: number;
  /** Accounts 0 … n−1 belong to the token (account 0 is the SIPHON_INSTAGRAM_USER_ID). @default 1 */
  readonly ownAccounts?: number;
  /** Inclusive range. @default [0, 60] */
  readonly mediaPerAccount?: readonly [number, number];
  /** Top-level comments per media, inclusive range. @default [0, 20] */
  readonly commentsPerMedia?: readonly [number, number];
  /** @default [0, 4] */
  readonly repliesPerComment?: readonly [number, number];
  /**
   * Stories of each own account, dated in the 24 h before `asOf` (live while the clock is less than a
   * day past it: pass `asOf` near now to see them), inclusive range. @default [0, 3]
   */
  readonly storiesPerAccount?: readonly [number, number];
  /** Generated content is dated before this instant. @default '2026-01-01T00:00:00Z' */
  readonly asOf?: string;
  /** Tokens the simulator accepts. @default ['sim-token'] */
  readonly accessTokens?: readonly string[];
  /** Tokens expire this long after the simulator starts (on its clock). @default never */
  readonly tokenTtlMs?: number;
  /** Calls per token per window before code 80002. @default 200 */
  readonly callsPerWindow?: number;
  /** @default 3_600_000 (one hour) */
  readonly usageWindowMs?: number;
  /** `limit` of top-level edges when absent. @default 25 */
  readonly defaultLimit?: number;
  /** Larger `limit` values are clamped to this. @default 100 */
  readonly maxLimit?: number;
  /** Page size of nested edges (`replies{…}`, `media{…}`) without `.limit()`. @default 25 */
  readonly nestedLimit?: number;
  /** A cursor whose item was deleted: page on from its position, or answer code 100. @default 'resume' */
  readonly cursorOnDeletedItem?: 'resume' | 'error';
  /** The clock for token expiry, usage windows and new content. @default Date.now */
  readonly now?: () => number;
  /** Fastify logging. @default false */
  readonly logger?: boolean;
}

export interface InstagramSimulator {
  readonly app: FastifyInstance;
  readonly control: InstagramSimulatorControl;
}

/** The API version in the simulator's base URL; any `vNN.N` is served the same. */
export const API_VERSION = 'v21.0';
/** `control.requests()` keeps the most recent ones only, so a long-running demo does not grow. */
const MAX_LOGGED_REQUESTS = 10_000;

function send(reply: FastifyReply, response: SimResponse, usage: Record<string, string> = {}): FastifyReply {
  return reply
    .code(response.status)
    .headers({ ...usage, ...response.headers, 'content-type': 'application/json; charset=UTF-8' })
    .send(JSON.stringify(response.body));
}

// Longer than 80 lines: the simulator's wiring (routes, faults, usage headers, tokens) read in request order.
/** A local Instagram Graph API (`GET /vNN.N/{id}[/{edge}]`) as a Fastify app; it does not listen. */
export function buildInstagramSimulator(options: InstagramSimulatorOptions = {}): InstagramSimulator {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const dataset = new InstagramDataset(
    {
      seed,
      accounts: options.accounts ?? 10,
      ownAccounts: options.ownAccounts ?? 1,
      mediaPerAccount: options.mediaPerAccount ?? [0, 60],
      commentsPerMedia: options.commentsPerMedia ?? [0, 20],
      repliesPerComment: options.repliesPerComment ?? [0, 4],
      storiesPerAccount: options.storiesPerAccount ?? [0, 3],
      asOfMs: Date.parse(options.asOf ?? '2026-01-01T00:00:00Z'),
    },
    now,
  );
  const startedAt = now();
  const expiry = new Map<string, number>();
  const ttl = options.tokenTtlMs ?? Number.POSITIVE_INFINITY;
  for (const token of options.accessTokens ?? ['sim-token']) expiry.set(token, startedAt + ttl);
  const tokens = {
    expire(token?: string) {
      for (const key of token === undefined ? [...expiry.keys()] : [token]) expiry.set(key, now() - 1000);
    },
    add(token: string) {
      expiry.set(token, now() + ttl);
    },
  };
  const usage = new UsageLedger(options.callsPerWindow ?? 200, options.usageWindowMs ?? 3_600_000, now);
  const faults = new FaultQueue();
  const ownId = userIdOf(seed, 0);
  const log: SimRequest[] = [];
  const record = (entry: SimRequest): void => {
    if (log.length >= MAX_LOGGED_REQUESTS) log.shift();
    log.push(entry);
  };
  const settings = {
    dataset,
    defaultLimit: options.defaultLimit ?? 25,
    maxLimit: options.maxLimit ?? 100,
    nestedLimit: options.nestedLimit ?? 25,
    strictCursors: options.cursorOnDeletedItem === 'error',
    emptyPage: (endpoint: Parameters<FaultQueue['takeEmptyPage']>[0]) => faults.takeEmptyPage(endpoint),
  };

  const answer = (
    request: FastifyRequest,
    version: string,
    segments: string[],
    query: Query,
    token: string | undefined,
  ): { response: SimResponse; usage?: Record<string, string> } => {
    if (token === undefined || token === '') return { response: errors.missingToken() };
    const expiresAt = expiry.get(token);
    if (expiresAt === undefined) return { response: errors.invalidToken() };
    if (now() >= expiresAt) return { response: errors.expiredToken(expiresAt, now()) };
    if (!usage.charge(token)) {
      return { response: errors.rateLimited(80002), usage: usage.headers(token, ownId) };
    }
    const headers = usage.headers(token, ownId);
    const origin = `http://${request.headers.host ?? '127.0.0.1'}/${version}`;
    try {
      return {
        response: { status: 200, body: handle({ ...settings, origin, token }, segments, query) },
        usage: headers,
      };
    } catch (error) {
      if (error instanceof SimFailure) return { response: error.response, usage: headers };
      throw error;
    }
  };

  const app = Fastify({ logger: options.logger ?? false });
  const route = async (request: FastifyRequest, reply: FastifyReply) => {
    const { version, id, edge } = request.params as { version: string; id: string; edge?: string };
    const raw = request.query as Record<string, string | string[] | undefined>;
    const query: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(raw)) query[name] = Array.isArray(value) ? value[0] : value;
    const segments = edge === undefined ? [id] : [id, edge];
    const { access_token: queryToken, ...params } = query;
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const endpoint = endpointOf(segments, query);
    const entry = {
      endpoint,
      path: segments.join('/'),
      params: Object.fromEntries(
        Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
      ),
      tokenInQuery: queryToken !== undefined,
    };
    if (!/^v\d+\.\d+$/.test(version)) {
      record({ ...entry, status: 400 });
      return send(reply, errors.unknownPath(`/${version}`));
    }
    if (faults.delayMs > 0) await sleep(faults.delayMs);
    const fault = faults.take(endpoint);
    if (fault?.kind === 'drop') {
      record({ ...entry, status: 0 });
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    const result = fault?.response
      ? { response: fault.response }
      : answer(request, version, segments, query, queryToken ?? bearer);
    record({ ...entry, status: result.response.status });
    return send(reply, result.response, result.usage);
  };
  app.get('/:version/:id', route);
  app.get('/:version/:id/:edge', route);
  app.setNotFoundHandler((request, reply) =>
    send(reply, errors.unknownPath(request.url.split('?')[0] ?? '/')),
  );
  app.setErrorHandler((_error, _request, reply) => send(reply, errors.unknown(500)));

  return { app, control: createControl(dataset, faults, usage, tokens, log) };
}

export interface RunningInstagramSimulator extends InstagramSimulator {
  /** `http://127.0.0.1:<port>/v21.0/` */
  readonly baseUrl: string;
  /** The token's own account (account 0): SIPHON_INSTAGRAM_USER_ID. */
  readonly userId: string;
  close(): Promise<void>;
}

/** Builds the simulator and listens on 127.0.0.1 (port 0 = any free port). */
export async function startInstagramSimulator(
  options: InstagramSimulatorOptions = {},
  port = 0,
): Promise<RunningInstagramSimulator> {
  const simulator = buildInstagramSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port });
  const address = simulator.app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    ...simulator,
    baseUrl: `http://127.0.0.1:${actualPort}/${API_VERSION}/`,
    userId: simulator.control.userId(0),
    close: () => simulator.app.close(),
  };
}
