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
  if (remove.length > 0) {
    const { rowCount } = await db.query(
      `DELETE FROM ${from({ table: plan.target })} WHERE ${keyIn(plan.keys)}`,
      [JSON.stringify(remove)],
    );
    changed += rowCount ?? 0;
  }
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
