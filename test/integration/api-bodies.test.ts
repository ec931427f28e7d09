import { execFile, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installDemoPipelines } from '../../src/demo/demo.service.js';
import { as, buildTestApp, OPERATOR, VIEWER } from '../helpers/api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testTempDir } from '../helpers/tmp.js';

let db: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  db = await createTestDatabase();
  await installDemoPipelines(db.admin);
  app = await buildTestApp(db);
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await db.drop();
});

const stored = async (name: string) =>
  (
    await db.admin.query(
      `SELECT name, description, source_query, target_table, unique_key, mode, batch_size, incremental_key,
              lookback, enabled, schedule, freshness, version FROM etl.etl_pipelines WHERE name = $1`,
      [name],
    )
  ).rows[0];

/** [field, wrong value]: every field of a pipeline, with types and values POST refuses. */
const WRONG: Array<[string, unknown]> = [
  ...[true, 1, [], {}, null, 'Bad Name', 'a'.repeat(64)].map((v) => ['name', v] as [string, unknown]),
  ...[true, 1, [], {}, 'x'.repeat(2001)].map((v) => ['description', v] as [string, unknown]),
  ...[true, 1, [], {}, '', '   ', 'x'.repeat(100_001)].map((v) => ['source_query', v] as [string, unknown]),
  ...[true, false, 1, [], {}, '', 'a.b.c', 'Bad Table'].map((v) => ['target_table', v] as [string, unknown]),
  ...[true, 1, {}, [], ['film_id', 'film_id'], 'Bad-Key', [1]].map(
    (v) => ['unique_key', v] as [string, unknown],
  ),
  ...[true, 1, 'sideways', null, []].map((v) => ['mode', v] as [string, unknown]),
  ...['100', true, 1.5, 0, -1, 1_000_001, null, []].map((v) => ['batch_size', v] as [string, unknown]),
  ...[true, 1, [], 'Bad Key'].map((v) => ['incremental_key', v] as [string, unknown]),
  ...[true, 1, '5 minutes', []].map((v) => ['lookback', v] as [string, unknown]),
  ...['true', 1, 'yes', null, []].map((v) => ['enabled', v] as [string, unknown]),
  ...[true, 1, 'every day', 'x'.repeat(121), []].map((v) => ['schedule', v] as [string, unknown]),
  ...[true, 1, '0s', '5x', []].map((v) => ['freshness', v] as [string, unknown]),
  ...[true, 'x', 1, { platform: 'youtube', accounts: ['a'] }].map((v) => ['social', v] as [string, unknown]),
];

