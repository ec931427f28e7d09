import { asSourceQueryFailure, SiphonError } from '../core/errors.js';
import { assertSafePipeline } from '../pipelines/index.js';
import { DEFAULT_SQL_POLICY } from '../sql-guard/index.js';
import { withTransaction } from '../db/pool.js';
import type { PipelineRow } from '../db/repositories/pipeline.repository.js';
import { resolvePlan } from '../runner/plan.js';
import {
  bucketDigests,
  repairKeys,
  rowDigests,
  saveReconciliation,
  summarize,
  type ReconciliationRow,
  type Side,
} from '../db/repositories/reconcile.repository.js';
import { RECONCILE_DEFAULTS, type ReconcileOptions, type ReconcilePools } from './reconcile.types.js';
import { reconcileRemote } from './remote-reconcile.js';

export type { ReconcileOptions, ReconcilePools } from './reconcile.types.js';

/**
 * Compares a pipeline's source query with its target (seed 003 §1.7, promise 8): row counts and key
 * ranges, then digests per hash bucket of the key; only differing buckets are compared row by row,
 * down to the keys missing from the target, extra in it, or changed. With `repair`, exactly those
 * keys are re-synced in one transaction. The result is stored in etl.etl_reconciliations.
 * Runs with the writer role: it reads the sources (through siphon_reader) and the target. A source on
 * another server (`source_connection`) is compared by remote-reconcile.ts: each server digests its
 * own side, and only the differing buckets' rows travel.
 */
export async function reconcilePipeline(
  pools: ReconcilePools,
  pipeline: PipelineRow,
  options: ReconcileOptions,
): Promise<ReconciliationRow> {
  return compare(pools, pipeline, options).catch((error: unknown) => {
    throw asSourceQueryFailure(error);
  });
}

// Longer than 80 lines: the comparison's stages (counts, ranges, buckets, keys) share one snapshot's state.
async function compare(
  pools: ReconcilePools,
  pipeline: PipelineRow,
  options: ReconcileOptions,
): Promise<ReconciliationRow> {
  const started = new Date();
  const buckets = options.buckets ?? RECONCILE_DEFAULTS.buckets;
  const maxKeys = options.maxKeys ?? RECONCILE_DEFAULTS.maxKeys;
  if (options.repair && !pools.writer) {
    throw new SiphonError(
      'SIPHON_ERR_REQUEST_INVALID',
      'repair needs the writer role: run `siphon reconcile --repair`',
      {
        field: 'repair',
      },
    );
  }
  // Its source query runs on another server: each side is digested where it lives.
  if (pipeline.source_connection && pipeline.kind !== 'social') {
    return reconcileRemote(pools, pipeline, options);
  }
  if (pipeline.kind === 'social') {
    throw new SiphonError(
      'SIPHON_ERR_REQUEST_INVALID',
      `${pipeline.name} is a social sync: reconcile compares a source query with its target table`,
      { field: 'pipeline' },
    );
  }
  // Same guard as a run: the stored row may have been written behind the API's back.
  await assertSafePipeline(pipeline, options.policy ?? DEFAULT_SQL_POLICY, {
    target: { pool: pools.source },
    unresolved: 'refuse',
  });
  const plan = await resolvePlan(pools.source, pipeline);
  const source: Side = { query: pipeline.source_query };
  const target: Side = { table: plan.target };
  const firstKey = plan.keys[0]!;
  const targetIncremental =
    plan.incrementalKey && plan.columns.includes(plan.incrementalKey) ? plan.incrementalKey : null;
  const [sourceSummary, targetSummary] = await Promise.all([
    summarize(pools.source, source, firstKey, plan.incrementalKey),
    summarize(pools.target, target, firstKey, targetIncremental),
  ]);
  const [sourceBuckets, targetBuckets] = await Promise.all([
    bucketDigests(pools.source, source, plan.keys, plan.columns, buckets),
    bucketDigests(pools.target, target, plan.keys, plan.columns, buckets),
  ]);
  const differing: number[] = [];
  for (let b = 0; b < buckets; b += 1) if (sourceBuckets.get(b) !== targetBuckets.get(b)) differing.push(b);

  const missing: string[][] = [];
  const extra: string[][] = [];
  const changed: string[][] = [];
  if (differing.length > 0) {
    const [sourceRows, targetRows] = await Promise.all([
      rowDigests(pools.source, source, plan.keys, plan.columns, buckets, differing),
      rowDigests(pools.target, target, plan.keys, plan.columns, buckets, differing),
    ]);
    for (const [k, s] of sourceRows) {
      const t = targetRows.get(k);
      if (!t) missing.push(s.key);
      else if (t.digest !== s.digest) changed.push(s.key);
    }
    for (const [k, t] of targetRows) if (!sourceRows.has(k)) extra.push(t.key);
  }

  let repaired = 0;
  if (options.repair && missing.length + changed.length + extra.length > 0) {
    repaired = await withTransaction(pools.writer!, (tx) =>
      repairKeys(
        tx,
        {
          source: pipeline.source_query,
          target: plan.target,
          keys: plan.keys,
          columns: plan.columns,
          touchUpdatedAt: plan.touchUpdatedAt,
        },
        [...missing, ...changed],
        extra,
      ),
    );
  }
  const clean = differing.length === 0;
  return saveReconciliation(pools.writer ?? pools.target, {
    pipeline_id: pipeline.id,
    config_version: pipeline.version,
    status: clean ? 'CLEAN' : options.repair ? 'REPAIRED' : 'DIFFERENT',
    started_at: started,
    source_rows: Number(sourceSummary.rows),
    target_rows: Number(targetSummary.rows),
    summary: {
      source: sourceSummary,
      target: targetSummary,
      key: firstKey,
      incremental_key: plan.incrementalKey,
    },
    buckets,
    differing_buckets: differing.length,
    missing_keys: missing.slice(0, maxKeys),
    extra_keys: extra.slice(0, maxKeys),
    changed_keys: changed.slice(0, maxKeys),
    repaired_rows: repaired,
    requested_by: options.requestedBy,
  });
}
