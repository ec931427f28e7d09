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

/** Who a token belongs to; its name is `operator-1`, `viewer-2`… (the token itself is never kept). */
export interface Principal {
  readonly role: Role;
  readonly name: string;
}

/**
 * The check of a presented token against the configured ones: kept only as SHA-256 digests and
 * compared in constant time. The API's bearer header and the console's sign-in form both use it.
 */
export function tokenVerifier(tokens: TokenConfig): (presented: string) => Principal | undefined {
  const known = [
    ...tokens.operator.map((t, i) => ({
      hash: digest(t),
      role: 'operator' as const,
      name: `operator-${i + 1}`,
    })),
    ...tokens.viewer.map((t, i) => ({ hash: digest(t), role: 'viewer' as const, name: `viewer-${i + 1}` })),
  ];
  return (presented) => {
    const hash = digest(presented);
    const match = known.find((k) => timingSafeEqual(k.hash, hash));
    return match ? { role: match.role, name: match.name } : undefined;
  };
}

/**
 * Bearer tokens with two roles: viewer (read) and operator (change and run). Tokens are kept only as
 * SHA-256 digests and compared in constant time; they never appear in logs or error bodies.
 */
export function registerAuth(app: FastifyInstance, tokens: TokenConfig): void {
  const verify = tokenVerifier(tokens);
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
    const principal = verify(match[1]!);
    if (!principal) throw new SiphonError('SIPHON_ERR_AUTH_INVALID', 'the bearer token is not valid');
    if (access === 'operator' && principal.role !== 'operator') {
      throw new SiphonError('SIPHON_ERR_AUTH_FORBIDDEN', 'this needs an operator token; yours is read-only');
    }
    request.principal = { role: principal.role, name: principal.name };
  });
}