describe('one schema for every write route', () => {
  it.each(WRONG)('PATCH %s = %j is refused with its field, and nothing changes', async (field, value) => {
    const before = await stored('film_dim_full');
    const res = await app.inject({
      method: 'PATCH',
      url: '/pipelines/film_dim_full',
      headers: { ...as(OPERATOR), 'if-match': `"${before.version}"` },
      payload: { [field]: value },
    });
    expect(res.statusCode, res.body).toBe(422);
    const error = res.json().error;
    expect(error.code).toBe('SIPHON_ERR_PIPELINE_INVALID');
    expect(String(error.field)).toMatch(new RegExp(`^${field}(\\.|$)`));
    // Every issue names its field from the body's root, as POST's do.
    for (const issue of error.details.issues)
      expect(String(issue.field)).toMatch(new RegExp(`^${field}(\\.|$)`));
    expect(await stored('film_dim_full')).toEqual(before);
  });

  it.each(WRONG)('POST with %s = %j is refused with its field', async (field, value) => {
    const res = await app.inject({
      method: 'POST',
      url: '/pipelines',
      headers: as(OPERATOR),
      payload: {
        name: 'typed_mart',
        source_query: 'SELECT id, title FROM content.film_work',
        target_table: 'analytics.typed_mart',
        unique_key: 'id',
        [field]: value,
      },
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('SIPHON_ERR_PIPELINE_INVALID');
    expect(String(res.json().error.field)).toMatch(new RegExp(`^${field}(\\.|$)`));
    expect(await stored('typed_mart')).toBeUndefined();
  });

  it('PATCH refuses kind, unknown fields and a malformed version; a body that is not an object', async () => {
    const before = await stored('film_dim_full');
    for (const [payload, field] of [
      [{ kind: 'social' }, 'kind'],
      [{ nope: 1 }, 'nope'],
      [{ version: 'one', batch_size: 5 }, 'version'],
      [{ version: 1.5, batch_size: 5 }, 'version'],
    ] as const) {
      const res = await app.inject({
        method: 'PATCH',
        url: '/pipelines/film_dim_full',
        headers: { ...as(OPERATOR), 'if-match': `"${before.version}"` },
        payload,
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_INVALID', field });
    }
    const array = await app.inject({
      method: 'PATCH',
      url: '/pipelines/film_dim_full',
      headers: { ...as(OPERATOR), 'if-match': `"${before.version}"`, 'content-type': 'application/json' },
      payload: '[1, 2]',
    });
    expect(array.statusCode).toBe(422);
    expect(await stored('film_dim_full')).toEqual(before);
  });

  it('PUT tasks validates the list with the task schema and names the step field', async () => {
    for (const [payload, field] of [
      [{}, 'tasks'],
      [{ tasks: 'x' }, 'tasks'],
      [{ tasks: [], more: 1 }, 'more'],
      [{ tasks: [{ name: 'a', task_type: 'SQL', sql: true }] }, 'tasks.0.sql'],
      [{ tasks: [{ name: 'a', task_type: 'PYTHON' }] }, 'tasks.0.task_type'],
    ] as const) {
      const res = await app.inject({
        method: 'PUT',
        url: '/pipelines/film_dim_full/tasks',
        headers: as(OPERATOR),
        payload,
      });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'SIPHON_ERR_PIPELINE_INVALID', field });
    }
  });

  it('query strings are still converted to their types', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/pipelines?limit=2&enabled=true',
      headers: as(VIEWER),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().limit).toBe(2);
  });

  it('a repeated pause or run is a 200 that says nothing changed; a change is a 202', async () => {
    const post = (url: string) => app.inject({ method: 'POST', url, headers: as(OPERATOR) });
    const first = await post('/pipelines/film_dim_incremental/run');
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ status: 'RUN_REQUESTED', changed: true });
    const again = await post('/pipelines/film_dim_incremental/run');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'RUN_REQUESTED', changed: false });
    const pause = await post('/pipelines/film_dim_incremental/pause');
    expect(pause.statusCode).toBe(202);
    expect(pause.json()).toMatchObject({ status: 'PAUSED', changed: true });
    const pauseAgain = await post('/pipelines/film_dim_incremental/pause');
    expect(pauseAgain.statusCode).toBe(200);
    expect(pauseAgain.json()).toMatchObject({ status: 'PAUSED', changed: false });
    const idle = await post('/pipelines/film_dim_full/pause');
    expect(idle.statusCode).toBe(409);
    expect(idle.json().error.code).toBe('SIPHON_ERR_PIPELINE_TRANSITION');
  });
});

describe('the OpenAPI document shows the real bodies', () => {
  type Schema = {
    type?: string;
    properties?: Record<string, Schema>;
    items?: Schema;
    enum?: string[];
    example?: unknown;
    additionalProperties?: unknown;
  };
  type Operation = { requestBody?: { content: Record<string, { schema: Schema }> } };
  const doc = () => app.swagger() as { paths: Record<string, Record<string, Operation>> };
  const bodyOf = (path: string, method: string) =>
    doc().paths[path]![method]!.requestBody?.content['application/json']?.schema;

  it('every route that takes a body documents its fields', () => {
    const withBodies = Object.entries(doc().paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => op.requestBody)
        .map(([method, op]) => ({
          route: `${method} ${path}`,
          schema: op.requestBody!.content['application/json']!.schema,
        })),
    );
    expect(withBodies.map((b) => b.route)).toEqual(
      expect.arrayContaining([
        'post /pipelines',
        'patch /pipelines/{id}',
        'post /pipelines/validate',
        'put /pipelines/{id}/tasks',
      ]),
    );
    for (const { route, schema } of withBodies) {
      expect(Object.keys(schema.properties ?? {}).length, route).toBeGreaterThan(0);
    }
  });

  it('the pipeline body lists every field with its type, the steps with task_type, and an example', () => {
    const create = bodyOf('/pipelines', 'post')!;
    expect(Object.keys(create.properties!)).toEqual(
      expect.arrayContaining([
        'name',
        'source_query',
        'target_table',
        'unique_key',
        'mode',
        'batch_size',
        'tasks',
        'social',
      ]),
    );
    expect(create.properties!.mode!.enum).toEqual(['full', 'incremental']);
    expect(create.properties!.batch_size!.type).toBe('integer');
    expect(create.properties!.tasks!.items!.properties!.task_type!.enum).toEqual(['SQL', 'CODE']);
    expect(create.example).toMatchObject({ unique_key: 'film_id' });
    expect(bodyOf('/pipelines/validate', 'post')!.properties).toEqual(create.properties);
    const patch = bodyOf('/pipelines/{id}', 'patch')!;
    expect(Object.keys(patch.properties!)).toContain('version');
    expect(Object.keys(patch.properties!)).not.toContain('kind');
    expect(patch.properties!.target_table).toEqual(create.properties!.target_table);
    const tasks = bodyOf('/pipelines/{id}/tasks', 'put')!;
    expect(tasks.properties!.tasks!.items!.properties!.task_name).toBeDefined();
  });
});

