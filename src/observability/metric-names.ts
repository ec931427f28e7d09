import { RunnerEvents } from '../core/runner-events.js';
import { createMetrics } from './metrics.js';
import { createRunnerMetrics } from './runner-metrics.js';

export interface RegisteredMetric {
  readonly name: string;
  readonly type: string;
  /** Where it is exposed: the API's /metrics or a runner's. */
  readonly endpoint: 'api' | 'runner';
}

/**
 * Every metric the API and a runner register, read from their registries (nothing is scraped or
 * queried). Dashboards and alert rules are checked against this list.
 */
export function registeredMetricNames(): RegisteredMetric[] {
  const unused = { query: () => Promise.reject(new Error('not scraped')) };
  const api = createMetrics(unused as never, 30_000).registry;
  const runner = createRunnerMetrics({ events: new RunnerEvents(), activeRuns: () => 0 }).registry;
  return [
    ...api.getMetricsAsArray().map((m) => ({ name: m.name, type: String(m.type), endpoint: 'api' as const })),
    ...runner
      .getMetricsAsArray()
      .map((m) => ({ name: m.name, type: String(m.type), endpoint: 'runner' as const })),
  ];
}
