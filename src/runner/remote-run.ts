import { Readable } from 'node:stream';
import { SiphonError } from '../core/errors.js';
import { parseQualifiedName, type QualifiedName } from '../core/identifiers.js';
import { streamColumns, type BatchCursor } from '../db/batch-sql.js';
import { binaryCopyFits } from '../db/copy-binary.js';
import { copyTextOf } from '../db/copy-text.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import {
  copyStreamedIntoTarget,
  copyIntoStaging,
  copyIntoTarget,
  mergeStaged,
  type CopiedBatch,
  type CopiedResult,
  stageKeysFromStaging,
  targetIsEmpty,
} from '../db/repositories/remote-batch.repository.js';
import {
  buildHeldIndexes,
  heldIndexTargets,
  holdIndexes,
  indexesHeldBy,
  lockHeldIndexHolder,
} from '../db/repositories/held-indexes.repository.js';
import {
  fullPassUnfinished,
  markPassIntoEmpty,
  readPassIntoEmpty,
} from '../db/repositories/state.repository.js';
import { writeBatchFromText } from '../db/repositories/target.repository.js';
import type { ClaimedPipeline } from '../db/repositories/lease.repository.js';
import { clearSeenKeys, stageSeenKeys } from '../db/repositories/seen-keys.repository.js';
import { assertAllowedTarget } from '../sql-guard/index.js';
import {
  assertSafeRemoteQuery,
  getConnectionRow,
  openSource,
  resolveRemotePlan,
  type RemoteSource,
} from '../sources/index.js';
import type { ResolvedPlan } from './plan.js';
import type { StreamedBatch } from './stream-reader.js';
import type { CopyGroup, CopyWindow } from './copy-window.js';
import type { ExecutorDeps } from './run-support.js';

/**
 * A pipeline whose source is on another server (`source_connection`): the batch loop is the stream
 * path's, with the read done by the source's server in its own READ ONLY transaction, and the write,
 * checkpoint and ledger committed together in the local batch transaction behind the fence
 * (docs/adr/0016). Here: opening the source, its plan, and the keys a full pass stages.
 */

/** Opens the pipeline's source, or undefined for a pipeline that reads this database. */
export async function openRemoteSource(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
): Promise<RemoteSource | undefined> {
  if (claimed.kind === 'social' || !claimed.source_connection) return undefined;
  if (!deps.sources) {
    throw new SiphonError(
      'SIPHON_ERR_CONNECTION_SECRET_MISSING',
      `this runner was started without source connections; pipeline ${claimed.name} reads ${claimed.source_connection}`,
      { field: 'source_connection' },
    );
  }
  const connection = await getConnectionRow(deps.pool, claimed.source_connection);
  return openSource(deps.sources, connection);
}

/**
 * The guard again (the row may have been written behind the API's back), then the plan from the
 * remote description; a missing target is created through `onMissingTarget` (fenced by the caller).
 */
export async function prepareRemotePlan(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  source: RemoteSource,
  onMissingTarget: Parameters<typeof resolveRemotePlan>[3],
): Promise<ResolvedPlan> {
  const connection = await getConnectionRow(deps.pool, claimed.source_connection!);
  assertAllowedTarget(claimed.target_table.split('.')[0]!, deps.sqlPolicy);
  await assertSafeRemoteQuery(connection, claimed.source_query, deps.sqlPolicy);
  const plan = await resolveRemotePlan(source, deps.pool, claimed, onMissingTarget);
  const sourceTypes = new Map(plan.remoteColumns.map((c) => [c.name, c.sourceType]));
  const copyBinary =
    source.copyBatch !== undefined &&
    deps.sources?.binaryCopy !== false &&
    binaryCopyFits(
      streamColumns(plan).map((name) => ({
        name,
        sourceType: sourceTypes.get(name) ?? '',
        // A type defined in the target database never matches, whatever format_type prints for it.
        targetType: plan.targetBuiltin[name] === true ? (plan.targetTypes[name] ?? '') : '',
      })),
      plan.cursorColumns,
    );
  return { ...plan, remote: true, copyBinary };
}

