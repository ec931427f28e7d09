import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Pool } from '../db/pool.js';
import { BATCH_BUCKETS, readMetrics } from './metrics.repository.js';

const STATUSES = ['IDLE', 'RUN_REQUESTED', 'RUNNING', 'PAUSE_REQUESTED', 'PAUSED', 'FAILED'];
const RUN_STATUSES = ['RUNNING', 'SUCCESS', 'FAILED', 'PAUSED', 'INTERRUPTED'];

/**
 * Prometheus exposition of the engine's state, computed from the metadata at scrape time, so any API
 * process reports the whole cluster of runners. Labels are bounded: status, and the pipeline name
 * (as many as there are pipelines) — never run or row ids.
 */
export function createMetrics(
  pool: Pool,
  staleMs: number,
): { render(): Promise<{ contentType: string; body: string }> } {
  // Process metrics of this API process (CPU, memory, event loop), registered once.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'siphon_api_' });
  return { render: async () => render(pool, staleMs, registry) };
}

async function render(
  pool: Pool,
  staleMs: number,
  registry: Registry,
): Promise<{ contentType: string; body: string }> {
  const m = await readMetrics(pool, staleMs);
  const lines: string[] = [];
  const gauge = (
    name: string,
    help: string,
    samples: Array<[Record<string, string>, number]>,
    type = 'gauge',
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const rendered = Object.entries(labels)
        .map(
          ([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`,
        )
        .join(',');
      lines.push(`${name}${rendered ? `{${rendered}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
    }
  };
  const byStatus = (rows: Array<{ status: string; n: number }>, statuses: string[]) =>
    statuses.map(
      (s) =>
        [{ status: s }, rows.filter((r) => r.status === s).reduce((a, r) => a + r.n, 0)] as [
          Record<string, string>,
          number,
        ],
    );

  gauge('siphon_pipelines', 'Pipelines by status.', byStatus(m.pipelines, STATUSES));
  gauge('siphon_pipelines_disabled', 'Pipelines with enabled = false.', [
    [{}, m.pipelines.filter((p) => !p.enabled).reduce((a, p) => a + p.n, 0)],
  ]);
  gauge(
    'siphon_runs_total',
    'Runs recorded in etl_runs, by status.',
    byStatus(m.runs, RUN_STATUSES),
    'counter',
  );
  gauge('siphon_rows_read_total', 'Source rows read by all runs.', [[{}, m.rows.read]], 'counter');
  gauge(
    'siphon_rows_written_total',
    'Target rows inserted or changed by all runs.',
    [[{}, m.rows.written]],
    'counter',
  );
  gauge('siphon_rows_deleted_total', 'Target rows deleted by full runs.', [[{}, m.rows.deleted]], 'counter');
  lines.push(
    '# HELP siphon_batch_duration_seconds Duration of committed batches.',
    '# TYPE siphon_batch_duration_seconds histogram',
  );
  BATCH_BUCKETS.forEach((le, i) =>
    lines.push(`siphon_batch_duration_seconds_bucket{le="${le}"} ${m.batches.buckets[i]}`),
  );
  lines.push(
    `siphon_batch_duration_seconds_bucket{le="+Inf"} ${m.batches.count}`,
    `siphon_batch_duration_seconds_sum ${m.batches.sumSeconds}`,
    `siphon_batch_duration_seconds_count ${m.batches.count}`,
  );
  gauge(
    'siphon_checkpoint_age_seconds',
    'Seconds since the checkpoint (etl_state) of a pipeline last moved.',
    m.checkpoints.filter((c) => c.age_seconds !== null).map((c) => [{ pipeline: c.name }, c.age_seconds!]),
  );
  gauge(
    'siphon_last_success_age_seconds',
    'Seconds since the last successful run of a pipeline (its freshness).',
    m.checkpoints
      .filter((c) => c.last_success_age_seconds !== null)
      .map((c) => [{ pipeline: c.name }, c.last_success_age_seconds!]),
  );
  gauge('siphon_runners_live', 'Runner processes with a recent heartbeat.', [[{}, m.liveRunners]]);
  return { contentType: registry.contentType, body: `${lines.join('\n')}\n${await registry.metrics()}` };
}
