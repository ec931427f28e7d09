import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDeps } from '../../src/api/index.js';
import {
  attachIncidentReporting,
  createWebhookNotifier,
  incidentFingerprint,
  nextIncidentStatus,
  openOrFold,
  reportIncident,
  type IncidentNotifier,
  type IncidentRow,
  type IncidentSubscription,
} from '../../src/incidents/index.js';
import { findFreePort } from '../../src/bootstrap/ports.js';
import { RunnerEvents, type Runner } from '../../src/runner/index.js';
import { OPERATOR, VIEWER, as, buildTestApp } from '../helpers/api.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, exited, killAllSpawned, spawnCli, waitForOutput } from '../helpers/processes.js';
import { count, createPipeline, requestRun, silentLogger, startTestRunner } from '../helpers/runner.js';

/** A local webhook receiver: records every POST; `mode` decides how it answers. */
interface Receiver {
  readonly url: string;
  readonly received: { event: string; incident: IncidentRow & { id: string } }[];
  mode: 'ok' | 'error' | 'hang';
  /** Requests that were not a JSON POST. */
  malformed: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const receiver = {
    url: '',
    received: [] as Receiver['received'],
    mode: 'ok' as Receiver['mode'],
    malformed: 0,
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (receiver.mode === 'hang') {
        hanging.push(response);
        return;
      }
      if (request.method !== 'POST' || request.headers['content-type'] !== 'application/json') {
        receiver.malformed += 1;
        response.writeHead(400).end();
        return;
      }
      receiver.received.push(JSON.parse(body));
      response.writeHead(receiver.mode === 'ok' ? 204 : 500).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

let db: TestDatabase;
let receiver: Receiver;
let notifier: IncidentNotifier;
let app: FastifyInstance;
let runner: Runner | undefined;
let subscription: IncidentSubscription | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startReceiver();
  notifier = createWebhookNotifier({ url: receiver.url, logger: silentLogger, timeoutMs: 2000 });
  // The API as startApi builds it when SIPHON_INCIDENT_WEBHOOK_URL is set: a resolution by a person
  // through the API reaches the webhook (typed, so the notifier cannot silently drop out of ApiDeps).
  app = await buildTestApp(db, { incidentNotifier: notifier } satisfies Partial<ApiDeps>);
});
afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  await subscription?.drain();
  subscription?.detach();
  subscription = undefined;
  receiver.mode = 'ok';
});
afterAll(async () => {
  await killAllSpawned();
  await app.close();
  await receiver.close();
  await db.drop();
});

/** A pipeline whose runs fail with division by zero until `fix()`. */
async function failingPipeline(name: string) {
  await createSourceTable(db, `content.${name} (id int PRIMARY KEY, d int NOT NULL)`);
  await db.admin.query(
    `INSERT INTO content.${name} SELECT i, CASE WHEN i = 7 THEN 0 ELSE 1 END FROM generate_series(1, 20) i`,
  );
  const pipeline = await createPipeline(db, {
    name,
    source_query: `SELECT id, 100 / d AS q FROM content.${name}`,
    target_table: `analytics.${name}`,
    unique_key: 'id',
    batch_size: 5,
  });
  return { pipeline, fix: () => db.admin.query(`UPDATE content.${name} SET d = 1`) };
}

/** Requests a run and waits for the runner's event (`run:failed` or `run:succeeded`), then the incidents. */
async function runUntil(pipelineId: string, event: 'run:failed' | 'run:succeeded') {
  const seen = new Promise<string>((resolve) => {
    const listener = (e: { pipelineId: string; runId: string }) => {
      if (e.pipelineId !== pipelineId) return;
      runner!.events.off(event, listener);
      resolve(e.runId);
    };
    runner!.events.on(event, listener);
  });
  await requestRun(db, pipelineId);
  const runId = await seen;
  await subscription!.drain();
  return runId;
}

async function startRunnerWithIncidents(incidentNotifier: IncidentNotifier = notifier) {
  runner = await startTestRunner(db);
  subscription = attachIncidentReporting(runner.events, {
    db: db.writer,
    logger: silentLogger,
    notifier: incidentNotifier,
  });
}

const get = async (url: string, token = VIEWER) => app.inject({ method: 'GET', url, headers: as(token) });
const post = async (url: string, token = OPERATOR) => app.inject({ method: 'POST', url, headers: as(token) });

