import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealBatch, type BatchLedgerRow } from '../../src/db/repositories/batch-seal.repository.js';
import { claimPipeline, type Fence } from '../../src/db/repositories/lease.repository.js';
import { insertRun } from '../../src/db/repositories/run.repository.js';
import { withTransaction } from '../../src/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { createPipeline, requestRun } from '../helpers/runner.js';

// The statement every batch ends with (docs/adr/0025): fence, checkpoint and ledger row in one, written
// only for the lease's owner, and the ledger counted only on top of the batches the runner expects.
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

/** A pipeline claimed by `runner`, with its run: what a batch transaction seals against. */
async function claimed(name: string, runner: string) {
  const p = await createPipeline(db, {
    name,
    source_query: 'SELECT id, v FROM content.items',
    target_table: `analytics.${name}`,
    unique_key: 'id',
  });
  await requestRun(db, p.id);
  const claim = await claimPipeline(db.writer, runner, 60_000);
  expect(claim?.id).toBe(p.id);
  const fence: Fence = { pipelineId: p.id, runnerId: runner, epoch: claim!.lease_epoch };
  const run = await insertRun(db.writer, {
    pipelineId: p.id,
    configVersion: 1,
    trigger: 'manual',
    mode: 'full',
    runnerId: runner,
    epoch: fence.epoch,
  });
  return { pipelineId: p.id, fence, runId: run.id };
}

const ledgerRow = (runId: string, batchNo: number, rowsRead: number): BatchLedgerRow => ({
  runId,
  batchNo,
  cursorFrom: batchNo === 1 ? null : { after: [String((batchNo - 1) * 10)] },
  cursorTo: [String(batchNo * 10)],
  rowsRead,
  rowsWritten: rowsRead,
  rowsDeleted: 0,
  durationMs: 3,
  expectBatches: batchNo - 1,
});

/** Seals a batch in a transaction of its own, as the runner's batch transaction ends. */
function seal(
  fence: Fence,
  runId: string,
  batch: Pick<Parameters<typeof sealBatch>[1], 'checkpoint' | 'ledger'> = {},
) {
  return withTransaction(db.writer, (tx) => sealBatch(tx, { fence, leaseMs: 60_000, runId, ...batch }));
}

/** The n-th batch of ten rows of a full pass: its checkpoint at key n × 10, and its ledger row. */
const fullBatch = (runId: string, n: number) => ({
  checkpoint: { kind: 'full' as const, cursor: [String(n * 10)] },
  ledger: ledgerRow(runId, n, 10),
});

async function stored(pipelineId: string, runId: string) {
  const { rows } = await db.admin.query(
    `SELECT s.full_cursor, s.last_processed_value, s.last_processed_key, s.full_run_started_at,
            r.batches, r.rows_read::int AS rows_read,
            (SELECT count(*)::int FROM etl.etl_run_batches b WHERE b.run_id = r.id) AS ledger_rows
       FROM etl.etl_runs r LEFT JOIN etl.etl_state s ON s.pipeline_id = r.pipeline_id
      WHERE r.id = $1 AND r.pipeline_id = $2`,
    [runId, pipelineId],
  );
  return rows[0];
}

