import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Executor } from '../db/pool.js';
import { CLUSTER_METRICS, type ClusterSnapshot } from './metrics.mapper.js';
import { readMetrics } from '../db/repositories/metrics.repository.js';
import { SnapshotMetric } from './snapshot-metric.js';

/** A registry and how to render it in the Prometheus text format. */
export interface MetricsEndpoint {
  readonly registry: Registry;
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * The API's /metrics: the cluster's state (CLUSTER_METRICS), computed from the metadata at scrape
 * time so any API process reports every runner, plus prom-client's process metrics of this API
 * (prefix `siphon_api_`). Concurrent scrapes share one database read.
 */
export function createMetrics(db: Executor, staleMs: number): MetricsEndpoint {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'siphon_api_' });
  let snapshot: ClusterSnapshot | undefined;
  for (const definition of CLUSTER_METRICS)
    new SnapshotMetric(definition, () => snapshot).registerIn(registry);
  let inFlight: Promise<{ contentType: string; body: string }> | undefined;
  const renderOnce = async () => {
    try {
      snapshot = { ...(await readMetrics(db, staleMs)), leaseSeconds: staleMs / 1000 };
      return { contentType: registry.contentType, body: await registry.metrics() };
    } finally {
      snapshot = undefined;
      inFlight = undefined;
    }
  };
  return {
    registry,
    render: () => (inFlight ??= renderOnce()),
  };
}