describe('the incident rules', () => {
  it('fingerprints by kind, pipeline, error code and subject; a status machine that only moves forward', () => {
    expect(
      incidentFingerprint({ kind: 'pipeline_failed', pipelineId: 'p1', errorCode: 'E', message: 'x' }),
    ).toBe('pipeline_failed:p1:E:-');
    expect(incidentFingerprint({ kind: 'quota_exhausted', subject: 'youtube:key-a', message: 'x' })).toBe(
      'quota_exhausted:-:-:youtube:key-a',
    );
    expect(nextIncidentStatus('OPEN', 'acknowledge')).toBe('ACKNOWLEDGED');
    expect(nextIncidentStatus('ACKNOWLEDGED', 'acknowledge')).toBeUndefined();
    expect(nextIncidentStatus('ACKNOWLEDGED', 'resolve')).toBe('RESOLVED');
    expect(nextIncidentStatus('RESOLVED', 'resolve')).toBeUndefined();
    expect(nextIncidentStatus('RESOLVED', 'acknowledge')).toBeUndefined();
  });
});

describe('incidents from real runner failures', () => {
  it('opens on a failed run, folds repeats, is acknowledged, and resolves itself when the pipeline succeeds', async () => {
    const { pipeline, fix } = await failingPipeline('inc_a');
    await startRunnerWithIncidents();
    const firstRun = await runUntil(pipeline.id, 'run:failed');

    const open = await get(`/incidents?status=OPEN&pipeline=${pipeline.name}`);
    expect(open.statusCode).toBe(200);
    expect(open.json().items).toHaveLength(1);
    const incident = open.json().items[0];
    expect(incident).toMatchObject({
      kind: 'pipeline_failed',
      status: 'OPEN',
      pipeline_id: pipeline.id,
      pipeline_name: 'inc_a',
      run_id: firstRun,
      error_code: 'SIPHON_ERR_BATCH_FAILED',
      count: 1,
      trace_id: null,
      fingerprint: `pipeline_failed:${pipeline.id}:SIPHON_ERR_BATCH_FAILED:-`,
    });
    expect(incident.message).toMatch(/division by zero/);
    await notifier.drain();
    expect(receiver.received.filter((r) => r.incident.id === incident.id).map((r) => r.event)).toEqual([
      'opened',
    ]);
    expect(receiver.received.at(-1)!.incident).toMatchObject({ id: incident.id, status: 'OPEN', count: 1 });
    expect(receiver.malformed).toBe(0);

    // A repeat folds into the open incident: one incident, count 2, the latest run, no second webhook.
    const secondRun = await runUntil(pipeline.id, 'run:failed');
    const folded = (await get(`/incidents/${incident.id}`)).json();
    expect(folded).toMatchObject({ status: 'OPEN', count: 2, run_id: secondRun });
    expect(new Date(folded.last_seen_at) > new Date(folded.first_seen_at)).toBe(true);
    expect(folded.first_seen_at).toBe(incident.first_seen_at);
    expect(await count(db, 'SELECT count(*) FROM etl.incidents WHERE pipeline_id = $1', [pipeline.id])).toBe(
      1,
    );

    // A viewer may read but not acknowledge; an operator acknowledges once.
    expect((await post(`/incidents/${incident.id}/acknowledge`, VIEWER)).statusCode).toBe(403);
    const acked = await post(`/incidents/${incident.id}/acknowledge`);
    expect(acked.statusCode).toBe(200);
    expect(acked.json()).toMatchObject({ status: 'ACKNOWLEDGED', acknowledged_by: 'operator-1', count: 2 });
    const again = await post(`/incidents/${incident.id}/acknowledge`);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'SIPHON_ERR_INCIDENT_TRANSITION',
      details: { status: 'ACKNOWLEDGED' },
    });

    // A failure while acknowledged still folds into it, and it stays acknowledged.
    await runUntil(pipeline.id, 'run:failed');
    expect((await get(`/incidents/${incident.id}`)).json()).toMatchObject({
      status: 'ACKNOWLEDGED',
      count: 3,
    });

    // The pipeline succeeds again: its incident resolves itself and the webhook hears it.
    await fix();
    await runUntil(pipeline.id, 'run:succeeded');
    const resolved = (await get(`/incidents/${incident.id}`)).json();
    expect(resolved).toMatchObject({ status: 'RESOLVED', resolved_by: 'auto', count: 3 });
    await notifier.drain();
    expect(receiver.received.filter((r) => r.incident.id === incident.id).map((r) => r.event)).toEqual([
      'opened',
      'resolved',
    ]);
    expect((await get(`/incidents?status=OPEN&pipeline=${pipeline.id}`)).json().items).toEqual([]);

    // Resolving it again is refused; it is no longer listed as open.
    const twice = await post(`/incidents/${incident.id}/resolve`);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('SIPHON_ERR_INCIDENT_TRANSITION');
  });

  it('a problem that comes back after being resolved opens a new incident, which a person resolves', async () => {
    const { pipeline } = await failingPipeline('inc_b');
    await startRunnerWithIncidents();
    await runUntil(pipeline.id, 'run:failed');
    const first = (await get(`/incidents?pipeline=${pipeline.name}`)).json().items[0];
    const resolved = await post(`/incidents/${first.id}/resolve`);
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json()).toMatchObject({
      status: 'RESOLVED',
      resolved_by: 'operator-1',
      acknowledged_at: null,
    });
    await notifier.drain();
    expect(receiver.received.filter((r) => r.incident.id === first.id).map((r) => r.event)).toEqual([
      'opened',
      'resolved',
    ]);

    await runUntil(pipeline.id, 'run:failed');
    const all = (await get(`/incidents?pipeline=${pipeline.name}`)).json().items;
    expect(all.map((i: IncidentRow) => i.status)).toEqual(['OPEN', 'RESOLVED']);
    expect(all[0].id).not.toBe(first.id);
    expect(all[0].count).toBe(1);
  });
});

