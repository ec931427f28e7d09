import { quoteIdent, quoteQualified, type QualifiedName } from '../core/identifiers.js';

/**
 * Where a batch starts: nothing (from the beginning), strictly after a cursor row (the keyset), or
 * from an incremental-key value inclusive (the lookback window at the start of an incremental run).
 */
export type BatchCursor = { readonly after: readonly string[] } | { readonly from: string } | null;

export interface BatchPlan {
  readonly sourceQuery: string;
  readonly target: QualifiedName;
  /** Columns copied to the target (source ∩ target), in source order. */
  readonly columns: readonly string[];
  /** The target's unique key (ON CONFLICT). */
  readonly keys: readonly string[];
  /** Keyset order: the unique key (full), or the incremental key then the unique key (incremental). */
  readonly cursorColumns: readonly string[];
  /** The incremental key, when there is one: newest version of a duplicated key wins. */
  readonly incrementalKey: string | null;
  /** Set target.updated_at = now() on every insert or real change. */
  readonly touchUpdatedAt: boolean;
  /** SQL type of each target column, to cast streamed text values back. */
  readonly targetTypes: Readonly<Record<string, string>>;
  /**
   * Full mode, pushdown, a single key column without a collation: each batch also deletes the target
   * rows in its key range that the source no longer yields (instead of one anti-join over the whole
   * target at the end). Text keys keep the final anti-join (source and target could order them
   * differently), and so do composite keys (their range would not be an index condition).
   */
  readonly deleteInBatch?: boolean;
  /**
   * The source yields some key more than once within a batch: keep one row per key (the newest by
   * incremental key). Off until a batch proves it (PostgreSQL refuses an upsert that would touch a
   * row twice, SQLSTATE 21000, and rolls the batch back); the runner then turns it on for the rest of
   * the run. Off, a full batch needs no sort at all: it is read in key order already.
   */
  readonly dedup?: boolean;
}

/** PostgreSQL's answer to an upsert whose rows share a key: "cannot affect row a second time". */
export const DUPLICATE_KEY_IN_BATCH_SQLSTATE = '21000';

/**
 * A batch the source gave some key twice: the upsert's 21000, or a unique violation (23505) of a batch
 * copied straight into an empty target (`COPY … FROM STDIN` has no ON CONFLICT). Merged, with one row
 * per key, the batch goes through.
 */
export function isDuplicateKeyInBatch(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === DUPLICATE_KEY_IN_BATCH_SQLSTATE || code === '23505';
}

/** Strips trailing semicolons and whitespace; the query becomes a subquery. */
export function normalizeSourceQuery(query: string): string {
  return query.replace(/[\s;]+$/u, '');
}

/** `s."a", s."b"` */
const list = (alias: string, columns: readonly string[]) =>
  columns.map((c) => `${alias}${quoteIdent(c)}`).join(', ');

function wherePredicate(
  plan: BatchPlan,
  cursor: BatchCursor,
  firstParam: number,
): { sql: string; params: string[] } {
  if (cursor === null) return { sql: '', params: [] };
  if ('from' in cursor) {
    return { sql: `WHERE s.${quoteIdent(plan.incrementalKey!)} >= $${firstParam}`, params: [cursor.from] };
  }
  const placeholders = cursor.after.map((_, i) => `$${firstParam + i}`).join(', ');
  return { sql: `WHERE (${list('s.', plan.cursorColumns)}) > (${placeholders})`, params: [...cursor.after] };
}

/**
 * Rows whose incremental key is NULL never compare greater than a cursor, so a keyset would skip them
 * silently; the runner asks this once per run and refuses such a source.
 */
export function buildNullIncrementalSql(plan: BatchPlan): string {
  return `SELECT EXISTS (SELECT 1 FROM (
${normalizeSourceQuery(plan.sourceQuery)}
  ) AS s WHERE s.${quoteIdent(plan.incrementalKey!)} IS NULL LIMIT $1) AS found`;
}

/** The next `$1` rows of the source in keyset order (never OFFSET). */
function readSql(plan: BatchPlan, predicate: string, limit = '$1'): string {
  return `  SELECT * FROM (
${normalizeSourceQuery(plan.sourceQuery)}
  ) AS s
  ${predicate}
  ORDER BY ${list('s.', plan.cursorColumns)}
  LIMIT ${limit}`;
}

