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
  const status = { status: pipeline.status };
  const tones = { status: statusTone(pipeline.status) };
  // Asked to run but its run not started yet (waiting for a runner, or claimed and opening): the
  // latest run is the previous one, which must not pass for this one.
  const starting =
    (pipeline.status === 'RUN_REQUESTED' || pipeline.status === 'RUNNING') && run?.status !== 'RUNNING';
  if (starting || !run) {
    const word = starting ? (pipeline.status === 'RUN_REQUESTED' ? 'waiting for a runner' : 'starting') : '—';
    const blank = { rows_read: '—', rows_written: '—', batches: '—', rate: '—', eta: '—' };
    return {
      fields: { ...blank, run_status: word, ...status },
      tones: { ...tones, run_status: statusTone(undefined) },
      hrefs: { run: null },
      done: false,
    };
  }
  const progress = runProgress(run, expectedRows, now);
  return {
    fields: { ...progress.fields, ...status },
    tones: { ...progress.tones, ...tones },
    hrefs: { run: `/ui/runs/${run.id}` },
    done: false,
  };
}
