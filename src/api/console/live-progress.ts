import type { PipelineRow } from '../../db/repositories/pipeline.repository.js';
import type { RunRow } from '../../db/repositories/run.repository.js';
import { formatCount, formatSeconds, statusTone } from './format.js';

/** One server-sent `progress` event: texts by `data-field`, their tones, link targets, and whether the stream ends. */
export interface LiveProgress {
  readonly fields: Record<string, string>;
  readonly tones: Record<string, string>;
  readonly hrefs: Record<string, string | null>;
  readonly done: boolean;
}

/**
 * The progress of a run as a person reads it: rows, batches, rate (rows read per second since it
 * started) and ETA. The ETA is known only for a full run of a pipeline whose previous full run
 * succeeded (its row count is the expectation); otherwise it says why not.
 */
export function runProgress(
  run: RunRow,
  expectedRows: number | undefined,
  now: Date,
): Pick<LiveProgress, 'fields' | 'tones'> {
  const running = run.status === 'RUNNING';
  const elapsed = ((run.finished_at ?? now).getTime() - run.started_at.getTime()) / 1000;
  const read = Number(run.rows_read);
  const rate = elapsed > 0 ? read / elapsed : 0;
  let eta: string;
  if (!running) eta = 'finished';
  else if (expectedRows === undefined) eta = 'unknown (no earlier full run to compare with)';
  else if (rate <= 0) eta = 'unknown (no batch committed yet)';
  else
    eta = `about ${formatSeconds(Math.max(0, expectedRows - read) / rate)} (of ~${formatCount(expectedRows)} rows)`;
  return {
    fields: {
      run_status: run.status,
      rows_read: formatCount(read),
      rows_written: formatCount(Number(run.rows_written)),
      rows_deleted: formatCount(Number(run.rows_deleted)),
      batches: formatCount(Number(run.batches)),
      elapsed: formatSeconds(elapsed),
      rate: `${formatCount(rate)} rows/s`,
      eta,
      error_code: run.error_code ?? '',
      error: run.error ?? '',
    },
    tones: { run_status: statusTone(run.status) },
  };
}

/** The live panel of a pipeline page: its status and its current (or latest) run's progress. */
export function pipelineProgress(
  pipeline: PipelineRow,
  run: RunRow | undefined,
  expectedRows: number | undefined,
  now: Date,
): LiveProgress {
  const progress = run ? runProgress(run, expectedRows, now) : { fields: {}, tones: {} };
  return {
    fields: { ...progress.fields, status: pipeline.status },
    tones: { ...progress.tones, status: statusTone(pipeline.status) },
    hrefs: { run: run ? `/ui/runs/${run.id}` : null },
    done: false,
  };
}
