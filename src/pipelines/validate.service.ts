import { asSourceQueryFailure, SiphonError } from '../core/errors.js';
import { parsePipelineSpec, type PipelineSpec } from '../core/pipeline-spec.schema.js';
import { findConnection } from '../db/repositories/connection.repository.js';
import { assertSafeRemoteQuery, withSource, type SourceDeps } from '../sources/index.js';
import { parseQualifiedName } from '../core/identifiers.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { describeSource, describeTarget } from '../db/repositories/target.repository.js';
import {
  assertAllowedTarget,
  assertPlanWithinLimits,
  DEFAULT_PLAN_LIMITS,
  DEFAULT_SQL_POLICY,
  type SqlPolicy,
} from '../sql-guard/index.js';
import { assertSafePipeline } from './pipeline.service.js';
import { missingKeyColumns } from './plan-check.js';
import { explainSource, sampleRows, withStatementTimeout } from '../db/repositories/validate.repository.js';

/** Why a part of the dry run has no value: it ran longer than SIPHON_VALIDATE_TIMEOUT. */
export const TIMED_OUT = 'timed out';

export interface ValidationReport {
  valid: boolean;
  columns: Array<{ name: string; type: string }>;
  /** The planner's row estimate; null when planning timed out (see estimate_reason). */
  estimated_rows: number | null;
  /** The planner's total cost (its own units); null when planning timed out. */
  estimated_cost: number | null;
  /** `timed out` when EXPLAIN took longer than SIPHON_VALIDATE_TIMEOUT; null otherwise. */
  estimate_reason: string | null;
  sample: Record<string, unknown>[];
  /** `timed out` when the sample rows took longer than SIPHON_VALIDATE_TIMEOUT; null otherwise. */
  sample_reason: string | null;
  target: {
    table: string;
    exists: boolean;
    action: 'create' | 'write';
    columns: string[];
    problems: string[];
  };
}

// Longer than 80 lines: validate's parts (guard, columns, plan, sample, target) form one report.
/**
 * Dry run of a pipeline configuration (`POST /pipelines/validate`): validates it, checks its SQL with
 * the parser guard and PostgreSQL's own resolution (the catalog probe), asks PostgreSQL for the result
 * columns, a plan estimate — refused above the ceilings before anything executes — and a few sample
 * rows, as siphon_reader in a READ ONLY transaction, each part under SIPHON_VALIDATE_TIMEOUT (a part
 * that takes longer is reported as timed out), and says what would happen to the target. Saves
 * nothing. Configuration and SQL errors throw (422); a target that does not fit is reported in
 * `problems`.
 */
