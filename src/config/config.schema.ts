import { z } from 'zod';
import { parseByteSize, parseDuration } from '../core/duration.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const postgresUrl = z
  .string()
  .optional()
  .refine(
    (value) => {
      if (value === undefined || value === '') return true;
      try {
        const url = new URL(value);
        return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: 'must look like postgres://user:password@host:5432/database' },
  )
  .transform((value) => (value === '' ? undefined : value));

const identifierList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((s) => /^[a-z_][a-z0-9_]{0,62}$/.test(s)), {
      message: 'must be a comma-separated list of lower-case schema names',
    })
    .refine((list) => !list.some((s) => ['etl', 'pg_catalog', 'information_schema'].includes(s)), {
      message: 'must not name etl, pg_catalog or information_schema',
    });

const secret = z.string().min(12, 'must be at least 12 characters').optional();

/**
 * Every setting Siphon reads, the variable that sets it and its default. process.env is read only
 * through this schema (src/config/load-config.ts); docs/configuration.md lists the same table.
 */
export const configSchema = z.object({
  /** File of KEY=value lines read at start (relative to the working directory); `none` reads none. @default .env */
  SIPHON_ENV_FILE: z.string().default('.env'),
  /** Use this PostgreSQL (>= 14) instead of the embedded one. @default unset (embedded) */
  DATABASE_URL: postgresUrl,
  /** Where the embedded cluster, generated secrets and local state live. @default ./.siphon */
  SIPHON_HOME: z.string().min(1).default('.siphon'),
  /** Port of the embedded PostgreSQL; 0 picks 54329 or, if taken, any free port. @default 0 */
  SIPHON_PG_PORT: port(0),
  /** Host the API binds to. @default 127.0.0.1 */
  SIPHON_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of the API (seed 003 uses 8000). @default 8000 */
  SIPHON_API_PORT: port(8000),
  /**
   * Largest request body the API accepts (`1mb`, `512kb`, bytes); a larger one is answered 413
   * SIPHON_ERR_REQUEST_TOO_LARGE after it has been read, so every client can read the answer. @default 1mb
   */
  SIPHON_API_BODY_LIMIT: z
    .string()
    .default('1mb')
    .transform((text, ctx) => {
      try {
        const bytes = parseByteSize(text);
        if (bytes < 1024 || bytes > 64 * 1024 ** 2) throw new Error('must be between 1kb and 64mb');
        return bytes;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Operator bearer token (change and run). Generated into SIPHON_HOME/secrets.json when unset. */
  SIPHON_ADMIN_TOKEN: secret,
  /** Read-only bearer token. Generated when unset. */
  SIPHON_VIEWER_TOKEN: secret,
  /** Passwords of the three database roles; generated into SIPHON_HOME/secrets.json when unset. */
  SIPHON_READER_PASSWORD: secret,
  SIPHON_WRITER_PASSWORD: secret,
  SIPHON_API_PASSWORD: secret,
  /** Schemas pipelines may read, comma-separated. @default content,ugc */
  SIPHON_SOURCE_SCHEMAS: identifierList('content,ugc'),
  /** Schemas pipelines may write (targets and SQL steps); siphon_writer needs rights there. @default analytics */
  SIPHON_TARGET_SCHEMAS: identifierList('analytics'),
  /** Functions allowed in pipeline SQL beyond the built-in allow-list (`name` or `schema.name`). @default none */
  SIPHON_SQL_EXTRA_FUNCTIONS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((f) => f.trim().toLowerCase())
        .filter(Boolean),
    )
    .refine((list) => list.every((f) => /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(f)), {
      message: 'must be a comma-separated list of function names (name or schema.name)',
    }),
  /**
   * Statement timeout of `POST /pipelines/validate`'s EXPLAIN and sample rows, and of the plan check
   * create and PATCH make: a part that takes longer is reported as timed out. @default 5s
   */
  SIPHON_VALIDATE_TIMEOUT: duration('5s'),
  /**
   * A source query whose plan estimates more rows than this at any node (a `generate_series` or
   * cross-join bomb) is refused by validate, create and PATCH before anything runs. @default 10000000000
   */
  SIPHON_SQL_MAX_ESTIMATED_ROWS: z.coerce.number().min(1).default(10_000_000_000),
  /** The same for the plan's total cost (PostgreSQL's planner units). @default 1000000000000 */
  SIPHON_SQL_MAX_ESTIMATED_COST: z.coerce.number().min(1).default(1_000_000_000_000),
  /** YouTube Data API v3 base URL (a simulator's, for tests and the demo). @default https://www.googleapis.com/youtube/v3/ */
  SIPHON_YOUTUBE_BASE_URL: z
    .string()
    .url('must be an http(s) URL')
    .default('https://www.googleapis.com/youtube/v3/'),
  /** YouTube Data API key; without it runners do not sync YouTube (the demo uses its simulator). @default unset */
  SIPHON_YOUTUBE_API_KEY: z.string().min(1).optional(),
  /** Instagram Graph API base URL (a simulator's, for tests and the demo). @default https://graph.facebook.com/v21.0/ */
  SIPHON_INSTAGRAM_BASE_URL: z
    .string()
    .url('must be an http(s) URL')
    .default('https://graph.facebook.com/v21.0/'),
  /** Instagram Graph API access token (a long-lived user token of the business account's owner). @default unset */
  SIPHON_INSTAGRAM_ACCESS_TOKEN: z.string().min(1).optional(),
  /** The Instagram professional account id that asks business_discovery about other accounts. @default unset */
  SIPHON_INSTAGRAM_USER_ID: z.string().regex(/^\d+$/, 'must be a numeric Instagram user id').optional(),
  /** TikTok Research API base URL (a simulator's, for tests and the demo). @default https://open.tiktokapis.com/ */
  SIPHON_TIKTOK_BASE_URL: z.string().url('must be an http(s) URL').default('https://open.tiktokapis.com/'),
  /** TikTok client key (client credentials grant for the Research API). @default unset */
  SIPHON_TIKTOK_CLIENT_KEY: z.string().min(1).optional(),
  /** TikTok client secret. @default unset */
  SIPHON_TIKTOK_CLIENT_SECRET: z.string().min(1).optional(),
  /**
   * A JSON file of several credentials per platform (YouTube API keys, TikTok research clients), each
   * with a name and optional limits: runners spread calls over each platform's pool
   * (docs/configuration.md, "Credential pools"). Never stored in the database. @default unset
   */
  SIPHON_CREDENTIALS_FILE: z.string().min(1).optional(),
  /** Base URL of the external ML / image-recognition service (a simulator's for tests and the demo). @default unset */
  SIPHON_ML_BASE_URL: z.string().url('must be an http(s) URL').optional(),
  /** Bearer token for the ML service (sent as `Authorization: Bearer …`, never logged). @default unset */
  SIPHON_ML_TOKEN: z.string().min(1).optional(),
  /** A URL that receives a JSON POST when an incident opens or resolves. @default unset */
  SIPHON_INCIDENT_WEBHOOK_URL: z.string().url('must be an http(s) URL').optional(),
  /** OTLP/HTTP endpoint for traces (standard OpenTelemetry variable); tracing is off when unset. @default unset */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url('must be an http(s) URL').optional(),
  /** pino level. @default info */
  SIPHON_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty` for people, `json` for machines. @default pretty on a terminal, json otherwise */
  SIPHON_LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  /** How often an idle runner looks for work when no notification arrives. @default 2s */
  SIPHON_RUNNER_POLL_INTERVAL: duration('2s'),
  /** How long a runner owns a pipeline without renewing; a dead runner's work is taken over after it. @default 30s */
  SIPHON_RUNNER_LEASE: duration('30s'),
  /** Social sync steps (one page each) one runner executes at the same time; 0 = none. @default 4 */
  SIPHON_SYNC_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(4),
  /** Pipelines one runner executes at the same time. @default 2 */
  SIPHON_RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * How batches move rows: `pushdown` (one INSERT … SELECT in PostgreSQL, rows never leave it) or
   * `stream` (read as siphon_reader in a READ ONLY transaction, written through Siphon). @default pushdown
   */
  SIPHON_RUNNER_TRANSFER: z.enum(['pushdown', 'stream']).default('pushdown'),
  /**
   * Port of a runner's own `GET /metrics` listener (Prometheus), bound to SIPHON_API_HOST; 0 turns it
   * off. Each runner process needs its own port on one host. @default 0 (off)
   */
  SIPHON_RUNNER_METRICS_PORT: port(0),
  /**
   * How long raw platform responses (social.raw_responses) are kept; replay reaches back this far.
   * `0` keeps them forever. @default 28d
   */
  SIPHON_RAW_RETENTION: duration('28d'),
  /** How long finished social sync jobs (with their tasks) are kept. `0` keeps them forever. @default 30d */
  SIPHON_SYNC_HISTORY_RETENTION: duration('30d'),
  /** How often each runner prunes what is past its retention (in bounded batches). @default 1h */
  SIPHON_RETENTION_INTERVAL: duration('1h'),
  /**
   * Parallel lanes a runner reads a full pass from a PostgreSQL source connection in, when the
   * target is empty and the source has at least four batches per lane; 1 reads every pass in one
   * sequence. Each lane holds a connection on both servers. Lanes pay where the source server is
   * another machine; with both servers on one 2-core machine they did not (docs/benchmarks.md).
   * @default 1
   */
  SIPHON_REMOTE_LANES: z.coerce.number().int().min(1).max(16).default(1),
  /**
   * How a first load from a PostgreSQL source connection travels: `binary` (COPY's binary format)
   * where every column has the same built-in type on the source and in the target and the key is an
   * integer, text or uuid, else text; `text` always (a server that speaks PostgreSQL's protocol but
   * not its binary COPY). Binary spares the target the text parser (docs/adr/0023). @default binary
   */
  SIPHON_REMOTE_COPY_FORMAT: z.enum(['binary', 'text']).default('binary'),
  /**
   * How long one transaction of a first load from a source connection (into an empty target) goes on
   * sending the next batches in the same COPY: each batch keeps its ledger row and its cursor, and
   * they commit together (docs/adr/0027); `0` commits every batch on its own. @default 200ms
   */
  SIPHON_REMOTE_COMMIT_GROUP: duration('200ms'),
  /**
   * `on`: a tracked account's regular sync starts only when its platform's credentials have enough
   * left of their quota day for it and for what the faster tiers still need today (docs/errors.md
   * SIPHON_ERR_QUOTA_RESERVED); `off`: quota is spent first come, first served. @default on
   */
  SIPHON_QUOTA_TIER_RESERVE: z.enum(['on', 'off']).default('on'),
  /** Longest a single statement (a batch) may take. @default 60s */
  SIPHON_STATEMENT_TIMEOUT: duration('60s'),
  /**
   * Attempts for a batch that hits a transient failure (lost connection, server restart, deadlock,
   * serialization), with backoff from 0.5 s doubling to 15 s (with jitter): the default waits about 25–45 s in all. @default 8
   */
  SIPHON_RUNNER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  /** Demo data size. @default 50000 films, 500000 ratings */
  SIPHON_DEMO_FILMS: z.coerce.number().int().min(10).max(10_000_000).default(50_000),
  SIPHON_DEMO_RATINGS: z.coerce.number().int().min(10).max(100_000_000).default(500_000),
});

export type RawConfig = z.output<typeof configSchema>;
