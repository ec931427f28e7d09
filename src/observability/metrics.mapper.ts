import { parseDuration } from '../core/duration.js';
import { ERROR_CATALOGUE } from '../core/errors.js';
import { PIPELINE_STATUSES } from '../core/pipeline-spec.schema.js';
import { BATCH_BUCKETS, type MetricsSnapshot } from '../db/repositories/metrics.repository.js';
import type { Sample, SnapshotMetricDefinition } from './snapshot-metric.js';

const RUN_STATUSES = ['RUNNING', 'SUCCESS', 'FAILED', 'PAUSED', 'INTERRUPTED'] as const;
const SYNC_TASK_STATES = ['queued', 'running', 'waiting', 'done', 'failed', 'skipped'] as const;

/** An error code as a label: a catalogue code, or `other` (a label never carries free text). */
export function errorCodeLabel(code: string): string {
  return code in ERROR_CATALOGUE ? code : 'other';
}

/** A pipeline's declared freshness in seconds; undefined when it declares none (or it is unreadable). */
export function freshnessSeconds(freshness: string | null): number | undefined {
  if (!freshness) return undefined;
  try {
    return parseDuration(freshness) / 1000;
  } catch {
    return undefined;
  }
}

const sum = <T>(rows: readonly T[], pick: (row: T) => number) => rows.reduce((a, r) => a + pick(r), 0);
const one = (value: number): Sample[] => [{ labels: {}, value }];

/** What one scrape of the API knows: the database snapshot and the lease runners are configured with. */
export type ClusterSnapshot = MetricsSnapshot & { readonly leaseSeconds: number };

type Definition = SnapshotMetricDefinition<ClusterSnapshot>;

/**
 * The cluster's state as metrics, computed from one database snapshot per scrape: any API process
 * reports all runners. Labels stay bounded: pipeline names (as many as pipelines), statuses,
 * platforms, credential ids, catalogue error codes — never run, account or row ids.
 */
