import { quoteIdent, quoteQualified, type QualifiedName } from '../../core/identifiers.js';
import { normalizeSourceQuery } from '../batch-sql.js';
import { oneStatement, type Executor } from '../pool.js';

/** Either side of a comparison: the pipeline's source query, or its target table. */
export type Side = { readonly query: string } | { readonly table: QualifiedName };

const from = (side: Side) =>
  'query' in side ? `(\n${normalizeSourceQuery(side.query)}\n) AS s` : `${quoteQualified(side.table)} AS s`;
const row = (columns: readonly string[]) =>
  `row(${columns.map((c) => `s.${quoteIdent(c)}`).join(', ')})::text`;
const bucketOf = (keys: readonly string[], buckets: number) =>
  `(abs(hashtext(${row(keys)})::bigint) % ${buckets})`;

export interface SideSummary {
  rows: number;
  key_min: string | null;
  key_max: string | null;
  inc_min: string | null;
  inc_max: string | null;
}

/**
 * Row count and the range of the first key column (and of the incremental key, when given). Ranges
 * use the type's own ordering (ORDER BY … LIMIT 1): min()/max() do not exist for every type (uuid).
 */
export async function summarize(
  db: Executor,
  side: Side,
  key: string,
  incrementalKey: string | null,
): Promise<SideSummary> {
  const edge = (column: string, direction: 'ASC' | 'DESC') =>
    `(SELECT s.${quoteIdent(column)}::text FROM ${from(side)} WHERE s.${quoteIdent(column)} IS NOT NULL
       ORDER BY s.${quoteIdent(column)} ${direction} LIMIT 1)`;
  const inc = incrementalKey
    ? `${edge(incrementalKey, 'ASC')} AS inc_min, ${edge(incrementalKey, 'DESC')} AS inc_max`
    : 'NULL::text AS inc_min, NULL::text AS inc_max';
  const { rows } = await db.query<SideSummary>(
    oneStatement(
      `SELECT (SELECT count(*) FROM ${from(side)})::bigint AS rows,
            ${edge(key, 'ASC')} AS key_min, ${edge(key, 'DESC')} AS key_max, ${inc}`,
    ),
  );
  return rows[0]!;
}

/** Per bucket (hash of the key): row count and an order-independent digest of the compared columns. */
export async function bucketDigests(
  db: Executor,
  side: Side,
  keys: readonly string[],
  columns: readonly string[],
  buckets: number,
): Promise<Map<number, string>> {
  const { rows } = await db.query<{ bucket: number; n: number; digest: string }>(
    oneStatement(
      `SELECT bucket, count(*)::int AS n, md5(string_agg(h, ',' ORDER BY h)) AS digest
       FROM (SELECT ${bucketOf(keys, buckets)} AS bucket, md5(${row(columns)}) AS h FROM ${from(side)}) b
      GROUP BY bucket`,
    ),
  );
  return new Map(rows.map((r) => [r.bucket, `${r.n}:${r.digest}`]));
}

/** The key and row digest of every row in the given buckets. */
export async function rowDigests(
  db: Executor,
  side: Side,
  keys: readonly string[],
  columns: readonly string[],
  buckets: number,
  which: readonly number[],
): Promise<Map<string, { key: string[]; digest: string }>> {
  const { rows } = await db.query<{ k: string; key: string[]; digest: string }>(
    `SELECT ${row(keys)} AS k, ARRAY[${keys.map((k) => `s.${quoteIdent(k)}::text`).join(', ')}] AS key, md5(${row(columns)}) AS digest
       FROM ${from(side)} WHERE ${bucketOf(keys, buckets)} = ANY($1::int[])`,
    [which],
  );
  return new Map(rows.map((r) => [r.k, { key: r.key, digest: r.digest }]));
}

/** `ARRAY[s.k1::text, …] IN (the key arrays in $1)` */
const keyIn = (keys: readonly string[]) =>
  `ARRAY[${keys.map((k) => `s.${quoteIdent(k)}::text`).join(', ')}] IN
     (SELECT ARRAY(SELECT jsonb_array_elements_text(e)) FROM jsonb_array_elements($1::jsonb) e)`;

/**
 * Reconcile across servers (docs/adr/0016): the digest both servers can compute. A value's text is
 * framed by its length (`5:hello`, `-` for NULL) and a row is the concatenation of its framed values,
 * so no two different rows share a text; its md5 is cut into two 60-bit numbers, summed per bucket
 * (order-independent, exact). The bucket of a row is the first 32 bits of the md5 of its framed key
 * text modulo the bucket count. A MySQL source computes the same with MD5, CONV and SUM
 * (src/sources/mysql/mysql.source.ts); a PostgreSQL source runs these very statements.
 * Values render as `::text` under canonicalText's settings.
 */
