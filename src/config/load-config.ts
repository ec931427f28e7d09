import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { configSchema } from './config.schema.js';
import { SiphonError } from '../core/errors.js';
import type { SqlPolicy } from '../core/sql-policy.js';
import { SECRET_ENV_PREFIX } from '../core/connection-spec.schema.js';

export interface Config {
  readonly databaseUrl: string | undefined;
  readonly home: string;
  readonly embeddedPort: number;
  readonly api: { readonly host: string; readonly port: number; readonly bodyLimitBytes: number };
  readonly tokens: { readonly admin: string | undefined; readonly viewer: string | undefined };
  readonly rolePasswords: {
    readonly reader: string | undefined;
    readonly writer: string | undefined;
    readonly api: string | undefined;
  };
  readonly log: { readonly level: string; readonly format: 'pretty' | 'json' };
  /** What pipeline SQL may read, write and call (the parser-based guard). */
  readonly sqlPolicy: SqlPolicy;
  readonly runner: {
    readonly pollIntervalMs: number;
    readonly leaseMs: number;
    readonly concurrency: number;
    readonly syncConcurrency: number;
    readonly statementTimeoutMs: number;
    readonly maxAttempts: number;
    readonly transfer: 'pushdown' | 'stream';
    /** Regular syncs of slower tiers leave what the faster tiers still need of the day's quota. */
    readonly tierReserve: boolean;
    /** Lanes of a full pass from a PostgreSQL source connection into an empty target. */
    readonly remoteLanes: number;
    /** SIPHON_REMOTE_COPY_FORMAT. */
    readonly remoteCopyFormat: 'binary' | 'text';
    /** SIPHON_REMOTE_COMMIT_GROUP, in ms. */
    readonly remoteCommitGroupMs: number;
    /** Port of the runner's /metrics listener; 0 = no listener. */
    readonly metricsPort: number;
  };
  /**
   * The SIPHON_SECRET_* variables: passwords of source connections that name one (`password_env`).
   * Only this prefix is collected, so a connection can never name another variable (a token).
   */
  readonly secretEnv: Readonly<Record<string, string>>;
  /** SIPHON_CREDENTIALS_FILE, resolved: several credentials per platform. */
  readonly credentialsFile: string | undefined;
  /** What each runner prunes, and how often (0: kept forever). */
  readonly retention: { readonly rawMs: number; readonly historyMs: number; readonly everyMs: number };
  readonly demo: { readonly films: number; readonly ratings: number };
  readonly youtube: { readonly baseUrl: string; readonly apiKey: string | undefined };
  readonly instagram: {
    readonly baseUrl: string;
    readonly accessToken: string | undefined;
    readonly userId: string | undefined;
  };
  readonly tiktok: {
    readonly baseUrl: string;
    readonly clientKey: string | undefined;
    readonly clientSecret: string | undefined;
  };
  readonly ml: { readonly baseUrl: string | undefined; readonly token: string | undefined };
  readonly incidents: { readonly webhookUrl: string | undefined };
  readonly otel: { readonly endpoint: string | undefined };
}