describe('the incidents API', () => {
  it('pages and filters, answers 404 for an unknown id and 400 for a malformed one, needs a token', async () => {
    const reports = ['a', 'b', 'c'].map((s) =>
      openOrFold(
        { db: db.writer },
        { kind: 'quota_exhausted', subject: `paging:${s}`, message: `quota ${s}` },
      ),
    );
    await Promise.all(reports);
    const page = (await get('/incidents?status=OPEN&limit=2&offset=0')).json();
    expect(page).toMatchObject({ limit: 2, offset: 0 });
    expect(page.items).toHaveLength(2);
    const next = (await get('/incidents?status=OPEN&limit=2&offset=2')).json();
    expect(next.items.length).toBeGreaterThanOrEqual(1);
    expect(next.items.map((i: IncidentRow) => i.id)).not.toContain(page.items[0].id);
    expect((await get('/incidents?pipeline=no_such_pipeline')).json().items).toEqual([]);
    expect((await get('/incidents?status=CLOSED')).statusCode).toBe(400);
    for (const pipeline of ['%00', 'a%20b', "x'--"]) {
      const refused = await get(`/incidents?pipeline=${pipeline}`);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.code).toBe('SIPHON_ERR_REQUEST_INVALID');
    }

    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const response of [
      await get(`/incidents/${unknown}`),
      await post(`/incidents/${unknown}/acknowledge`),
      await post(`/incidents/${unknown}/resolve`),
    ]) {
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('SIPHON_ERR_INCIDENT_NOT_FOUND');
    }
    const malformed = await get('/incidents/not-a-uuid');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('SIPHON_ERR_REQUEST_INVALID');
    expect((await app.inject({ method: 'GET', url: '/incidents' })).statusCode).toBe(401);
  });
});

describe('the incidents API under hostile input', () => {
  it('no id, query or body makes a 500: every error is JSON with a stable code', async () => {
    const { incident } = await openOrFold(
      { db: db.writer },
      { kind: 'quota_exhausted', subject: 'fuzz', message: 'daily quota spent' },
    );
    const nasty = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '\u0000',
        '%00',
        "'; DROP TABLE etl.incidents; --",
        'a'.repeat(5000),
        '-1',
        incident.id,
      ),
    );
    const routes = [
      'GET /incidents',
      'GET /incidents/{id}',
      'POST /incidents/{id}/acknowledge',
      'POST /incidents/{id}/resolve',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        nasty,
        fc.dictionary(fc.constantFrom('status', 'pipeline', 'limit', 'offset', 'x'), nasty, { maxKeys: 3 }),
        fc.oneof(fc.constant(undefined), fc.jsonValue()),
        async (route, id, query, body) => {
          const [method, path] = route.split(' ') as ['GET' | 'POST', string];
          const res = await app.inject({
            method,
            url: path.replace('{id}', encodeURIComponent(id)),
            query,
            headers: {
              ...as(OPERATOR),
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            ...(body === undefined || method === 'GET' ? {} : { payload: JSON.stringify(body) }),
          });
          expect(res.statusCode, `${route} ${id} → ${res.body.slice(0, 200)}`).toBeLessThan(500);
          if (res.statusCode >= 400) expect(res.json().error.code).toMatch(/^SIPHON_ERR_[A-Z_]+$/);
        },
      ),
      { numRuns: 300, seed: 20261122 },
    );
  });
});

