import type { FastifyInstance, FastifyReply } from 'fastify';
import type {
  MlAnalysis,
  MlAnalysisResult,
  MlJob,
  MlJobError,
  MlJobRequest,
} from '../../connectors/ml/index.js';
import { analyzeImage, analyzeText } from './analysis.js';
import { errorBody, type MlFaultControl, type MlRoute } from './faults.js';
import { present, type JobStore } from './jobs.js';

/** One request as the simulator saw it; `status` 0 means the connection was dropped. */
export interface SimRequest {
  readonly route: MlRoute;
  readonly status: number;
}

/** What can change while the simulator runs. */
export interface MlSimulatorSettings {
  readonly completionDelayMs: Readonly<Record<MlAnalysis, number>>;
  /** Time a job stays queued before it runs; null = a third of its completion delay. */
  readonly queuedMs: number | null;
  /** Share of jobs (0–1) that end `failed` with the retryable `model_error`. */
  readonly failureRate: number;
  /** Unfinished jobs beyond which a submit answers 429 `overloaded`; null = no limit. */
  readonly maxActiveJobs: number | null;
}

export interface MlSimulatorControl {
  readonly faults: MlFaultControl;
  /** The next `count` submitted jobs end `failed` with this error (default: retryable `model_error`). */
  failNextJobs(count: number, error?: Partial<MlJobError>): void;
  settings(): MlSimulatorSettings;
  configure(patch: Partial<MlSimulatorSettings>): void;
  /** A job as `GET /v1/jobs/{id}` would show it now. */
  job(jobId: string): MlJob | undefined;
  /** Every held job, oldest first, as shown now. */
  jobs(): MlJob[];
  /** What the service answers for this input when the job does not fail (the simulator's truth). */
  expected(request: MlJobRequest): MlAnalysisResult;
  /** Ends one job (or every unfinished one) now, with its settled outcome. */
  finishNow(jobId?: string): void;
  /** Requests seen so far, oldest first. */
  requests(): readonly SimRequest[];
  /** Forgets jobs, faults and the request log; settings stay. */
  reset(): void;
}

export interface ControlState {
  readonly store: JobStore;
  readonly faults: MlFaultControl;
  readonly log: SimRequest[];
  readonly seed: number;
  readonly now: () => number;
  maxActiveJobs: number | null;
}

export function createControl(state: ControlState): MlSimulatorControl {
  const { store, faults, log, now } = state;
  const settings = (): MlSimulatorSettings => ({
    completionDelayMs: { ...store.timing.completionMs },
    queuedMs: store.timing.queuedMs ?? null,
    failureRate: store.failureRate,
    maxActiveJobs: state.maxActiveJobs,
  });
  return {
    faults,
    failNextJobs(count, error = {}) {
      store.failNext(count, {
        code: error.code ?? 'model_error',
        message: error.message ?? 'the model failed on this job',
        retryable: error.retryable ?? true,
      });
    },
    settings,
    configure(patch) {
      if (patch.completionDelayMs !== undefined || patch.queuedMs !== undefined) {
        store.timing = {
          completionMs: { ...store.timing.completionMs, ...patch.completionDelayMs },
          queuedMs: patch.queuedMs === undefined ? store.timing.queuedMs : (patch.queuedMs ?? undefined),
        };
      }
      if (patch.failureRate !== undefined) store.failureRate = patch.failureRate;
      if (patch.maxActiveJobs !== undefined) state.maxActiveJobs = patch.maxActiveJobs;
    },
    job(id) {
      const job = store.get(id);
      return job && present(job, now());
    },
    jobs: () => store.all().map((j) => present(j, now())),
    expected: (request) =>
      request.analysis === 'image'
        ? analyzeImage(state.seed, request.input.url)
        : analyzeText(request.input.text),
    finishNow: (id) => store.finishNow(now(), id),
    requests: () => [...log],
    reset() {
      store.clear();
      faults.clear();
      log.length = 0;
    },
  };
}

const isCount = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1e6;
const isMs = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 30 * 86_400_000;
const isRoute = (v: unknown): v is MlRoute | undefined => v === undefined || v === 'submit' || v === 'poll';

