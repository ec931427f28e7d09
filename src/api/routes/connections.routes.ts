import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { SiphonError } from '../../core/errors.js';
import {
  createConnection,
  deleteConnection,
  getConnectionRow,
  listConnections,
  presentConnection,
  testConnection,
} from '../../sources/index.js';
import type { ApiDeps } from '../api-deps.js';
import { ConnectionBody } from '../route-schemas.js';

const NameParams = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'the connection name' }),
});

const by = (request: { principal?: { name: string } }) => request.principal?.name ?? 'api';
const nameOf = (request: { params: unknown }) => (request.params as { name: string }).name;

/**
 * Source connections: list, create, read, delete when unused, and test. Answers carry the credential
 * only as its reference (`password_env` or `password_secret`), never a password.
 */
export function connectionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/connections',
    { schema: { tags: ['connections'], summary: 'List source connections' } },
    async () => ({ items: await listConnections(deps.pool) }),
  );

  app.post(
    '/connections',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['connections'],
        summary: 'Create a source connection (PostgreSQL, MySQL or MariaDB)',
        body: ConnectionBody,
      },
    },
    async (request, reply) => {
      const created = await createConnection(deps.pool, request.body, by(request));
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/connections/:name',
    { schema: { tags: ['connections'], summary: 'One source connection', params: NameParams } },
    async (request) => presentConnection(await getConnectionRow(deps.pool, nameOf(request))),
  );

  app.delete(
    '/connections/:name',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['connections'],
        summary: 'Delete a source connection no pipeline reads through (409 otherwise)',
        params: NameParams,
      },
    },
    async (request) => deleteConnection(deps.pool, nameOf(request)),
  );

  app.post(
    '/connections/:name/test',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['connections'],
        summary: 'Connect and report the server version and whether the credential is read-only',
        params: NameParams,
      },
    },
    async (request) => {
      if (!deps.sources) {
        throw new SiphonError(
          'SIPHON_ERR_CONNECTION_SECRET_MISSING',
          'this API process was started without source connection secrets',
        );
      }
      return testConnection(deps.pool, deps.sources, nameOf(request));
    },
  );
}
