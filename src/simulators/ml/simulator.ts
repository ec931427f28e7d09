import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MlAnalysis, MlJobRequest } from '../../connectors/ml/index.js';
import { createControl, registerControlRoutes, type MlSimulatorControl, type SimRequest } from './control.js';
import { errorBody, MlFaultQueue, type MlRoute, type SimResponse } from './faults.js';
import { JobStore, present } from './jobs.js';

export interface MlSimulatorOptions {
  /** Same seed, same image labels for the same URL. @default 1 */
  readonly seed?: number;
  /** Bearer tokens the service accepts. @default ['sim-ml-token'] */
  readonly tokens?: readonly string[];
  /** How long a job takes from submit to done, in ms; one number for both analyses. @default { image: 3000, text: 1000 } */
  readonly completionDelayMs?: number | Partial<Record<MlAnalysis, number>>;
  /** Time in the queue before a job runs. @default a third of its completion delay */
  readonly queuedMs?: number;
  /** Share of jobs (0–1) that end `failed` with the retryable `model_error`. @default 0 */
  readonly failureRate?: number;
  /** Unfinished jobs beyond which a submit answers 429 `overloaded` with Retry-After. @default no limit */
  readonly maxActiveJobs?: number;
  /** Jobs held; the oldest are forgotten beyond it (polling them answers 404). @default 100_000 */
  readonly maxStoredJobs?: number;
  /** Longest text accepted. @default 20_000 */
  readonly maxTextLength?: number;
  /** The clock that moves jobs along. @default Date.now */
  readonly now?: () => number;
  /** Fastify logging. @default false */
  readonly logger?: boolean;
}

export interface MlSimulator {
  readonly app: FastifyInstance;
  readonly control: MlSimulatorControl;
}

const DEFAULT_DELAYS: Readonly<Record<MlAnalysis, number>> = { image: 3000, text: 1000 };
const MAX_LOGGED_REQUESTS = 10_000;
const MAX_URL_LENGTH = 2048;

/** The body of `POST /v1/jobs` as a request, or why it is not one. */
function parseJobRequest(body: unknown, maxTextLength: number): MlJobRequest | string {
  if (typeof body !== 'object' || body === null) return 'the body must be a JSON object';
  const { analysis, input } = body as { analysis?: unknown; input?: unknown };
  if (analysis !== 'image' && analysis !== 'text') return "analysis must be 'image' or 'text'";
  if (typeof input !== 'object' || input === null) return 'input must be an object';
  if (analysis === 'image') {
    const url = (input as { url?: unknown }).url;
    if (typeof url !== 'string' || url.length > MAX_URL_LENGTH || !/^https?:\/\/[^\s]+$/i.test(url)) {
      return 'input.url must be an http(s) URL';
    }
    return { analysis, input: { url } };
  }
  const text = (input as { text?: unknown }).text;
  if (typeof text !== 'string' || text.trim() === '') return 'input.text must be a non-empty string';
  if (text.length > maxTextLength) return `input.text is longer than ${maxTextLength} characters`;
  return { analysis, input: { text } };
}

// Longer than 80 lines: the simulator's wiring (routes, faults, job clock) read in request order.
/**
 * A local ML / image-recognition service (asynchronous jobs) as a Fastify app; it does not listen.
 * Jobs move from queued to running to done/failed on the injected clock, without timers.
 */
