import { z } from 'zod';
import { findNulCharacter, SiphonError } from './errors.js';
import { zodToSiphonError } from './pipeline-spec.schema.js';

/** Kinds of source server: `mysql` covers MySQL and MariaDB (one wire protocol, one dialect). */
export const CONNECTION_KINDS = ['postgres', 'mysql'] as const;
export type ConnectionKind = (typeof CONNECTION_KINDS)[number];

/** Environment variables a connection may name for its password: only this prefix, never any variable. */
export const SECRET_ENV_PREFIX = 'SIPHON_SECRET_';

/** System schemas a source query never reads, whatever a connection lists. */
export const SYSTEM_SCHEMAS = [
  'pg_catalog',
  'information_schema',
  'pg_toast',
  'mysql',
  'performance_schema',
  'sys',
];

export const isSystemSchema = (name: string) => SYSTEM_SCHEMAS.includes(name.toLowerCase());

const schemaName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,63}$/, 'must be a plain schema name (letters, digits, _ and $)')
  .refine((s) => !isSystemSchema(s), 'must not be a system schema');

/**
 * A named source connection. The credential is a reference, never the secret: `password_env` names an
 * environment variable (SIPHON_SECRET_…) of the processes that read the source, `password_secret` an
 * entry of the secrets file's `connections` list. Neither: a server that asks for no password.
 */
export const connectionSpecSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must start with a letter: a-z, 0-9 and _ only, at most 63')
      .meta({ description: 'Unique name a pipeline refers to as `source_connection`.' }),
    kind: z
      .enum(CONNECTION_KINDS)
      .meta({ description: '`postgres`, or `mysql` for MySQL and MariaDB servers.' }),
    host: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,255}$/, 'must be a host name or an IP address')
      .meta({ description: 'Host name or IP address of the server.' }),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .meta({ description: 'TCP port. @default 5432 (postgres), 3306 (mysql)' }),
    database: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\s/\\'"`;]+$/, 'must be a database name without spaces, quotes, slashes or ;')
      .meta({
        description:
          'The database to connect to (MySQL: not mysql, information_schema, performance_schema or sys).',
      }),
    user: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[^\s'"`;]+$/, 'must be a user name without spaces, quotes or ;')
      .meta({ description: 'The login; give it read-only rights on the source (the test warns otherwise).' }),
    password_env: z
      .string()
      .regex(
        new RegExp(`^${SECRET_ENV_PREFIX}[A-Z0-9_]{1,100}$`),
        `must name an environment variable starting with ${SECRET_ENV_PREFIX}`,
      )
      .optional()
      .meta({
        description: `Name of the environment variable (${SECRET_ENV_PREFIX}…) that holds the password.`,
      }),
    password_secret: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must name an entry of the secrets file')
      .optional()
      .meta({
        description: 'Name of the entry of the secrets file (`connections`) that holds the password.',
      }),
    allowed_schemas: z.array(schemaName).min(1).max(64).optional().meta({
      description:
        'Schemas (MySQL: databases) a source query may read. @default ["public"] (postgres), [database] (mysql)',
    }),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.kind === 'mysql' && isSystemSchema(spec.database)) {
      // A MySQL database is a schema: a table named without one would be read from it.
      ctx.addIssue({
        code: 'custom',
        path: ['database'],
        message: 'must not be a system database (mysql, information_schema, performance_schema, sys)',
      });
    }
    if (spec.password_env !== undefined && spec.password_secret !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['password_secret'],
        message: 'give either password_env or password_secret, not both',
      });
    }
  });

export type ConnectionSpec = z.output<typeof connectionSpecSchema> & { readonly port: number };

export const DEFAULT_PORTS: Readonly<Record<ConnectionKind, number>> = { postgres: 5432, mysql: 3306 };

/** Validates a connection; the first problem becomes SIPHON_ERR_CONNECTION_INVALID naming its field. */
export function parseConnectionSpec(input: unknown): ConnectionSpec {
  const nul = findNulCharacter(input);
  if (nul !== undefined) {
    throw new SiphonError('SIPHON_ERR_CONNECTION_INVALID', `${nul} contains a NUL character`, { field: nul });
  }
  const result = connectionSpecSchema.safeParse(input);
  if (!result.success) {
    const error = zodToSiphonError(result.error, 'SIPHON_ERR_PIPELINE_INVALID');
    throw new SiphonError('SIPHON_ERR_CONNECTION_INVALID', error.message, {
      ...(error.field ? { field: error.field } : {}),
      ...(error.details ? { details: error.details } : {}),
    });
  }
  return { ...result.data, port: result.data.port ?? DEFAULT_PORTS[result.data.kind] };
}

/** The schemas a connection's source queries may read when it lists none. */
export function allowedSchemasOf(connection: {
  kind: ConnectionKind;
  database: string;
  allowed_schemas: readonly string[] | null;
}): readonly string[] {
  if (connection.allowed_schemas && connection.allowed_schemas.length > 0) return connection.allowed_schemas;
  return connection.kind === 'postgres' ? ['public'] : [connection.database];
}
