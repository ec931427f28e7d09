import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  initTracing,
  injectTraceContext,
  shutdownTracing,
  type Logger,
} from '../../src/observability/index.js';
import { attachIncidentReporting } from '../../src/incidents/index.js';
import { savePipeline } from '../../src/pipelines/index.js';
import { defaultTaskRegistry } from '../../src/tasks/index.js';
import { YouTubeAdapter, YouTubeClient } from '../../src/connectors/youtube/index.js';
import { startYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { PlatformAdapter } from '../../src/connectors/connector.js';
import { testTempDir } from '../helpers/tmp.js';
import { createSourceTable, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, exited, killAllSpawned, ROOT, spawnCli, waitForOutput } from '../helpers/processes.js';
import {
  createPipeline,
  requestRun,
  startTestRunner,
  TEST_SQL_POLICY,
  waitForStatus,
} from '../helpers/runner.js';

let db: TestDatabase;
/** What the CODE step `test_capture_context` saw: the context it would store with durable work. */
const captured = new Map<string, Record<string, string>>();
const tasks = defaultTaskRegistry().register('test_capture_context', {
  description: 'stores the trace context, as a fan-out of durable jobs would, and runs a query',
  run: async ({ db: tx, pipeline }) => {
    captured.set(pipeline.name, injectTraceContext());
    await tx.query(`SELECT count(*) FROM ${pipeline.targetTable}`);
    return { rowsAffected: 0 };
  },
});

beforeAll(async () => {
  db = await createTestDatabase();
  await createSourceTable(db, 'content.traced (id int PRIMARY KEY, name text NOT NULL)');
  await db.admin.query(`INSERT INTO content.traced SELECT i, 'row ' || i FROM generate_series(1, 25) i`);
});
afterAll(async () => {
  await shutdownTracing();
  await db?.drop();
});

function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'info', format: 'json', destination }), lines };
}

