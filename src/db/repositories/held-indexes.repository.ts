import { quoteIdent, quoteQualified, type QualifiedName } from '../../core/identifiers.js';
import { SiphonError } from '../../core/errors.js';
import type { Executor, PoolClient } from '../pool.js';

/**
 * Indexes held back while a full pass from another server fills an empty target (docs/adr/0020,
 * migration 0028). An index costs one insert per row while a COPY fills the table, and one sort when
 * built after it: PostgreSQL's own `pg_dump | psql` builds them last for that reason. The pass's first
 * batch transaction records how to build each index again (from the catalog) and drops it; the
 * transaction that ends the pass builds them again. Both commit with the rest of their transaction, so
 * a kill -9 anywhere leaves either the indexes or their record.
 */

interface HeldIndex {
  readonly name: string;
  /** The statement that builds it again, as the catalog writes it. */
  readonly create: string;
  /** Its columns, sorted, when it is a unique index on plain columns without predicate. */
  readonly unique: string[] | null;
}

/**
 * Records and drops the target's indexes, inside a full pass's first batch transaction, when it is
 * safe to: a plain table this role owns, no foreign key pointing at it, no exclusion constraint, no
 * index serving as replica identity (else nothing is held and the batches write through the indexes,
 * as before).
 */
export async function holdIndexes(tx: PoolClient, pipelineId: string, target: QualifiedName): Promise<void> {
  // The statements are written with every name qualified (an empty search_path for the catalog's
  // deparser), so building them again cannot land on another schema's table.
  const { rows: was } = await tx.query<{ path: string }>(
    "SELECT current_setting('search_path') AS path, set_config('search_path', '', true)",
  );
  let indexes: Array<HeldIndex & { drop: string }>;
  try {
    const { rows } = await tx.query<HeldIndex & { drop: string }>(
      `WITH t AS (
         SELECT c.oid, format('%I.%I', n.nspname, c.relname) AS qualified
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r'
            AND pg_has_role(c.relowner, 'MEMBER')
            AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid AND f.contype = 'f')
            AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conrelid = c.oid AND x.contype = 'x')
            AND NOT EXISTS (SELECT 1 FROM pg_index r WHERE r.indrelid = c.oid AND r.indisreplident))
       SELECT ic.relname::text AS name,
              CASE WHEN con.oid IS NULL THEN pg_get_indexdef(i.indexrelid)
                   ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', t.qualified, con.conname,
                               pg_get_constraintdef(con.oid)) END AS create,
              CASE WHEN con.oid IS NULL THEN format('DROP INDEX %I.%I', $1::text, ic.relname)
                   ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', t.qualified, con.conname) END AS drop,
              CASE WHEN i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL THEN
                     (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                       WHERE a.attrelid = t.oid AND a.attnum = ANY (i.indkey)) END AS unique
         FROM t JOIN pg_index i ON i.indrelid = t.oid
         JOIN pg_class ic ON ic.oid = i.indexrelid
         LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = t.oid
                                    AND con.contype IN ('p', 'u')
        ORDER BY ic.relname`,
      [target.schema, target.table],
    );
    indexes = rows;
  } finally {
    await tx.query("SELECT set_config('search_path', $1, true)", [was[0]!.path]);
  }
  if (indexes.length === 0) return;
  for (const index of indexes) await tx.query(index.drop);
  const held = indexes.map(({ name, create, unique }) => ({ name, create, unique }));
  await tx.query(
    `INSERT INTO etl.held_indexes (target_schema, target_table, pipeline_id, indexes) VALUES ($1, $2, $3, $4)
     ON CONFLICT (target_schema, target_table)
     DO UPDATE SET indexes = etl.held_indexes.indexes || EXCLUDED.indexes, pipeline_id = EXCLUDED.pipeline_id`,
    [target.schema, target.table, pipelineId, JSON.stringify(held)],
  );
}

/** The pipeline whose pass holds the target's indexes, if any (read before taking a transaction). */
export async function indexesHeldBy(db: Executor, target: QualifiedName): Promise<string | null | undefined> {
  const { rows } = await db.query<{ pipeline_id: string | null }>(
    'SELECT pipeline_id FROM etl.held_indexes WHERE target_schema = $1 AND target_table = $2',
    [target.schema, target.table],
  );
  return rows[0] ? rows[0].pipeline_id : undefined;
}

/** Every target whose indexes are held back. */
export async function heldIndexTargets(db: Executor): Promise<QualifiedName[]> {
  const { rows } = await db.query<{ schema: string; table: string }>(
    'SELECT target_schema AS schema, target_table AS table FROM etl.held_indexes ORDER BY 1, 2',
  );
  return rows;
}

