import { classifyFailure, SiphonError } from '../../core/errors.js';
import { quoteIdent, quoteQualified, type QualifiedName } from '../../core/identifiers.js';
import {
  buildBatchSql,
  buildDeleteNotSeenSql,
  buildNullIncrementalSql,
  buildReadSql,
  buildWriteSql,
  normalizeSourceQuery,
  streamColumns,
  type BatchCursor,
  type BatchPlan,
} from '../batch-sql.js';
import { oneStatement, type Executor } from '../pool.js';

export interface SourceColumn {
  readonly name: string;
  readonly typeOid: number;
  /** format_type of the column's type (without modifier). */
  readonly typeName: string;
}

/** Result columns of a source query, without reading a row. */
export async function describeSource(db: Executor, sourceQuery: string): Promise<SourceColumn[]> {
  try {
    const result = await db.query(
      `SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s LIMIT $1`,
      [0],
    );
    const oids = result.fields.map((f) => f.dataTypeID);
    const { rows } = await db.query<{ oid: number; name: string }>(
      'SELECT t.oid::int AS oid, format_type(t.oid, NULL) AS name FROM unnest($1::oid[]) AS t(oid)',
      [oids],
    );
    const names = new Map(rows.map((r) => [r.oid, r.name]));
    return result.fields.map((f) => ({
      name: f.name,
      typeOid: f.dataTypeID,
      typeName: names.get(f.dataTypeID) ?? 'text',
    }));
  } catch (error) {
    // A lost connection is not the query's fault: let the caller retry it.
    if (classifyFailure(error) === 'retryable') throw error;
    throw new SiphonError('SIPHON_ERR_SOURCE_QUERY', `source_query failed: ${(error as Error).message}`, {
      field: 'source_query',
      cause: error,
      details: { sqlstate: (error as { code?: string }).code },
    });
  }
}

export interface TargetShape {
  readonly columns: readonly string[];
  /** SQL type of each column (format_type), for casting streamed text values. */
  readonly types: Readonly<Record<string, string>>;
  /**
   * Whether each column's type is built in (OID below 16384): `format_type` prints a type as the
   * session's search_path sees it, so a domain `app.uuid` may print as `uuid`.
   */
  readonly builtin: Readonly<Record<string, boolean>>;
  readonly hasUniqueKey: boolean;
  /** Whether any key column has a collation (text-like): ordering could differ from the source's. */
  readonly keyCollatable: boolean;
}

/**
 * Columns of the target and whether a unique index matches `keys` exactly (or is held back while a
 * full pass fills it, docs/adr/0020); undefined if absent.
 */
