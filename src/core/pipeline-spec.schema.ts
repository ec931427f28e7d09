import { z } from 'zod';
import { isPlainIdentifier, parseQualifiedName } from './identifiers.js';
import { findNulCharacter, SiphonError } from './errors.js';
import { cronProblem } from './schedule.js';
import { socialSpecSchema, type SocialSpec } from './social-spec.schema.js';

export const PIPELINE_MODES = ['full', 'incremental'] as const;
export const PIPELINE_KINDS = ['sql', 'social'] as const;
export type PipelineKind = (typeof PIPELINE_KINDS)[number];
export type PipelineMode = (typeof PIPELINE_MODES)[number];

export const PIPELINE_STATUSES = [
  'IDLE',
  'RUN_REQUESTED',
  'RUNNING',
  'PAUSE_REQUESTED',
  'PAUSED',
  'FAILED',
] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];

/**
 * Default rows per batch. Measured at 1M rows (docs/benchmarks.md): a simple mart's batch takes
 * ~50 ms at 10,000 rows, far under seed 003 §2.2's 300 ms, and halving the number of transactions
 * brings the pushdown load level with one hand-written statement.
 */
export const DEFAULT_BATCH_SIZE = 10_000;

const identifier = z
  .string()
  .refine(isPlainIdentifier, 'must be a plain lower-case identifier (letters, digits, _; at most 63)');

/** A lookback is a duration (`15m`, `2h`) for time keys, or a whole number for numeric keys. */
const lookback = z
  .string()
  .regex(
    /^(\d+(ms|s|m|h|d)|\d+)$/,
    'must be a duration such as 15m or 2h, or a whole number for numeric keys',
  );

/** How stale the target may get before Siphon reports it (`30m`, `2h`, `1d`): at least a second. */
const freshness = z
  .string()
  .regex(/^[1-9]\d{0,8}(s|m|h|d)$/, 'must be a duration such as 30m, 2h or 1d (s, m, h or d)');

export const pipelineSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must start with a letter: a-z, 0-9 and _ only, at most 63')
      .meta({ description: 'Unique name: a lower-case letter, then a-z, 0-9 and _ (at most 63).' }),
    description: z.string().max(2000).default('').meta({ description: 'Free text for people.' }),
    /** `sql` (the default): a source query loaded into a target table. `social`: a social network sync. */
    kind: z.enum(PIPELINE_KINDS).default('sql').meta({
      description:
        '`sql`: a source query loaded into a target table. `social`: a social network sync (set `social`, not the SQL fields). Cannot change after creation.',
    }),
    source_query: z.string().trim().min(1, 'must not be empty').max(100_000).nullish().meta({
      description:
        'kind `sql`: exactly one SELECT over the source schemas (tables written with their schema), checked by the SQL guard.',
    }),
    source_connection: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must name a source connection (GET /connections)')
      .nullish()
      .transform((v) => v ?? null)
      .meta({
        description:
          "kind `sql`: the named connection (`/connections`) whose server the source query runs on; none: Siphon's own database.",
      }),
    target_table: z
      .string()
      .refine((v) => parseQualifiedName(v, 'analytics') !== undefined, {
        message: 'must be a plain table name, optionally prefixed with its schema (analytics.film_dim)',
      })
      .nullish()
      .meta({
        description:
          'kind `sql`: the table written, in a target schema (`analytics` when none is given); created from the source columns when missing.',
      }),
    unique_key: z
      .union([identifier.transform((v) => [v]), z.array(identifier).min(1).max(8)])
      .nullish()
      .meta({
        description:
          'kind `sql`: the result column(s) that identify a row (the UPSERT key): a name or a list of up to 8.',
      }),
    /** kind `social` only: platform, accounts, lookback, comments, relations, backfill range, rate. */
    social: socialSpecSchema.nullish().meta({ description: 'kind `social` only: what to sync.' }),
    mode: z.enum(PIPELINE_MODES).default('full').meta({
      description:
        '`full`: every run reads the whole source and deletes target rows the source no longer has. `incremental`: from the checkpoint on `incremental_key`.',
    }),
    batch_size: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(DEFAULT_BATCH_SIZE)
      .meta({ description: 'Rows per batch; each batch commits with its checkpoint.' }),
    incremental_key: identifier
      .nullish()
      .transform((v) => v ?? null)
      .meta({
        description: 'mode `incremental`: the result column the checkpoint follows (a time or a number).',
      }),
    lookback: lookback
      .nullish()
      .transform((v) => v ?? null)
      .meta({
        description:
          'mode `incremental`: how far before the checkpoint each run re-reads, for late rows: a duration (`15m`) or a number.',
      }),
    enabled: z.boolean().default(true).meta({ description: 'A disabled pipeline is never claimed.' }),
    /** Cron (UTC): a runner requests a run when it is due and the pipeline is IDLE. */
    schedule: z
      .string()
      .max(120)
      .nullish()
      .transform((v) => (v && v.trim() ? v.trim() : null))
      .meta({ description: 'Cron expression (UTC): a run is requested when due and the pipeline is IDLE.' }),
    /** Longest time the target may go without a successful run; exceeding it raises an alert. */
    freshness: freshness
      .nullish()
      .transform((v) => v ?? null)
      .meta({ description: 'Longest time without a successful run before an alert (`30m`, `2h`, `1d`).' }),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.kind === 'social') {
      if (!spec.social)
        ctx.addIssue({ code: 'custom', path: ['social'], message: 'is required when kind is social' });
      for (const field of [
        'source_query',
        'source_connection',
        'target_table',
        'unique_key',
        'incremental_key',
      ] as const) {
        if (spec[field] != null) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'is not used by a social pipeline' });
        }
      }
      return;
    }
    for (const field of ['source_query', 'target_table', 'unique_key'] as const) {
      if (spec[field] == null) ctx.addIssue({ code: 'custom', path: [field], message: 'is required' });
    }
    if (spec.social != null) {
      ctx.addIssue({ code: 'custom', path: ['social'], message: 'is only for pipelines of kind social' });
    }
    if (spec.mode === 'incremental' && !spec.incremental_key) {
      ctx.addIssue({
        code: 'custom',
        path: ['incremental_key'],
        message: 'is required when mode is incremental',
      });
    }
    const cron = spec.schedule ? cronProblem(spec.schedule) : undefined;
    if (cron)
      ctx.addIssue({ code: 'custom', path: ['schedule'], message: `is not a cron expression: ${cron}` });
    if (spec.unique_key && new Set(spec.unique_key).size !== spec.unique_key.length) {
      ctx.addIssue({ code: 'custom', path: ['unique_key'], message: 'lists a column twice' });
    }
  });

