import type { Executor } from '../pool.js';

/**
 * The lanes of a full pass into an empty target read in parallel (migration 0027,
 * etl.full_pass_lanes): each lane's key range and the last key it committed, written in the lane's
 * batch transaction together with its rows.
 */
export interface LaneRow {
  readonly lane: number;
  readonly after_key: string[] | null;
  readonly until_key: string[] | null;
  readonly position: string[] | null;
  readonly done: boolean;
}

export async function readLanes(db: Executor, pipelineId: string): Promise<LaneRow[]> {
  const { rows } = await db.query<LaneRow>(
    `SELECT lane, after_key, until_key, position, done FROM etl.full_pass_lanes
      WHERE pipeline_id = $1 ORDER BY lane`,
    [pipelineId],
  );
  return rows;
}

/** The lanes of a pass, cut at `splits` (lane i ends at split i inclusive, the last at the end). */
export async function createLanes(
  db: Executor,
  pipelineId: string,
  splits: readonly (readonly string[])[],
): Promise<void> {
  for (let lane = 0; lane <= splits.length; lane += 1) {
    await db.query(
      `INSERT INTO etl.full_pass_lanes (pipeline_id, lane, after_key, until_key) VALUES ($1, $2, $3, $4)`,
      [pipelineId, lane, lane === 0 ? null : splits[lane - 1], splits[lane] ?? null],
    );
  }
}

/** A lane's batch: its new position, and whether it is finished. */
export async function saveLanePosition(
  db: Executor,
  pipelineId: string,
  lane: number,
  position: readonly string[] | null,
  done: boolean,
): Promise<void> {
  await db.query(
    `UPDATE etl.full_pass_lanes SET position = coalesce($3::text[], position), done = $4
      WHERE pipeline_id = $1 AND lane = $2`,
    [pipelineId, lane, position, done],
  );
}