const framed = (value: string) => `COALESCE(length(${value})::text || ':' || ${value}, '-')`;
const framedRow = (columns: readonly string[]) =>
  columns.map((c) => framed(`s.${quoteIdent(c)}::text`)).join(' || ');
const portableBucket = (keys: readonly string[], buckets: number) =>
  `((('x' || substr(md5(${framedRow(keys)}), 1, 8))::bit(32)::bigint % ${Math.trunc(buckets)})::int)`;

/** What a cross-server comparison reads: the compared columns (keys among them) and the bucket count. */
export interface PortableShape {
  readonly keys: readonly string[];
  readonly columns: readonly string[];
  readonly buckets: number;
}

/**
 * In the caller's transaction: the settings under which every PostgreSQL server renders a value's text
 * alike (UTC, ISO dates, hex bytea, shortest exact floats, the default interval style).
 */
export async function canonicalText(tx: Executor): Promise<void> {
  await tx.query(
    `SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, MDY', true),
            set_config('IntervalStyle', 'postgres', true), set_config('bytea_output', 'hex', true),
            set_config('extra_float_digits', '1', true)`,
  );
}

/** Per portable bucket: `rows:sum1:sum2` of the rows' digests (after canonicalText). */
export async function portableBucketDigests(
  tx: Executor,
  side: Side,
  shape: PortableShape,
): Promise<Map<number, string>> {
  const { rows } = await tx.query<{ bucket: number; n: string; a: string; b: string }>(
    oneStatement(
      `SELECT bucket, count(*)::text AS n, sum(('x' || substr(h, 1, 15))::bit(60)::bigint)::text AS a,
              sum(('x' || substr(h, 16, 15))::bit(60)::bigint)::text AS b
         FROM (SELECT ${portableBucket(shape.keys, shape.buckets)} AS bucket, md5(${framedRow(shape.columns)}) AS h
                 FROM ${from(side)}) d
        GROUP BY bucket`,
    ),
  );
  return new Map(rows.map((r) => [r.bucket, `${r.n}:${r.a}:${r.b}`]));
}

/** The rows of the given portable buckets, each value as text (column order), as a run reads them. */
export async function rowsInPortableBuckets(
  tx: Executor,
  side: Side,
  shape: PortableShape,
  which: readonly number[],
): Promise<Array<Array<string | null>>> {
  const { rows } = await tx.query<Array<string | null>>({
    text: `SELECT ${shape.columns.map((c) => `s.${quoteIdent(c)}::text`).join(', ')}
             FROM ${from(side)} WHERE ${portableBucket(shape.keys, shape.buckets)} = ANY($1::int[])`,
    values: [which],
    rowMode: 'array',
  });
  return rows;
}

export interface KeyedDigest {
  readonly key: string[];
  readonly digest: string;
  /** The row's position in the rows given (textRowDigests only). */
  readonly index: number;
}

/** The key and row digest of the target's rows in the given portable buckets, rendered here. */
export async function targetRowsInPortableBuckets(
  tx: Executor,
  table: QualifiedName,
  shape: PortableShape,
  which: readonly number[],
): Promise<Map<string, KeyedDigest>> {
  const { rows } = await tx.query<{ k: string; key: string[]; digest: string }>(
    `SELECT ${row(shape.keys)} AS k, ARRAY[${shape.keys.map((k) => `s.${quoteIdent(k)}::text`).join(', ')}] AS key,
            md5(${row(shape.columns)}) AS digest
       FROM ${from({ table })} WHERE ${portableBucket(shape.keys, shape.buckets)} = ANY($1::int[])`,
    [which],
  );
  return new Map(rows.map((r) => [r.k, { key: r.key, digest: r.digest, index: -1 }]));
}

/**
 * The same for rows read from another server as text: each value is cast here to the target column's
 * type first, so both sides are rendered by this server from the same types and only a real
 * difference of values can make two digests differ.
 */