describe('lease takeovers', () => {
  it('the third takeover of one pipeline within an hour opens an incident; later ones fold into it', async () => {
    const { pipeline } = await failingPipeline('inc_takeover');
    const events = new RunnerEvents();
    subscription = attachIncidentReporting(events, { db: db.writer, logger: silentLogger, notifier });
    const takeover = async (startedAgo: string) => {
      const { rows } = await db.admin.query<{ id: string }>(
        `INSERT INTO etl.etl_runs (pipeline_id, config_version, trigger, mode, status, runner_id, lease_epoch, started_at)
         VALUES ($1, 1, 'takeover', 'full', 'INTERRUPTED', 'r', 1, now() - $2::interval) RETURNING id`,
        [pipeline.id, startedAgo],
      );
      events.emit('run:claimed', {
        pipelineId: pipeline.id,
        pipelineName: pipeline.name,
        runId: rows[0]!.id,
        epoch: 1,
        takeover: true,
      });
      await subscription!.drain();
    };
    const takeoverIncidents = () =>
      count(db, `SELECT count(*) FROM etl.incidents WHERE kind = 'lease_takeovers' AND pipeline_id = $1`, [
        pipeline.id,
      ]);

    await takeover('2 hours'); // outside the window: does not count
    await takeover('10 minutes');
    // A claim that is not a takeover is not counted.
    events.emit('run:claimed', {
      pipelineId: pipeline.id,
      pipelineName: pipeline.name,
      runId: 'x',
      epoch: 2,
      takeover: false,
    });
    await takeover('1 minute');
    expect(await takeoverIncidents()).toBe(0);

    await takeover('0 seconds');
    expect(await takeoverIncidents()).toBe(1);
    await takeover('0 seconds');
    const { rows } = await db.admin.query(
      `SELECT status, count, error_code, details FROM etl.incidents WHERE kind = 'lease_takeovers' AND pipeline_id = $1`,
      [pipeline.id],
    );
    expect(rows).toEqual([
      {
        status: 'OPEN',
        count: 2,
        error_code: 'SIPHON_ERR_RUNNER_LEASE_EXPIRED',
        details: { takeovers: 4, window_ms: 3_600_000, epoch: 1 },
      },
    ]);
  });
});