// Longer than 80 lines: one small route per control action, registered in one place.
/**
 * The same control over HTTP for a simulator in another process (the demo): under `/_control/`,
 * loopback only, no token. Bodies are JSON; a malformed one answers 400.
 */
export function registerControlRoutes(app: FastifyInstance, control: MlSimulatorControl): void {
  const state = () => {
    const counts = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const job of control.jobs()) counts[job.status] += 1;
    return { jobs: counts, requests: control.requests().length, settings: control.settings() };
  };
  const bad = (reply: FastifyReply, message: string) =>
    reply.code(400).send(errorBody('invalid_request', message));
  const body = (raw: unknown): Record<string, unknown> =>
    typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};

  app.get('/_control/state', async () => state());

  app.post('/_control/settings', async (request, reply) => {
    const b = body(request.body);
    const delay = b.completionDelayMs;
    const delays =
      delay === undefined
        ? undefined
        : isMs(delay)
          ? { image: delay, text: delay }
          : typeof delay === 'object' && delay !== null && Object.values(delay).every(isMs)
            ? (delay as Partial<Record<MlAnalysis, number>>)
            : null;
    const rate = b.failureRate;
    if (delays === null) return bad(reply, 'completionDelayMs: ms or {image, text}');
    if (b.queuedMs !== undefined && b.queuedMs !== null && !isMs(b.queuedMs))
      return bad(reply, 'queuedMs: ms or null');
    if (rate !== undefined && !(typeof rate === 'number' && rate >= 0 && rate <= 1))
      return bad(reply, 'failureRate: 0–1');
    if (b.maxActiveJobs !== undefined && b.maxActiveJobs !== null && !isCount(b.maxActiveJobs))
      return bad(reply, 'maxActiveJobs: a count or null');
    control.configure({
      ...(delays === undefined
        ? {}
        : { completionDelayMs: { ...control.settings().completionDelayMs, ...delays } }),
      ...(b.queuedMs === undefined ? {} : { queuedMs: b.queuedMs as number | null }),
      ...(rate === undefined ? {} : { failureRate: rate }),
      ...(b.maxActiveJobs === undefined ? {} : { maxActiveJobs: b.maxActiveJobs as number | null }),
    });
    return state();
  });

  app.post('/_control/faults', async (request, reply) => {
    const b = body(request.body);
    const count = b.count ?? 1;
    if (!isCount(count) || !isRoute(b.route)) return bad(reply, 'count: a count, route: submit|poll');
    const route = b.route;
    switch (b.kind) {
      case 'fail': {
        const status = b.status ?? 500;
        if (status !== 500 && status !== 502 && status !== 503) return bad(reply, 'status: 500|502|503');
        control.faults.failNext(count, status, route);
        break;
      }
      case 'rate-limit':
        if (b.retryAfterSeconds !== undefined && !isCount(b.retryAfterSeconds))
          return bad(reply, 'retryAfterSeconds: a count');
        control.faults.rateLimitNext(count, {
          ...(b.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: b.retryAfterSeconds }),
          ...(route === undefined ? {} : { route }),
        });
        break;
      case 'drop':
        control.faults.dropNext(count, route);
        break;
      case 'delay':
        if (!isMs(b.ms)) return bad(reply, 'ms: a delay');
        control.faults.setDelay(b.ms);
        break;
      case 'clear':
        control.faults.clear();
        break;
      default:
        return bad(reply, 'kind: fail|rate-limit|drop|delay|clear');
    }
    return state();
  });

  app.post('/_control/fail-jobs', async (request, reply) => {
    const b = body(request.body);
    const count = b.count ?? 1;
    if (!isCount(count)) return bad(reply, 'count: a count');
    control.failNextJobs(count, {
      ...(typeof b.code === 'string' ? { code: b.code } : {}),
      ...(typeof b.message === 'string' ? { message: b.message } : {}),
      ...(typeof b.retryable === 'boolean' ? { retryable: b.retryable } : {}),
    });
    return state();
  });

  app.post('/_control/finish', async (request) => {
    const b = body(request.body);
    control.finishNow(typeof b.jobId === 'string' ? b.jobId : undefined);
    return state();
  });

  app.post('/_control/reset', async () => {
    control.reset();
    return state();
  });
}