export async function validatePipeline(
  reader: Pool,
  catalog: Pool,
  input: unknown,
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
  /** Opening source connections, for a pipeline with a source_connection. @default none */
  sources?: SourceDeps,
): Promise<ValidationReport> {
  const { tasks: _ignored, ...rest } = (typeof input === 'object' && input !== null ? input : {}) as {
    tasks?: unknown;
  };
  const spec = parsePipelineSpec(typeof input === 'object' && input !== null ? rest : input);
  if (spec.kind !== 'social' && spec.source_connection) return validateRemote(catalog, spec, policy, sources);
  // Resolved by PostgreSQL before anything runs: EXPLAIN and the sample rows below execute nothing
  // the catalog probe has not cleared.
  await assertSafePipeline(spec, policy, { target: { pool: reader }, unresolved: 'refuse' });
  if (spec.kind === 'social') {
    // Nothing to ask PostgreSQL: the configuration itself was the check.
    return {
      valid: true,
      columns: [],
      estimated_rows: null,
      estimated_cost: null,
      estimate_reason: null,
      sample: [],
      sample_reason: null,
      target: { table: 'social.*', exists: true, action: 'write', columns: [], problems: [] },
    };
  }
  const limits = policy.planLimits ?? DEFAULT_PLAN_LIMITS;
  const { source, planned, sampled } = await withTransaction(
    reader,
    async (tx) => {
      const described = await withStatementTimeout(tx, limits.timeoutMs, () =>
        describeSource(tx, spec.source_query),
      );
      if (!described.ok) {
        throw new SiphonError(
          'SIPHON_ERR_SOURCE_QUERY',
          `source_query: describing its columns took longer than ${limits.timeoutMs} ms (SIPHON_VALIDATE_TIMEOUT)`,
          { field: 'source_query', details: { timeoutMs: limits.timeoutMs } },
        );
      }
      const planned = await withStatementTimeout(tx, limits.timeoutMs, () =>
        explainSource(tx, spec.source_query),
      );
      // A bomb is refused on its estimate, before the sample executes it.
      if (planned.ok && planned.value) assertPlanWithinLimits(planned.value, limits);
      const sampled = await withStatementTimeout(tx, limits.timeoutMs, () =>
        sampleRows(tx, spec.source_query, 5),
      );
      return { source: described.value, planned, sampled };
    },
    { readOnly: true },
  ).catch((error: unknown) => {
    throw asSourceQueryFailure(error);
  });
  const names = source.map((c) => c.name);
  const estimate = planned.ok ? planned.value : null;
  const target = await targetReport(catalog, spec, names);
  return {
    valid: target.problems.length === 0,
    columns: source.map((c) => ({ name: c.name, type: c.typeName })),
    estimated_rows: estimate?.rows ?? null,
    estimated_cost: estimate?.cost ?? null,
    estimate_reason: planned.ok ? null : TIMED_OUT,
    sample: sampled.ok ? sampled.value : [],
    sample_reason: sampled.ok ? null : TIMED_OUT,
    target,
  };
}

/** What would happen to the target, and what does not fit (keys that are not columns, a missing column). */
async function targetReport(
  catalog: Pool,
  spec: PipelineSpec,
  names: readonly string[],
): Promise<ValidationReport['target']> {
  const problems: string[] = missingKeyColumns(spec, names).map((m) => m.message);
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
    table: spec.target_table,
    exists: shape !== undefined,
    action: shape ? 'write' : 'create',
    columns: shape ? [...shape.columns] : [...names, ...(names.includes('updated_at') ? [] : ['updated_at'])],
    problems,
  };
}

/** Why a remote source has no estimate or sample in the dry run: only its columns are asked for. */
export const REMOTE_SOURCE = 'remote source: only its columns are described';

/**
 * The dry run of a pipeline whose source is on another server: the connection, the dialect's parser
 * guard, and the result columns as that server describes them (`LIMIT 0`, READ ONLY) with the types
 * the target would get; no plan estimate and no sample rows are asked of someone else's server.
 */
async function validateRemote(
  catalog: Pool,
  spec: PipelineSpec,
  policy: SqlPolicy,
  sources: SourceDeps | undefined,
): Promise<ValidationReport> {
  const connection = await findConnection(catalog, spec.source_connection!);
  if (!connection) {
    throw new SiphonError(
      'SIPHON_ERR_CONNECTION_NOT_FOUND',
      `source_connection: no source connection named "${spec.source_connection}"`,
      { field: 'source_connection' },
    );
  }
  assertAllowedTarget(spec.target_table.split('.')[0]!, policy);
  await assertSafeRemoteQuery(connection, spec.source_query, policy);
  if (!sources) {
    throw new SiphonError(
      'SIPHON_ERR_CONNECTION_SECRET_MISSING',
      'this process was started without source connection secrets',
      { field: 'source_connection' },
    );
  }
  const columns = await withSource(sources, connection, (source) => source.describe(spec.source_query));
  const names = columns.map((c) => c.name);
  const target = await targetReport(catalog, spec, names);
  return {
    valid: target.problems.length === 0,
    columns: columns.map((c) => ({ name: c.name, type: c.pgType })),
    estimated_rows: null,
    estimated_cost: null,
    estimate_reason: REMOTE_SOURCE,
    sample: [],
    sample_reason: REMOTE_SOURCE,
    target,
  };
}