/**
 * UPSERT in key order (writers overlapping on a target lock rows in one order: no deadlock), one row
 * per key when the plan de-duplicates (the newest incremental-key value wins), and leave unchanged
 * rows alone (no dead tuples, no WAL). A full batch arrives in key order (its cursor is the key, and
 * `src` is scanned in the order it was read); an incremental one is sorted.
 *
 * "Unchanged" is the stored image (`ROW(…)::record *<> ROW(…)::record`, docs/adr/0024), not each
 * type's `=`: `=` holds numeric 1.0 and 1.00, float 0 and -0, interval '1 mon' and '30 days', or two
 * boxes of one area, equal, which kept the old value, and json, xml and point have no `=` at all.
 */
function upsertFrom(plan: BatchPlan, from: string): string {
  const cols = list('', plan.columns);
  const keyOrdered =
    plan.cursorColumns.length === plan.keys.length && plan.cursorColumns.every((c, i) => c === plan.keys[i]);
  const nonKey = plan.columns.filter((c) => !plan.keys.includes(c));
  const dedupOrder = [
    ...plan.keys.map(quoteIdent),
    ...(plan.incrementalKey ? [`${quoteIdent(plan.incrementalKey)} DESC`] : []),
  ].join(', ');
  const setList = [
    ...nonKey.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`),
    ...(plan.touchUpdatedAt ? ['"updated_at" = now()'] : []),
  ].join(', ');
  const conflict =
    nonKey.length === 0
      ? 'DO NOTHING'
      : `DO UPDATE SET ${setList}\n    WHERE ROW(${list('t.', nonKey)})::record *<> ROW(${list('EXCLUDED.', nonKey)})::record`;
  return `INSERT INTO ${quoteQualified(plan.target)} AS t (${cols})
  ${
    plan.dedup
      ? `SELECT DISTINCT ON (${list('', plan.keys)}) ${cols} FROM ${from} ORDER BY ${dedupOrder}`
      : `SELECT ${cols} FROM ${from}${keyOrdered ? '' : ` ORDER BY ${list('', plan.keys)}`}`
  }
  ON CONFLICT (${list('', plan.keys)}) ${conflict}
  RETURNING (t.xmax = 0) AS inserted`;
}

/**
 * One batch as a single statement executed by PostgreSQL (pushdown): read the next `limit` rows,
 * upsert them, return the counts and the new cursor. Rows never travel through Node. The user query
 * sits in a subquery, where PostgreSQL itself forbids data-modifying WITH clauses.
 *
 * `stats` reads the materialised batch once for its size and its last cursor (a plain `max` when the
 * cursor is one column; a row-value cursor needs the top row), and everything else reuses it: each
 * extra pass or sort over the batch cost about a millisecond of a ~45 ms batch.
 */
export function buildBatchSql(
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
): { text: string; values: unknown[] } {
  const predicate = wherePredicate(plan, cursor, 2);
  const gone = plan.deleteInBatch ? `, ${deleteInRange(plan, cursor)}` : '';
  const text = `WITH src AS MATERIALIZED (
${readSql(plan, predicate.sql)}
), stats AS MATERIALIZED (
  ${statsSql(plan)}
), up AS (
  ${upsertFrom(plan, 'src')}
)${gone}
SELECT stats.n::int AS rows_read,
       (SELECT count(*) FROM up)::int AS rows_written,
       ${plan.deleteInBatch ? '((SELECT count(*) FROM gone) + (SELECT count(*) FROM gone_tail))::int' : '0'} AS rows_deleted,
       stats.last_cursor
  FROM stats`;
  return { text, values: [limit, ...predicate.params] };
}

/**
 * One row: the batch size `n`, the last cursor as a JSON array of text, and (one cursor column) its
 * raw value `last_key`. The top row is found by one top-N pass (`max` does not exist for every key
 * type, uuid among them before PostgreSQL 18).
 */
function statsSql(plan: BatchPlan): string {
  const cursorOut = plan.cursorColumns.map((c) => `l.${quoteIdent(c)}::text`).join(', ');
  const desc = plan.cursorColumns.map((c) => `${quoteIdent(c)} DESC`).join(', ');
  const lastKey = plan.cursorColumns.length === 1 ? `l.${quoteIdent(plan.cursorColumns[0]!)}` : 'NULL';
  return `SELECT (SELECT count(*) FROM src) AS n, l.last_key, l.last_cursor
    FROM (SELECT 1) AS one
    LEFT JOIN (SELECT ${lastKey} AS last_key, json_build_array(${cursorOut}) AS last_cursor
                 FROM (SELECT * FROM src ORDER BY ${desc} LIMIT 1) l) l ON true`;
}

/**
 * Two deletes, exactly one of which can match (their gates are one-time conditions on the batch): a
 * full batch deletes the target keys after the cursor up to its last key that it did not yield (an
 * index range scan); the last, short batch deletes every such key after the cursor. Single-column
 * keys only (the cursor is then the key, and `stats.last_key` its last value), so both bounds stay
 * index conditions.
 *
 * Most batches have nothing to delete, and the anti-join that finds out visits every target row of
 * the range. A cheaper gate goes first: the batch's keys all lie in the range, and those the target
 * already had are the batch's rows less the ones its upsert inserted (`xmax = 0` on a returned row
 * means inserted; a row that was updated, or left alone as unchanged, already existed). When the
 * target holds no more keys in the range than that (an index count), every one of them came from the
 * source and the delete does not run. De-duplicating batches keep the plain anti-join. (Another
 * writer committing one of the batch's keys into the target during the statement makes the upsert
 * see it as existing while the count does not: a vanished row of that range may then wait for the
 * next full run. Two writers of one target's key range is not a supported set-up.)
 */
function deleteInRange(plan: BatchPlan, cursor: BatchCursor): string {
  const key = quoteIdent(plan.keys[0]!);
  const lower = cursor && 'after' in cursor ? `t.${key} > $2 AND ` : '';
  const missing = `NOT EXISTS (SELECT 1 FROM src s WHERE s.${key} = t.${key})`;
  const target = quoteQualified(plan.target);
  const upper = `t.${key} <= (SELECT last_key FROM stats)`;
  const someNotFromSource = (range: string) =>
    plan.dedup
      ? ''
      : `(SELECT count(*) FROM ${target} AS t WHERE ${range})
       > (SELECT n FROM stats) - (SELECT count(*) FROM up WHERE inserted) AND `;
  return `gone AS (
  DELETE FROM ${target} AS t
   WHERE ${lower}${upper}
     AND (SELECT n FROM stats) = $1 AND ${someNotFromSource(`${lower}${upper}`)}${missing}
  RETURNING 1
), gone_tail AS (
  DELETE FROM ${target} AS t
   WHERE ${lower}(SELECT n FROM stats) < $1 AND ${someNotFromSource(`${lower}true`)}${missing}
  RETURNING 1
)`;
}

/** The columns a streamed batch carries, in order: the copied columns plus the cursor columns. */
export function streamColumns(plan: BatchPlan): string[] {
  return [...new Set([...plan.columns, ...plan.cursorColumns])];
}

/**
 * Streaming path, read half: the next batch in keyset order with every column as text, so values
 * travel through Node unchanged and are cast back by the write. Runs in a READ ONLY transaction of
 * the reader role.
 */
export function buildReadSql(
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
): { text: string; values: unknown[] } {
  const predicate = wherePredicate(plan, cursor, 2);
  const text = `SELECT ${streamColumns(plan)
    .map((c) => `r.${quoteIdent(c)}::text AS ${quoteIdent(c)}`)
    .join(', ')}
FROM (
${readSql(plan, predicate.sql)}
) AS r`;
  return { text, values: [limit, ...predicate.params] };
}

/**
 * Streaming path, write half: one text[] parameter per column (unnest keeps the statement the same
 * size whatever the batch), cast to the target's types and upserted as in a pushdown batch.
 */
export function buildWriteSql(plan: BatchPlan): string {
  const columns = streamColumns(plan);
  const params = columns.map((_, i) => `$${i + 1}::text[]`).join(', ');
  const casts = columns
    .map((c) => `u.${quoteIdent(c)}::${plan.targetTypes[c] ?? 'text'} AS ${quoteIdent(c)}`)
    .join(', ');
  return `WITH src AS (
  SELECT ${casts} FROM unnest(${params}) AS u(${list('', columns)})
), up AS (
  ${upsertFrom(plan, 'src')}
)
SELECT count(*)::int AS rows_written FROM up`;
}

/**
 * After a full run whose batches could not delete in their own key range (text or composite keys, or
 * a streamed run): delete target rows whose key the source no longer yields, in one transaction.
 */
export function buildDeleteNotSeenSql(plan: BatchPlan): string {
  const match = plan.keys.map((k) => `s.${quoteIdent(k)} = t.${quoteIdent(k)}`).join(' AND ');
  return `DELETE FROM ${quoteQualified(plan.target)} AS t WHERE NOT EXISTS (
  SELECT 1 FROM (
${normalizeSourceQuery(plan.sourceQuery)}
  ) AS s WHERE ${match})`;
}

/**
 * The streaming read for `COPY (…) TO STDOUT` on a PostgreSQL source: COPY takes no parameters, so the
 * cursor values are written as literals by `literal` (the driver's escapeLiteral) and the limit as a
 * number; each row is one `text[]` of the stream columns, in keyset order. `until`: a lane's last key,
 * inclusive.
 */
export function buildCopyReadSql(
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
  literal: (value: string) => string,
  until?: readonly string[],
): string {
  const values = streamColumns(plan).map((c) => `r.${quoteIdent(c)}::text`);
  return copyReadSql(plan, cursor, limit, literal, `ARRAY[${values.join(', ')}]`, until);
}

/**
 * The same batch as `buildCopyReadSql`, one column per stream column in the source's own types: the
 * COPY text of the source server, copied as it comes into a target of the same columns (a full pass
 * into an empty target, `copyIntoTarget`). `until`: a lane's last key, inclusive.
 */
export function buildCopyRowsSql(
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
  literal: (value: string) => string,
  until?: readonly string[],
): string {
  return copyReadSql(plan, cursor, limit, literal, list('r.', streamColumns(plan)), until);
}

function copyReadSql(
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
  literal: (value: string) => string,
  projection: string,
  until?: readonly string[],
): string {
  const conditions: string[] = [];
  if (cursor && 'from' in cursor) {
    conditions.push(`s.${quoteIdent(plan.incrementalKey!)} >= ${literal(cursor.from)}`);
  } else if (cursor) {
    conditions.push(`(${list('s.', plan.cursorColumns)}) > (${cursor.after.map(literal).join(', ')})`);
  }
  if (until) conditions.push(`(${list('s.', plan.cursorColumns)}) <= (${until.map(literal).join(', ')})`);
  const predicate = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return `SELECT ${projection} FROM (
${readSql(plan, predicate, String(Math.trunc(limit)))}
) AS r ORDER BY ${list('r.', plan.cursorColumns)}`;
}

/** How many rows the source query yields (where a full pass is cut into lanes). */
export function buildCountSql(plan: BatchPlan): string {
  return `SELECT count(*)::bigint AS n FROM (
${normalizeSourceQuery(plan.sourceQuery)}
  ) AS s`;
}

/** The keyset position of the source's `$1`-th row (from 0), as text: where one lane ends. */
export function buildKeyAtSql(plan: BatchPlan): string {
  return `SELECT ARRAY[${plan.cursorColumns.map((c) => `s.${quoteIdent(c)}::text`).join(', ')}] AS key FROM (
${normalizeSourceQuery(plan.sourceQuery)}
  ) AS s ORDER BY ${list('s.', plan.cursorColumns)} OFFSET $1 LIMIT 1`;
}

/**
 * The write half of a batch copied into the session's staging table (one text[] per row, in the
 * order read): cast to the target's types and upserted as a streamed batch is; also the batch size
 * and its last row (for the cursor).
 */
export function buildMergeStagedSql(plan: BatchPlan, staging: string): string {
  const columns = streamColumns(plan);
  const casts = columns
    .map((c, i) => `b.v[${i + 1}]::${plan.targetTypes[c] ?? 'text'} AS ${quoteIdent(c)}`)
    .join(', ');
  return `WITH src AS (
  SELECT ${casts} FROM ${staging} AS b ORDER BY b.seq
), up AS (
  ${upsertFrom(plan, 'src')}
)
SELECT (SELECT count(*) FROM ${staging})::int AS rows_read,
       (SELECT count(*) FROM up)::int AS rows_written,
       (SELECT v FROM ${staging} ORDER BY seq DESC LIMIT 1) AS last_row`;
}