export type PipelineSpecInput = z.input<typeof pipelineSpecSchema>;
type ParsedSpec = z.output<typeof pipelineSpecSchema>;
/**
 * A validated configuration. For kind `sql` the three source/target fields are set; a `social`
 * pipeline carries `social` instead, and those three are empty (stored as NULL) — check `kind`.
 */
export type PipelineSpec = Omit<ParsedSpec, 'source_query' | 'target_table' | 'unique_key' | 'social'> & {
  readonly source_query: string;
  readonly target_table: string;
  readonly unique_key: string[];
  readonly social: SocialSpec | null;
};

/** The fields `PATCH /pipelines/{id}` may change: all but `kind`. */
export const PATCHABLE_FIELDS = Object.keys(pipelineSpecSchema.shape).filter((f) => f !== 'kind');

/**
 * Validates a PATCH body field by field with the very schemas that validate a new pipeline — same
 * types, lengths and enums, no coercion (`true` is not a table name) — and returns the changes and the
 * optional `version`. The merged configuration is then validated as a whole (parsePipelineSpec).
 */
export function parsePipelinePatch(input: unknown): {
  version: number | undefined;
  patch: Record<string, unknown>;
} {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SiphonError(
      'SIPHON_ERR_PIPELINE_INVALID',
      'the body must be a JSON object of the fields to change',
    );
  }
  const nul = findNulCharacter(input);
  if (nul !== undefined) {
    throw new SiphonError('SIPHON_ERR_PIPELINE_INVALID', `${nul} contains a NUL character`, { field: nul });
  }
  const { version, ...patch } = input as Record<string, unknown>;
  if (version !== undefined && !(Number.isInteger(version) && (version as number) >= 1)) {
    throw new SiphonError('SIPHON_ERR_PIPELINE_INVALID', 'version must be a whole number ≥ 1', {
      field: 'version',
    });
  }
  const shape = pipelineSpecSchema.shape as Record<string, z.ZodType>;
  for (const [field, value] of Object.entries(patch)) {
    if (field === 'kind') {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_INVALID',
        'kind cannot be changed; create a new pipeline of the other kind',
        { field },
      );
    }
    const schema = shape[field];
    if (!schema) {
      throw new SiphonError(
        'SIPHON_ERR_PIPELINE_INVALID',
        `${field} is not a pipeline field; PATCH may change ${PATCHABLE_FIELDS.join(', ')}`,
        { field },
      );
    }
    const result = schema.safeParse(value);
    if (!result.success) throw zodToSiphonError(result.error, 'SIPHON_ERR_PIPELINE_INVALID', field);
  }
  return { version: version as number | undefined, patch };
}

/** Validates a pipeline configuration; the first problem becomes a SiphonError naming its field. */
export function parsePipelineSpec(input: unknown): PipelineSpec {
  const nul = findNulCharacter(input);
  if (nul !== undefined) {
    throw new SiphonError('SIPHON_ERR_PIPELINE_INVALID', `${nul} contains a NUL character`, { field: nul });
  }
  const result = pipelineSpecSchema.safeParse(input);
  if (result.success) {
    const data = result.data;
    if (data.kind === 'social') {
      return { ...data, source_query: '', target_table: '', unique_key: [], social: data.social ?? null };
    }
    const target = parseQualifiedName(data.target_table!, 'analytics')!;
    return {
      ...data,
      source_query: data.source_query!,
      target_table: `${target.schema}.${target.table}`,
      unique_key: data.unique_key!,
      social: null,
    };
  }
  throw zodToSiphonError(result.error, 'SIPHON_ERR_PIPELINE_INVALID');
}

export function zodToSiphonError(
  error: z.ZodError,
  code:
    | 'SIPHON_ERR_PIPELINE_INVALID'
    | 'SIPHON_ERR_REQUEST_INVALID'
    | 'SIPHON_ERR_CONFIG_INVALID'
    | 'SIPHON_ERR_ACCOUNTS_INVALID',
  prefix?: string,
): SiphonError {
  const pathOf = (path: readonly PropertyKey[]) =>
    [prefix, ...path.map(String)].filter((p) => p !== undefined && p !== '').join('.');
  const issue = error.issues[0]!;
  const field = pathOf(issue.path) || undefined;
  const message = field ? `${field} ${issue.message}` : issue.message;
  return new SiphonError(code, message, {
    ...(field ? { field } : {}),
    details: { issues: error.issues.map((i) => ({ field: pathOf(i.path), message: i.message })) },
  });
}
