import { SiphonError } from '../core/errors.js';
import type { PlanLimits } from './sql-guard.js';

/** What the planner expects of a query, as far as the ceilings are concerned. */
export interface PlannedCost {
  readonly cost: number;
  readonly largest: { readonly rows: number; readonly node: string };
}

const figure = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Refuses a query whose plan estimates exceed the ceilings (SIPHON_SQL_MAX_ESTIMATED_ROWS /
 * SIPHON_SQL_MAX_ESTIMATED_COST) before anything executes: a `generate_series(1, 1e12)` or a cross
 * join of large sets is a resource bomb, not a mart.
 */
export function assertPlanWithinLimits(plan: PlannedCost, limits: PlanLimits, field = 'source_query'): void {
  if (plan.largest.rows > limits.maxRows) {
    throw new SiphonError(
      'SIPHON_ERR_SQL_TOO_EXPENSIVE',
      `${field}: the planner expects ${figure(plan.largest.rows)} rows from ${plan.largest.node}, above the ceiling of ${figure(limits.maxRows)} (SIPHON_SQL_MAX_ESTIMATED_ROWS); narrow the query or raise the ceiling`,
      {
        field,
        details: { estimatedRows: plan.largest.rows, maxRows: limits.maxRows, node: plan.largest.node },
      },
    );
  }
  if (plan.cost > limits.maxCost) {
    throw new SiphonError(
      'SIPHON_ERR_SQL_TOO_EXPENSIVE',
      `${field}: the planner estimates a cost of ${figure(plan.cost)}, above the ceiling of ${figure(limits.maxCost)} (SIPHON_SQL_MAX_ESTIMATED_COST); narrow the query or raise the ceiling`,
      { field, details: { estimatedCost: plan.cost, maxCost: limits.maxCost } },
    );
  }
}
