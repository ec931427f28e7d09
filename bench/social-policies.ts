/**
 * What each freshness policy costs: per platform and policy, the API calls (and YouTube quota units)
 * per account of a first sync and of the regular sync that follows it, after one new post per account
 * and drifted counters on the platform. Part of `npm run bench:social` (skip with `--policies 0`).
 *
 * `refresh: recent` is what a regular sync did before freshness policies existed (and TikTok's
 * default); `refresh: all` is the YouTube and Instagram default. The simulators run in this process:
 * these figures are counts, not speeds.
 */
import { InstagramAdapter, InstagramClient } from '../src/connectors/instagram/index.js';
import { TikTokAdapter, TikTokClient } from '../src/connectors/tiktok/index.js';
import { YouTubeAdapter, YouTubeClient } from '../src/connectors/youtube/index.js';
import type { PlatformAdapter } from '../src/connectors/connector.js';
import type { RolePasswords } from '../src/db/roles.js';
import { requestStatus, savePipeline } from '../src/pipelines/index.js';
import { startInstagramSimulator } from '../src/simulators/instagram/index.js';
import { startTikTokSimulator } from '../src/simulators/tiktok/index.js';
import { startYouTubeSimulator } from '../src/simulators/youtube/index.js';
import { benchSyncRunner } from './server.js';

/** Accounts per platform, and posts per account: enough history that "all" and "recent" differ. */
const ACCOUNTS = 10;
const POSTS: readonly [number, number] = [40, 120];
const COMMENTS: readonly [number, number] = [0, 3];
const REPLIES: readonly [number, number] = [0, 2];
const RATE = { calls: 100_000, window: '1s' } as const;

type Platform = 'youtube' | 'instagram' | 'tiktok';

interface Policy {
  readonly label: string;
  readonly refresh?: 'all' | 'recent';
  readonly comments?: 'recent' | 'all' | 'none';
}

const POLICIES: readonly Policy[] = [
  { label: 'refresh recent, comments recent', refresh: 'recent' },
  { label: 'refresh all, comments recent', refresh: 'all' },
  { label: 'refresh all, comments all', refresh: 'all', comments: 'all' },
  { label: 'refresh all, comments none', refresh: 'all', comments: 'none' },
];

export interface PolicyResult {
  readonly platform: Platform;
  readonly policy: string;
  /** Whether this is the platform's default (refresh all for YouTube/Instagram, recent for TikTok). */
  readonly isDefault: boolean;
  readonly accounts: number;
  readonly posts: number;
  readonly firstSync: SyncCost;
  readonly regularSync: SyncCost;
}

/** Per account: API calls, YouTube quota units (null elsewhere), and items read (TikTok's "records"). */
export interface SyncCost {
  readonly callsPerAccount: number;
  readonly unitsPerAccount: number | null;
  readonly itemsPerAccount: number;
}

/** A simulator with ACCOUNTS accounts, its adapter, the accounts to list, and the platform-side changes. */
interface PlatformFixture {
  readonly adapter: PlatformAdapter;
  readonly accounts: string[];
  readonly posts: number;
  /** One new post per account, counters drifted. */
  change(): void;
  /** Quota units spent so far (YouTube), else null. */
  units(): number | null;
  close(): Promise<void>;
}

async function fixture(platform: Platform, seed: number): Promise<PlatformFixture> {
  const asOf = new Date(Date.now() - 3_600_000).toISOString();
  if (platform === 'youtube') {
    const key = 'bench-policy-key';
    const sim = await startYouTubeSimulator({
      seed,
      channels: ACCOUNTS,
      videosPerChannel: POSTS,
      commentThreadsPerVideo: COMMENTS,
      repliesPerThread: REPLIES,
      subscriptionsPerChannel: [0, 0],
      apiKeys: [key],
      dailyQuotaUnits: 100_000_000,
      asOf,
    });
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => sim.control.channelId(i));
    const client = new YouTubeClient({ baseUrl: sim.baseUrl, apiKey: key, timeoutMs: 30_000 });
    return {
      adapter: new YouTubeAdapter({ client }),
      accounts,
      posts: accounts.reduce((n, id) => n + sim.control.truth.uploads(id).length, 0),
      change: () => {
        for (const id of accounts) {
          sim.control.addVideo(id, { title: 'new this week' });
          sim.control.bumpChannelCounters(id, { views: 100, subscribers: 3 });
          for (const video of sim.control.truth.uploads(id))
            sim.control.bumpVideoCounters(video, { views: 7 });
        }
      },
      units: () => sim.control.quota.used(key),
      close: () => sim.close(),
    };
  }
  if (platform === 'instagram') {
    const sim = await startInstagramSimulator({
      seed,
      accounts: ACCOUNTS * 2,
      ownAccounts: 1,
      mediaPerAccount: POSTS,
      commentsPerMedia: COMMENTS,
      repliesPerComment: REPLIES,
      accessTokens: ['bench-ig-token'],
      asOf,
    });
    const professional = sim.control.truth
      .all()
      .filter((t) => t.account.professional)
      .slice(0, ACCOUNTS);
    const client = new InstagramClient({ baseUrl: sim.baseUrl, accessToken: 'bench-ig-token' });
    return {
      adapter: new InstagramAdapter({ client, userId: sim.userId }),
      accounts: professional.map((t) => t.account.username),
      posts: professional.reduce((n, t) => n + t.media.length, 0),
      change: () => {
        for (const [round, t] of professional.entries()) {
          sim.control.addMedia(t.account.id, { caption: 'new this week' });
          sim.control.driftCounters(t.account.id, round + 1);
        }
      },
      units: () => null,
      close: () => sim.close(),
    };
  }
  const sim = await startTikTokSimulator({
    seed,
    users: ACCOUNTS,
    videosPerUser: POSTS,
    commentsPerVideo: COMMENTS,
    repliesPerComment: REPLIES,
    followersPerUser: [0, 0],
    followingPerUser: [0, 0],
    historyDays: 730,
    asOf,
    privateShare: 0,
    clients: { 'bench-key': 'bench-secret' },
    dailyRequestLimit: 100_000_000,
  });
  const users = sim.control.usernames();
  const client = new TikTokClient({
    baseUrl: sim.baseUrl,
    clientKey: 'bench-key',
    clientSecret: 'bench-secret',
  });
  return {
    adapter: new TikTokAdapter({ client }),
    accounts: users,
    posts: users.reduce((n, u) => n + sim.control.videos(u).length, 0),
    change: () => {
      for (const user of users) {
        sim.control.addVideo(user, { description: 'new this week' });
        sim.control.driftCounters(user, 1);
      }
    },
    units: () => null,
    close: () => sim.close(),
  };
}