/** Runs a 25-row full pipeline (batches of 10) with a SQL step and a CODE step to completion. */
async function runPipeline(name: string, logger: Logger): Promise<string> {
  const spec = {
    name,
    source_query: 'SELECT id, name FROM content.traced',
    target_table: `analytics.${name}`,
    unique_key: 'id',
    batch_size: 10,
    tasks: [
      {
        name: 'touch',
        task_type: 'SQL',
        sql: `UPDATE analytics.${name} SET name = upper(name) WHERE id = 1`,
      },
      { name: 'capture', task_type: 'CODE', task_name: 'test_capture_context', depends_on: ['touch'] },
    ],
  };
  const pipeline = await savePipeline(db.api, spec as never, 'test', {
    registry: tasks,
    policy: TEST_SQL_POLICY,
  });
  const runner = await startTestRunner(db, { logger, tasks });
  try {
    await requestRun(db, pipeline.id);
    await waitForStatus(db, pipeline.id, ['IDLE']);
  } finally {
    await runner.stop();
  }
  const { rows } = await db.admin.query<{ id: string }>(
    'SELECT id FROM etl.etl_runs WHERE pipeline_id = $1',
    [pipeline.id],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.id;
}

describe('tracing off: OTEL_EXPORTER_OTLP_ENDPOINT unset', () => {
  it('registers no SDK: no span is recorded, nothing is patched, log lines carry no ids', async () => {
    const tracing = await initTracing({ endpoint: undefined });
    expect(tracing.enabled).toBe(false);
    const { logger, lines } = captureLogger();
    await runPipeline('untraced', logger);

    const probe = trace.getTracer('probe').startSpan('probe');
    expect(probe.isRecording()).toBe(false);
    expect(probe.spanContext().traceId).toBe('0'.repeat(32));
    probe.end();
    expect(isWrapped(pg.Client.prototype.query)).toBe(false);
    expect(captured.get('untraced')).toEqual({});
    expect(lines.filter((l) => l.msg === 'batch committed')).toHaveLength(3);
    expect(lines.filter((l) => 'trace_id' in l || 'span_id' in l)).toEqual([]);
  });
});

describe('tracing on', () => {
  const exporter = new InMemorySpanExporter();
  let spans: ReadableSpan[] = [];
  let runSpan: ReadableSpan;
  let lines: Array<Record<string, unknown>> = [];
  let runId: string;

  const childrenOf = (parent: ReadableSpan, name?: string | RegExp) =>
    spans.filter(
      (s) =>
        s.parentSpanContext?.spanId === parent.spanContext().spanId &&
        (name === undefined || (typeof name === 'string' ? s.name === name : name.test(s.name))),
    );

  beforeAll(async () => {
    const tracing = await initTracing({ exporter, exportEachSpan: true });
    expect(tracing.enabled).toBe(true);
    const capture = captureLogger();
    lines = capture.lines;
    runId = await runPipeline('traced', capture.logger);
    spans = exporter.getFinishedSpans();
    const runs = spans.filter((s) => s.name === 'siphon.run' && s.attributes['siphon.run.id'] === runId);
    expect(runs).toHaveLength(1);
    runSpan = runs[0]!;
  });

  it('one run is one trace: run → batch spans → pg query spans, and a span per step', () => {
    expect(runSpan.parentSpanContext).toBeUndefined();
    expect(runSpan.attributes).toMatchObject({
      'siphon.pipeline.name': 'traced',
      'siphon.run.mode': 'full',
      'siphon.run.outcome': 'succeeded',
      'siphon.transfer': 'pushdown',
    });
    const traceId = runSpan.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    // Every span of the trace hangs from another span of it: nothing is orphaned.
    const ids = new Set(inTrace.map((s) => s.spanContext().spanId));
    for (const s of inTrace) if (s !== runSpan) expect(ids.has(s.parentSpanContext!.spanId)).toBe(true);

    const batches = childrenOf(runSpan, 'siphon.batch');
    expect(batches.map((b) => b.attributes['siphon.batch.number'])).toEqual([1, 2, 3]);
    expect(batches.map((b) => b.attributes['siphon.batch.rows_read'])).toEqual([10, 10, 5]);
    expect(batches.map((b) => b.attributes['siphon.batch.rows_written'])).toEqual([10, 10, 5]);
    for (const batch of batches) {
      const queries = childrenOf(batch, /^pg\.query/).map((q) => String(q.attributes['db.query.text']));
      expect(queries[0]).toBe('BEGIN');
      expect(queries.at(-1)).toBe('COMMIT');
      expect(queries.some((q) => /fence|lease/i.test(q) || /etl_pipelines/.test(q))).toBe(true);
      const [write] = childrenOf(batch, 'siphon.target.write');
      const writes = childrenOf(write!, /^pg\.query/);
      expect(writes).toHaveLength(1);
      expect(writes[0]!.attributes['db.query.text']).toMatch(/INSERT INTO "analytics"\."traced"/);
      expect(writes[0]!.attributes['db.system.name']).toBe('postgresql');
    }

    const steps = childrenOf(runSpan, 'siphon.task');
    expect(steps.map((s) => [s.attributes['siphon.task.name'], s.attributes['siphon.task.type']])).toEqual([
      ['touch', 'SQL'],
      ['capture', 'CODE'],
    ]);
    expect(childrenOf(steps[0]!, /^pg\.query/).map((q) => q.attributes['db.query.text'])).toContain(
      'UPDATE analytics.traced SET name = upper(name) WHERE id = 1',
    );
    expect(childrenOf(steps[1]!, /^pg\.query/).map((q) => q.attributes['db.query.text'])).toEqual([
      'SELECT count(*) FROM analytics.traced',
    ]);
    // Polling for work (claims, heartbeats) is outside any run: no trace of its own.
    expect(spans.filter((s) => s.name.startsWith('pg') && !s.parentSpanContext)).toEqual([]);
  });

  it('every log line of the run carries its trace id and the id of the span it was written in', () => {
    const traceId = runSpan.spanContext().traceId;
    const started = lines.find((l) => l.msg === 'run started');
    expect(started).toMatchObject({ trace_id: traceId, span_id: runSpan.spanContext().spanId });
    const ofRun = lines.filter((l) => l.runId === runId);
    expect(ofRun.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['run started', 'batch committed', 'task completed', 'run succeeded']),
    );
    for (const line of ofRun) expect(line.trace_id).toBe(traceId);
    // Outside any span (the runner starting and stopping): no ids.
    expect(lines.find((l) => l.msg === 'runner started')).not.toHaveProperty('trace_id');
  });

  it('crosses processes: stored context continues the trace in a child process, or links to it', async () => {
    const carrier = captured.get('traced')!;
    const [step] = childrenOf(runSpan, 'siphon.task').filter(
      (s) => s.attributes['siphon.task.name'] === 'capture',
    );
    const traceId = runSpan.spanContext().traceId;
    expect(carrier.traceparent).toBe(`00-${traceId}-${step!.spanContext().spanId}-01`);

    const receiver = await startOtlpReceiver();
    try {
      const dir = testTempDir('trace');
      const script = join(dir, 'durable-job.mts');
      writeFileSync(script, CHILD_SCRIPT);
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        env: cliEnv(db.adminUrl, {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          SIPHON_TEST_CARRIER: JSON.stringify(carrier),
        }),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      expect(await exited(child), stderr).toBe(0);

      const exported = receiver.spans();
      const page = exported.find((s) => s.name === 'siphon.job.page');
      expect(page).toMatchObject({ traceId, parentSpanId: step!.spanContext().spanId });
      // pg was imported before tracing started, through ESM, as in the CLI: its queries are still traced.
      const underPage = exported.filter((s) => s.parentSpanId === page!.spanId).map((s) => s.name);
      expect(underPage).toEqual(expect.arrayContaining([expect.stringMatching(/^pg\.query/)]));
      const resumed = exported.find((s) => s.name === 'siphon.enrich.resume');
      expect(resumed!.traceId).not.toBe(traceId);
      expect(resumed!.parentSpanId ?? '').toBe('');
      expect(resumed!.links).toEqual([
        expect.objectContaining({ traceId, spanId: step!.spanContext().spanId }),
      ]);
      expect(receiver.services()).toEqual(['siphon']);
    } finally {
      await receiver.close();
    }
  });

  it("a failed run opens an incident that carries the run's trace id", async () => {
    const pipeline = await createPipeline(db, {
      name: 'traced_failure',
      source_query: 'SELECT id, name, 1 / (id - id) AS boom FROM content.traced',
      target_table: 'analytics.traced_failure',
      unique_key: 'id',
    });
    const runner = await startTestRunner(db);
    const incidents = attachIncidentReporting(runner.events, {
      db: db.writer,
      logger: createLogger({ level: 'silent', format: 'json' }),
    });
    try {
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['FAILED']);
      await incidents.drain();
    } finally {
      incidents.detach();
      await runner.stop();
    }
    const run = exporter
      .getFinishedSpans()
      .find(
        (span) => span.name === 'siphon.run' && span.attributes['siphon.pipeline.name'] === 'traced_failure',
      );
    expect(run).toBeDefined();
    const { rows } = await db.admin.query('SELECT kind, trace_id FROM etl.incidents WHERE pipeline_id = $1', [
      pipeline.id,
    ]);
    expect(rows).toEqual([{ kind: 'pipeline_failed', trace_id: run!.spanContext().traceId }]);
  });

  it("a social run's page steps, executed by another `siphon runner` process, belong to its trace", async () => {
    const sim = await startYouTubeSimulator({
      seed: 61,
      channels: 2,
      videosPerChannel: [5, 12],
      commentThreadsPerVideo: [0, 3],
      apiKeys: ['trace-key'],
    });
    const receiver = await startOtlpReceiver();
    let child: ReturnType<typeof spawnCli> | undefined;
    try {
      const channels = [sim.control.channelId(0), sim.control.channelId(1)];
      const pipeline = await createPipeline(db, {
        name: 'traced_social',
        kind: 'social',
        mode: 'incremental',
        social: { platform: 'youtube', accounts: channels, rate: { calls: 1000, window: '1s' } },
      });
      // This process claims and coordinates the run but executes no step (no sync workers)…
      const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: 'trace-key' });
      const adapters = new Map<string, PlatformAdapter>([['youtube', new YouTubeAdapter({ client })]]);
      const coordinator = await startTestRunner(db, { sync: { adapters, concurrency: 0 } });
      try {
        await requestRun(db, pipeline.id);
        await waitForStatus(db, pipeline.id, ['RUNNING']);
        // …another runner process executes the steps and exports its spans over OTLP.
        child = spawnCli(
          ['runner'],
          cliEnv(db.adminUrl, {
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            SIPHON_RUNNER_POLL_INTERVAL: '100ms',
            SIPHON_YOUTUBE_BASE_URL: sim.baseUrl,
            SIPHON_YOUTUBE_API_KEY: 'trace-key',
          }),
        );
        await waitForOutput(child, 'runner started');
        await waitForStatus(db, pipeline.id, ['IDLE'], 60_000);
      } finally {
        await coordinator.stop();
      }
      const run = exporter
        .getFinishedSpans()
        .find(
          (span) => span.name === 'siphon.run' && span.attributes['siphon.pipeline.name'] === 'traced_social',
        );
      expect(run).toBeDefined();
      const traceId = run!.spanContext().traceId;
      const { rows } = await db.admin.query('SELECT sum(pages)::int AS n FROM etl.sync_tasks');
      const deadline = Date.now() + 20_000;
      let steps: OtlpSpan[] = [];
      while (Date.now() < deadline) {
        steps = receiver.spans().filter((span) => span.name === 'siphon.sync.step');
        if (steps.length >= rows[0].n) break;
        await sleep(200);
      }
      expect(steps.length).toBeGreaterThanOrEqual(rows[0].n);
      // Every step continues the run's trace: the first ones hang from the run span (the coordinator
      // queued them), the others from the step that queued them.
      expect(steps.every((step) => step.traceId === traceId)).toBe(true);
      const known = new Set([run!.spanContext().spanId, ...steps.map((step) => step.spanId)]);
      expect(steps.every((step) => known.has(step.parentSpanId!))).toBe(true);
      expect(steps.some((step) => step.parentSpanId === run!.spanContext().spanId)).toBe(true);
      // The platform calls and the page's queries are children of their step.
      const inside = receiver
        .spans()
        .filter((span) => steps.some((step) => step.spanId === span.parentSpanId));
      expect(inside.some((span) => /^pg\.query/.test(span.name))).toBe(true);
      expect(inside.some((span) => /^GET/.test(span.name))).toBe(true);
    } finally {
      child?.kill('SIGTERM');
      if (child) await exited(child);
      await receiver.close();
      await sim.close();
    }
  });
});

