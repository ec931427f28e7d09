import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPipeline } from '../helpers/runner.js';
import { SESSION_COOKIE } from '../../src/api/console/index.js';

// The console's HTTP contract without a browser: redirects, the session cookie, the form token,
// roles, escaping, and that /ui stays out of the OpenAPI document.

let db: TestDatabase;
let app: FastifyInstance;
const HOSTILE = 'x_<img src=x onerror=alert(1)>';

beforeAll(async () => {
  db = await createTestDatabase();
  app = await buildTestApp(db);
  await createPipeline(db, {
    name: 'films_copy',
    description: HOSTILE,
    source_query: 'SELECT id, title FROM content.film_work',
    target_table: 'analytics.films_copy',
    unique_key: ['id'],
    mode: 'full',
  });
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

const form = (fields: Record<string, string>) => ({
  'content-type': 'application/x-www-form-urlencoded',
  payload: new URLSearchParams(fields).toString(),
});

function post(
  url: string,
  fields: Record<string, string>,
  cookie?: string,
  extra: Record<string, string> = {},
) {
  const { payload, ...headers } = form(fields);
  return app.inject({
    method: 'POST',
    url,
    payload,
    headers: { ...headers, ...(cookie ? { cookie } : {}), ...extra },
  });
}

/** Signs in with a token; returns the cookie header to send and the page's form token. */
async function signIn(token: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await post('/ui/sign-in', { token });
  expect(res.statusCode).toBe(303);
  expect(res.headers.location).toBe('/ui');
  const setCookie = String(res.headers['set-cookie']);
  const value = /siphon_session=([^;]+)/.exec(setCookie)![1]!;
  const cookie = `${SESSION_COOKIE}=${value}`;
  const page = await app.inject({ method: 'GET', url: '/ui', headers: { cookie } });
  expect(page.statusCode).toBe(200);
  return { cookie, csrf: csrfOf(page), setCookie };
}

function csrfOf(page: LightMyRequestResponse): string {
  return /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
}

const status = async (name: string) =>
  (await db.admin.query<{ status: string }>('SELECT status FROM etl.etl_pipelines WHERE name = $1', [name]))
    .rows[0]!.status;

describe('console over HTTP', () => {
  it('redirects every page to the sign-in form without a session, and serves its assets openly', async () => {
    for (const url of ['/ui', '/ui/pipelines', '/ui/incidents', '/ui/pipelines/films_copy']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(303);
      expect(res.headers.location).toBe('/ui/sign-in');
    }
    const signInPage = await app.inject({ method: 'GET', url: '/ui/sign-in' });
    expect(signInPage.statusCode).toBe(200);
    expect(signInPage.headers['content-type']).toContain('text/html');
    expect(signInPage.headers['content-security-policy']).toContain("script-src 'self'");
    expect(signInPage.body).toContain('<form class="stack" method="post" action="/ui/sign-in">');
    const css = await app.inject({ method: 'GET', url: '/ui/assets/console.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toContain('text/css');
    // The stream of a run needs a session too: 401, not a redirect.
    const events = await app.inject({ method: 'GET', url: '/ui/pipelines/films_copy/events' });
    expect(events.statusCode).toBe(401);
  });

  it('refuses a wrong token without echoing it; a good one sets an HttpOnly, SameSite=Strict cookie on /ui', async () => {
    const wrong = await post('/ui/sign-in', { token: 'guess-<b>-token' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(wrong.body).not.toContain('guess-');
    const { setCookie, cookie } = await signIn(OPERATOR);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/ui(;|$)/);
    expect(setCookie).not.toMatch(/Secure/); // plain http here; https requests get Secure
    const value = cookie.split('=')[1]!;
    expect(value.length).toBeGreaterThanOrEqual(40);
    const page = await app.inject({ method: 'GET', url: '/ui', headers: { cookie } });
    expect(page.body).not.toContain(OPERATOR);
    expect(page.body).not.toContain(value);
    expect(page.headers['cache-control']).toBe('no-store');
  });

  it('requires the session form token on every POST: missing, wrong, another session or another origin are refused', async () => {
    const a = await signIn(OPERATOR);
    const b = await signIn(OPERATOR);
    expect(a.csrf).not.toBe(b.csrf);
    const url = '/ui/pipelines/films_copy/actions/run';
    for (const [label, fields, extra] of [
      ['missing', {}, {}],
      ['wrong', { _csrf: 'x'.repeat(a.csrf.length) }, {}],
      ['another session', { _csrf: b.csrf }, {}],
      ['another origin', { _csrf: a.csrf }, { origin: 'https://evil.example' }],
    ] as const) {
      const res = await post(url, fields, a.cookie, extra);
      expect(res.statusCode, label).toBe(403);
      expect(res.body, label).toContain('SIPHON_ERR_CONSOLE_CSRF');
    }
    expect(await status('films_copy')).toBe('IDLE');
    const ok = await post(url, { _csrf: a.csrf }, a.cookie);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toMatch(/^\/ui\/pipelines\/[0-9a-f-]{36}$/);
    expect(await status('films_copy')).toBe('RUN_REQUESTED');
    // The outcome is shown once on the next page, in words.
    const next = await app.inject({
      method: 'GET',
      url: ok.headers.location!,
      headers: { cookie: a.cookie },
    });
    expect(next.body).toContain('Run: the pipeline is now RUN_REQUESTED.');
    const again = await app.inject({
      method: 'GET',
      url: ok.headers.location!,
      headers: { cookie: a.cookie },
    });
    expect(again.body).not.toContain('Run: the pipeline is now RUN_REQUESTED.');
    // A refused action says why, with the API's code: the run is already requested, pausing works,
    // and a second reset of a RUN_REQUESTED pipeline is refused by the status machine.
    const reset = await post(
      '/ui/pipelines/films_copy/actions/reset-checkpoint',
      { _csrf: a.csrf },
      a.cookie,
    );
    expect(reset.statusCode).toBe(303);
    const refused = await app.inject({
      method: 'GET',
      url: reset.headers.location!,
      headers: { cookie: a.cookie },
    });
    expect(refused.body).toContain('SIPHON_ERR_PIPELINE_TRANSITION');
    expect(refused.body).toContain('cannot reset the checkpoint of a pipeline that is RUN_REQUESTED');
    const pause = await post('/ui/pipelines/films_copy/actions/pause', { _csrf: a.csrf }, a.cookie);
    expect(pause.statusCode).toBe(303);
    expect(await status('films_copy')).toBe('PAUSED');
  });

  it('shows a viewer no action and refuses its forged action with a valid form token', async () => {
    const viewer = await signIn(VIEWER);
    const page = await app.inject({
      method: 'GET',
      url: '/ui/pipelines/films_copy',
      headers: { cookie: viewer.cookie },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Read-only: signed in as a viewer.');
    expect(page.body).not.toContain('/confirm/');
    const confirm = await app.inject({
      method: 'GET',
      url: '/ui/pipelines/films_copy/confirm/disable',
      headers: { cookie: viewer.cookie },
    });
    expect(confirm.statusCode).toBe(403);
    const forged = await post(
      '/ui/pipelines/films_copy/actions/disable',
      { _csrf: viewer.csrf },
      viewer.cookie,
    );
    expect(forged.statusCode).toBe(403);
    expect(forged.body).toContain('SIPHON_ERR_AUTH_FORBIDDEN');
    const { rows } = await db.admin.query('SELECT enabled FROM etl.etl_pipelines WHERE name = $1', [
      'films_copy',
    ]);
    expect(rows[0].enabled).toBe(true);
  });

  it('states the batch size a new pipeline gets when the form leaves it empty, as the API applies it', async () => {
    const op = await signIn(OPERATOR);
    const form = await app.inject({
      method: 'GET',
      url: '/ui/pipelines/new',
      headers: { cookie: op.cookie },
    });
    const hint = /rows per batch \(default ([\d,]+)\)/.exec(form.body);
    expect(hint).not.toBeNull();
    const created = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: { authorization: `Bearer ${OPERATOR}` },
      payload: {
        name: 'default_batch_hint',
        source_query: 'SELECT id, title FROM content.films',
        target_table: 'analytics.default_batch_hint',
        unique_key: 'id',
      },
    });
    expect(created.statusCode).toBe(201);
    expect(Number(hint![1]!.replaceAll(',', ''))).toBe(created.json<{ batch_size: number }>().batch_size);
  });

  it('escapes hostile text: a description, a search query', async () => {
    const op = await signIn(OPERATOR);
    const page = await app.inject({
      method: 'GET',
      url: '/ui/pipelines/films_copy',
      headers: { cookie: op.cookie },
    });
    expect(page.body).toContain('x_&lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).not.toContain('<img src=x');
    const search = await app.inject({
      method: 'GET',
      url: `/ui/pipelines?q=${encodeURIComponent('"><script>alert(2)</script>')}`,
      headers: { cookie: op.cookie },
    });
    expect(search.statusCode).toBe(200);
    expect(search.body).toContain('value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"');
    expect(search.body).not.toContain('<script>alert(2)');
  });

  it('sign-out ends the session on the server: the old cookie no longer opens a page', async () => {
    const op = await signIn(OPERATOR);
    const out = await post('/ui/sign-out', { _csrf: op.csrf }, op.cookie);
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/ui/sign-in');
    expect(String(out.headers['set-cookie'])).toMatch(/siphon_session=;.*Expires=Thu, 01 Jan 1970/);
    const after = await app.inject({ method: 'GET', url: '/ui', headers: { cookie: op.cookie } });
    expect(after.statusCode).toBe(303);
    expect(after.headers.location).toBe('/ui/sign-in');
  });

  it('keeps /ui out of the OpenAPI document and the JSON API refusing form bodies', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
    const res = await app.inject({
      method: 'POST',
      url: '/pipelines/films_copy/run',
      headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'a=1',
    });
    expect(res.statusCode).toBe(415);
  });

  it('shows quota burn per credential with its reset, the enrichment backlog, and each account of a social run with its state', async () => {
    const social = await createPipeline(db, {
      name: 'yt_console',
      kind: 'social',
      mode: 'incremental',
      social: { platform: 'youtube', accounts: ['UCaaa', 'UCbbb', 'UCccc', 'UCddd'] },
    });
    await db.admin.query(
      `INSERT INTO etl.quota_limits (platform, credential, calls_per_window, window_ms, daily_units, units_used, day, day_zone, calls_total, rate_limited)
       VALUES ('youtube', 'key-<b>1</b>', 10, 1000, 10000, 8500, (now() AT TIME ZONE 'America/Los_Angeles')::date, 'America/Los_Angeles', 900, 2)`,
    );
    const run = await db.admin.query<{ id: string }>(
      `INSERT INTO etl.etl_runs (pipeline_id, config_version, trigger, mode, status, runner_id, lease_epoch)
       VALUES ($1, 1, 'api', 'incremental', 'RUNNING', 'r1', 1) RETURNING id`,
      [social.id],
    );
    const runId = run.rows[0]!.id;
    for (const [account, status, error, waitingTask] of [
      ['UCaaa', 'SUCCESS', null, false],
      ['UCbbb', 'RUNNING', null, true],
      ['UCccc', 'SKIPPED', 'account <i>gone</i>', false],
      ['UCddd', 'RUNNING', null, false],
    ] as const) {
      const acc = await db.admin.query<{ id: string }>(
        `INSERT INTO social.accounts (platform, external_id, handle) VALUES ('youtube', $1, $1) RETURNING id`,
        [account],
      );
      const job = await db.admin.query<{ id: string }>(
        `INSERT INTO etl.sync_jobs (account_id, platform, status, pipeline_id, run_id, error, finished_at)
         VALUES ($1, 'youtube', $2, $3, $4, $5, CASE WHEN $2 = 'RUNNING' THEN NULL ELSE now() END) RETURNING id`,
        [acc.rows[0]!.id, status, social.id, runId, error],
      );
      await db.admin.query(
        `INSERT INTO etl.sync_tasks (job_id, kind, external_id, status, not_before, pages, calls, written)
         VALUES ($1, 'posts', $2, $3, CASE WHEN $4 THEN now() + interval '1 hour' END, 2, 3, 40)`,
        [
          job.rows[0]!.id,
          account,
          waitingTask ? 'WAITING' : status === 'RUNNING' ? 'PENDING' : 'DONE',
          waitingTask,
        ],
      );
    }
    await db.admin.query(
      `INSERT INTO social.enrichment_jobs (platform, item_kind, item_external_id, analysis, status, deadline_at)
       VALUES ('youtube', 'post', 'p1', 'text', 'WAITING', now() - interval '1 minute'),
              ('youtube', 'post', 'p2', 'text', 'PENDING', now() + interval '1 day')`,
    );
    await db.admin.query(
      `UPDATE etl.etl_pipelines SET current_run_id = $2, status = 'RUNNING' WHERE id = $1`,
      [social.id, runId],
    );
    const viewer = await signIn(VIEWER);
    const page = await app.inject({ method: 'GET', url: '/ui/social', headers: { cookie: viewer.cookie } });
    expect(page.statusCode).toBe(200);
    const text = page.body.replace(/\s+/g, ' ').replace(/ >/g, '>');
    expect(text).toContain('<code>key-&lt;b&gt;1&lt;/b&gt;</code>');
    expect(text).toContain('8,500 of 10,000 <span class="badge" data-tone="warn">85 %</span>');
    expect(text).toMatch(/Z <span class="muted">\(in \d+ (h|min)\)/); // the Los Angeles midnight
    expect(text).toContain('youtube text: 2 waiting');
    expect(text).toContain('1 past their deadline');
    expect(text).toContain(`href="/ui/social/${social.id}"`);
    const accounts = await app.inject({
      method: 'GET',
      url: `/ui/social/${social.id}`,
      headers: { cookie: viewer.cookie },
    });
    expect(accounts.statusCode).toBe(200);
    const rows = [
      ...accounts.body.matchAll(/<tr>\s*<td>(UC\w+)[\s\S]*?data-tone="\w+">(\w+)<\/span>[\s\S]*?<\/tr>/g),
    ].map((m) => `${m[1]} ${m[2]}`);
    expect(rows).toEqual(['UCbbb waiting', 'UCddd running', 'UCccc skipped', 'UCaaa done']);
    expect(accounts.body).toContain('account &lt;i&gt;gone&lt;/i&gt;');
    const sqlPipeline = await app.inject({
      method: 'GET',
      url: '/ui/social/films_copy',
      headers: { cookie: viewer.cookie },
    });
    expect(sqlPipeline.statusCode).toBe(404);
    expect(sqlPipeline.body).toContain('SIPHON_ERR_PIPELINE_NOT_SOCIAL');
  });

  it('answers odd input with a page, never a 500', async () => {
    const op = await signIn(OPERATOR);
    const urls = [
      '/ui/runs/not-a-uuid',
      '/ui/runs/00000000-0000-0000-0000-000000000000',
      `/ui/pipelines/${'x'.repeat(300)}`,
      '/ui/pipelines/%00',
      '/ui/pipelines?kind=<x>&status=NOPE&q=' + 'y'.repeat(5000),
      '/ui/pipelines/films_copy/confirm/explode',
      '/ui/incidents?status=%27',
      '/ui/nowhere',
      '/ui/runs/00000000-0000-0000-0000-000000000000/events',
    ];
    for (const url of urls) {
      const res = await app.inject({ method: 'GET', url, headers: { cookie: op.cookie } });
      expect(res.statusCode, url).toBeLessThan(500);
      // An over-long path parameter is refused by the router itself, with the API's JSON envelope (414).
      if (res.statusCode !== 414) expect(res.headers['content-type'], url).toContain('text/html');
    }
    for (const [url, payload] of [
      ['/ui/incidents/not-a-uuid/resolve', `_csrf=${op.csrf}`],
      ['/ui/pipelines/nope/actions/run', `_csrf=${op.csrf}`],
      ['/ui/pipelines/films_copy/actions/explode', `_csrf=${op.csrf}`],
      ['/ui/pipelines/new', `_csrf=${op.csrf}&intent=save&batch_size=abc&name=%3Cx%3E`],
      ['/ui/sign-in', 'token=' + 'z'.repeat(10_000)],
      ['/ui/sign-in', '%%%'],
    ] as const) {
      const res = await app.inject({
        method: 'POST',
        url,
        payload,
        headers: { cookie: op.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.statusCode, url).toBeLessThan(500);
    }
  });

  it('marks the cookie Secure over https, and writes no token or session id to the log', async () => {
    const lines: string[] = [];
    const logged = await buildTestApp(db, {
      logger: pino({ level: 'trace' }, { write: (line: string) => lines.push(line) }),
    });
    try {
      const res = await logged.inject({
        method: 'POST',
        url: '/ui/sign-in',
        payload: `token=${OPERATOR}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https' },
      });
      expect(res.statusCode).toBe(303);
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/; Secure/);
      const session = /siphon_session=([^;]+)/.exec(setCookie)![1]!;
      const page = await logged.inject({
        method: 'GET',
        url: '/ui',
        headers: { cookie: `siphon_session=${session}` },
      });
      expect(page.statusCode).toBe(200);
      const log = lines.join('');
      expect(log).toContain('console: signed in');
      expect(log).toContain('/ui/sign-in');
      expect(log).not.toContain(OPERATOR);
      expect(log).not.toContain(session);
    } finally {
      await logged.close();
    }
  });
});