/**
 * Measures every policy on every platform, each in a fresh database made by `freshDatabase` (which
 * returns its URL and a function that drops it).
 */
export async function measurePolicies(
  freshDatabase: (name: string) => Promise<{ url: string; drop: () => Promise<void> }>,
  passwords: RolePasswords,
  log: (line: string) => void,
): Promise<PolicyResult[]> {
  const results: PolicyResult[] = [];
  for (const platform of ['youtube', 'instagram', 'tiktok'] as const) {
    for (const policy of POLICIES) {
      const { url, drop } = await freshDatabase(`siphon_bench_policy_${platform}_${results.length}`);
      try {
        const result = await measure(url, passwords, platform, policy);
        log(
          `${platform.padEnd(9)} ${policy.label.padEnd(34)} first ${result.firstSync.callsPerAccount} calls/account, ` +
            `regular ${result.regularSync.callsPerAccount} calls/account, ${result.regularSync.itemsPerAccount} items` +
            (result.regularSync.unitsPerAccount === null
              ? ''
              : ` (${result.regularSync.unitsPerAccount} units)`),
        );
        results.push(result);
      } finally {
        await drop();
      }
    }
  }
  return results;
}

async function measure(
  url: string,
  passwords: RolePasswords,
  platform: Platform,
  policy: Policy,
): Promise<PolicyResult> {
  const fix = await fixture(platform, 11);
  const bench = benchSyncRunner(url, passwords, 'bench-policy', {
    adapters: new Map([[platform, fix.adapter]]),
    concurrency: 8,
  });
  const { writer, api, runner } = bench;
  try {
    await runner.start();
    const social = {
      platform,
      accounts: fix.accounts,
      rate: RATE,
      ...(policy.refresh ? { refresh: policy.refresh } : {}),
      ...(policy.comments ? { comments: policy.comments } : {}),
    };
    const pipeline = await savePipeline(
      api,
      { name: `policy_${platform}`, kind: 'social', mode: 'incremental', social },
      'bench',
    );
    const sync = async (): Promise<SyncCost> => {
      const unitsBefore = fix.units();
      const finished = new Promise<string>((resolve, reject) => {
        runner.events.once('run:succeeded', (e) => resolve(e.runId));
        runner.events.once('run:failed', (e) => reject(new Error(`${e.code}: ${e.message}`)));
      });
      await requestStatus(api, pipeline.id, 'run', 'bench', 'bench');
      const runId = await finished;
      const { rows } = await writer.query<{ calls: number; items: number }>(
        `SELECT coalesce(sum(t.calls), 0)::int AS calls, coalesce(sum(t.items), 0)::int AS items
           FROM etl.sync_jobs j JOIN etl.sync_tasks t ON t.job_id = j.id WHERE j.run_id = $1`,
        [runId],
      );
      const units = fix.units();
      const per = (n: number) => Math.round((n / fix.accounts.length) * 10) / 10;
      return {
        callsPerAccount: per(rows[0]!.calls),
        unitsPerAccount: units === null || unitsBefore === null ? null : per(units - unitsBefore),
        itemsPerAccount: per(rows[0]!.items),
      };
    };
    const firstSync = await sync();
    fix.change();
    const regularSync = await sync();
    const platformDefault = platform === 'tiktok' ? 'recent' : 'all';
    return {
      platform,
      policy: policy.label,
      isDefault:
        (policy.refresh ?? platformDefault) === platformDefault && (policy.comments ?? 'recent') === 'recent',
      accounts: fix.accounts.length,
      posts: fix.posts,
      firstSync,
      regularSync,
    };
  } finally {
    await bench.stop();
    await fix.close();
  }
}