describe('the CLI with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  afterAll(killAllSpawned);

  it('a `siphon runner` process exports each run as one trace over OTLP, with ids in its log lines', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const pipeline = await createPipeline(db, {
        name: 'traced_cli',
        source_query: 'SELECT id, name FROM content.traced',
        target_table: 'analytics.traced_cli',
        unique_key: 'id',
        batch_size: 10,
      });
      const child = spawnCli(
        ['runner'],
        cliEnv(db.adminUrl, {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          SIPHON_RUNNER_POLL_INTERVAL: '100ms',
        }),
      );
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitForOutput(child, 'runner started');
      await requestRun(db, pipeline.id);
      await waitForStatus(db, pipeline.id, ['IDLE']);
      // Spans leave in batches (every 5 s by default), while the process keeps running.
      const deadline = Date.now() + 20_000;
      let run: OtlpSpan | undefined;
      while (!run && Date.now() < deadline) {
        run = receiver.spans().find((s) => s.name === 'siphon.run');
        if (!run) await sleep(200);
      }
      expect(run, 'no siphon.run span exported').toBeDefined();
      const inTrace = receiver.spans().filter((s) => s.traceId === run!.traceId);
      const batches = inTrace.filter((s) => s.name === 'siphon.batch' && s.parentSpanId === run!.spanId);
      expect(batches).toHaveLength(3);
      for (const batch of batches)
        expect(inTrace.filter((s) => s.parentSpanId === batch.spanId).map((s) => s.name)).toEqual(
          expect.arrayContaining([expect.stringMatching(/^pg\.query/), 'siphon.target.write']),
        );
      expect(receiver.services()).toEqual(['siphon']);
      const started = stderr
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.msg === 'run started');
      expect(started).toMatchObject({ trace_id: run!.traceId, span_id: run!.spanId });
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});

