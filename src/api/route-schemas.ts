import { Type } from '@fastify/type-provider-typebox';
import { z } from 'zod';
import { pipelineSpecSchema } from '../core/pipeline-spec.schema.js';
import { tasksSchema } from '../core/task-spec.schema.js';
import { accountsChangeSchema } from '../core/tracked-account.js';
import { connectionSpecSchema } from '../core/connection-spec.schema.js';

/**
 * Marks a body schema as documentation of a zod schema the route's handler validates with
 * (parsePipelineSpec, parsePipelinePatch, parseTaskSpecs): Fastify's own validator then lets the body
 * through untouched (app.ts), so each body is validated once, by the schema the OpenAPI document was
 * generated from, and answers 422 with the field.
 */
export const VALIDATED_BY_HANDLER = 'x-validated-by-handler';

/** The OpenAPI 3.0 form of a zod schema's input. */
function openApiOf(schema: z.ZodType): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'openapi-3.0',
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** A NUL never names a pipeline, and PostgreSQL refuses it in text: a 400 here, not a 500 there. */
export const IdParams = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 200,
    pattern: '^[^\\u0000]+$',
    description: 'uuid or unique name',
  }),
});

export const Paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
};

const FILM_DIM_EXAMPLE = {
  name: 'film_dim_full',
  description: 'Films with their rating (seed 004)',
  source_query:
    'SELECT fw.id AS film_id, fw.title, fw.rating, fw.type, fw.creation_date, fw.modified FROM content.film_work fw',
  target_table: 'analytics.film_dim',
  unique_key: 'film_id',
  mode: 'full',
  batch_size: 10000,
};

const STEPS_EXAMPLE = [
  {
    name: 'stats',
    task_type: 'SQL',
    sql: 'INSERT INTO analytics.film_stats (day, films) SELECT current_date, count(*) FROM analytics.film_dim ON CONFLICT (day) DO UPDATE SET films = excluded.films',
  },
  { name: 'analyze', task_type: 'CODE', task_name: 'analyze_target', depends_on: ['stats'] },
];

const taskListJson = openApiOf(tasksSchema);
const pipelineJson = openApiOf(pipelineSpecSchema);

/** `POST /pipelines` and `POST /pipelines/validate`: a pipeline configuration, optionally with its steps. */
export const PipelineBody = {
  ...pipelineJson,
  properties: {
    ...(pipelineJson.properties as Record<string, unknown>),
    tasks: {
      ...taskListJson,
      description:
        'Steps run after the load, in dependency order: SQL statements or registered CODE functions (the same as PUT /pipelines/{id}/tasks).',
    },
  },
  required: ['name'],
  [VALIDATED_BY_HANDLER]: true,
  description:
    'kind `sql` needs `source_query`, `target_table` and `unique_key` (and `incremental_key` in mode `incremental`); kind `social` needs `social` instead.',
  example: FILM_DIM_EXAMPLE,
};

/** `PATCH /pipelines/{id}`: any fields but `kind`, each validated as on create, plus the `version` changed. */
export const PipelinePatchBody = {
  type: 'object',
  properties: {
    version: {
      type: 'integer',
      minimum: 1,
      description: 'The version you read (or send `If-Match: "<version>"`): a stale one is a 409.',
    },
    ...Object.fromEntries(
      Object.entries(pipelineJson.properties as Record<string, unknown>).filter(
        ([field]) => field !== 'kind',
      ),
    ),
  },
  additionalProperties: false,
  description: 'The fields to change; each is validated exactly as when the pipeline is created.',
  example: { version: 3, batch_size: 5000, schedule: '*/15 * * * *' },
  [VALIDATED_BY_HANDLER]: true,
};

/** `PUT /pipelines/{id}/tasks`: the whole list of steps. */
export const TaskListBody = {
  ...openApiOf(z.object({ tasks: tasksSchema }).strict()),
  example: { tasks: STEPS_EXAMPLE },
  [VALIDATED_BY_HANDLER]: true,
};

/** `PATCH /accounts`: one bulk change to tracked accounts. */
export const AccountsChangeBody = {
  ...openApiOf(accountsChangeSchema),
  example: { platform: 'tiktok', tag: 'client:acme', set: { tier: 'daily', add_tags: ['priority'] } },
  [VALIDATED_BY_HANDLER]: true,
};

/** `POST /accounts/import` with `Content-Type: application/json` (CSV: `text/csv`, see the description). */
export const AccountsImportJsonBody = {
  type: 'object',
  properties: {
    accounts: {
      type: 'array',
      maxItems: 200_000,
      description: 'Accounts: strings, or objects with the account and its tags and tier',
      items: {
        oneOf: [
          { type: 'string', maxLength: 200 },
          {
            type: 'object',
            properties: {
              account: { type: 'string', maxLength: 200 },
              tags: { type: 'array', items: { type: 'string' }, maxItems: 32 },
              tier: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,31}$' },
            },
            required: ['account'],
            additionalProperties: false,
          },
        ],
      },
    },
  },
  required: ['accounts'],
  additionalProperties: false,
  description:
    'The accounts to track. Or send Content-Type: text/csv with a CSV file instead (header `account,tags,tier`, ' +
    'tags separated by `;`; or one account per line without a header). Each line is checked on its own: a refused ' +
    'line is reported, the others are imported.',
  example: {
    accounts: ['mrbeast', { account: 'khaby.lame', tags: ['client:acme', 'comedy'], tier: 'daily' }],
  },
  [VALIDATED_BY_HANDLER]: true,
};

/** `POST /connections`: a named source connection; the password only by reference. */
export const ConnectionBody = {
  ...openApiOf(connectionSpecSchema),
  example: {
    name: 'cinema_content',
    kind: 'postgres',
    host: 'content-db.internal',
    port: 5432,
    database: 'content',
    user: 'siphon_read',
    password_env: 'SIPHON_SECRET_CONTENT_DB',
    allowed_schemas: ['content'],
  },
  [VALIDATED_BY_HANDLER]: true,
};