export const CLUSTER_METRICS: readonly Definition[] = [
  {
    name: 'siphon_pipelines',
    help: 'Pipelines by status.',
    type: 'gauge',
    labelNames: ['status'],
    samples: (m) =>
      PIPELINE_STATUSES.map((status) => ({
        labels: { status },
        value: sum(
          m.pipelines.filter((p) => p.status === status),
          (p) => p.n,
        ),
      })),
  },
  {
    name: 'siphon_pipelines_disabled',
    help: 'Pipelines with enabled = false.',
    type: 'gauge',
    labelNames: [],
    samples: (m) =>
      one(
        sum(
          m.pipelines.filter((p) => !p.enabled),
          (p) => p.n,
        ),
      ),
  },
  {
    name: 'siphon_pipeline_status',
    help: 'Current status of each pipeline: 1 for its status, 0 for the others.',
    type: 'gauge',
    labelNames: ['pipeline', 'status'],
    samples: (m) =>
      m.perPipeline.flatMap((p) =>
        PIPELINE_STATUSES.map((status) => ({
          labels: { pipeline: p.name, status },
          value: p.status === status ? 1 : 0,
        })),
      ),
  },
  {
    name: 'siphon_runs_total',
    help: 'Runs recorded in etl_runs, by status (all pipelines).',
    type: 'counter',
    labelNames: ['status'],
    samples: (m) =>
      RUN_STATUSES.map((status) => ({
        labels: { status },
        value: sum(
          m.runs.filter((r) => r.status === status),
          (r) => r.n,
        ),
      })),
  },
  {
    name: 'siphon_pipeline_runs_total',
    help: 'Runs of each pipeline by outcome (RUNNING is the one in progress).',
    type: 'counter',
    labelNames: ['pipeline', 'status'],
    samples: (m) =>
      m.runsByPipeline.map((r) => ({ labels: { pipeline: r.name, status: r.status }, value: r.n })),
  },
  {
    name: 'siphon_rows_read_total',
    help: 'Source rows read by all runs.',
    type: 'counter',
    labelNames: [],
    samples: (m) => one(m.rows.read),
  },
  {
    name: 'siphon_rows_written_total',
    help: 'Target rows inserted or changed by all runs.',
    type: 'counter',
    labelNames: [],
    samples: (m) => one(m.rows.written),
  },
  {
    name: 'siphon_rows_deleted_total',
    help: 'Target rows deleted by full runs.',
    type: 'counter',
    labelNames: [],
    samples: (m) => one(m.rows.deleted),
  },
  ...(['read', 'written', 'deleted'] as const).map((what): Definition => ({
    name: `siphon_pipeline_rows_${what}_total`,
    help: `Rows ${what} by the runs of each pipeline.`,
    type: 'counter',
    labelNames: ['pipeline'],
    samples: (m) => {
      const totals = new Map<string, number>();
      for (const r of m.runsByPipeline) totals.set(r.name, (totals.get(r.name) ?? 0) + r[what]);
      return [...totals].map(([pipeline, value]) => ({ labels: { pipeline }, value }));
    },
  })),
  {
    name: 'siphon_batch_duration_seconds',
    help: 'Duration of committed batches (all runners, from the batch ledger).',
    type: 'histogram',
    labelNames: [],
    samples: (m): Sample[] => [
      ...BATCH_BUCKETS.map((le, i) => ({
        labels: { le },
        value: m.batches.buckets[i]!,
        suffix: '_bucket' as const,
      })),
      { labels: { le: '+Inf' }, value: m.batches.count, suffix: '_bucket' },
      { labels: {}, value: m.batches.sumSeconds, suffix: '_sum' },
      { labels: {}, value: m.batches.count, suffix: '_count' },
    ],
  },
  {
    name: 'siphon_checkpoint_age_seconds',
    help: 'Seconds since the checkpoint (etl_state) of a pipeline last moved.',
    type: 'gauge',
    labelNames: ['pipeline'],
    samples: (m) =>
      m.perPipeline
        .filter((p) => p.checkpoint_age_seconds !== null)
        .map((p) => ({ labels: { pipeline: p.name }, value: p.checkpoint_age_seconds! })),
  },
  {
    name: 'siphon_last_success_age_seconds',
    help: 'Seconds since the last successful run of a pipeline finished.',
    type: 'gauge',
    labelNames: ['pipeline'],
    samples: (m) =>
      m.perPipeline
        .filter((p) => p.last_success_age_seconds !== null)
        .map((p) => ({ labels: { pipeline: p.name }, value: p.last_success_age_seconds! })),
  },
  {
    name: 'siphon_pipeline_staleness_seconds',
    help: 'Seconds since the target was last brought up to date (last success; creation if none).',
    type: 'gauge',
    labelNames: ['pipeline'],
    samples: (m) => m.perPipeline.map((p) => ({ labels: { pipeline: p.name }, value: p.staleness_seconds })),
  },
  {
    name: 'siphon_pipeline_freshness_seconds',
    help: 'How stale the target may get (the pipeline spec field freshness), for pipelines that declare it.',
    type: 'gauge',
    labelNames: ['pipeline'],
    samples: (m) =>
      m.perPipeline.flatMap((p) => {
        const budget = freshnessSeconds(p.freshness);
        return budget === undefined ? [] : [{ labels: { pipeline: p.name }, value: budget }];
      }),
  },
  {
    name: 'siphon_pipeline_freshness_exceeded',
    help: '1 when a pipeline is staler than its declared freshness, else 0.',
    type: 'gauge',
    labelNames: ['pipeline'],
    samples: (m) =>
      m.perPipeline.flatMap((p) => {
        const budget = freshnessSeconds(p.freshness);
        if (budget === undefined) return [];
        return [{ labels: { pipeline: p.name }, value: p.staleness_seconds > budget ? 1 : 0 }];
      }),
  },
  {
    name: 'siphon_run_last_progress_age_seconds',
    help: 'Seconds since the current run of a pipeline last made progress (batch, sync task or start).',
    type: 'gauge',
    labelNames: ['pipeline'],
    samples: (m) =>
      m.perPipeline
        .filter((p) => p.progress_age_seconds !== null)
        .map((p) => ({ labels: { pipeline: p.name }, value: p.progress_age_seconds! })),
  },
  {
    name: 'siphon_lease_duration_seconds',
    help: 'The lease runners hold a pipeline for without renewing it (SIPHON_RUNNER_LEASE).',
    type: 'gauge',
    labelNames: [],
    samples: (m) => one(m.leaseSeconds),
  },
  {
    name: 'siphon_lease_takeovers_total',
    help: 'Runs that took a pipeline over from a runner whose lease expired.',
    type: 'counter',
    labelNames: ['pipeline'],
    samples: (m) => m.perPipeline.map((p) => ({ labels: { pipeline: p.name }, value: p.takeovers })),
  },
  {
    name: 'siphon_errors_total',
    help: 'Failures recorded in the database by error code and where (run, sync_task, enrichment).',
    type: 'counter',
    labelNames: ['source', 'code'],
    samples: (m) => {
      const totals = new Map<string, Sample>();
      for (const e of m.errors) {
        const code = errorCodeLabel(e.code);
        const key = `${e.source} ${code}`;
        totals.set(key, { labels: { source: e.source, code }, value: (totals.get(key)?.value ?? 0) + e.n });
      }
      return [...totals.values()];
    },
  },
  {
    name: 'siphon_sync_tasks',
    help: 'Social sync tasks by platform, kind and state (queued, running, waiting, done, failed, skipped).',
    type: 'gauge',
    labelNames: ['platform', 'kind', 'state'],
    samples: (m) =>
      m.syncTasks
        .filter((t) => (SYNC_TASK_STATES as readonly string[]).includes(t.state))
        .map((t) => ({ labels: { platform: t.platform, kind: t.kind, state: t.state }, value: t.n })),
  },
  {
    name: 'siphon_sync_jobs',
    help: 'Social sync jobs (one per account and run) by platform and status.',
    type: 'gauge',
    labelNames: ['platform', 'status'],
    samples: (m) =>
      m.syncJobs.map((j) => ({ labels: { platform: j.platform, status: j.status }, value: j.n })),
  },
  {
    name: 'siphon_social_accounts',
    help: 'Tracked accounts by platform and status (unreachable: not found, private or not professional).',
    type: 'gauge',
    labelNames: ['platform', 'status'],
    samples: (m) =>
      m.accounts.map((a) => ({ labels: { platform: a.platform, status: a.status }, value: a.n })),
  },
  {
    name: 'siphon_social_accounts_due',
    help: 'Tracked accounts (reachable, not paused) whose sync is due now, by platform and tier.',
    type: 'gauge',
    labelNames: ['platform', 'tier'],
    samples: (m) =>
      m.accountsDue.map((a) => ({ labels: { platform: a.platform, tier: a.tier }, value: a.due })),
  },
  {
    name: 'siphon_social_accounts_late',
    help: 'Tracked accounts due for longer than their tier interval (the tier is falling behind), by platform and tier.',
    type: 'gauge',
    labelNames: ['platform', 'tier'],
    samples: (m) =>
      m.accountsDue.map((a) => ({ labels: { platform: a.platform, tier: a.tier }, value: a.late })),
  },
  {
    name: 'siphon_quota_calls_total',
    help: 'API calls made against each platform credential (the shared limiter).',
    type: 'counter',
    labelNames: ['platform', 'credential'],
    samples: (m) => m.quotas.map((q) => ({ labels: quotaLabels(q), value: q.calls_total })),
  },
  {
    name: 'siphon_quota_rate_limited_total',
    help: 'Calls the platform answered with a rate limit (429 or equivalent), per credential.',
    type: 'counter',
    labelNames: ['platform', 'credential'],
    samples: (m) => m.quotas.map((q) => ({ labels: quotaLabels(q), value: q.rate_limited })),
  },
  {
    name: 'siphon_quota_units_used',
    help: 'Quota units used on the current quota day, per credential.',
    type: 'gauge',
    labelNames: ['platform', 'credential'],
    samples: (m) => m.quotas.map((q) => ({ labels: quotaLabels(q), value: q.units_used })),
  },
  {
    name: 'siphon_quota_daily_units',
    help: 'Daily quota units of a credential, where the platform has a daily quota.',
    type: 'gauge',
    labelNames: ['platform', 'credential'],
    samples: (m) =>
      m.quotas
        .filter((q) => q.daily_units !== null)
        .map((q) => ({ labels: quotaLabels(q), value: q.daily_units! })),
  },
  {
    name: 'siphon_quota_units_remaining',
    help: 'Daily quota units left today (never below 0), where the platform has a daily quota.',
    type: 'gauge',
    labelNames: ['platform', 'credential'],
    samples: (m) =>
      m.quotas
        .filter((q) => q.daily_units !== null)
        .map((q) => ({ labels: quotaLabels(q), value: Math.max(0, q.daily_units! - q.units_used) })),
  },
  {
    name: 'siphon_quota_used_ratio',
    help: 'Share of its quota a credential has used as the platform reports it (0 to 1), when reported.',
    type: 'gauge',
    labelNames: ['platform', 'credential'],
    samples: (m) =>
      m.quotas
        .filter((q) => q.used_percent !== null)
        .map((q) => ({ labels: quotaLabels(q), value: q.used_percent! / 100 })),
  },
  {
    name: 'siphon_quota_exhausted',
    help: '1 while a credential is paused or has used its daily quota, else 0.',
    type: 'gauge',
    labelNames: ['platform', 'credential'],
    samples: (m) => m.quotas.map((q) => ({ labels: quotaLabels(q), value: q.exhausted ? 1 : 0 })),
  },
  {
    name: 'siphon_quota_paused_seconds',
    help: 'Seconds until a paused credential may call again (0 when not paused).',
    type: 'gauge',
    labelNames: ['platform', 'credential'],
    samples: (m) => m.quotas.map((q) => ({ labels: quotaLabels(q), value: q.paused_seconds })),
  },
  {
    name: 'siphon_enrichment_waiting',
    help: 'Items waiting on the enrichment (ML) service, by platform and analysis.',
    type: 'gauge',
    labelNames: ['platform', 'analysis'],
    samples: (m) => m.enrichment.map((e) => ({ labels: enrichmentLabels(e), value: e.waiting })),
  },
  {
    name: 'siphon_enrichment_oldest_wait_seconds',
    help: 'Age of the oldest item still waiting on enrichment.',
    type: 'gauge',
    labelNames: ['platform', 'analysis'],
    samples: (m) => m.enrichment.map((e) => ({ labels: enrichmentLabels(e), value: e.oldest_wait_seconds })),
  },
  {
    name: 'siphon_enrichment_past_deadline',
    help: 'Items still waiting on enrichment after their deadline.',
    type: 'gauge',
    labelNames: ['platform', 'analysis'],
    samples: (m) => m.enrichment.map((e) => ({ labels: enrichmentLabels(e), value: e.past_deadline })),
  },
  {
    name: 'siphon_runners_live',
    help: 'Runner processes with a recent heartbeat.',
    type: 'gauge',
    labelNames: [],
    samples: (m) => one(m.liveRunners),
  },
];

function quotaLabels(q: { platform: string; credential: string }) {
  return { platform: q.platform, credential: q.credential };
}

function enrichmentLabels(e: { platform: string; analysis: string }) {
  return { platform: e.platform, analysis: e.analysis };
}
