import { isUuid } from '../../core/identifiers.js';
import type { Executor } from '../pool.js';
import { announcePause } from './runner.repository.js';
import type {
  PipelineKind,
  PipelineMode,
  PipelineSpec,
  PipelineStatus,
} from '../../core/pipeline-spec.schema.js';
import type { SocialSpec } from '../../core/social-spec.schema.js';
import { nextOccurrence } from '../../core/schedule.js';

export interface PipelineRow {
  id: string;
  name: string;
  description: string;
  /** `sql` or `social`; a social pipeline has `social` and no source_query/target_table/unique_key (null). */
  kind: PipelineKind;
  source_query: string;
  /** The named connection the source query runs on; null: this database. */
  source_connection: string | null;
  target_table: string;
  unique_key: string[];
  social: SocialSpec | null;
  mode: PipelineMode;
  batch_size: number;
  incremental_key: string | null;
  lookback: string | null;
  enabled: boolean;
  status: PipelineStatus;
  version: number;
  lease_owner: string | null;
  lease_epoch: number;
  lease_expires_at: Date | null;
  current_run_id: string | null;
  run_trigger: string | null;
  schedule: string | null;
  next_run_at: Date | null;
  /** How stale the target may get (`2h`); null when the pipeline declares none. */
  freshness: string | null;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
}