describe('unreachable accounts', () => {
  it('a jump in the share of skipped accounts opens accounts_unreachable; a slow drift does not', async () => {
    const { pipeline } = await failingPipeline('inc_unreachable');
    const events = new RunnerEvents();
    subscription = attachIncidentReporting(events, { db: db.writer, logger: silentLogger, notifier });
    const accounts = (
      await db.admin.query<{ id: string }>(
        `INSERT INTO social.accounts (platform, external_id)
         SELECT 'youtube', 'UCjump' || g FROM generate_series(1, 40) g RETURNING id`,
      )
    ).rows.map((r) => r.id);
    /** A finished social run of `pipeline` with `skipped` of 40 accounts skipped. */
    const succeed = async (skipped: number) => {
      const { rows } = await db.admin.query<{ id: string }>(
        `INSERT INTO etl.etl_runs (pipeline_id, config_version, trigger, mode, status, runner_id, lease_epoch,
                                   started_at, finished_at)
         VALUES ($1, 1, 'manual', 'incremental', 'SUCCESS', 'r', 1, clock_timestamp(), clock_timestamp())
         RETURNING id`,
        [pipeline.id],
      );
      const runId = rows[0]!.id;
      await db.admin.query(
        `INSERT INTO etl.sync_jobs (account_id, platform, status, pipeline_id, run_id, job_kind, finished_at)
         SELECT a, 'youtube', CASE WHEN n <= $3 THEN 'SKIPPED' ELSE 'SUCCESS' END, $1, $2, 'sync', now()
           FROM unnest($4::uuid[]) WITH ORDINALITY AS u(a, n)`,
        [pipeline.id, runId, skipped, accounts],
      );
      events.emit('run:succeeded', {
        pipelineId: pipeline.id,
        runId,
        rowsRead: 0,
        rowsWritten: 0,
        rowsDeleted: 0,
        durationMs: 1,
      });
      await subscription!.drain();
      return runId;
    };
    const incidents = async () =>
      (
        await db.admin.query<{ run_id: string; message: string; details: unknown; count: number }>(
          `SELECT run_id, message, details, count FROM etl.incidents
            WHERE kind = 'accounts_unreachable' AND pipeline_id = $1`,
          [pipeline.id],
        )
      ).rows;

    await succeed(2); // a first run with 2 of 40 skipped: under 3 accounts
    await succeed(3); // 7.5 % after 5 %: +2.5 points, not a jump
    await succeed(4); // 10 % after 7.5 %: a drift
    expect(await incidents()).toEqual([]);
    const jumped = await succeed(12); // 30 % after 10 %
    expect(await incidents()).toEqual([
      {
        run_id: jumped,
        count: 1,
        message: expect.stringMatching(/^12 of 40 accounts were unreachable \(30 %, 10 % on the previous/),
        details: { skipped: 12, jobs: 40, previous_skipped: 4, previous_jobs: 40 },
      },
    ]);
    await succeed(13); // stays high: compared with 30 %, no new report
    expect((await incidents())[0]!.count).toBe(1);
  });
});

describe('reportIncident (for the social sync)', () => {
  it('folds per credential, keeps credentials apart, and concurrent reports make exactly one incident', async () => {
    const deps = { db: db.writer, logger: silentLogger, notifier };
    const rejected = (subject: string) =>
      reportIncident(deps, {
        kind: 'credential_rejected',
        subject,
        errorCode: 'SIPHON_ERR_CONNECTOR_AUTH',
        message: 'API key not valid',
        traceId: 'trace-123',
        details: { platform: 'youtube' },
      });
    const reports = await Promise.all(Array.from({ length: 12 }, () => rejected('youtube:key-one')));
    expect(new Set(reports.map((r) => r!.id)).size).toBe(1);
    const other = await rejected('youtube:key-two');
    expect(other!.id).not.toBe(reports[0]!.id);
    const { rows } = await db.admin.query(
      `SELECT fingerprint, count, trace_id, status FROM etl.incidents WHERE kind = 'credential_rejected' ORDER BY fingerprint`,
    );
    expect(rows).toEqual([
      {
        fingerprint: 'credential_rejected:-:SIPHON_ERR_CONNECTOR_AUTH:youtube:key-one',
        count: 12,
        trace_id: 'trace-123',
        status: 'OPEN',
      },
      {
        fingerprint: 'credential_rejected:-:SIPHON_ERR_CONNECTOR_AUTH:youtube:key-two',
        count: 1,
        trace_id: 'trace-123',
        status: 'OPEN',
      },
    ]);
    await notifier.drain();
    const opened = receiver.received.filter((r) => r.incident.kind === 'credential_rejected');
    expect(opened.map((r) => r.event)).toEqual(['opened', 'opened']);

    // A long message is cut to the stored length.
    const long = await reportIncident(deps, {
      kind: 'quota_exhausted',
      subject: 'long',
      message: 'x'.repeat(5000),
    });
    expect(long!.message).toHaveLength(2000);
  });

  it('never throws: a database that refuses the write yields undefined', async () => {
    // The API role may not open incidents (only acknowledge and resolve them).
    const result = await reportIncident(
      { db: db.api, logger: silentLogger },
      { kind: 'quota_exhausted', subject: 'denied', message: 'daily quota spent' },
    );
    expect(result).toBeUndefined();
  });
});

describe('a webhook that fails', () => {
  it('down, slow or answering 500: the incident is recorded and the runner keeps working', async () => {
    const closed = await startReceiver();
    const downUrl = closed.url;
    await closed.close();
    const down = createWebhookNotifier({ url: downUrl, logger: silentLogger, timeoutMs: 500 });

    const { pipeline, fix } = await failingPipeline('inc_webhook');
    await startRunnerWithIncidents(down);
    await runUntil(pipeline.id, 'run:failed');
    expect(await count(db, 'SELECT count(*) FROM etl.incidents WHERE pipeline_id = $1', [pipeline.id])).toBe(
      1,
    );

    // A receiver that never answers is given up after the timeout.
    receiver.mode = 'hang';
    const slow = createWebhookNotifier({ url: receiver.url, logger: silentLogger, timeoutMs: 300 });
    const started = Date.now();
    await reportIncident(
      { db: db.writer, logger: silentLogger, notifier: slow },
      {
        kind: 'quota_exhausted',
        subject: 'slow-receiver',
        message: 'daily quota spent',
      },
    );
    await slow.drain();
    expect(Date.now() - started).toBeLessThan(5000);

    // A receiver that answers 500 is logged and forgotten.
    receiver.mode = 'error';
    const failing = createWebhookNotifier({ url: receiver.url, logger: silentLogger, timeoutMs: 2000 });
    await reportIncident(
      { db: db.writer, logger: silentLogger, notifier: failing },
      {
        kind: 'quota_exhausted',
        subject: 'error-receiver',
        message: 'daily quota spent',
      },
    );
    await failing.drain();
    expect(receiver.received.some((r) => r.incident.fingerprint.endsWith('error-receiver'))).toBe(true);

    // The runner is unharmed: the next run succeeds and resolves the incident.
    await fix();
    await runUntil(pipeline.id, 'run:succeeded');
    expect(
      await count(db, `SELECT count(*) FROM etl.incidents WHERE pipeline_id = $1 AND status = 'RESOLVED'`, [
        pipeline.id,
      ]),
    ).toBe(1);
  });
});

describe('least privilege on etl.incidents', () => {
  it('the API may only acknowledge and resolve; neither role may delete', async () => {
    const { incident } = await openOrFold(
      { db: db.writer },
      { kind: 'quota_exhausted', subject: 'grants', message: 'daily quota spent' },
    );
    await expect(
      db.api.query('UPDATE etl.incidents SET count = 99 WHERE id = $1', [incident.id]),
    ).rejects.toThrow(/permission denied/);
    await expect(
      db.api.query(
        `INSERT INTO etl.incidents (kind, fingerprint, message) VALUES ('quota_exhausted', 'f', 'm')`,
      ),
    ).rejects.toThrow(/permission denied/);
    await expect(db.api.query('DELETE FROM etl.incidents WHERE id = $1', [incident.id])).rejects.toThrow(
      /permission denied/,
    );
    await expect(db.writer.query('DELETE FROM etl.incidents WHERE id = $1', [incident.id])).rejects.toThrow(
      /permission denied/,
    );
    // The unique index: a second unresolved incident of one fingerprint cannot exist.
    await expect(
      db.admin.query(
        `INSERT INTO etl.incidents (kind, fingerprint, message, status, acknowledged_at)
         VALUES ('quota_exhausted', $1, 'm', 'ACKNOWLEDGED', now())`,
        [incident.fingerprint],
      ),
    ).rejects.toThrow(/incidents_one_unresolved_idx/);
    const acked = await db.api.query(
      `UPDATE etl.incidents SET status = 'ACKNOWLEDGED', acknowledged_at = now(), acknowledged_by = 'x'
        WHERE id = $1 RETURNING status`,
      [incident.id],
    );
    expect(acked.rows).toEqual([{ status: 'ACKNOWLEDGED' }]);
  });
});

describe('siphon api with SIPHON_INCIDENT_WEBHOOK_URL', () => {
  it('a person resolving an incident through the API process is announced to the webhook', async () => {
    const { rows } = await db.admin.query<{ id: string }>(
      `INSERT INTO etl.incidents (kind, fingerprint, message) VALUES ('pipeline_failed', 'api-process', 'boom')
       RETURNING id`,
    );
    const id = rows[0]!.id;
    const token = 'sph_admin_incident_webhook_token';
    const port = await findFreePort();
    const api = spawnCli(
      ['api'],
      cliEnv(db.adminUrl, {
        SIPHON_API_PORT: String(port),
        SIPHON_ADMIN_TOKEN: token,
        SIPHON_INCIDENT_WEBHOOK_URL: receiver.url,
      }),
    );
    await waitForOutput(api, 'API listening', 60_000);
    const res = await fetch(`http://127.0.0.1:${port}/incidents/${id}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status, await res.text()).toBe(200);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !receiver.received.some((r) => r.incident.id === id)) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(receiver.received.filter((r) => r.incident.id === id)).toEqual([
      {
        event: 'resolved',
        incident: expect.objectContaining({ id, status: 'RESOLVED', resolved_by: 'operator-1' }),
      },
    ]);
    api.kill('SIGINT');
    expect(await exited(api)).toBe(0);
  }, 90_000);
});
