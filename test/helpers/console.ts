import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { SESSION_COOKIE } from '../../src/api/console/index.js';

/** A signed-in console session over `inject`: its cookie, its form token, and a form POST with both. */
export interface ConsoleSession {
  readonly cookie: string;
  readonly csrf: string;
  post(url: string, fields: Record<string, string>): Promise<LightMyRequestResponse>;
}

export async function consoleSession(app: FastifyInstance, token: string): Promise<ConsoleSession> {
  const post = (
    url: string,
    fields: Record<string, string>,
    cookie?: string,
  ): Promise<LightMyRequestResponse> =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      payload: new URLSearchParams(fields).toString(),
    });
  const signIn = await post('/ui/sign-in', { token });
  expect(signIn.statusCode).toBe(303);
  const cookie = `${SESSION_COOKIE}=${/siphon_session=([^;]+)/.exec(String(signIn.headers['set-cookie']))![1]}`;
  const page = await app.inject({ method: 'GET', url: '/ui', headers: { cookie } });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  return { cookie, csrf, post: (url, fields) => post(url, { _csrf: csrf, ...fields }, cookie) };
}
