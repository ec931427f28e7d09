import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo } from '../../src/demo/demo.service.js';
import { savePipeline, setTasks } from '../../src/pipelines/index.js';
import type { Runner } from '../../src/runner/index.js';
import { defaultTaskRegistry, type TaskRegistry } from '../../src/tasks/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import {
  count,
  createPipeline,
  requestRun,
  startTestRunner,
  TEST_SQL_POLICY,
  waitForStatus,
} from '../helpers/runner.js';

let db: TestDatabase;
let runner: Runner;
let registry: TaskRegistry;
const AGG = '22222222-2222-2222-2222-222222222222';

beforeAll(async () => {
  db = await createTestDatabase();
  await loadDemo(db.admin, { films: 500, ratings: 5000 });
  await db.admin.query(
    'CREATE TABLE analytics.step_log (step text NOT NULL, at timestamptz NOT NULL DEFAULT now())',
  );
  await db.admin.query('GRANT SELECT, INSERT ON analytics.step_log TO siphon_writer');
  registry = defaultTaskRegistry().register('test_log_step', {
    description: 'writes a line to analytics.step_log',
    run: async ({ db: tx, params }) => {
      await tx.query('INSERT INTO analytics.step_log (step) VALUES ($1)', [String(params.label)]);
      return { rowsAffected: 1 };
    },
  });
  runner = await startTestRunner(db, { tasks: registry });
});
afterAll(async () => {
  await runner.stop();
  await db.drop();
});

describe('multi-step pipelines', () => {
  it('runs the demo steps after the load, in dependency order', async () => {
    await requestRun(db, AGG);
    await waitForStatus(db, AGG, ['IDLE']);
    expect(await count(db, 'SELECT sum(films) FROM analytics.film_rating_stats')).toBe(
      await count(db, 'SELECT count(*) FROM analytics.film_rating_agg'),
    );
    const { rows } = await db.admin.query('SELECT status FROM etl.etl_runs WHERE pipeline_id = $1', [AGG]);
    expect(rows).toEqual([{ status: 'SUCCESS' }]);
    const { rows: state } = await db.admin.query(
      'SELECT completed_tasks FROM etl.etl_state WHERE pipeline_id = $1',
      [AGG],
    );
    expect(state[0].completed_tasks).toEqual([]);
  });

  it('refuses an unregistered CODE task or a cycle when saved, not when run', async () => {
    await expect(
      createPipeline(db, {
        name: 'ghost',
        source_query: 'SELECT 1 AS id',
        target_table: 'analytics.ghost',
        unique_key: 'id',
        tasks: [{ name: 'x', task_type: 'CODE', task_name: 'upload_and_eval' }],
      } as never),
    ).rejects.toMatchObject({
      code: 'SIPHON_ERR_TASK_UNKNOWN',
      field: 'tasks.0.task_name',
      message: expect.stringMatching(
        /names the function "upload_and_eval", which is not a registered CODE task \(registered: .*film_rating_stats/,
      ),
    });
    await expect(
      setTasks(
        db.api,
        AGG,
        [
          { name: 'a', task_type: 'SQL', sql: 'SELECT 1', depends_on: ['b'] },
          { name: 'b', task_type: 'SQL', sql: 'SELECT 1', depends_on: ['a'] },
        ],
        'test',
      ),
    ).rejects.toMatchObject({ code: 'SIPHON_ERR_PIPELINE_INVALID', message: expect.stringMatching(/cycle/) });
    expect(await count(db, 'SELECT count(*) FROM etl.etl_pipelines WHERE name = $1', ['ghost'])).toBe(0);
  });

  it('a failing step fails the run with its name; after the fix, the resumed run skips the steps already done', async () => {
    const p = await savePipeline(
      db.api,
      {
        name: 'stepped',
        source_query: 'SELECT id AS film_id, title FROM content.film_work',
        target_table: 'analytics.stepped',
        unique_key: 'film_id',
        tasks: [
          { name: 'first', task_type: 'CODE', task_name: 'test_log_step', params: { label: 'first' } },
          { name: 'second', task_type: 'SQL', sql: 'SELECT 1 / 0', depends_on: ['first'] },
          {
            name: 'third',
            task_type: 'CODE',
            task_name: 'test_log_step',
            params: { label: 'third' },
            depends_on: ['second'],
          },
        ],
      },
      'test',
      { registry, policy: TEST_SQL_POLICY },
    );
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['FAILED']);
    const { rows: failed } = await db.admin.query(
      'SELECT error_code, error FROM etl.etl_runs WHERE pipeline_id = $1',
      [p.id],
    );
    expect(failed[0].error_code).toBe('SIPHON_ERR_TASK_FAILED');
    expect(failed[0].error).toMatch(/task "second" failed: division by zero/);

    const { pipeline } = await setTasks(
      db.api,
      p.id,
      [
        { name: 'first', task_type: 'CODE', task_name: 'test_log_step', params: { label: 'first' } },
        {
          name: 'second',
          task_type: 'SQL',
          sql: `INSERT INTO analytics.step_log (step) VALUES ('second')`,
          depends_on: ['first'],
        },
        {
          name: 'third',
          task_type: 'CODE',
          task_name: 'test_log_step',
          params: { label: 'third' },
          depends_on: ['second'],
        },
      ],
      'test',
      { registry, policy: TEST_SQL_POLICY },
    );
    expect(pipeline.version).toBe(2);
    await requestRun(db, p.id);
    await waitForStatus(db, p.id, ['IDLE']);
    const { rows } = await db.admin.query('SELECT step FROM analytics.step_log ORDER BY at, step');
    expect(rows.map((r) => r.step)).toEqual(['first', 'second', 'third']);
    const { rows: runs } = await db.admin.query(
      'SELECT status, config_version, rows_read FROM etl.etl_runs WHERE pipeline_id = $1 ORDER BY started_at',
      [p.id],
    );
    expect(runs).toEqual([
      { status: 'FAILED', config_version: 1, rows_read: 500 },
      { status: 'SUCCESS', config_version: 2, rows_read: 0 },
    ]);
    const { rows: versions } = await db.admin.query(
      `SELECT version, config->'tasks'->1->>'sql' AS sql FROM etl.etl_pipeline_versions WHERE pipeline_id = $1 ORDER BY version`,
      [p.id],
    );
    expect(versions.map((v) => v.version)).toEqual([1, 2]);
    expect(versions[1].sql).toMatch(/INSERT INTO analytics.step_log/);
  });
});