/** Finds a pipeline by uuid or by its unique name. */
export async function findPipeline(
  db: Executor,
  idOrName: string,
  forUpdate = false,
): Promise<PipelineRow | undefined> {
  const column = isUuid(idOrName) ? 'id' : 'name';
  const { rows } = await db.query<PipelineRow>(
    `SELECT * FROM etl.etl_pipelines WHERE ${column} = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [idOrName],
  );
  return rows[0];
}

export async function listPipelines(
  db: Executor,
  filter: {
    status?: PipelineStatus | undefined;
    enabled?: boolean | undefined;
    limit?: number;
    offset?: number;
  } = {},
): Promise<PipelineRow[]> {
  const { rows } = await db.query<PipelineRow>(
    `SELECT * FROM etl.etl_pipelines
      WHERE ($1::text IS NULL OR status = $1) AND ($2::boolean IS NULL OR enabled = $2)
      ORDER BY name LIMIT $3 OFFSET $4`,
    [filter.status ?? null, filter.enabled ?? null, filter.limit ?? 1000, filter.offset ?? 0],
  );
  return rows;
}

/** The configuration columns, in the order both writes below list them ($2…$11 or $3…$12). */
function specValues(spec: PipelineSpec): unknown[] {
  const sql = spec.kind !== 'social';
  return [
    spec.name,
    spec.description,
    sql ? spec.source_query : null,
    sql ? spec.target_table : null,
    sql ? spec.unique_key : null,
    spec.mode,
    spec.batch_size,
    spec.incremental_key,
    spec.lookback,
    spec.enabled,
  ];
}

/** The schedule and its next occurrence from now. */
function scheduleValues(spec: PipelineSpec): unknown[] {
  return [spec.schedule, spec.schedule ? nextOccurrence(spec.schedule, new Date()) : null];
}

/** Inserts or replaces a pipeline by id (used by the demo and by `POST /pipelines`). */
export async function upsertPipeline(
  db: Executor,
  spec: PipelineSpec & { id?: string },
  changedBy: string,
): Promise<PipelineRow> {
  const { rows } = await db.query<PipelineRow>(
    `INSERT INTO etl.etl_pipelines AS p
       (id, name, description, source_query, target_table, unique_key, mode, batch_size, incremental_key, lookback, enabled,
        updated_by, schedule, next_run_at, freshness, kind, social, source_connection)
     VALUES (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
             $16, $17, $18)
     ON CONFLICT (id) DO UPDATE SET
       name = EXCLUDED.name, description = EXCLUDED.description, source_query = EXCLUDED.source_query,
       target_table = EXCLUDED.target_table, unique_key = EXCLUDED.unique_key, mode = EXCLUDED.mode,
       batch_size = EXCLUDED.batch_size, incremental_key = EXCLUDED.incremental_key, lookback = EXCLUDED.lookback,
       enabled = EXCLUDED.enabled, updated_by = EXCLUDED.updated_by, updated_at = now(), version = p.version + 1,
       schedule = EXCLUDED.schedule, next_run_at = EXCLUDED.next_run_at, freshness = EXCLUDED.freshness,
       kind = EXCLUDED.kind, social = EXCLUDED.social, source_connection = EXCLUDED.source_connection
     RETURNING *`,
    [
      spec.id ?? null,
      ...specValues(spec),
      changedBy,
      ...scheduleValues(spec),
      spec.freshness ?? null,
      spec.kind,
      spec.social === null ? null : JSON.stringify(spec.social),
      spec.kind === 'social' ? null : (spec.source_connection ?? null),
    ],
  );
  const row = rows[0]!;
  await recordVersion(db, row, changedBy);
  return row;
}

export async function recordVersion(
  db: Executor,
  row: PipelineRow,
  changedBy: string,
  tasks?: unknown,
  change: Record<string, unknown> = {},
): Promise<void> {
  await db.query(
    `INSERT INTO etl.etl_pipeline_versions (pipeline_id, version, config, changed_by, change)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (pipeline_id, version) DO UPDATE SET config = EXCLUDED.config, change = EXCLUDED.change`,
    [
      row.id,
      row.version,
      JSON.stringify({ ...configOf(row), ...(tasks === undefined ? {} : { tasks }) }),
      changedBy,
      JSON.stringify(change),
    ],
  );
}

/** A new configuration version (for a change that lives outside the pipeline row, such as its steps). */
export async function bumpVersion(db: Executor, id: string, by: string): Promise<PipelineRow> {
  const { rows } = await db.query<PipelineRow>(
    `UPDATE etl.etl_pipelines SET version = version + 1, updated_at = now(), updated_by = $2 WHERE id = $1 RETURNING *`,
    [id, by],
  );
  return rows[0]!;
}

export function configOf(row: PipelineRow): Record<string, unknown> {
  return {
    name: row.name,
    description: row.description,
    ...(row.kind === 'social'
      ? { kind: row.kind, social: row.social }
      : {
          source_query: row.source_query,
          ...(row.source_connection ? { source_connection: row.source_connection } : {}),
          target_table: row.target_table,
          unique_key: row.unique_key,
        }),
    mode: row.mode,
    batch_size: row.batch_size,
    incremental_key: row.incremental_key,
    lookback: row.lookback,
    enabled: row.enabled,
    schedule: row.schedule,
    freshness: row.freshness,
  };
}

/**
 * Sets a requested status; NOTIFY wakes idle runners at once when it is RUN_REQUESTED, and tells a
 * running one at once when it is PAUSE_REQUESTED.
 */
export async function setRequestedStatus(
  db: Executor,
  id: string,
  status: PipelineStatus,
  trigger: string,
  by: string,
): Promise<PipelineRow> {
  const { rows } = await db.query<PipelineRow>(
    `UPDATE etl.etl_pipelines SET status = $2, run_trigger = CASE WHEN $2 = 'RUN_REQUESTED' THEN $3 ELSE run_trigger END,
            updated_at = now(), updated_by = $4
      WHERE id = $1 RETURNING *`,
    [id, status, trigger, by],
  );
  if (status === 'RUN_REQUESTED') await db.query(`SELECT pg_notify('siphon_pipelines', $1)`, [id]);
  if (status === 'PAUSE_REQUESTED') await announcePause(db, id);
  return rows[0]!;
}

export async function setEnabled(
  db: Executor,
  id: string,
  enabled: boolean,
  by: string,
): Promise<PipelineRow> {
  const { rows } = await db.query<PipelineRow>(
    `UPDATE etl.etl_pipelines SET enabled = $2, updated_at = now(), updated_by = $3 WHERE id = $1 RETURNING *`,
    [id, enabled, by],
  );
  // A run of a disabled pipeline pauses after its batch, as if asked to.
  if (!enabled) await announcePause(db, id);
  return rows[0]!;
}

/** Writes a changed configuration if the stored version is still `expectedVersion`; undefined if not. */
export async function updatePipeline(
  db: Executor,
  id: string,
  spec: PipelineSpec,
  expectedVersion: number,
  by: string,
): Promise<PipelineRow | undefined> {
  const { rows } = await db.query<PipelineRow>(
    `UPDATE etl.etl_pipelines SET name = $3, description = $4, source_query = $5, target_table = $6, unique_key = $7,
            mode = $8, batch_size = $9, incremental_key = $10, lookback = $11, enabled = $12,
            version = version + 1, updated_at = now(), updated_by = $13, schedule = $14,
            next_run_at = CASE WHEN $14::text IS NOT DISTINCT FROM schedule THEN next_run_at ELSE $15::timestamptz END,
            freshness = $16, kind = $17, social = $18, source_connection = $19
      WHERE id = $1 AND version = $2
      RETURNING *`,
    [
      id,
      expectedVersion,
      ...specValues(spec),
      by,
      ...scheduleValues(spec),
      spec.freshness ?? null,
      spec.kind,
      spec.social === null ? null : JSON.stringify(spec.social),
      spec.kind === 'social' ? null : (spec.source_connection ?? null),
    ],
  );
  return rows[0];
}

/**
 * Turns due schedules into run requests: each enabled pipeline whose next_run_at has passed (by the
 * database clock) moves to its next occurrence, and — only if it is IDLE — to RUN_REQUESTED. A
 * pipeline that is running, paused or failed skips that occurrence: missed runs are not queued up.
 */
/**
 * Requests the due scheduled runs of IDLE pipelines and moves every due pipeline's next_run_at on.
 * An occurrence that finds its pipeline busy (a run still going or waiting for a runner slot, paused,
 * failed) is skipped, not queued behind it; the skip is written to etl_audit (`schedule_skipped`,
 * with the status and the occurrence) and returned, so it is never silent.
 */
export async function promoteDueSchedules(
  db: Executor,
  next: (cron: string, after: Date) => Date,
): Promise<{ requested: string[]; skipped: Array<{ id: string; name: string; status: string; due: Date }> }> {
  const { rows } = await db.query<{
    id: string;
    name: string;
    schedule: string;
    status: string;
    next_run_at: Date;
    db_now: Date;
  }>(
    `SELECT id, name, schedule, status, next_run_at, now() AS db_now FROM etl.etl_pipelines
      WHERE enabled AND schedule IS NOT NULL AND next_run_at <= now()
      ORDER BY next_run_at LIMIT 50 FOR UPDATE SKIP LOCKED`,
  );
  const requested: string[] = [];
  const skipped: Array<{ id: string; name: string; status: string; due: Date }> = [];
  for (const row of rows) {
    const run = row.status === 'IDLE';
    await db.query(
      `UPDATE etl.etl_pipelines SET next_run_at = $2,
              status = CASE WHEN $3 THEN 'RUN_REQUESTED' ELSE status END,
              run_trigger = CASE WHEN $3 THEN 'schedule' ELSE run_trigger END
        WHERE id = $1`,
      [row.id, next(row.schedule, row.db_now), run],
    );
    if (run) {
      requested.push(row.id);
    } else {
      skipped.push({ id: row.id, name: row.name, status: row.status, due: row.next_run_at });
      await recordAudit(db, {
        pipelineId: row.id,
        action: 'schedule_skipped',
        actor: 'scheduler',
        details: { status: row.status, due: row.next_run_at.toISOString() },
      });
    }
  }
  return { requested, skipped };
}

export async function deletePipelineRow(db: Executor, id: string): Promise<void> {
  await db.query('DELETE FROM etl.etl_pipelines WHERE id = $1', [id]);
}

export async function recordAudit(
  db: Executor,
  entry: { pipelineId: string; action: string; actor: string; details?: Record<string, unknown> },
): Promise<void> {
  await db.query('INSERT INTO etl.etl_audit (pipeline_id, action, actor, details) VALUES ($1, $2, $3, $4)', [
    entry.pipelineId,
    entry.action,
    entry.actor,
    JSON.stringify(entry.details ?? {}),
  ]);
}

export async function listVersions(
  db: Executor,
  pipelineId: string,
): Promise<
  Array<{ version: number; changed_by: string; changed_at: Date; change: unknown; config: unknown }>
> {
  const { rows } = await db.query(
    `SELECT version, changed_by, changed_at, change, config FROM etl.etl_pipeline_versions
      WHERE pipeline_id = $1 ORDER BY version DESC`,
    [pipelineId],
  );
  return rows;
}
