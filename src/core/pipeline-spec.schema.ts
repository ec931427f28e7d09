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
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must start with a letter: a-z, 0-9 and _ only, at most 63'),
    description: z.string().max(2000).default(''),
    /** `sql` (the default): a source query loaded into a target table. `social`: a social network sync. */
    kind: z.enum(PIPELINE_KINDS).default('sql'),
    source_query: z.string().trim().min(1, 'must not be empty').max(100_000).nullish(),
    target_table: z
      .string()
      .refine((v) => parseQualifiedName(v, 'analytics') !== undefined, {
        message: 'must be a plain table name, optionally prefixed with its schema (analytics.film_dim)',
      })
      .nullish(),
    unique_key: z.union([identifier.transform((v) => [v]), z.array(identifier).min(1).max(8)]).nullish(),
    /** kind `social` only: platform, accounts, lookback, comments, relations, backfill range, rate. */
    social: socialSpecSchema.nullish(),
    mode: z.enum(PIPELINE_MODES).default('full'),
    batch_size: z.number().int().min(1).max(1_000_000).default(DEFAULT_BATCH_SIZE),
    incremental_key: identifier.nullish().transform((v) => v ?? null),
    lookback: lookback.nullish().transform((v) => v ?? null),
    enabled: z.boolean().default(true),
    /** Cron (UTC): a runner requests a run when it is due and the pipeline is IDLE. */
    schedule: z
      .string()
      .max(120)
      .nullish()
      .transform((v) => (v && v.trim() ? v.trim() : null)),
    /** Longest time the target may go without a successful run; exceeding it raises an alert. */
    freshness: freshness.nullish().transform((v) => v ?? null),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.kind === 'social') {
      if (!spec.social)
        ctx.addIssue({ code: 'custom', path: ['social'], message: 'is required when kind is social' });
      for (const field of ['source_query', 'target_table', 'unique_key', 'incremental_key'] as const) {
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
  code: 'SIPHON_ERR_PIPELINE_INVALID' | 'SIPHON_ERR_REQUEST_INVALID' | 'SIPHON_ERR_CONFIG_INVALID',
  prefix?: string,
): SiphonError {
  const issue = error.issues[0]!;
  const field = [prefix, ...issue.path].filter((p) => p !== undefined && p !== '').join('.') || undefined;
  const message = field ? `${field} ${issue.message}` : issue.message;
  return new SiphonError(code, message, {
    ...(field ? { field } : {}),
    details: { issues: error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) },
  });
}