describe('over-limit bodies are answered 413, to Node fetch and curl alike', () => {
  let server: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    server = await buildTestApp(db, { bodyLimit: 1_048_576 });
    await server.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  const bodyOfSize = (bytes: number) => JSON.stringify({ name: 'big', description: 'x'.repeat(bytes) });
  const routes: Array<[string, string]> = [
    ['POST', '/pipelines'],
    ['POST', '/pipelines/validate'],
    ['PATCH', '/pipelines/film_dim_full'],
    ['PUT', '/pipelines/film_dim_full/tasks'],
    ['POST', '/pipelines/film_dim_full/reconcile'],
    ['POST', '/incidents/1/acknowledge'],
  ];

  it.each(routes.flatMap(([method, path]) => [2, 20].map((mb) => [method, path, mb] as const)))(
    '%s %s with %i MB: fetch reads a coded 413',
    async (method, path, mb) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...as(OPERATOR), 'content-type': 'application/json', 'if-match': '"1"' },
        body: bodyOfSize(mb * 1_000_000),
      });
      expect(res.status).toBe(413);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('SIPHON_ERR_REQUEST_TOO_LARGE');
      expect(body.error.message).toMatch(/over the limit of 1 MiB \(SIPHON_API_BODY_LIMIT\)/);
    },
  );

  it('curl reads the same 413', async () => {
    const curl = spawnSync('curl', ['--version']);
    if (curl.status !== 0) {
      console.warn('[413] curl is not installed: skipping the curl check');
      return;
    }
    const file = join(testTempDir('body'), 'big.json');
    writeFileSync(file, bodyOfSize(2_000_000));
    // Asynchronously: the server answering curl runs in this same process.
    const out = await promisify(execFile)(
      'curl',
      [
        '-s',
        '-X',
        'POST',
        `${base}/pipelines`,
        '-H',
        `authorization: Bearer ${OPERATOR}`,
        '-H',
        'content-type: application/json',
        '--data-binary',
        `@${file}`,
        '-w',
        '\n%{http_code}',
      ],
      { encoding: 'utf8' },
    );
    const [body, status] = out.stdout.trim().split('\n');
    expect(status).toBe('413');
    expect(JSON.parse(body!).error.code).toBe('SIPHON_ERR_REQUEST_TOO_LARGE');
  });

  it('a body streamed without Content-Length (chunked) past the limit: a coded 413 the client reads', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 4 MB in 64 kB chunks, a JSON string the server cannot know the size of in advance.
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"name":"big","description":"'));
        if (sent >= 4_000_000) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(new TextEncoder().encode(chunk));
      },
    });
    const res = await fetch(`${base}/pipelines`, {
      method: 'POST',
      headers: { ...as(OPERATOR), 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'SIPHON_ERR_REQUEST_TOO_LARGE',
    );
  });

  it('node:http writing a chunked body in a loop past the limit reads a coded 413, and the server serves on', async () => {
    const { port } = server.server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; body: string; sent: number; headers: string[] }>(
      (resolve, reject) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/pipelines',
          headers: { ...as(OPERATOR), 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        });
        req.on('error', reject); // EPIPE / ECONNRESET: the client never read the answer
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (part: string) => (body += part));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body, sent, headers: req.getHeaderNames() }),
          );
        });
        // 3 MB in 64 kB writes, waiting for 'drain' as a streaming client does; no Content-Length.
        const chunk = 'x'.repeat(64 * 1024);
        let sent = 0;
        req.write('{"name":"big","description":"');
        const writeMore = () => {
          while (sent < 3_000_000) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', writeMore);
          }
          req.end('"}');
        };
        writeMore();
      },
    );
    expect(answer.headers).toContain('transfer-encoding');
    expect(answer.headers).not.toContain('content-length');
    expect(answer.sent).toBeGreaterThan(1_048_576);
    expect(answer.status).toBe(413);
    const parsed = JSON.parse(answer.body) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('SIPHON_ERR_REQUEST_TOO_LARGE');
    expect(parsed.error.message).toMatch(/SIPHON_API_BODY_LIMIT/);
    // The same server answers the next request.
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { database: string }).database).toBe('reachable');
  });

  it('a body under the limit still works on the same server', async () => {
    const res = await fetch(`${base}/pipelines/film_dim_full`, { headers: as(VIEWER) });
    expect(res.status).toBe(200);
  });
});

