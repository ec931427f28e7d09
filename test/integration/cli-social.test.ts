import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelIdOf } from '../../src/simulators/youtube/ids.js';
import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { cliEnv, runCli } from '../helpers/processes.js';
import { count } from '../helpers/runner.js';

let db: TestDatabase;
let sim: RunningYouTubeSimulator;
const SEED = 3;

beforeAll(async () => {
  db = await createTestDatabase();
  sim = await startYouTubeSimulator({
    seed: SEED,
    channels: 4,
    videosPerChannel: [5, 12],
    commentThreadsPerVideo: [0, 3],
    apiKeys: ['cli-key'],
  });
});
afterAll(async () => {
  await sim.close();
  await db.drop();
});

describe('siphon sync youtube', () => {
  it('syncs the named channels into the unified tables, exactly as the simulator holds them', async () => {
    const ids = [channelIdOf(SEED, 0), channelIdOf(SEED, 1)];
    const res = await runCli(
      ['sync', 'youtube', ...ids, '--json'],
      cliEnv(db.adminUrl, { SIPHON_YOUTUBE_BASE_URL: sim.baseUrl, SIPHON_YOUTUBE_API_KEY: 'cli-key' }),
    );
    expect(res.code, res.stderr.slice(-2000)).toBe(0);
    const rows = JSON.parse(res.stdout) as Array<{ channel: string; status: string }>;
    expect(rows.map((r) => [r.channel, r.status])).toEqual(ids.map((id) => [id, 'SUCCESS']));
    expect(await count(db, `SELECT count(*) FROM social.profiles WHERE platform = 'youtube'`)).toBe(2);
    const expectedPosts = ids.reduce((sum, id) => sum + sim.control.truth.uploads(id).length, 0);
    expect(await count(db, `SELECT count(*) FROM social.posts WHERE platform = 'youtube'`)).toBe(
      expectedPosts,
    );
    expect(await count(db, `SELECT count(*) FROM social.raw_responses`)).toBeGreaterThan(2);
  });

  it('says which variable is missing when there is no API key', async () => {
    const res = await runCli(
      ['sync', 'youtube', channelIdOf(SEED, 2)],
      cliEnv(db.adminUrl, { SIPHON_YOUTUBE_BASE_URL: sim.baseUrl }),
    );
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(
      /^siphon: SIPHON_YOUTUBE_API_KEY is not set \[SIPHON_ERR_CONFIG_INVALID\]$/,
    );
  });
});