describe('sealing a batch', () => {
  it('writes the checkpoint and the ledger for the owner, and keeps when a full pass began', async () => {
    const { pipelineId, fence, runId } = await claimed('sealed_full', 'owner');
    const first = await seal(fence, runId, fullBatch(runId, 1));
    expect(first).toEqual({ status: 'RUNNING', counted: true });
    const began = (await stored(pipelineId, runId)).full_run_started_at;
    const second = await seal(fence, runId, fullBatch(runId, 2));
    expect(second).toEqual({ status: 'RUNNING', counted: true });
    expect(await stored(pipelineId, runId)).toMatchObject({
      full_cursor: ['20'],
      full_run_started_at: began,
      batches: 2,
      rows_read: 20,
      ledger_rows: 2,
    });
  });

  it('writes a ledger row for each of several batches committed together, and counts them once each', async () => {
    const { pipelineId, fence, runId } = await claimed('sealed_group', 'owner');
    await seal(fence, runId, fullBatch(runId, 1));
    // Batches 2 to 4 sent in one COPY (docs/adr/0027): one seal, the checkpoint at the last.
    const group = await seal(fence, runId, {
      checkpoint: { kind: 'full', cursor: ['37'] },
      ledger: [
        ledgerRow(runId, 2, 10),
        ledgerRow(runId, 3, 10),
        { ...ledgerRow(runId, 4, 7), cursorTo: ['37'] },
      ],
    });
    expect(group).toEqual({ status: 'RUNNING', counted: true });
    expect(await stored(pipelineId, runId)).toMatchObject({
      full_cursor: ['37'],
      batches: 4,
      rows_read: 37,
      ledger_rows: 4,
    });
    const { rows } = await db.admin.query(
      'SELECT batch_no, cursor_from, cursor_to, rows_read, rows_written, duration_ms FROM etl.etl_run_batches WHERE run_id = $1 ORDER BY batch_no',
      [runId],
    );
    expect(rows.slice(1)).toEqual([
      {
        batch_no: 2,
        cursor_from: { after: ['10'] },
        cursor_to: ['20'],
        rows_read: 10,
        rows_written: 10,
        duration_ms: 3,
      },
      {
        batch_no: 3,
        cursor_from: { after: ['20'] },
        cursor_to: ['30'],
        rows_read: 10,
        rows_written: 10,
        duration_ms: 3,
      },
      {
        batch_no: 4,
        cursor_from: { after: ['30'] },
        cursor_to: ['37'],
        rows_read: 7,
        rows_written: 7,
        duration_ms: 3,
      },
    ]);
    // A group on top of a run that lacks a batch the runner committed is not counted, as one batch is not.
    const lost = await seal(fence, runId, {
      checkpoint: { kind: 'full', cursor: ['70'] },
      ledger: [ledgerRow(runId, 6, 10), ledgerRow(runId, 7, 10)],
    });
    expect(lost).toEqual({ status: 'RUNNING', counted: false });
  });

  it('writes an incremental checkpoint, and a fence alone when the batch read nothing', async () => {
    const { pipelineId, fence, runId } = await claimed('sealed_incremental', 'owner');
    await seal(fence, runId, {
      checkpoint: {
        kind: 'incremental',
        lastValue: '2026-12-01 10:00:00+00',
        lastKey: ['2026-12-01 10:00:00+00', '7'],
      },
      ledger: ledgerRow(runId, 1, 7),
    });
    // The pass's last, empty batch: neither a checkpoint nor a ledger row, the lease still renewed.
    const { rows: before } = await db.admin.query(
      'SELECT lease_expires_at FROM etl.etl_pipelines WHERE id = $1',
      [pipelineId],
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    const empty = await seal(fence, runId);
    expect(empty).toEqual({ status: 'RUNNING', counted: true });
    const { rows: after } = await db.admin.query(
      'SELECT lease_expires_at FROM etl.etl_pipelines WHERE id = $1',
      [pipelineId],
    );
    expect(after[0].lease_expires_at.getTime()).toBeGreaterThan(before[0].lease_expires_at.getTime());
    expect(await stored(pipelineId, runId)).toMatchObject({
      last_processed_value: '2026-12-01 10:00:00+00',
      last_processed_key: ['2026-12-01 10:00:00+00', '7'],
      full_cursor: null,
      batches: 1,
      ledger_rows: 1,
    });
  });

  it('writes nothing for a runner whose lease was taken over', async () => {
    const { pipelineId, fence, runId } = await claimed('sealed_taken', 'zombie');
    await db.admin.query(
      "UPDATE etl.etl_pipelines SET lease_owner = 'usurper', lease_epoch = lease_epoch + 1 WHERE id = $1",
      [pipelineId],
    );
    const sealed = await seal(fence, runId, fullBatch(runId, 1));
    expect(sealed.status).toBeUndefined();
    expect(await stored(pipelineId, runId)).toMatchObject({ full_cursor: null, batches: 0, ledger_rows: 0 });
  });

  it('does not count a batch on top of a run that lacks the batches the runner committed', async () => {
    const { pipelineId, fence, runId } = await claimed('sealed_lost', 'owner');
    // The runner believes batch 1 committed (asynchronously) but the server lost it: batch 2 expects 1.
    const sealed = await seal(fence, runId, fullBatch(runId, 2));
    expect(sealed).toEqual({ status: 'RUNNING', counted: false });
    // The runner rolls such a batch back; the run's counters were not touched either way.
    expect((await stored(pipelineId, runId)).batches).toBe(0);
  });

  it('reads a pause request, and a disabled pipeline as one', async () => {
    const { pipelineId, fence, runId } = await claimed('sealed_paused', 'owner');
    await db.admin.query("UPDATE etl.etl_pipelines SET status = 'PAUSE_REQUESTED' WHERE id = $1", [
      pipelineId,
    ]);
    const paused = await seal(fence, runId);
    expect(paused.status).toBe('PAUSE_REQUESTED');
    await db.admin.query("UPDATE etl.etl_pipelines SET status = 'RUNNING', enabled = false WHERE id = $1", [
      pipelineId,
    ]);
    const disabled = await seal(fence, runId);
    expect(disabled.status).toBe('PAUSE_REQUESTED');
  });
});
