import type { Executor } from '../pool.js';

export interface RunnerRow {
  id: string;
  hostname: string;
  pid: number;
  version: string;
  started_at: Date;
  heartbeat_at: Date;
  stopped_at: Date | null;
  alive: boolean;
}

export async function registerRunner(
  db: Executor,
  runner: { id: string; hostname: string; pid: number; version: string },
): Promise<void> {
  await db.query(
    `INSERT INTO etl.etl_runners (id, hostname, pid, version) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL`,
    [runner.id, runner.hostname, runner.pid, runner.version],
  );
}

export async function heartbeatRunner(db: Executor, id: string): Promise<void> {
  await db.query('UPDATE etl.etl_runners SET heartbeat_at = now() WHERE id = $1', [id]);
}

export async function markRunnerStopped(db: Executor, id: string): Promise<void> {
  await db.query('UPDATE etl.etl_runners SET stopped_at = now() WHERE id = $1', [id]);
}

/** Runners seen recently; `alive` = heartbeat within `staleMs` and not stopped. */
export async function listRunners(db: Executor, staleMs: number): Promise<RunnerRow[]> {
  const { rows } = await db.query<RunnerRow>(
    `SELECT *, (stopped_at IS NULL AND heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)) AS alive
       FROM etl.etl_runners
      WHERE coalesce(stopped_at, heartbeat_at) > now() - interval '1 day'
      ORDER BY heartbeat_at DESC`,
    [staleMs],
  );
  return rows;
}

/** The channel pipeline changes are announced on (pg_notify in the pipeline repository); a runner wakes on it. */
export const PIPELINES_CHANNEL = 'siphon_pipelines';

/**
 * The payload announcing that a pipeline was asked to pause (or was disabled): a run of it that is
 * committing several batches together ends the group at the next batch (docs/adr/0027). Any other
 * payload is a pipeline's id, asked to run.
 */
export function pauseNotice(pipelineId: string): string {
  return `${pipelineId}:pause`;
}

/** The pipeline a notice asks to pause, or undefined for any other notice. */
export function pausedBy(payload: string | undefined): string | undefined {
  return payload?.endsWith(':pause') ? payload.slice(0, -':pause'.length) : undefined;
}

/** Announces on PIPELINES_CHANNEL that a pipeline was asked to pause (delivered when `db` commits). */
export async function announcePause(db: Executor, pipelineId: string): Promise<void> {
  await db.query(`SELECT pg_notify('${PIPELINES_CHANNEL}', $1)`, [pauseNotice(pipelineId)]);
}

export async function listenForPipelineChanges(db: Executor): Promise<void> {
  await db.query(`LISTEN ${PIPELINES_CHANNEL}`);
}