/**
 * A batch by COPY (a PostgreSQL source). A full pass that began on an empty target copies the source's
 * rows straight into the target (no staging, no merge, no staged keys: its end deletes nothing, every
 * row there is the pass's own). Otherwise the source streams the batch into this transaction's staging
 * table, a full pass stages its keys from there, and one statement merges it into the target.
 */
export async function copyRemoteBatch(
  tx: PoolClient,
  source: RemoteSource,
  claimed: ClaimedPipeline,
  plan: ResolvedPlan,
  cursor: BatchCursor,
  window: CopyWindow,
  group?: CopyGroup,
): Promise<CopiedResult> {
  if (!source.copyBatch) throw new SiphonError('SIPHON_ERR_INTERNAL', 'this source kind has no COPY path');
  const limit = claimed.batch_size;
  // The window's next batch belongs to the pass whose earlier batch it followed: into an empty target.
  const intoEmpty = window.continues(cursor) || (await passIntoEmpty(tx, claimed, plan, cursor));
  if (intoEmpty && !plan.dedup) {
    const result = await copyIntoTarget(tx, plan, window.batchAt(cursor, group));
    window.wrote(result.lastCursor);
    return result;
  }
  await source.copyBatch(plan, cursor, limit, (rows) => copyIntoStaging(tx, rows));
  if (claimed.mode === 'full' && !intoEmpty) await stageKeysFromStaging(tx, claimed.id, plan);
  return mergeStaged(tx, plan);
}

/**
 * A batch read through Node (a MySQL source, or PostgreSQL without COPY): copied straight in during a
 * full pass into an empty target, else upserted, with its keys staged for a full pass's end.
 * `continuing`: the batch follows one this run loop copied into an empty target in the same pass, so
 * the pass's flag is not read again. The result says whether the batch went into an empty target.
 * Copied straight in, the same COPY goes on with the batches `group.next()` reads after it, while it
 * yields them (docs/adr/0027); each is then one of the result's `batches`.
 */
export async function writeStreamedRemoteBatch(
  tx: PoolClient,
  claimed: ClaimedPipeline,
  plan: ResolvedPlan,
  cursor: BatchCursor,
  batch: StreamedBatch,
  continuing: boolean,
  group?: StreamedGroup,
): Promise<CopiedResult & { intoEmpty: boolean }> {
  const intoEmpty = continuing || (await passIntoEmpty(tx, claimed, plan, cursor));
  if (batch.rows > 0 && intoEmpty && !plan.dedup) {
    const batches: CopiedBatch[] = [];
    const rowsWritten = await copyStreamedIntoTarget(
      tx,
      plan,
      Readable.from(groupText(batch, batches, claimed.batch_size, group)),
    );
    const rowsRead = batches.reduce((n, b) => n + b.rows, 0);
    const lastCursor = batches.at(-1)!.lastCursor;
    return {
      rowsRead,
      rowsWritten,
      rowsDeleted: 0,
      lastCursor,
      intoEmpty,
      ...(batches.length > 1 ? { batches } : {}),
    };
  }
  let rowsWritten = 0;
  if (batch.rows > 0) {
    rowsWritten = await writeBatchFromText(tx, plan, batch.columns);
    if (claimed.mode === 'full' && !intoEmpty) {
      const order = streamColumns(plan);
      await stageSeenKeys(
        tx,
        claimed.id,
        plan.keys.map((k) => batch.columns[order.indexOf(k)]!),
      );
    }
  }
  return { rowsRead: batch.rows, rowsWritten, rowsDeleted: 0, lastCursor: batch.lastCursor, intoEmpty };
}

/** A group (docs/adr/0027) over a streamed first load: where its next batches are read. */
export interface StreamedGroup extends CopyGroup {
  /** The batch after `after` (a whole one). */
  read(after: StreamedBatch): Promise<StreamedBatch>;
  /** When a batch was sent, for its ledger row's duration. */
  now(): number;
}

/** The COPY text of a batch and of the group's batches after it, each recorded as it is sent. */
async function* groupText(
  first: StreamedBatch,
  batches: CopiedBatch[],
  batchSize: number,
  group: StreamedGroup | undefined,
): AsyncGenerator<Buffer> {
  for (let batch = first; batch.rows > 0;) {
    const text = batch.copyText?.() ?? copyTextOf(batch.columns, batch.rows);
    for await (const chunk of text) yield chunk as Buffer;
    batches.push({ rows: batch.rows, lastCursor: batch.lastCursor!, sentAt: group?.now() ?? 0 });
    // Only after a whole batch: a shorter one is the pass's end.
    if (!group || batch.rows < batchSize || batches.length >= group.batches || group.ends()) return;
    batch = await group.read(batch);
  }
}

