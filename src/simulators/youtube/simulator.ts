import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { createControl, type SimRequest, type YouTubeSimulatorControl } from './control.js';
import { YouTubeDataset } from './dataset.js';
import { errors, googleJson, type SimResponse } from './error-bodies.js';
import { FaultQueue } from './faults.js';
import { HANDLERS } from './handlers.js';
import { SimFailure, single, type Query } from './params.js';
import { DEFAULT_UNIT_COSTS, QuotaLedger } from './quota.js';

export interface YouTubeSimulatorOptions {
  /** Same seed, same data. @default 1 */
  readonly seed?: number;
  /** @default 10 */
  readonly channels?: number;
  /** Inclusive range. @default [0, 60] */
  readonly videosPerChannel?: readonly [number, number];
  /** Top-level comments per video, inclusive range. @default [0, 30] */
  readonly commentThreadsPerVideo?: readonly [number, number];
  /** @default [0, 3] */
  readonly repliesPerThread?: readonly [number, number];
  /** Public subscriptions per channel, inclusive range. @default [0, 40] */
  readonly subscriptionsPerChannel?: readonly [number, number];
  /** Share of channels whose subscriptions are private (403 `subscriptionForbidden`). @default 0.3 */
  readonly privateSubscriptionsRate?: number;
  /** Generated content is dated before this instant. @default '2026-01-01T00:00:00Z' */
  readonly asOf?: string;
  /** Keys the simulator accepts. @default ['sim-key'] */
  readonly apiKeys?: readonly string[];
  /** Daily units per key; usage resets at midnight Pacific Time. @default 10_000 */
  readonly dailyQuotaUnits?: number;
  /** Units per call by method name. @default 1 for every list method */
  readonly unitCosts?: Readonly<Record<string, number>>;
  /** Out-of-range `maxResults`: 400 `invalidParameter`, or clamp to the range. @default 'reject' */
  readonly maxResultsOutOfRange?: 'reject' | 'clamp';
  /** No key: 401 `required` (the body SOCIAL-APIS.md documents) or 403 `forbidden`. @default 'login-required' */
  readonly missingKey?: 'login-required' | 'forbidden';
  /** Replies carried inline by `commentThreads`. @default 5 */
  readonly inlineReplies?: number;
  /** The clock for quota days and new content. @default Date.now */
  readonly now?: () => number;
  /** Fastify logging. @default false */
  readonly logger?: boolean;
}

export interface YouTubeSimulator {
  readonly app: FastifyInstance;
  readonly control: YouTubeSimulatorControl;
}

export const API_PREFIX = '/youtube/v3';
/** `control.requests()` keeps the most recent ones only, so a long-running demo does not grow. */
const MAX_LOGGED_REQUESTS = 10_000;

function send(reply: FastifyReply, response: SimResponse, pretty: boolean): FastifyReply {
  return reply
    .code(response.status)
    .headers({ ...response.headers, 'content-type': 'application/json; charset=UTF-8' })
    .send(googleJson(response.body, pretty));
}

/** A local YouTube Data API v3 (`GET /youtube/v3/<method>`) as a Fastify app; it does not listen. */
export function buildYouTubeSimulator(options: YouTubeSimulatorOptions = {}): YouTubeSimulator {
  const now = options.now ?? Date.now;
  const dataset = new YouTubeDataset(
    {
      seed: options.seed ?? 1,
      channels: options.channels ?? 10,
      videosPerChannel: options.videosPerChannel ?? [0, 60],
      commentThreadsPerVideo: options.commentThreadsPerVideo ?? [0, 30],
      repliesPerThread: options.repliesPerThread ?? [0, 3],
      subscriptionsPerChannel: options.subscriptionsPerChannel ?? [0, 40],
      privateSubscriptionsRate: options.privateSubscriptionsRate ?? 0.3,
      asOfMs: Date.parse(options.asOf ?? '2026-01-01T00:00:00Z'),
    },
    now,
  );
  const keys = new Set(options.apiKeys ?? ['sim-key']);
  const costs = { ...DEFAULT_UNIT_COSTS, ...options.unitCosts };
  const quota = new QuotaLedger(options.dailyQuotaUnits ?? 10_000, now);
  const faults = new FaultQueue();
  const log: SimRequest[] = [];
  const record = (entry: SimRequest): void => {
    if (log.length >= MAX_LOGGED_REQUESTS) log.shift();
    log.push(entry);
  };
  const context = {
    dataset,
    clampMaxResults: options.maxResultsOutOfRange === 'clamp',
    inlineReplies: options.inlineReplies ?? 5,
  };

  const answer = (method: string, query: Query): SimResponse => {
    const key = single(query, 'key');
    if (key === undefined) {
      return options.missingKey === 'forbidden' ? errors.missingKeyForbidden() : errors.loginRequired();
    }
    if (!keys.has(key)) return errors.apiKeyInvalid();
    // Every request, invalid ones included, costs at least its units; an overrun is refused uncharged.
    if (!quota.charge(key, costs[method] ?? 1)) return errors.quotaExceeded();
    try {
      return { status: 200, body: HANDLERS[method]!(context, query) };
    } catch (error) {
      if (error instanceof SimFailure) return error.response;
      throw error;
    }
  };

  const app = Fastify({ logger: options.logger ?? false });
  for (const method of Object.keys(HANDLERS)) {
    app.get(`${API_PREFIX}/${method}`, async (request, reply) => {
      const query = request.query as Query;
      if (faults.delayMs > 0) await sleep(faults.delayMs);
      const fault = faults.take(method);
      if (fault?.kind === 'drop') {
        record({ method, status: 0 });
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
      const response = fault?.response ?? answer(method, query);
      record({ method, status: response.status });
      return send(reply, response, single(query, 'prettyPrint') !== 'false');
    });
  }
  app.setNotFoundHandler((_request, reply) => send(reply, errors.methodNotFound(), true));
  app.setErrorHandler((_error, _request, reply) => send(reply, errors.backendError(500), true));

  return { app, control: createControl(dataset, faults, quota, log, keys) };
}

export interface RunningYouTubeSimulator extends YouTubeSimulator {
  /** `http://127.0.0.1:<port>/youtube/v3/` */
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Builds the simulator and listens on 127.0.0.1 (port 0 = any free port). */
export async function startYouTubeSimulator(
  options: YouTubeSimulatorOptions = {},
  port = 0,
): Promise<RunningYouTubeSimulator> {
  const simulator = buildYouTubeSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port });
  const address = simulator.app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    ...simulator,
    baseUrl: `http://127.0.0.1:${actualPort}${API_PREFIX}/`,
    close: () => simulator.app.close(),
  };
}
