import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Runner, type RunnerOptions } from '../../src/runner/index.js';
import { DEFAULT_SQL_POLICY, type SqlPolicy } from '../../src/sql-guard/index.js';
import { savePipeline, requestStatus } from '../../src/pipelines/index.js';
import type { PipelineSpecInput } from '../../src/core/pipeline-spec.schema.js';
import type { SocialSpecInput } from '../../src/core/social-spec.schema.js';
import type { PipelineRow } from '../../src/db/repositories/pipeline.repository.js';
import type { TestDatabase } from './db.js';

export const silentLogger = pino({ level: 'silent' });

/** The default policy plus pg_sleep, which tests use to make batches slow enough to interrupt. */
export const TEST_SQL_POLICY: SqlPolicy = { ...DEFAULT_SQL_POLICY, extraFunctions: ['pg_sleep'] };

export async function startTestRunner(
  db: TestDatabase,
  options: Partial<RunnerOptions> = {},
): Promise<Runner> {
  const runner = new Runner({
    sqlPolicy: TEST_SQL_POLICY,
    pool: db.writer,
    listenUrl: db.urls.writer,
    logger: silentLogger,
    pollIntervalMs: 100,
    leaseMs: 5_000,
    concurrency: 2,
    maxAttempts: 5,
    ...options,
  });
  await runner.start();
  return runner;
}

export async function createPipeline(db: TestDatabase, spec: PipelineSpecInput): Promise<PipelineRow> {
  return savePipeline(db.api, spec, 'test', { policy: TEST_SQL_POLICY });
}

/**
 * Saves a regular-sync social pipeline named `name`, runs it on the runners already started and waits
 * for its end; returns its latest run.
 */
export async function runSocialPipeline(
  db: TestDatabase,
  name: string,
  social: SocialSpecInput,
): Promise<{ id: string; status: string; error: string | null }> {
  const pipeline = await createPipeline(db, { name, kind: 'social', mode: 'incremental', social });
  return runToEnd(db, pipeline.id);
}

/** Requests a run of the pipeline, waits for its end and returns its latest run. */
export async function runToEnd(
  db: TestDatabase,
  pipelineId: string,
  timeoutMs = 120_000,
): Promise<{ id: string; status: string; error: string | null }> {
  await requestRun(db, pipelineId);
  await waitForStatus(db, pipelineId, ['IDLE', 'FAILED'], timeoutMs);
  const { rows } = await db.admin.query<{ id: string; status: string; error: string | null }>(
    'SELECT id, status, error FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at DESC LIMIT 1',
    [pipelineId],
  );
  return rows[0]!;
}

export async function requestRun(db: TestDatabase, idOrName: string): Promise<void> {
  await requestStatus(db.api, idOrName, 'run', 'test', 'test');
}

/** Polls until the pipeline reaches one of `statuses`; fails with the last status seen. */
export async function waitForStatus(
  db: TestDatabase,
  id: string,
  statuses: readonly string[],
  timeoutMs = 30_000,
): Promise<PipelineRow> {
  const deadline = Date.now() + timeoutMs;
  let last: PipelineRow | undefined;
  while (Date.now() < deadline) {
    const { rows } = await db.admin.query<PipelineRow>('SELECT * FROM etl.etl_pipelines WHERE id = $1', [id]);
    last = rows[0];
    if (last && statuses.includes(last.status)) return last;
    await sleep(50);
  }
  throw new Error(
    `pipeline ${id} did not reach ${statuses.join('/')} in ${timeoutMs} ms (last: ${last?.status})`,
  );
}

/** Rows in the source result that the target lacks or differs on, and the reverse (on `columns`). */
export async function diffSourceTarget(
  db: TestDatabase,
  sourceQuery: string,
  target: string,
  columns: readonly string[],
): Promise<{ missing: number; extra: number }> {
  const cols = columns.join(', ');
  const { rows } = await db.admin.query<{ missing: number; extra: number }>(
    `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM (${sourceQuery}) s EXCEPT SELECT ${cols} FROM ${target}) a)::int AS missing,
            (SELECT count(*) FROM (SELECT ${cols} FROM ${target} EXCEPT SELECT ${cols} FROM (${sourceQuery}) s) b)::int AS extra`,
  );
  return rows[0]!;
}

export async function count(db: TestDatabase, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.admin.query<{ n: number }>(`SELECT (${sql})::int AS n`, params);
  return rows[0]!.n;
}

/** Starts a run, asks for a pause as soon as its first batch commits, and waits until it is PAUSED. */
export async function runAndPauseAfterFirstBatch(
  db: TestDatabase,
  runner: Runner,
  id: string,
): Promise<void> {
  let paused = false;
  const onBatch = ({ pipelineId }: { pipelineId: string }) => {
    if (pipelineId !== id || paused) return;
    paused = true;
    void requestStatus(db.api, id, 'pause', 'test', 'test');
  };
  runner.events.on('batch:committed', onBatch);
  try {
    await requestRun(db, id);
    await waitForStatus(db, id, ['PAUSED'], 30_000);
  } finally {
    runner.events.off('batch:committed', onBatch);
  }
}