export async function describeTarget(
  db: Executor,
  target: QualifiedName,
  keys: readonly string[],
): Promise<TargetShape | undefined> {
  const { rows } = await db.query<{
    columns: string[] | null;
    types: string[] | null;
    builtin: boolean[] | null;
    has_key: boolean;
    collatable: boolean;
  }>(
    `SELECT (SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
              WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS columns,
            (SELECT array_agg(format_type(atttypid, atttypmod) ORDER BY attnum) FROM pg_attribute
              WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS types,
            (SELECT array_agg(atttypid < 16384 ORDER BY attnum) FROM pg_attribute
              WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped) AS builtin,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = ANY ($3::text[])
                      AND a.attcollation <> 0) AS collatable,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL
                      AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey))
                          = (SELECT array_agg(k ORDER BY k) FROM unnest($3::text[]) k)) AS has_key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [target.schema, target.table, keys],
  );
  const row = rows[0];
  if (!row) return undefined;
  const columns = row.columns ?? [];
  const types = Object.fromEntries(columns.map((c, i) => [c, row.types?.[i] ?? 'text']));
  const builtin = Object.fromEntries(columns.map((c, i) => [c, row.builtin?.[i] === true]));
  const hasUniqueKey = row.has_key || (await holdsUniqueKey(db, target, keys));
  return { columns, types, builtin, hasUniqueKey, keyCollatable: row.collatable };
}

/**
 * Whether a full pass filling the empty target holds back a unique index on exactly `keys`
 * (held-indexes.repository). Asked only when the target has none; a role that cannot read the etl
 * schema (the reader, for reconcile) sees the target as it is.
 */
async function holdsUniqueKey(
  db: Executor,
  target: QualifiedName,
  keys: readonly string[],
): Promise<boolean> {
  const { rows: can } = await db.query<{ can: boolean }>(
    "SELECT CASE WHEN has_schema_privilege('etl', 'USAGE') THEN has_table_privilege('etl.held_indexes', 'SELECT') ELSE false END AS can",
  );
  if (!can[0]?.can) return false;
  const { rows } = await db.query(
    `SELECT 1 FROM etl.held_indexes h, jsonb_array_elements(h.indexes) x
      WHERE h.target_schema = $1 AND h.target_table = $2
        AND x->'unique' = (SELECT to_jsonb(array_agg(k ORDER BY k)) FROM unnest($3::text[]) k)`,
    [target.schema, target.table, keys],
  );
  return rows.length > 0;
}

/**
 * A new mart by configuration: creates the target from the source query's result columns, with the
 * declared key as primary key and an updated_at column. Runs in the caller's transaction.
 */
export async function createTarget(
  db: Executor,
  target: QualifiedName,
  sourceQuery: string,
  keys: readonly string[],
  sourceColumns: readonly SourceColumn[],
): Promise<void> {
  await db.query(
    oneStatement(
      `CREATE TABLE ${quoteQualified(target)} AS SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s WITH NO DATA`,
    ),
  );
  await db.query(
    `ALTER TABLE ${quoteQualified(target)} ADD PRIMARY KEY (${keys.map(quoteIdent).join(', ')})`,
  );
  if (!sourceColumns.some((c) => c.name === 'updated_at')) {
    await db.query(
      `ALTER TABLE ${quoteQualified(target)} ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`,
    );
  }
}

export interface BatchResult {
  readonly rowsRead: number;
  readonly rowsWritten: number;
  readonly rowsDeleted: number;
  readonly lastCursor: string[] | null;
}

export async function runBatch(
  db: Executor,
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
): Promise<BatchResult> {
  const { text, values } = buildBatchSql(plan, cursor, limit);
  const { rows } = await db.query<{
    rows_read: number;
    rows_written: number;
    rows_deleted: number;
    last_cursor: string[] | null;
  }>(text, values);
  const row = rows[0]!;
  return {
    rowsRead: row.rows_read,
    rowsWritten: row.rows_written,
    rowsDeleted: row.rows_deleted,
    lastCursor: row.last_cursor,
  };
}

/** Streaming read: the next batch as text, column by column (in streamColumns order). */
export async function readBatchAsText(
  db: Executor,
  plan: BatchPlan,
  cursor: BatchCursor,
  limit: number,
): Promise<{ columns: string[][]; rows: number; lastCursor: string[] | null }> {
  const { text, values } = buildReadSql(plan, cursor, limit);
  const result = await db.query<string[]>({ text, values, rowMode: 'array' });
  const width = streamColumns(plan).length;
  const columns: string[][] = Array.from({ length: width }, () => new Array<string>(result.rows.length));
  result.rows.forEach((row, r) => {
    for (let c = 0; c < width; c += 1) columns[c]![r] = row[c]!;
  });
  const last = result.rows.at(-1);
  const order = streamColumns(plan);
  const lastCursor = last ? plan.cursorColumns.map((c) => last[order.indexOf(c)]!) : null;
  return { columns, rows: result.rows.length, lastCursor };
}

/** Streaming write: upserts a batch read by readBatchAsText; returns rows inserted or changed. */
export async function writeBatchFromText(
  db: Executor,
  plan: BatchPlan,
  columns: string[][],
): Promise<number> {
  const { rows } = await db.query<{ rows_written: number }>(buildWriteSql(plan), columns);
  return rows[0]!.rows_written;
}

/** Whether the source has rows with a NULL incremental key (which no keyset cursor can reach). */
export async function hasNullIncrementalKey(db: Executor, plan: BatchPlan): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(buildNullIncrementalSql(plan), [1]);
  return rows[0]?.found ?? false;
}

export async function deleteNotSeen(db: Executor, plan: BatchPlan): Promise<number> {
  const { rowCount } = await db.query(oneStatement(buildDeleteNotSeenSql(plan)));
  return rowCount ?? 0;
}

const TYPE_NAMES: Record<number, string> = {
  1184: 'timestamptz',
  1114: 'timestamp',
  1082: 'date',
  20: 'int8',
  21: 'int2',
  23: 'int4',
  1700: 'numeric',
  700: 'float4',
  701: 'float8',
};

/** `value - lookback` computed by PostgreSQL in the key's own type; undefined if the type has no arithmetic. */
export async function subtractLookback(
  db: Executor,
  value: string,
  typeOid: number,
  lookback: { ms: number } | { amount: number },
): Promise<string | undefined> {
  const type = TYPE_NAMES[typeOid];
  if (!type) return undefined;
  const isTime = type.startsWith('timestamp') || type === 'date';
  if (isTime !== 'ms' in lookback) return undefined;
  const expression = isTime
    ? `($1::${type} - make_interval(secs => $2::double precision / 1000))::text`
    : `($1::${type} - $2::${type})::text`;
  const { rows } = await db.query<{ v: string }>(`SELECT ${expression} AS v`, [
    value,
    'ms' in lookback ? lookback.ms : lookback.amount,
  ]);
  return rows[0]?.v;
}

/**
 * A new mart from a source in another database: the target is created from the columns the source
 * described, each with its mapped PostgreSQL type, the key as primary key and an updated_at column.
 * Every type must name a type of this server (checked here, as a parameter, before it is written into
 * the statement). Runs in the caller's transaction.
 */
export async function createTargetFromColumns(
  db: Executor,
  target: QualifiedName,
  keys: readonly string[],
  columns: ReadonlyArray<{ readonly name: string; readonly type: string }>,
): Promise<void> {
  const { rows } = await db.query<{ type: string; known: boolean }>(
    'SELECT t AS type, to_regtype(t) IS NOT NULL AS known FROM unnest($1::text[]) AS t',
    [columns.map((c) => c.type)],
  );
  const unknown = rows.find((r) => !r.known);
  if (unknown || rows.length !== columns.length || columns.some((c) => /[;'"]|--|\/\*/.test(c.type))) {
    throw new SiphonError(
      'SIPHON_ERR_SOURCE_TYPE_UNMAPPED',
      `the source type ${unknown?.type ?? '?'} does not exist on this server`,
      { field: 'source_query' },
    );
  }
  const definitions = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`);
  if (!columns.some((c) => c.name === 'updated_at')) {
    definitions.push('updated_at timestamptz NOT NULL DEFAULT now()');
  }
  definitions.push(`PRIMARY KEY (${keys.map(quoteIdent).join(', ')})`);
  await db.query(`CREATE TABLE ${quoteQualified(target)} (\n  ${definitions.join(',\n  ')}\n)`);
}

/** Type OIDs of type names on this server (lookback arithmetic of a remote incremental key). */
export async function typeOidOf(db: Executor, typeName: string): Promise<number> {
  const { rows } = await db.query<{ oid: number | null }>('SELECT to_regtype($1)::oid::int AS oid', [
    typeName,
  ]);
  return rows[0]?.oid ?? 0;
}