/**
 * Locks the target's held-index record (SKIP LOCKED: a run building it already has it) and returns
 * the holding pipeline's `target_table` now: null when that pipeline was deleted, undefined when
 * nothing is held any more or another transaction has the record. The rest of this transaction waits
 * at most 5 s for a lock (a build queued behind a long write would hold up that table's writers and a
 * runner's stop); a timeout leaves the record for the next look.
 */
export async function lockHeldIndexHolder(
  tx: PoolClient,
  target: QualifiedName,
): Promise<{ readonly holderTarget: string | null } | undefined> {
  await tx.query("SET LOCAL lock_timeout = '5s'");
  const { rows } = await tx.query<{ holder_target: string | null }>(
    `SELECT p.target_table AS holder_target
       FROM etl.held_indexes h LEFT JOIN etl.etl_pipelines p ON p.id = h.pipeline_id
      WHERE h.target_schema = $1 AND h.target_table = $2
        FOR UPDATE OF h SKIP LOCKED`,
    [target.schema, target.table],
  );
  return rows[0] ? { holderTarget: rows[0].holder_target } : undefined;
}

/**
 * Builds the target's held indexes again and forgets them, in the caller's (fenced) transaction.
 * A unique index refused for a key the source yielded twice (23505) keeps the key's last row written
 * (the highest ctid: the table was only appended to since it was empty) and is built again, as a
 * batch's merge keeps one row per key. Any other refusal fails (`SIPHON_ERR_TARGET_WRITE`, naming
 * the index) and leaves them held, so the next run tries again. `dedupe: false` (a target no
 * pipeline writes any more, where anyone may have written since) refuses a 23505 the same way
 * instead of deleting rows.
 */
export async function buildHeldIndexes(
  tx: PoolClient,
  target: QualifiedName,
  { dedupe = true }: { readonly dedupe?: boolean } = {},
): Promise<void> {
  const { rows } = await tx.query<{ indexes: HeldIndex[] }>(
    'SELECT indexes FROM etl.held_indexes WHERE target_schema = $1 AND target_table = $2 FOR UPDATE',
    [target.schema, target.table],
  );
  const indexes = rows[0]?.indexes;
  if (!indexes) return;
  await tx.query('SAVEPOINT siphon_build_held_indexes');
  try {
    await createAll(tx, indexes);
  } catch (error) {
    if (!dedupe || (error as { code?: string }).code !== '23505') throw refused(error, target);
    await tx.query('ROLLBACK TO SAVEPOINT siphon_build_held_indexes');
    await keepLastRowPerKey(tx, target, indexes);
    await createAll(tx, indexes).catch((again: unknown) => {
      throw refused(again, target);
    });
  }
  await tx.query('RELEASE SAVEPOINT siphon_build_held_indexes');
  await tx.query('DELETE FROM etl.held_indexes WHERE target_schema = $1 AND target_table = $2', [
    target.schema,
    target.table,
  ]);
}

async function createAll(tx: PoolClient, indexes: readonly HeldIndex[]): Promise<void> {
  for (const index of indexes) {
    try {
      await tx.query(index.create);
    } catch (error) {
      (error as { siphonIndex?: string }).siphonIndex = index.name;
      throw error;
    }
  }
}

/** Deletes every row but the last written of each key of every held unique index. */
async function keepLastRowPerKey(
  tx: PoolClient,
  target: QualifiedName,
  indexes: readonly HeldIndex[],
): Promise<void> {
  for (const index of indexes) {
    if (!index.unique) continue;
    const same = index.unique.map((c) => `a.${quoteIdent(c)} = b.${quoteIdent(c)}`).join(' AND ');
    await tx.query(
      `DELETE FROM ${quoteQualified(target)} AS a USING ${quoteQualified(target)} AS b
        WHERE ${same} AND a.ctid < b.ctid`,
    );
  }
}

/**
 * A row the index refuses (class 23: a NULL in a key column, a key twice after the de-duplication) is
 * the target's refusal, named after the index; anything else (a lost connection) goes on as it is, to
 * be retried like any transient failure.
 */
function refused(error: unknown, target: QualifiedName): unknown {
  const sqlstate = (error as { code?: unknown }).code;
  if (typeof sqlstate !== 'string' || !sqlstate.startsWith('23')) return error;
  const index = (error as { siphonIndex?: string }).siphonIndex ?? 'an index';
  return new SiphonError(
    'SIPHON_ERR_TARGET_WRITE',
    `building ${index} of ${target.schema}.${target.table} again after its first load: ${(error as Error).message}`,
    { field: 'target_table', cause: error, details: { sqlstate, index } },
  );
}