/** A job runner in another process: extracts the stored context, queries, exports over OTLP/HTTP. */
const CHILD_SCRIPT = `
import { createPool } from ${JSON.stringify(join(ROOT, 'src/db/pool.ts'))};
import { initTracing, withExtractedContext } from ${JSON.stringify(join(ROOT, 'src/observability/index.ts'))};

const tracing = await initTracing({ endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT });
const carrier = JSON.parse(process.env.SIPHON_TEST_CARRIER);
const pool = createPool({ connectionString: process.env.DATABASE_URL, applicationName: 'trace-child', max: 1 });
await withExtractedContext(carrier, 'siphon.job.page', async () => {
  await pool.query('SELECT 1 AS page');
});
await withExtractedContext(carrier, 'siphon.enrich.resume', async () => {}, { link: true });
await pool.end();
await tracing.shutdown();
`;

interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly links?: Array<{ traceId: string; spanId: string }>;
}

/** An OTLP/HTTP (JSON) trace receiver on a free port: the collector a deployment would run. */
async function startOtlpReceiver(): Promise<{
  url: string;
  spans(): OtlpSpan[];
  services(): string[];
  close(): Promise<void>;
}> {
  const requests: Array<{
    resourceSpans: Array<{
      resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
      scopeSpans: Array<{ spans: OtlpSpan[] }>;
    }>;
  }> = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces' && request.headers['content-type'] === 'application/json')
        requests.push(JSON.parse(body));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const resources = () => requests.flatMap((r) => r.resourceSpans);
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => resources().flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    services: () =>
      [
        ...new Set(
          resources().map(
            (r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
          ),
        ),
      ] as string[],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
