import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE, isSiphonError } from '../../core/errors.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: unknown };
}

/** One error envelope for every failure: a stable code, a readable message, the field. Never a stack. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isSiphonError(error)) {
      const body: ErrorBody = { error: { code: error.code, message: error.message } };
      if (error.field) body.error.field = error.field;
      if (error.details && error.status < 500) body.error.details = error.details;
      return reply.status(error.status).send(body);
    }
    if (error.validation) {
      const first = error.validation[0];
      const path = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
      const missing = (first?.params as { missingProperty?: string } | undefined)?.missingProperty;
      const field = [error.validationContext, path || missing].filter(Boolean).join('.');
      const message = `${field ? `${field} ` : ''}${first?.message ?? 'is invalid'}`;
      return reply
        .status(400)
        .send({ error: { code: 'SIPHON_ERR_REQUEST_INVALID', message, field } } satisfies ErrorBody);
    }
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own 4xx (malformed JSON, wrong content type, body too large).
      return reply.status(error.statusCode).send({
        error: { code: 'SIPHON_ERR_REQUEST_INVALID', message: error.message },
      } satisfies ErrorBody);
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.status(500).send({
      error: { code: 'SIPHON_ERR_INTERNAL', message: ERROR_CATALOGUE.SIPHON_ERR_INTERNAL.title },
    } satisfies ErrorBody);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: {
        code: 'SIPHON_ERR_ROUTE_NOT_FOUND',
        message: `no endpoint ${request.method} ${request.url.split('?')[0]}`,
      },
    } satisfies ErrorBody),
  );
}
