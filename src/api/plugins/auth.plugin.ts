import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SiphonError } from '../../core/errors.js';

export type Role = 'viewer' | 'operator';

export interface TokenConfig {
  readonly operator: readonly string[];
  readonly viewer: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: { role: Role; name: string };
  }
  interface FastifyContextConfig {
    /** Role needed for the route; `public` routes need no token. @default 'viewer' */
    access?: Role | 'public';
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Bearer tokens with two roles: viewer (read) and operator (change and run). Tokens are kept only as
 * SHA-256 digests and compared in constant time; they never appear in logs or error bodies.
 */
export function registerAuth(app: FastifyInstance, tokens: TokenConfig): void {
  const known = [
    ...tokens.operator.map((t, i) => ({
      hash: digest(t),
      role: 'operator' as const,
      name: `operator-${i + 1}`,
    })),
    ...tokens.viewer.map((t, i) => ({ hash: digest(t), role: 'viewer' as const, name: `viewer-${i + 1}` })),
  ];
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const url = request.routeOptions.url;
    // Swagger UI's own routes are documentation, public like /openapi.json.
    const access = url?.startsWith('/docs') ? 'public' : (request.routeOptions.config?.access ?? 'viewer');
    if (access === 'public' || url === undefined) return;
    const header = request.headers.authorization;
    if (!header) throw new SiphonError('SIPHON_ERR_AUTH_MISSING', 'send Authorization: Bearer <token>');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match)
      throw new SiphonError('SIPHON_ERR_AUTH_INVALID', 'the Authorization header must be "Bearer <token>"');
    const presented = digest(match[1]!);
    const principal = known.find((k) => timingSafeEqual(k.hash, presented));
    if (!principal) throw new SiphonError('SIPHON_ERR_AUTH_INVALID', 'the bearer token is not valid');
    if (access === 'operator' && principal.role !== 'operator') {
      throw new SiphonError('SIPHON_ERR_AUTH_FORBIDDEN', 'this needs an operator token; yours is read-only');
    }
    request.principal = { role: principal.role, name: principal.name };
  });
}