export function buildMlSimulator(options: MlSimulatorOptions = {}): MlSimulator {
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const delay = options.completionDelayMs;
  const completionMs =
    typeof delay === 'number' ? { image: delay, text: delay } : { ...DEFAULT_DELAYS, ...delay };
  const store = new JobStore({
    seed,
    maxStored: options.maxStoredJobs ?? 100_000,
    failureRate: options.failureRate ?? 0,
    timing: { completionMs, queuedMs: options.queuedMs },
  });
  const tokens = new Set(options.tokens ?? ['sim-ml-token']);
  const maxTextLength = options.maxTextLength ?? 20_000;
  const faults = new MlFaultQueue();
  const log: SimRequest[] = [];
  const state = { store, faults, log, seed, now, maxActiveJobs: options.maxActiveJobs ?? null };
  const control = createControl(state);

  const authorize = (request: FastifyRequest): SimResponse | undefined => {
    const header = request.headers.authorization;
    const challenge = { 'www-authenticate': 'Bearer' };
    if (header === undefined || !/^Bearer\s+\S+$/i.test(header)) {
      return {
        status: 401,
        body: errorBody('unauthorized', 'a bearer token is required'),
        headers: challenge,
      };
    }
    if (!tokens.has(header.replace(/^Bearer\s+/i, ''))) {
      return {
        status: 401,
        body: errorBody('invalid_token', 'the bearer token is not valid'),
        headers: challenge,
      };
    }
    return undefined;
  };

  const submit = (request: FastifyRequest): SimResponse => {
    const parsed = parseJobRequest(request.body, maxTextLength);
    if (typeof parsed === 'string') return { status: 400, body: errorBody('invalid_request', parsed) };
    const key = request.headers['idempotency-key'];
    const idempotencyKey = typeof key === 'string' && key !== '' ? key : undefined;
    const at = now();
    const known = idempotencyKey === undefined ? undefined : store.byKey(idempotencyKey);
    if (known)
      return { status: 202, body: present(known, at), headers: { location: `/v1/jobs/${known.id}` } };
    const active = state.maxActiveJobs === null ? [] : store.active(at);
    if (state.maxActiveJobs !== null && active.length >= state.maxActiveJobs) {
      const soonest = Math.min(...active.map((j) => j.finishesAtMs));
      const seconds = Math.max(1, Math.ceil((soonest - at) / 1000));
      return {
        status: 429,
        body: errorBody('overloaded', `${active.length} jobs are in progress; try again later`),
        headers: { 'retry-after': String(seconds) },
      };
    }
    const job = store.create(parsed, at, idempotencyKey);
    return { status: 202, body: present(job, at), headers: { location: `/v1/jobs/${job.id}` } };
  };

  const poll = (request: FastifyRequest): SimResponse => {
    const { id } = request.params as { id: string };
    const job = store.get(id);
    if (!job) return { status: 404, body: errorBody('job_not_found', `no job ${id}`) };
    return { status: 200, body: present(job, now()) };
  };

  const serve =
    (route: MlRoute, answer: (request: FastifyRequest) => SimResponse) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (faults.delayMs > 0) await sleep(faults.delayMs);
      const record = (status: number) => {
        if (log.length >= MAX_LOGGED_REQUESTS) log.shift();
        log.push({ route, status });
      };
      const fault = faults.take(route);
      if (fault?.kind === 'drop') {
        record(0);
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
      const response = fault?.response ?? authorize(request) ?? answer(request);
      record(response.status);
      return reply
        .code(response.status)
        .headers({ ...response.headers })
        .send(response.body);
    };

  const app = Fastify({ logger: options.logger ?? false });
  app.post('/v1/jobs', serve('submit', submit));
  app.get('/v1/jobs/:id', serve('poll', poll));
  registerControlRoutes(app, control);
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send(errorBody('not_found', 'no such endpoint')),
  );
  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    // Malformed JSON and the like: the client's fault, said in the service's own error shape.
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(400).send(errorBody('invalid_request', error.message ?? 'invalid request'));
    }
    return reply.code(500).send(errorBody('internal', 'internal error'));
  });
  return { app, control };
}

export interface RunningMlSimulator extends MlSimulator {
  /** `http://127.0.0.1:<port>/` */
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Builds the simulator and listens on 127.0.0.1 (port 0 = any free port). */
export async function startMlSimulator(
  options: MlSimulatorOptions = {},
  port = 0,
): Promise<RunningMlSimulator> {
  const simulator = buildMlSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port });
  const address = simulator.app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  return { ...simulator, baseUrl: `http://127.0.0.1:${actualPort}/`, close: () => simulator.app.close() };
}
