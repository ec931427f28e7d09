import { parseDuration } from '../../core/duration.js';
import { nextOccurrence } from '../../core/schedule.js';

export type Freshness = 'stale' | 'fresh' | 'unknown';

export interface FreshnessVerdict {
  readonly state: Freshness;
  /** The allowed age in seconds, and where it comes from; absent when the pipeline gives no budget. */
  readonly budgetSeconds?: number;
  readonly basis?: 'freshness' | 'schedule';
}

/**
 * Whether a pipeline's target is staler than it may be. The budget is its declared `freshness` (the
 * same one /metrics compares in siphon_pipeline_freshness_exceeded); without one, a scheduled
 * pipeline may miss one occurrence: twice the gap between its next two occurrences. A pipeline with
 * neither has no budget (`unknown`).
 */
export function freshnessVerdict(
  pipeline: { readonly freshness: string | null; readonly schedule: string | null },
  stalenessSeconds: number,
  now: Date,
): FreshnessVerdict {
  let budgetSeconds: number | undefined;
  let basis: FreshnessVerdict['basis'];
  if (pipeline.freshness) {
    try {
      budgetSeconds = parseDuration(pipeline.freshness) / 1000;
      basis = 'freshness';
    } catch {
      budgetSeconds = undefined;
    }
  }
  if (budgetSeconds === undefined && pipeline.schedule) {
    try {
      const first = nextOccurrence(pipeline.schedule, now);
      const second = nextOccurrence(pipeline.schedule, first);
      budgetSeconds = (2 * (second.getTime() - first.getTime())) / 1000;
      basis = 'schedule';
    } catch {
      budgetSeconds = undefined;
    }
  }
  if (budgetSeconds === undefined || basis === undefined) return { state: 'unknown' };
  return { state: stalenessSeconds > budgetSeconds ? 'stale' : 'fresh', budgetSeconds, basis };
}
