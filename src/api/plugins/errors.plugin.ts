import type { IncomingMessage } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ERROR_CATALOGUE, isSiphonError } from '../../core/errors.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; details?: unknown };
}

/** Read and discarded of an over-limit body before the 413 is sent; beyond it the connection is closed. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** One error envelope for every failure: a stable code, a readable message, the field. Never a stack. */
export function registerErrorHandling(app: FastifyInstance, options: { bodyLimit: number }): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Answered only once the client has sent its body: a client that writes the whole body before
      // reading (Node's fetch) would otherwise see the socket close under it (EPIPE), not the answer.
      await drain(request.raw, DRAIN_LIMIT_BYTES);
      // A route may have its own limit (POST /accounts/import).
      const limit = request.routeOptions.bodyLimit ?? options.bodyLimit;
      const variable = limit === options.bodyLimit ? ' (SIPHON_API_BODY_LIMIT)' : ' for this endpoint';
      return reply
        .status(413)
        .header('connection', 'close')
        .send({
          error: {
            code: 'SIPHON_ERR_REQUEST_TOO_LARGE',
            message: `the request body is over the limit of ${formatBytes(limit)}${variable}`,
            details: { limitBytes: limit },
          },
        } satisfies ErrorBody);
    }
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

/** Reads and discards what is left of a request body, up to `maxBytes` (or 30 s). */
function drain(raw: IncomingMessage, maxBytes: number): Promise<void> {
  return new Promise((resolve) => {
    if (raw.complete || raw.destroyed) return resolve();
    let seen = 0;
    const timer = setTimeout(done, 30_000);
    function onData(chunk: Buffer) {
      seen += chunk.length;
      if (seen > maxBytes) done();
    }
    function done() {
      clearTimeout(timer);
      raw.off('data', onData).off('end', done).off('error', done).off('close', done);
      resolve();
    }
    raw.on('data', onData).once('end', done).once('error', done).once('close', done);
    raw.resume();
  });
}

function formatBytes(bytes: number): string {
  if (bytes % 1_048_576 === 0) return `${bytes / 1_048_576} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
