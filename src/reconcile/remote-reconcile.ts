import { SiphonError } from '../core/errors.js';
import { withTransaction, type PoolClient } from '../db/pool.js';
import type { PipelineRow } from '../db/repositories/pipeline.repository.js';
import {
  canonicalText,
  deleteKeys,
  portableBucketDigests,
  saveReconciliation,
  summarize,
  targetRowsInPortableBuckets,
  textRowDigests,
  type PortableShape,
  type ReconciliationRow,
} from '../db/repositories/reconcile.repository.js';
import { writeBatchFromText } from '../db/repositories/target.repository.js';
import { assertAllowedTarget, DEFAULT_SQL_POLICY } from '../sql-guard/index.js';
import {
  assertSafeRemoteQuery,
  getConnectionRow,
  resolveRemotePlan,
  withSource,
  type ReconcileShape,
} from '../sources/index.js';
import { RECONCILE_DEFAULTS, type ReconcileOptions, type ReconcilePools } from './reconcile.types.js';

/**
 * Reconcile of a pipeline whose source is on another server (`source_connection`, docs/adr/0016).
 *
 * 1. Counts and key ranges: computed by each server on its own side.
 * 2. Buckets: each server computes, per bucket, the count and two sums of 60-bit pieces of md5 of each
 *    row's framed text (`length:text` per value, `-` for NULL); the bucket of a row is md5 of its
 *    framed key text. Both dialects have md5, so no row travels for this step. The texts are
 *    PostgreSQL's text of the mapped type, which a PostgreSQL source renders exactly; a MySQL source
 *    renders integers, decimals, dates, date-times, text and bytes alike, and may render a float, JSON
 *    or TIME otherwise, which can only make a bucket differ, never hide a difference.
 * 3. Rows: the differing buckets' rows are read from the source as the text a run writes, and compared
 *    here: each value cast into the target column's type and rendered by this server, as the target's
 *    rows are. So what is reported as changed is what a run would change, whatever the dialect.
 *    A row whose buckets differ on the two sides (a key the dialect renders otherwise) makes both
 *    buckets differ; both are read on both sides, so it is still matched by its key.
 * 4. Repair: the missing and changed keys are upserted from the source rows already read (as a run
 *    writes them), the extra keys deleted, in one local transaction.
 *
 * The status is CLEAN when no key differs; `differing_buckets` counts the buckets whose digests
 * differed, rendering differences included.
 */
export async function reconcileRemote(
  pools: ReconcilePools,
  pipeline: PipelineRow,
  options: ReconcileOptions,
): Promise<ReconciliationRow> {
  const started = new Date();
  const buckets = options.buckets ?? RECONCILE_DEFAULTS.buckets;
  const maxKeys = options.maxKeys ?? RECONCILE_DEFAULTS.maxKeys;
  const connectionName = pipeline.source_connection!;
  const policy = options.policy ?? DEFAULT_SQL_POLICY;
  // Same guard as a run: the stored row may have been written behind the API's back.
  const connection = await getConnectionRow(pools.target, connectionName);
  assertAllowedTarget(pipeline.target_table.split('.')[0]!, policy);
  await assertSafeRemoteQuery(connection, pipeline.source_query, policy);
  if (!options.sources) {
    throw new SiphonError(
      'SIPHON_ERR_CONNECTION_SECRET_MISSING',
      `this process was started without source connections; ${pipeline.name} reads ${connectionName}`,
      { field: 'source_connection', details: { connection: connectionName } },
    );
  }
  return withSource(options.sources, connection, async (source) => {
    const plan = await resolveRemotePlan(source, pools.target, pipeline);
    const shape: ReconcileShape & PortableShape = {
      sourceQuery: pipeline.source_query,
      keys: plan.keys,
      columns: plan.columns,
      buckets,
    };
    const firstKey = plan.keys[0]!;
    const targetIncremental =
      plan.incrementalKey && plan.columns.includes(plan.incrementalKey) ? plan.incrementalKey : null;
    const local = <T>(work: (tx: PoolClient) => Promise<T>) =>
      withTransaction(
        pools.target,
        async (tx) => {
          await canonicalText(tx);
          return work(tx);
        },
        { readOnly: true },
      );

    const [sourceSide, targetSide] = await Promise.all([
      (async () => ({
        summary: await source.summarize(pipeline.source_query, firstKey, plan.incrementalKey),
        buckets: await source.bucketDigests(shape),
      }))(),
      local(async (tx) => ({
        summary: await summarize(tx, { table: plan.target }, firstKey, targetIncremental),
        buckets: await portableBucketDigests(tx, { table: plan.target }, shape),
      })),
    ]);
    const differing = [...new Set([...sourceSide.buckets.keys(), ...targetSide.buckets.keys()])]
      .filter((b) => sourceSide.buckets.get(b) !== targetSide.buckets.get(b))
      .sort((a, b) => a - b);

    const missing: string[][] = [];
    const extra: string[][] = [];
    const changed: string[][] = [];
    let sourceRows: Array<Array<string | null>> = [];
    const toUpsert: number[] = [];
    if (differing.length > 0) {
      sourceRows = await source.readBuckets(shape, differing);
      const [sourceDigests, targetDigests] = await local(async (tx) => [
        await textRowDigests(tx, plan.targetTypes, shape, sourceRows),
        await targetRowsInPortableBuckets(tx, plan.target, shape, differing),
      ]);
      for (const [k, s] of sourceDigests) {
        const t = targetDigests.get(k);
        if (!t) missing.push(s.key);
        else if (t.digest !== s.digest) changed.push(s.key);
        else continue;
        toUpsert.push(s.index);
      }
      for (const [k, t] of targetDigests) if (!sourceDigests.has(k)) extra.push(t.key);
    }

    const different = missing.length + changed.length + extra.length > 0;
    let repaired = 0;
    if (options.repair && different) {
      // The rows as read, key-ordered upsert as a full run's batch (streamColumns = columns).
      const repairPlan = { ...plan, cursorColumns: plan.keys, incrementalKey: null, dedup: false };
      const columns = plan.columns.map((_, c) => toUpsert.map((r) => sourceRows[r]![c] as string));
      repaired = await withTransaction(pools.writer!, async (tx) => {
        // The extra keys are text rendered under canonicalText (a timestamptz key in UTC): the delete
        // compares them under the same settings, whatever this server's TimeZone is.
        await canonicalText(tx);
        const written = toUpsert.length > 0 ? await writeBatchFromText(tx, repairPlan, columns) : 0;
        return written + (await deleteKeys(tx, plan.target, plan.keys, extra));
      });
    }
    return saveReconciliation(pools.writer ?? pools.target, {
      pipeline_id: pipeline.id,
      config_version: pipeline.version,
      status: !different ? 'CLEAN' : options.repair ? 'REPAIRED' : 'DIFFERENT',
      started_at: started,
      source_rows: Number(sourceSide.summary.rows),
      target_rows: Number(targetSide.summary.rows),
      summary: {
        source: { ...sourceSide.summary, rows: Number(sourceSide.summary.rows) },
        target: targetSide.summary,
        key: firstKey,
        incremental_key: plan.incrementalKey,
        source_connection: connectionName,
      },
      buckets,
      differing_buckets: differing.length,
      missing_keys: missing.slice(0, maxKeys),
      extra_keys: extra.slice(0, maxKeys),
      changed_keys: changed.slice(0, maxKeys),
      repaired_rows: repaired,
      requested_by: options.requestedBy,
    });
  });
}
