/**
 * A simulated day of tiered YouTube syncs under the default quota, checked against the quota planner.
 * Part of `npm run bench:social` (`--day 0` skips it, `--day-scale 0.1` runs a tenth of it).
 *
 * Setup: tracked accounts in the three default tiers (hourly, daily, weekly), read once in full with
 * an unlimited `setup` credential (a backfill); then six simulated hours of regular syncs by the day's
 * own pipeline over a pool of three keys at YouTube's default 10,000 units each: that history is what
 * the planner measures a regular sync's cost on (with the pool's own batching of profile lookups).
 * A new quota day then starts (the simulator's and the limiter's counts are reset, as midnight
 * Pacific does) and the planner forecasts it.
 *
 * The day: 24 steps of one simulated hour. Before each step the platform changes (a few new videos and
 * comments, counters drift) and every account's `next_due_at` moves one hour earlier, which is the
 * same for the due test as an hour passing (real time passes too, a few minutes over the whole day);
 * then one run of a pipeline selecting `due: true` over the pool. Measured per tier: regular syncs and
 * units; per key: units spent by the simulator's own count, and requests it refused for quota.
 */
import { importAccounts } from '../src/accounts/index.js';
import { retryAfterGuard } from '../src/connectors/retry-after.fetch.js';
import { YouTubeAdapter, YouTubeClient } from '../src/connectors/youtube/index.js';
import type { TierPlan } from '../src/core/quota-plan.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { upsertLimit } from '../src/db/repositories/quota.repository.js';
import type { RolePasswords } from '../src/db/roles.js';
import { requestStatus, savePipeline } from '../src/pipelines/index.js';
import { startYouTubeSimulator } from '../src/simulators/youtube/index.js';
import type { PooledCredential } from '../src/sync/credential-pool.js';
import { planQuotas } from '../src/sync/quota-plan.js';
import { benchSyncRunner } from './server.js';

/** Accounts per tier at scale 1: the day needs about 80 % of the pool's 30,000 units. */
const TIERS = { hourly: 150, daily: 4_000, weekly: 2_800 } as const;
type Tier = keyof typeof TIERS;
/** YouTube's default allocation per project (SOCIAL-APIS.md §1.7). */
const DEFAULT_DAILY_UNITS = 10_000;
const POOL = ['day-key-a', 'day-key-b', 'day-key-c'] as const;
const SETUP = 'day-setup';
const DAY_ZONE = 'America/Los_Angeles';
const RATE = { calls: 100_000, window: '1s' } as const;
const HOURS = 24;
const WARMUP_HOURS = 6;

export interface DayResult {
  readonly scale: number;
  readonly accounts: Record<Tier, number>;
  readonly pool: { readonly keys: number; readonly dailyUnitsPerKey: number };
  readonly forecast: {
    readonly capacityPerDay: number;
    readonly needPerDay: number;
    readonly fits: boolean;
    readonly tiers: readonly TierForecast[];
  };
  readonly measured: {
    readonly tiers: readonly TierMeasured[];
    readonly units: number;
    /** Units each key spent by the simulator's count, and requests refused for quota (must be 0). */
    readonly unitsPerKey: readonly number[];
    readonly refusedForQuota: number;
    readonly seconds: number;
  };
  /** (measured − forecast) / forecast, per tier and for the day's units. */
  readonly errorPercent: { readonly units: number; readonly tiers: Record<string, number> };
  /** Database growth over the day, per tracked account (KiB). */
  readonly databaseKiBPerAccountDay: number;
}

interface TierForecast {
  readonly tier: string;
  readonly accounts: number;
  readonly costPerSync: number;
  readonly syncsPerDay: number;
  readonly unitsPerDay: number;
}

interface TierMeasured {
  readonly tier: string;
  readonly syncs: number;
  readonly units: number;
}

