import { quoteIdent, quoteQualified, type QualifiedName } from '../../core/identifiers.js';
import type { Executor } from '../pool.js';

/**
 * Delete-not-seen for a source in another database: the keys a full pass has read, staged here in
 * each batch's own transaction (etl.remote_seen_keys), so the final delete needs no second read of the
 * remote source and a pass resumed after a pause or a crash still knows what it saw before.
 */

/**
 * Stages a batch's keys (one text[] per key column, as read), in the batch's transaction: a batch
 * commits once, and a key staged twice would change nothing for the final anti-join, so no conflict
 * check is paid for (it cost four times the target write).
 */
export async function stageSeenKeys(db: Executor, pipelineId: string, keyColumns: string[][]): Promise<void> {
  const params = keyColumns.map((_, i) => `$${i + 2}::text[]`).join(', ');
  const names = keyColumns.map((_, i) => `k${i}`);
  await db.query(
    `INSERT INTO etl.remote_seen_keys (pipeline_id, key)
     SELECT $1, ARRAY[${names.join(', ')}] FROM unnest(${params}) AS u(${names.join(', ')})`,
    [pipelineId, ...keyColumns],
  );
}

/** Forgets the staged keys: when a new pass starts, and when a pass completes. */
export async function clearSeenKeys(db: Executor, pipelineId: string): Promise<void> {
  await db.query('DELETE FROM etl.remote_seen_keys WHERE pipeline_id = $1', [pipelineId]);
}

/**
 * Deletes the target rows whose key the pass did not see. Keys compare in the target's own types (the
 * staged text cast back), so `007` staged from a numeric key still matches 7. Idempotent: the staged
 * keys stay until the run completes.
 */
export async function deleteNotStaged(
  db: Executor,
  pipelineId: string,
  target: QualifiedName,
  keys: readonly string[],
  keyTypes: readonly string[],
): Promise<number> {
  const match = keys
    .map((k, i) => `(s.key[${i + 1}])::${keyTypes[i] ?? 'text'} = t.${quoteIdent(k)}`)
    .join(' AND ');
  const { rowCount } = await db.query(
    `DELETE FROM ${quoteQualified(target)} AS t
      WHERE NOT EXISTS (SELECT 1 FROM etl.remote_seen_keys s WHERE s.pipeline_id = $1 AND ${match})`,
    [pipelineId],
  );
  return rowCount ?? 0;
}