/**
 * Reads the environment (and an optional .env in the working directory; the environment wins),
 * validates it once and returns a frozen config. A bad value fails fast naming its variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const envFile = env.SIPHON_ENV_FILE || '.env';
  const dotenvPath = resolve(cwd, envFile);
  const fromFile = envFile !== 'none' && existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath)) : {};
  // An empty value means "unset" (compose files pass variables through as empty strings).
  const merged = Object.fromEntries(
    Object.entries({ ...fromFile, ...env }).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const code = variable === 'DATABASE_URL' ? 'SIPHON_ERR_DB_URL_INVALID' : 'SIPHON_ERR_CONFIG_INVALID';
    throw new SiphonError(code, `${variable} ${issue.message}`, { field: variable });
  }
  const raw = result.data;
  return Object.freeze({
    databaseUrl: raw.DATABASE_URL,
    home: resolve(cwd, raw.SIPHON_HOME),
    embeddedPort: raw.SIPHON_PG_PORT,
    api: Object.freeze({
      host: raw.SIPHON_API_HOST,
      port: raw.SIPHON_API_PORT,
      bodyLimitBytes: raw.SIPHON_API_BODY_LIMIT,
    }),
    tokens: Object.freeze({ admin: raw.SIPHON_ADMIN_TOKEN, viewer: raw.SIPHON_VIEWER_TOKEN }),
    rolePasswords: Object.freeze({
      reader: raw.SIPHON_READER_PASSWORD,
      writer: raw.SIPHON_WRITER_PASSWORD,
      api: raw.SIPHON_API_PASSWORD,
    }),
    sqlPolicy: Object.freeze({
      sourceSchemas: raw.SIPHON_SOURCE_SCHEMAS,
      targetSchemas: raw.SIPHON_TARGET_SCHEMAS,
      extraFunctions: raw.SIPHON_SQL_EXTRA_FUNCTIONS,
      planLimits: Object.freeze({
        timeoutMs: raw.SIPHON_VALIDATE_TIMEOUT,
        maxRows: raw.SIPHON_SQL_MAX_ESTIMATED_ROWS,
        maxCost: raw.SIPHON_SQL_MAX_ESTIMATED_COST,
      }),
    }),
    log: Object.freeze({
      level: raw.SIPHON_LOG_LEVEL,
      format: raw.SIPHON_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json'),
    }),
    runner: Object.freeze({
      pollIntervalMs: raw.SIPHON_RUNNER_POLL_INTERVAL,
      leaseMs: raw.SIPHON_RUNNER_LEASE,
      concurrency: raw.SIPHON_RUNNER_CONCURRENCY,
      syncConcurrency: raw.SIPHON_SYNC_CONCURRENCY,
      statementTimeoutMs: raw.SIPHON_STATEMENT_TIMEOUT,
      maxAttempts: raw.SIPHON_RUNNER_MAX_ATTEMPTS,
      transfer: raw.SIPHON_RUNNER_TRANSFER,
      remoteLanes: raw.SIPHON_REMOTE_LANES,
      remoteCopyFormat: raw.SIPHON_REMOTE_COPY_FORMAT,
      remoteCommitGroupMs: raw.SIPHON_REMOTE_COMMIT_GROUP,
      tierReserve: raw.SIPHON_QUOTA_TIER_RESERVE === 'on',
      metricsPort: raw.SIPHON_RUNNER_METRICS_PORT,
    }),
    retention: Object.freeze({
      rawMs: raw.SIPHON_RAW_RETENTION,
      historyMs: raw.SIPHON_SYNC_HISTORY_RETENTION,
      everyMs: raw.SIPHON_RETENTION_INTERVAL,
    }),
    demo: Object.freeze({ films: raw.SIPHON_DEMO_FILMS, ratings: raw.SIPHON_DEMO_RATINGS }),
    youtube: Object.freeze({ baseUrl: raw.SIPHON_YOUTUBE_BASE_URL, apiKey: raw.SIPHON_YOUTUBE_API_KEY }),
    instagram: Object.freeze({
      baseUrl: raw.SIPHON_INSTAGRAM_BASE_URL,
      accessToken: raw.SIPHON_INSTAGRAM_ACCESS_TOKEN,
      userId: raw.SIPHON_INSTAGRAM_USER_ID,
    }),
    tiktok: Object.freeze({
      baseUrl: raw.SIPHON_TIKTOK_BASE_URL,
      clientKey: raw.SIPHON_TIKTOK_CLIENT_KEY,
      clientSecret: raw.SIPHON_TIKTOK_CLIENT_SECRET,
    }),
    secretEnv: Object.freeze(
      Object.fromEntries(Object.entries(merged).filter(([k]) => k.startsWith(SECRET_ENV_PREFIX))),
    ) as Readonly<Record<string, string>>,
    credentialsFile: raw.SIPHON_CREDENTIALS_FILE ? resolve(cwd, raw.SIPHON_CREDENTIALS_FILE) : undefined,
    ml: Object.freeze({ baseUrl: raw.SIPHON_ML_BASE_URL, token: raw.SIPHON_ML_TOKEN }),
    incidents: Object.freeze({ webhookUrl: raw.SIPHON_INCIDENT_WEBHOOK_URL }),
    otel: Object.freeze({ endpoint: raw.OTEL_EXPORTER_OTLP_ENDPOINT }),
  });
}
