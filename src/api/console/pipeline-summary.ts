import type { PipelineSummaryRow } from '../../db/repositories/console.repository.js';
import { freshnessVerdict, type FreshnessVerdict } from './freshness.js';

/** A listed pipeline with its freshness verdict and whether it needs a person. */
export interface PipelineSummary extends PipelineSummaryRow {
  readonly verdict: FreshnessVerdict;
  readonly failing: boolean;
}

export function summarize(rows: readonly PipelineSummaryRow[], now: Date): PipelineSummary[] {
  return rows.map((row) => ({
    ...row,
    verdict: freshnessVerdict(row, row.staleness_seconds, now),
    failing: row.status === 'FAILED',
  }));
}

const rank = (p: PipelineSummary) =>
  p.failing
    ? 0
    : p.verdict.state === 'stale'
      ? 1
      : p.status === 'RUNNING' || p.status === 'PAUSE_REQUESTED'
        ? 2
        : 3;

/** Failing first, then stale, then running, then the rest; by name within each. */
export function needsAttentionFirst(pipelines: readonly PipelineSummary[]): PipelineSummary[] {
  return [...pipelines].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
