import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import { SiphonError } from '../../core/errors.js';
import { findRun, listBatches } from '../../db/repositories/run.repository.js';
import type { ApiDeps } from '../api-deps.js';

export function runRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/runs/:run_id',
    {
      schema: {
        tags: ['runs'],
        summary: 'One run with its batch ledger',
        params: Type.Object({ run_id: Type.String({ format: 'uuid' }) }),
      },
    },
    async (request) => {
      const { run_id } = request.params as { run_id: string };
      const run = await findRun(deps.pool, run_id);
      if (!run) throw new SiphonError('SIPHON_ERR_RUN_NOT_FOUND', `no run ${run_id}`);
      return { ...run, batches_ledger: await listBatches(deps.pool, run_id) };
    },
  );
}
