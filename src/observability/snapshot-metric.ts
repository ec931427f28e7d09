import type { Metric, Registry } from 'prom-client';

/** One exposed value: labels (bounded sets only) and a number. */
export interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  /** For histogram series: `_bucket`, `_sum` or `_count` appended to the metric's name. */
  readonly suffix?: '_bucket' | '_sum' | '_count';
}

export interface SnapshotMetricDefinition<S> {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  /** The labels its samples carry (documentation and validation; `le` is implied for histograms). */
  readonly labelNames: readonly string[];
  /** Pure: the samples this metric shows for one snapshot. */
  readonly samples: (snapshot: S) => Sample[];
}

/**
 * A metric whose values come from a snapshot read once per scrape (the database), not from
 * increments in this process. It speaks prom-client's registry protocol (`name`, `get()`), so one
 * Registry renders it beside prom-client's own metrics and lists it in `getMetricsAsArray()`.
 */
export class SnapshotMetric<S> {
  readonly name: string;
  readonly help: string;
  readonly type: SnapshotMetricDefinition<S>['type'];
  readonly labelNames: readonly string[];
  readonly aggregator = 'sum' as const;
  readonly #definition: SnapshotMetricDefinition<S>;
  readonly #current: () => S | undefined;

  constructor(definition: SnapshotMetricDefinition<S>, current: () => S | undefined) {
    this.name = definition.name;
    this.help = definition.help;
    this.type = definition.type;
    this.labelNames = definition.labelNames;
    this.#definition = definition;
    this.#current = current;
  }

  async get() {
    const snapshot = this.#current();
    const samples = snapshot === undefined ? [] : this.#definition.samples(snapshot);
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: samples.map((s) => ({
        labels: { ...s.labels },
        value: s.value,
        ...(s.suffix ? { metricName: `${this.name}${s.suffix}` } : {}),
      })),
    };
  }

  /** Adds the metric to a prom-client registry (which types only its own classes, hence the cast). */
  registerIn(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }
}
