import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from 'pino';
import { SiphonError } from '../core/errors.js';
import type { RunnerEvents } from '../core/runner-events.js';
import { errorCodeLabel } from './metrics.mapper.js';
import { BATCH_BUCKETS } from '../db/repositories/metrics.repository.js';
import type { MetricsEndpoint } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics.server.js';

export interface RunnerMetricsOptions {
  /** The runner's event stream; every counter here is fed by it. */
  readonly events: RunnerEvents;
  /** Runs this process executes right now (Runner.activeRuns). */
  readonly activeRuns?: () => number;
  /** Also collect this process's CPU, memory and event-loop metrics. @default true */
  readonly processMetrics?: boolean;
}

/** How a run left this runner. */
type Outcome = 'success' | 'failed' | 'paused' | 'handed_off' | 'lease_lost';

// Longer than 80 lines: one metric definition and its event handler after another, nothing nested.
/**
 * What one runner process did, counted from its events (`siphon_runner_*`). Unlike the API's
 * cluster metrics these are this process's own, so Prometheus sums them across runners. Labels:
 * the pipeline name (bounded by the number of pipelines), the outcome, and catalogue error codes.
 */
export function createRunnerMetrics(options: RunnerMetricsOptions): MetricsEndpoint {
  const registry = new Registry();
  if (options.processMetrics !== false)
    collectDefaultMetrics({ register: registry, prefix: 'siphon_runner_' });
  const registers = [registry];
  const started = new Counter({
    name: 'siphon_runner_runs_started_total',
    help: 'Runs this runner started or took over, by pipeline.',
    labelNames: ['pipeline', 'takeover'] as const,
    registers,
  });
  const takeovers = new Counter({
    name: 'siphon_runner_lease_takeovers_total',
    help: 'Pipelines this runner took over from a runner whose lease had expired.',
    labelNames: ['pipeline'] as const,
    registers,
  });
  const finished = new Counter({
    name: 'siphon_runner_runs_total',
    help: 'Runs that left this runner, by pipeline and outcome (success, failed, paused, handed_off, lease_lost).',
    labelNames: ['pipeline', 'outcome'] as const,
    registers,
  });
  const rows = (what: string) =>
    new Counter({
      name: `siphon_runner_rows_${what}_total`,
      help: `Rows ${what} by this runner's committed ${what === 'deleted' ? 'full runs' : 'batches'}.`,
      labelNames: ['pipeline'] as const,
      registers,
    });
  const [read, written, deleted] = [rows('read'), rows('written'), rows('deleted')];
  const batchSeconds = new Histogram({
    name: 'siphon_runner_batch_duration_seconds',
    help: "Duration of this runner's committed batches.",
    labelNames: ['pipeline'] as const,
    buckets: BATCH_BUCKETS,
    registers,
  });
  const retries = new Counter({
    name: 'siphon_runner_batch_retries_total',
    help: 'Batches retried after a transient failure, by pipeline.',
    labelNames: ['pipeline'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'siphon_runner_errors_total',
    help: 'Runs this runner failed, by error code.',
    labelNames: ['code'] as const,
    registers,
  });
  const taskSeconds = new Histogram({
    name: 'siphon_runner_task_duration_seconds',
    help: 'Duration of the steps (tasks) that follow a load, by pipeline.',
    labelNames: ['pipeline'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers,
  });
  const { activeRuns } = options;
  new Gauge({
    name: 'siphon_runner_active_runs',
    help: 'Runs this runner executes right now.',
    registers,
    ...(activeRuns
      ? {
          collect() {
            this.set(activeRuns());
          },
        }
      : {}),
  });

  // Events after the claim carry the pipeline id only; the claim names it.
  const names = new Map<string, string>();
  const pipeline = (id: string) => names.get(id) ?? 'unknown';
  const finish = (id: string, outcome: Outcome) => finished.inc({ pipeline: pipeline(id), outcome });
  const { events } = options;
  events.on('run:claimed', (e) => {
    names.set(e.pipelineId, e.pipelineName);
    started.inc({ pipeline: e.pipelineName, takeover: String(e.takeover) });
    if (e.takeover) takeovers.inc({ pipeline: e.pipelineName });
  });
  events.on('batch:committed', (e) => {
    const labels = { pipeline: pipeline(e.pipelineId) };
    read.inc(labels, e.rowsRead);
    written.inc(labels, e.rowsWritten);
    batchSeconds.observe(labels, e.durationMs / 1000);
  });
  events.on('batch:retry', (e) => retries.inc({ pipeline: pipeline(e.pipelineId) }));
  events.on('task:completed', (e) =>
    taskSeconds.observe({ pipeline: pipeline(e.pipelineId) }, e.durationMs / 1000),
  );
  events.on('run:succeeded', (e) => {
    deleted.inc({ pipeline: pipeline(e.pipelineId) }, e.rowsDeleted);
    finish(e.pipelineId, 'success');
  });
  events.on('run:failed', (e) => {
    errors.inc({ code: errorCodeLabel(e.code) });
    finish(e.pipelineId, 'failed');
  });
  events.on('run:paused', (e) => finish(e.pipelineId, 'paused'));
  events.on('run:handed-off', (e) => finish(e.pipelineId, 'handed_off'));
  events.on('lease:lost', (e) => finish(e.pipelineId, 'lease_lost'));

  return {
    registry,
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/**
 * The runner process's `/metrics` listener (SIPHON_RUNNER_METRICS_PORT on SIPHON_API_HOST), counting
 * from the runner's events; undefined when the port is 0 (off).
 */
export async function serveRunnerMetrics(
  runner: { readonly events: RunnerEvents; readonly activeRuns: number },
  options: { readonly port: number; readonly host: string; readonly logger?: Logger },
): Promise<MetricsServer | undefined> {
  if (options.port === 0) return undefined;
  const endpoint = createRunnerMetrics({ events: runner.events, activeRuns: () => runner.activeRuns });
  try {
    return await startMetricsServer({ endpoint, ...options });
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error;
    throw new SiphonError(
      'SIPHON_ERR_PORT_IN_USE',
      `SIPHON_RUNNER_METRICS_PORT ${options.port} on ${options.host} is already in use; give each runner on this host its own port`,
    );
  }
}