/** A small deterministic generator: the same day every time. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function measureDay(
  url: string,
  passwords: RolePasswords,
  scale: number,
  log: (line: string) => void,
): Promise<DayResult> {
  const accounts = Object.fromEntries(
    Object.entries(TIERS).map(([tier, n]) => [tier, Math.max(1, Math.round(n * scale))]),
  ) as Record<Tier, number>;
  const total = Object.values(accounts).reduce((a, b) => a + b, 0);
  const dailyUnits = Math.max(1, Math.round(DEFAULT_DAILY_UNITS * scale));
  const sim = await startYouTubeSimulator({
    seed: 23,
    channels: total,
    videosPerChannel: [2, 6],
    commentThreadsPerVideo: [0, 3],
    repliesPerThread: [0, 1],
    subscriptionsPerChannel: [0, 0],
    apiKeys: [SETUP, ...POOL],
    dailyQuotaUnits: dailyUnits,
    // Older than the lookback: a regular sync reads the comments of what is new, as in a steady state.
    asOf: new Date(Date.now() - 120 * 86_400_000).toISOString(),
  });
  sim.control.quota.setDailyLimit(1_000_000_000, SETUP);
  const adapter = (key: string) =>
    new YouTubeAdapter({
      client: new YouTubeClient({
        baseUrl: sim.baseUrl,
        apiKey: key,
        credentialId: key,
        fetch: retryAfterGuard(),
        timeoutMs: 30_000,
      }),
    });
  const poolLimit = { callsPerWindow: 100_000, windowMs: 1000, dailyUnits, dayZone: DAY_ZONE };
  const credentials: PooledCredential[] = [
    { adapter: adapter(SETUP), limit: { ...poolLimit, dailyUnits: null } },
    ...POOL.map((key) => ({ adapter: adapter(key), limit: poolLimit })),
  ];
  const bench = benchSyncRunner(url, passwords, 'bench-day', {
    adapters: new Map(),
    pools: new Map([['youtube', credentials]]),
    concurrency: 8,
  });
  const { writer, api, runner } = bench;
  const admin = createPool({ connectionString: url, applicationName: 'bench-day-admin', max: 1 });
  const rng = random(5);
  const channels = Array.from({ length: total }, (_, i) => sim.control.channelId(i));
  /** An hour on the platform: 2 % of channels publish (with a comment), 5 % get a comment, all drift. */
  const hourOnThePlatform = () => {
    for (const channel of channels) {
      sim.control.bumpChannelCounters(channel, { views: 50, subscribers: 1 });
      const r = rng();
      if (r < 0.02) {
        const video = sim.control.addVideo(channel, { title: 'new this hour' });
        sim.control.addComment(video, { text: 'first' });
      } else if (r < 0.07) {
        const uploads = sim.control.truth.uploads(channel);
        const latest = uploads[0];
        if (latest) sim.control.addComment(latest, { text: 'another comment' });
      }
    }
  };
  // The simulated clock runs `offset` hours ahead of the database's. Stored due times are kept as
  // (simulated due − offset), so `next_due_at <= now()` is the engine's own due test at simulated time.
  let offset = 0;
  const passHour = async () => {
    offset += 1;
    await admin.query(
      `UPDATE social.accounts SET next_due_at = next_due_at - interval '1 hour' WHERE next_due_at IS NOT NULL`,
    );
  };
  /**
   * The engine put each account it just synced on its next slot after the database's now(); at
   * simulated time that is the next slot after now() + offset (the same phase, later in the day).
   */
  const slotAtSimulatedTime = async (since: Date) => {
    await admin.query(
      `UPDATE social.accounts a
          SET next_due_at = social.next_slot(a.platform || ':' || a.external_id, t.sync_interval,
                                             now() + make_interval(hours => $2)) - make_interval(hours => $2)
         FROM social.tiers t
        WHERE t.name = a.tier AND a.last_synced_at >= $1`,
      [since, offset],
    );
  };
  try {
    await runner.start();
    let line = 1;
    const csv = ['account,tags,tier'];
    for (const tier of Object.keys(TIERS) as Tier[]) {
      for (let i = 0; i < accounts[tier]; i++) csv.push(`${channels[line++ - 1]},,${tier}`);
    }
    await importAccounts(api, 'youtube', { format: 'csv', text: csv.join('\n') }, 'bench');
    const pipeline = async (name: string, mode: 'full' | 'incremental', social: Record<string, unknown>) =>
      savePipeline(
        api,
        { name, kind: 'social', mode, social: { platform: 'youtube', rate: RATE, ...social } },
        'bench',
      );
    const backfill = await pipeline('day_backfill', 'full', {
      select: {},
      credentials: [SETUP],
      comments: 'none',
    });
    const day = await pipeline('day_pool', 'incremental', { select: { due: true }, credentials: [...POOL] });

    const started = Date.now();
    await runToEnd(api, admin, backfill.id);
    log(`  day: ${total} accounts read in full in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    for (let hour = 0; hour < WARMUP_HOURS; hour++) {
      if (hour > 0) {
        hourOnThePlatform();
        await passHour();
      }
      const since = await dbNow(admin);
      await runToEnd(api, admin, day.id);
      await slotAtSimulatedTime(since);
    }
    log(`  day: ${WARMUP_HOURS} hours of history through the pool`);

    // A new quota day; the forecast: the pool's three keys are the platform's capacity.
    await admin.query(`DELETE FROM etl.quota_limits WHERE platform = 'youtube' AND credential = $1`, [SETUP]);
    for (const key of POOL) await upsertLimit(writer, 'youtube', key, poolLimit);
    await admin.query(
      `UPDATE etl.quota_limits SET units_used = 0, paused_until = NULL WHERE platform = 'youtube'`,
    );
    sim.control.quota.reset();
    const plan = (await planQuotas(api, 7)).platforms.find((p) => p.platform === 'youtube');
    if (!plan) throw new Error('the planner has no plan for youtube');
    const forecastTiers = plan.tiers.map(forecastOf);

    const sizeBefore = await databaseSize(admin);
    const dayStartedAt = await dbNow(admin);
    const dayStarted = Date.now();
    for (let hour = 0; hour < HOURS; hour++) {
      hourOnThePlatform();
      await passHour();
      const since = await dbNow(admin);
      const waiting = await runToEnd(api, admin, day.id);
      await slotAtSimulatedTime(since);
      if (waiting) {
        log(`  day: the pool ran out at hour ${hour + 1}`);
        break;
      }
    }
    const seconds = (Date.now() - dayStarted) / 1000;
    const sizeAfter = await databaseSize(admin);
    const measuredTiers = await measuredByTier(admin, day.id, dayStartedAt);
    const units = measuredTiers.reduce((n, t) => n + t.units, 0);
    const refusedForQuota = sim.control.requests().filter((r) => r.status === 403).length;
    const errorPercent = {
      units: percentError(units, plan.need_per_day),
      tiers: Object.fromEntries(
        forecastTiers.map((f) => {
          const m = measuredTiers.find((t) => t.tier === f.tier);
          return [f.tier, percentError(m?.syncs ?? 0, f.syncsPerDay)];
        }),
      ),
    };
    return {
      scale,
      accounts,
      pool: { keys: POOL.length, dailyUnitsPerKey: dailyUnits },
      forecast: {
        capacityPerDay: plan.capacity_per_day,
        needPerDay: plan.need_per_day,
        fits: plan.fits,
        tiers: forecastTiers,
      },
      measured: {
        tiers: measuredTiers,
        units,
        unitsPerKey: POOL.map((k) => sim.control.quota.used(k)),
        refusedForQuota,
        seconds: Math.round(seconds),
      },
      errorPercent,
      databaseKiBPerAccountDay: Math.round(((sizeAfter - sizeBefore) / 1024 / total) * 10) / 10,
    };
  } finally {
    await bench.stop();
    await admin.end();
    await sim.close();
  }
}

function forecastOf(t: TierPlan): TierForecast {
  const syncsPerDay = (t.accounts * 86_400) / t.interval_seconds;
  return {
    tier: t.tier,
    accounts: t.accounts,
    costPerSync: t.cost_per_sync,
    syncsPerDay: Math.round(syncsPerDay),
    unitsPerDay: Math.round(t.need_per_day),
  };
}

const percentError = (measured: number, forecast: number) =>
  forecast === 0 ? 0 : Math.round(((measured - forecast) / forecast) * 1000) / 10;

/**
 * Requests a run and waits for the pipeline to leave RUNNING; true when it is still running because
 * its steps wait for quota that only the platform's midnight gives back (the run is then paused).
 */
async function runToEnd(api: Pool, admin: Pool, pipelineId: string): Promise<boolean> {
  await requestStatus(api, pipelineId, 'run', 'bench', 'bench');
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const { rows } = await admin.query<{ status: string; exhausted: number }>(
      `SELECT p.status,
              (SELECT count(*)::int FROM etl.sync_tasks t
                WHERE t.status = 'WAITING' AND t.error_code = 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED') AS exhausted
         FROM etl.etl_pipelines p WHERE p.id = $1`,
      [pipelineId],
    );
    const { status, exhausted } = rows[0]!;
    if (status === 'FAILED') throw new Error(`pipeline ${pipelineId} failed`);
    if (status === 'IDLE') return false;
    if (status === 'PAUSED') return true;
    if (exhausted > 0 && status === 'RUNNING')
      await requestStatus(api, pipelineId, 'pause', 'bench', 'bench');
  }
}

async function measuredByTier(admin: Pool, pipelineId: string, from: Date): Promise<TierMeasured[]> {
  const { rows } = await admin.query<TierMeasured>(
    `SELECT a.tier, count(*)::int AS syncs, sum(c.calls)::int AS units
       FROM etl.etl_runs r
       JOIN etl.sync_jobs j ON j.run_id = r.id
       JOIN social.accounts a ON a.id = j.account_id
       CROSS JOIN LATERAL (SELECT coalesce(sum(calls), 0) AS calls FROM etl.sync_tasks WHERE job_id = j.id) c
      WHERE r.pipeline_id = $1 AND r.started_at >= $2 AND j.status = 'SUCCESS' AND j.job_kind = 'sync'
      GROUP BY 1 ORDER BY 1`,
    [pipelineId, from],
  );
  return rows;
}

async function dbNow(admin: Pool): Promise<Date> {
  const { rows } = await admin.query<{ now: Date }>('SELECT now() AS now');
  return rows[0]!.now;
}

async function databaseSize(admin: Pool): Promise<number> {
  await admin.query('CHECKPOINT');
  const { rows } = await admin.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n');
  return Number(rows[0]!.n);
}