export async function textRowDigests(
  tx: Executor,
  types: Readonly<Record<string, string>>,
  shape: PortableShape,
  rows: ReadonlyArray<ReadonlyArray<string | null>>,
): Promise<Map<string, KeyedDigest>> {
  if (rows.length === 0) return new Map();
  const { columns, keys } = shape;
  const params = columns.map((_, i) => rows.map((r) => r[i] ?? null));
  const casts = columns
    .map((c) => `u.${quoteIdent(c)}::${types[c] ?? 'text'} AS ${quoteIdent(c)}`)
    .join(', ');
  // The ordinality's name is one no result column is likely to have (`i` could be).
  const { rows: found } = await tx.query<{ k: string; key: string[]; digest: string; i: string }>(
    `SELECT ${row(keys)} AS k, ARRAY[${keys.map((k) => `s.${quoteIdent(k)}::text`).join(', ')}] AS key,
            md5(${row(columns)}) AS digest, s."#siphon_row" AS i
       FROM (SELECT ${casts}, u."#siphon_row" FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(', ')})
             WITH ORDINALITY AS u(${columns.map(quoteIdent).join(', ')}, "#siphon_row")) s`,
    params,
  );
  return new Map(found.map((r) => [r.k, { key: r.key, digest: r.digest, index: Number(r.i) - 1 }]));
}

/** Deletes the target rows with the given keys (their text, as the comparison reported them). */
export async function deleteKeys(
  db: Executor,
  target: QualifiedName,
  keys: readonly string[],
  remove: readonly string[][],
): Promise<number> {
  if (remove.length === 0) return 0;
  const { rowCount } = await db.query(`DELETE FROM ${from({ table: target })} WHERE ${keyIn(keys)}`, [
    JSON.stringify(remove),
  ]);
  return rowCount ?? 0;
}

/** Re-syncs the given keys: upsert them from the source, delete those the source lacks. */
export async function repairKeys(
  db: Executor,
  plan: {
    source: string;
    target: QualifiedName;
    keys: readonly string[];
    columns: readonly string[];
    touchUpdatedAt: boolean;
  },
  upsert: readonly string[][],
  remove: readonly string[][],
): Promise<number> {
  let changed = 0;
  if (upsert.length > 0) {
    const cols = plan.columns.map(quoteIdent).join(', ');
    const keyList = plan.keys.map(quoteIdent).join(', ');
    const set = [
      ...plan.columns
        .filter((c) => !plan.keys.includes(c))
        .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`),
      ...(plan.touchUpdatedAt ? ['"updated_at" = now()'] : []),
    ].join(', ');
    const { rowCount } = await db.query(
      `INSERT INTO ${quoteQualified(plan.target)} (${cols})
       SELECT ${cols} FROM ${from({ query: plan.source })} WHERE ${keyIn(plan.keys)} ORDER BY ${keyList}
       ON CONFLICT (${keyList}) ${set ? `DO UPDATE SET ${set}` : 'DO NOTHING'}`,
      [JSON.stringify(upsert)],
    );
    changed += rowCount ?? 0;
  }
  changed += await deleteKeys(db, plan.target, plan.keys, remove);
  return changed;
}

export interface ReconciliationRow {
  id: string;
  pipeline_id: string;
  config_version: number;
  status: 'CLEAN' | 'DIFFERENT' | 'REPAIRED';
  started_at: Date;
  finished_at: Date;
  source_rows: number;
  target_rows: number;
  summary: unknown;
  buckets: number;
  differing_buckets: number;
  missing_keys: string[][];
  extra_keys: string[][];
  changed_keys: string[][];
  repaired_rows: number;
  requested_by: string;
}

export async function saveReconciliation(
  db: Executor,
  r: Omit<ReconciliationRow, 'id' | 'finished_at'>,
): Promise<ReconciliationRow> {
  const { rows } = await db.query<ReconciliationRow>(
    `INSERT INTO etl.etl_reconciliations (pipeline_id, config_version, status, started_at, source_rows, target_rows, summary,
       buckets, differing_buckets, missing_keys, extra_keys, changed_keys, repaired_rows, requested_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
    [
      r.pipeline_id,
      r.config_version,
      r.status,
      r.started_at,
      r.source_rows,
      r.target_rows,
      JSON.stringify(r.summary),
      r.buckets,
      r.differing_buckets,
      JSON.stringify(r.missing_keys),
      JSON.stringify(r.extra_keys),
      JSON.stringify(r.changed_keys),
      r.repaired_rows,
      r.requested_by,
    ],
  );
  return rows[0]!;
}

export async function latestReconciliation(
  db: Executor,
  pipelineId: string,
): Promise<ReconciliationRow | undefined> {
  const { rows } = await db.query<ReconciliationRow>(
    'SELECT * FROM etl.etl_reconciliations WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
    [pipelineId],
  );
  return rows[0];
}
