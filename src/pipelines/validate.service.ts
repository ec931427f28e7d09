import { asSourceQueryFailure } from '../core/errors.js';
import { parsePipelineSpec } from '../core/pipeline-spec.schema.js';
import { parseQualifiedName } from '../core/identifiers.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { describeSource, describeTarget } from '../db/repositories/target.repository.js';
import { DEFAULT_SQL_POLICY, type SqlPolicy } from '../sql-guard/index.js';
import { assertSafePipeline } from './pipeline.service.js';
import { estimateRows, sampleRows } from './validate.repository.js';

export interface ValidationReport {
  valid: boolean;
  columns: Array<{ name: string; type: string }>;
  estimated_rows: number | null;
  sample: Record<string, unknown>[];
  target: {
    table: string;
    exists: boolean;
    action: 'create' | 'write';
    columns: string[];
    problems: string[];
  };
}

/**
 * Dry run of a pipeline configuration (`POST /pipelines/validate`): validates it, checks its SQL with
 * the parser guard, asks PostgreSQL for the result columns, a row estimate and a few sample rows — as
 * siphon_reader in a READ ONLY transaction — and says what would happen to the target. Saves nothing.
 * Configuration and SQL errors throw (422); a target that does not fit is reported in `problems`.
 */
export async function validatePipeline(
  reader: Pool,
  catalog: Pool,
  input: unknown,
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
): Promise<ValidationReport> {
  const { tasks: _ignored, ...rest } = (typeof input === 'object' && input !== null ? input : {}) as {
    tasks?: unknown;
  };
  const spec = parsePipelineSpec(typeof input === 'object' && input !== null ? rest : input);
  // Resolved by PostgreSQL before anything runs: EXPLAIN and the sample rows below execute nothing
  // the catalog probe has not cleared.
  await assertSafePipeline(spec, policy, { target: { pool: reader }, unresolved: 'refuse' });
  if (spec.kind === 'social') {
    // Nothing to ask PostgreSQL: the configuration itself was the check.
    return {
      valid: true,
      columns: [],
      estimated_rows: null,
      sample: [],
      target: { table: 'social.*', exists: true, action: 'write', columns: [], problems: [] },
    };
  }
  const { source, estimate, sample } = await withTransaction(
    reader,
    async (tx) => ({
      source: await describeSource(tx, spec.source_query),
      estimate: await estimateRows(tx, spec.source_query),
      sample: await sampleRows(tx, spec.source_query, 5),
    }),
    { readOnly: true },
  ).catch((error: unknown) => {
    throw asSourceQueryFailure(error);
  });
  const names = source.map((c) => c.name);
  const problems: string[] = [];
  for (const key of spec.unique_key)
    if (!names.includes(key)) problems.push(`unique_key "${key}" is not a result column`);
  if (spec.incremental_key && !names.includes(spec.incremental_key)) {
    problems.push(`incremental_key "${spec.incremental_key}" is not a result column`);
  }
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) problems.push(`the column "${duplicate}" appears twice; alias one of them`);
  const target = parseQualifiedName(spec.target_table, 'analytics')!;
  const shape = await describeTarget(catalog, target, spec.unique_key);
  if (shape) {
    if (!shape.hasUniqueKey)
      problems.push(`${spec.target_table} has no unique index on (${spec.unique_key.join(', ')})`);
    const missing = names.filter((n) => !shape.columns.includes(n) && n !== spec.incremental_key);
    if (missing.length)
      problems.push(`${spec.target_table} has no column for ${missing.map((m) => `"${m}"`).join(', ')}`);
  }
  return {
    valid: problems.length === 0,
    columns: source.map((c) => ({ name: c.name, type: c.typeName })),
    estimated_rows: estimate,
    sample,
    target: {
      table: spec.target_table,
      exists: shape !== undefined,
      action: shape ? 'write' : 'create',
      columns: shape
        ? [...shape.columns]
        : [...names, ...(names.includes('updated_at') ? [] : ['updated_at'])],
      problems,
    },
  };
}