/** Whether this batch's full pass began on an empty target (decided and recorded by its first batch). */
async function passIntoEmpty(
  tx: PoolClient,
  claimed: ClaimedPipeline,
  plan: ResolvedPlan,
  cursor: BatchCursor,
): Promise<boolean> {
  if (claimed.mode !== 'full') return false;
  return cursor === null ? beginFullPass(tx, claimed, plan) : readPassIntoEmpty(tx, claimed.id);
}

/**
 * A full pass's first batch: forget an earlier pass's keys, and note whether the target is empty. An
 * empty target's indexes are held back until the pass ends (docs/adr/0020): its batches are COPYs
 * into a table without indexes, and the pass's end builds each index once.
 */
async function beginFullPass(tx: PoolClient, claimed: ClaimedPipeline, plan: ResolvedPlan): Promise<boolean> {
  await clearSeenKeys(tx, claimed.id);
  const empty = await targetIsEmpty(tx, plan);
  await markPassIntoEmpty(tx, claimed.id, empty);
  if (empty && !plan.dedup) await holdIndexes(tx, claimed.id, plan.target);
  return empty;
}

/**
 * Indexes a first load from another server held back (docs/adr/0020), when this run does not go on
 * with that pass (a reset, a restarted pass, the mode or the source changed, another pipeline into
 * the same table, local or remote), are built before anything is read, behind the fence.
 */
export async function buildIndexesHeldByAnotherPass(
  deps: ExecutorDeps,
  claimed: ClaimedPipeline,
  target: QualifiedName,
  fenced: (work: (tx: PoolClient) => Promise<void>) => Promise<void>,
): Promise<void> {
  const heldBy = await indexesHeldBy(deps.pool, target);
  if (heldBy === undefined) return;
  if (heldBy === claimed.id && claimed.mode === 'full' && claimed.source_connection) {
    // The pass that holds them is unfinished (a position stored) unless a restart forgot it.
    const intoEmpty = await readPassIntoEmpty(deps.pool, claimed.id);
    if (intoEmpty && (await fullPassUnfinished(deps.pool, claimed.id))) return; // this run goes on with that pass
  }
  await fenced((tx) => buildHeldIndexes(tx, target));
}

/**
 * Indexes held by a pass that can never end: its pipeline was deleted (the API's role that deletes it
 * cannot build indexes on the runner's tables) or now writes into another table. Each runner looks
 * for them at start and then every minute, and builds each target's in a transaction of its own; a
 * target whose pipeline still writes into it is left to that pipeline's next run. No pipeline owns
 * such a target any more, so a key found twice is refused rather than de-duplicated. Returns the
 * targets built; a refusal (`SIPHON_ERR_TARGET_WRITE`), a lock wait over 5 s or a lost connection is
 * the caller's to log, and the record stays for the next look. Stops between targets once `signal`
 * is aborted (the runner stopping).
 */
export async function buildOrphanedHeldIndexes(
  pool: Pool,
  signal: AbortSignal,
  onFailure: (error: unknown, target: QualifiedName) => void,
): Promise<QualifiedName[]> {
  const built: QualifiedName[] = [];
  for (const target of await heldIndexTargets(pool)) {
    if (signal.aborted) break;
    try {
      const orphaned = await withTransaction(pool, async (tx) => {
        const holder = await lockHeldIndexHolder(tx, target);
        if (!holder || writesInto(holder.holderTarget, target)) return false;
        await buildHeldIndexes(tx, target, { dedupe: false });
        return true;
      });
      if (orphaned) built.push(target);
    } catch (error) {
      onFailure(error, target);
    }
  }
  return built;
}

function writesInto(pipelineTarget: string | null, target: QualifiedName): boolean {
  if (pipelineTarget === null) return false;
  const name = parseQualifiedName(pipelineTarget, 'analytics');
  return name?.schema === target.schema && name.table === target.table;
}