describe('fuzzing the write routes: PATCH bodies, tasks, incidents and social routes', () => {
  const jsonValue = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ maxLength: 30 }),
      fc.constantFrom('film_id', 'analytics.x', 'SELECT 1 AS id', '\u0000', 'true', '-1', 'a'.repeat(3000)),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 3 }),
    ),
  })).value;
  const patchLike = fc.dictionary(
    fc.constantFrom(
      'name',
      'description',
      'source_query',
      'target_table',
      'unique_key',
      'mode',
      'batch_size',
      'incremental_key',
      'lookback',
      'enabled',
      'schedule',
      'freshness',
      'social',
      'kind',
      'version',
      'tasks',
    ),
    jsonValue,
    { maxKeys: 4 },
  );

  it('PATCH with the right version and random bodies: never a 500, nothing lost', async () => {
    await fc.assert(
      fc.asyncProperty(patchLike, async (body) => {
        const before = await stored('film_rating_agg_full');
        const res = await app.inject({
          method: 'PATCH',
          url: '/pipelines/film_rating_agg_full',
          headers: { ...as(OPERATOR), 'if-match': `"${before.version}"` },
          payload: body,
        });
        expect(res.statusCode, res.body.slice(0, 300)).toBeLessThan(500);
        const after = await stored('film_rating_agg_full');
        if (res.statusCode >= 400) {
          expect(res.json().error.code).toMatch(/^SIPHON_ERR_[A-Z_]+$/);
          expect(after).toEqual(before);
        } else {
          // Accepted: a valid configuration was stored as a new version (or nothing changed).
          expect(after.version).toBeGreaterThanOrEqual(before.version);
          const check = await app.inject({
            method: 'PATCH',
            url: '/pipelines/film_rating_agg_full',
            headers: { ...as(OPERATOR), 'if-match': `"${after.version}"` },
            payload: { description: before.description },
          });
          expect(check.statusCode, check.body).toBe(200);
        }
      }),
      { numRuns: 150, seed: Number(process.env.SIPHON_FUZZ_SEED ?? 20261205) },
    );
  }, 120_000);

  it('tasks, incidents, sync and quota routes with random bodies and ids: never a 500', async () => {
    const targets = [
      ['PUT', '/pipelines/film_rating_agg_full/tasks'],
      ['POST', '/incidents/{x}/acknowledge'],
      ['POST', '/incidents/{x}/resolve'],
      ['GET', '/incidents/{x}'],
      ['GET', '/pipelines/{x}/sync'],
      ['GET', '/quotas'],
      ['POST', '/pipelines/{x}/reconcile'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.nat(targets.length - 1),
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('1', '-1', '99999999999999999999', 'film_dim_full'),
        ),
        fc.oneof(jsonValue, fc.record({ tasks: jsonValue }, { requiredKeys: [] })),
        async (pick, id, body) => {
          const [method, path] = targets[pick]!;
          const res = await app.inject({
            method,
            url: path.replace('{x}', encodeURIComponent(id)),
            headers: as(OPERATOR),
            ...(method === 'GET'
              ? {}
              : {
                  payload: JSON.stringify(body),
                  headers: { ...as(OPERATOR), 'content-type': 'application/json' },
                }),
          });
          expect(res.statusCode, `${method} ${path} ${res.body.slice(0, 300)}`).toBeLessThan(500);
          if (res.statusCode >= 400) expect(res.json().error.code).toMatch(/^SIPHON_ERR_[A-Z_]+$/);
        },
      ),
      { numRuns: 200, seed: Number(process.env.SIPHON_FUZZ_SEED ?? 20261205) },
    );
    // The demo pipelines are all still there and valid.
    const list = await app.inject({ method: 'GET', url: '/pipelines', headers: as(VIEWER) });
    expect(list.json().items.length).toBeGreaterThanOrEqual(4);
  }, 120_000);
});
