import type { Pool } from '../db/pool.js';
import { findPipeline } from '../db/repositories/pipeline.repository.js';
import { listRuns } from '../db/repositories/run.repository.js';
import { SiphonError } from '../core/errors.js';
import { requestStatus, savePipeline } from '../pipelines/pipeline.service.js';
import {
  analyzeDemo,
  countDemoRows,
  insertFilms,
  insertRatings,
  truncateDemo,
} from '../db/repositories/demo.repository.js';
import { DEMO_PIPELINES, type DemoPipeline } from './demo-pipelines.js';
import { socialDemoPipeline, type SocialPlatform } from './demo-social.js';

export interface DemoProgress {
  (step: 'films' | 'ratings', done: number, total: number): void;
}

const CHUNK = 25_000;

/**
 * Loads the demo data set (idempotent: rows that exist are kept) and installs the demo pipelines.
 * Needs the admin connection: the sources belong to the "online cinema", not to Siphon's roles.
 */
export async function loadDemo(
  admin: Pool,
  sizes: { films: number; ratings: number },
  onProgress: DemoProgress = () => {},
): Promise<{ films: number; ratings: number }> {
  for (let from = 0; from < sizes.films; from += CHUNK) {
    const to = Math.min(sizes.films, from + CHUNK);
    await insertFilms(admin, from, to);
    onProgress('films', to, sizes.films);
  }
  for (let from = 0; from < sizes.ratings; from += CHUNK) {
    const to = Math.min(sizes.ratings, from + CHUNK);
    await insertRatings(admin, from, to, sizes.films);
    onProgress('ratings', to, sizes.ratings);
  }
  await analyzeDemo(admin);
  await installDemoPipelines(admin);
  return countDemoRows(admin);
}

export async function installDemoPipelines(pool: Pool): Promise<void> {
  for (const { id, ...spec } of DEMO_PIPELINES) {
    const existing = await findPipeline(pool, id);
    if (!existing) await savePipeline(pool, spec, 'demo', { id });
  }
}

export async function resetDemo(admin: Pool): Promise<void> {
  await truncateDemo(
    admin,
    DEMO_PIPELINES.map((p) => p.id),
  );
}

export async function isDemoLoaded(admin: Pool): Promise<boolean> {
  const counts = await countDemoRows(admin);
  return counts.films > 0;
}

export interface SocialDemoInstall {
  /** The platforms whose demo pipeline exists (one whose name a user pipeline took is left out). */
  readonly platforms: SocialPlatform[];
  /**
   * When the social demo was first installed (the oldest demo social pipeline): the simulators date
   * their content before it, so every start serves the same data and an incremental sync finds
   * nothing new.
   */
  readonly since: Date;
}

/** Installs the missing demo social pipelines of `platforms` (idempotent, like the film demo's). */
export async function installSocialDemoPipelines(
  pool: Pool,
  platforms: readonly SocialPlatform[],
): Promise<SocialDemoInstall> {
  const present: SocialPlatform[] = [];
  let since: Date | undefined;
  for (const platform of ['youtube', 'instagram', 'tiktok'] as const) {
    const { id, ...spec } = socialDemoPipeline(platform);
    let row = await findPipeline(pool, id);
    if (!row && platforms.includes(platform)) {
      try {
        row = await savePipeline(pool, spec, 'demo', { id });
      } catch (error) {
        if (!(error instanceof SiphonError && error.code === 'SIPHON_ERR_PIPELINE_NAME_TAKEN')) throw error;
      }
    }
    if (!row) continue;
    if (platforms.includes(platform)) present.push(platform);
    if (!since || row.created_at < since) since = row.created_at;
  }
  return { platforms: present, since: since ?? new Date() };
}

/** Requests a run of each demo pipeline that has never run (the first `npm start`). */
export async function requestFirstDemoRuns(
  pool: Pool,
  pipelines: readonly DemoPipeline[] = DEMO_PIPELINES,
): Promise<string[]> {
  const requested: string[] = [];
  for (const { id, name } of pipelines) {
    const row = await findPipeline(pool, id);
    if (row && row.enabled && row.status === 'IDLE' && !(await hasRuns(pool, id))) {
      await requestStatus(pool, id, 'run', 'demo', 'demo');
      requested.push(name);
    }
  }
  return requested;
}

async function hasRuns(pool: Pool, pipelineId: string): Promise<boolean> {
  return (await listRuns(pool, pipelineId, 1)).length > 0;
}
