import type { Pool } from '../db/pool.js';
import { findPipeline } from '../db/repositories/pipeline.repository.js';
import { listRuns } from '../db/repositories/run.repository.js';
import { requestStatus, savePipeline } from '../pipelines/pipeline.service.js';
import { analyzeDemo, countDemoRows, insertFilms, insertRatings, truncateDemo } from './demo.repository.js';
import { DEMO_PIPELINES } from './demo-pipelines.js';

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

/** Requests a run of each demo pipeline that has never run (the first `npm start`). */
export async function requestFirstDemoRuns(pool: Pool): Promise<string[]> {
  const requested: string[] = [];
  for (const { id, name } of DEMO_PIPELINES) {
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
