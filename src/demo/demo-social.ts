import type { Config } from '../config/index.js';
import type { SOCIAL_PLATFORMS } from '../core/social-spec.schema.js';
import { instagramUserIdOf, type InstagramSimulatorOptions } from '../simulators/instagram/index.js';
import { usernameOf as tiktokUsernameOf, type TikTokSimulatorOptions } from '../simulators/tiktok/index.js';
import type { YouTubeSimulatorOptions } from '../simulators/youtube/index.js';
// The barrel exports no seed → channel id function; the demo needs ids before any simulator exists.
import { channelIdOf } from '../simulators/youtube/ids.js';
import type { DemoPipeline } from './demo-pipelines.js';

export type SocialPlatform = (typeof SOCIAL_PLATFORMS)[number];

/**
 * The social demo of `siphon start`: three platform simulators with fixed seeds and a few dozen
 * accounts, and one incremental social pipeline per platform over all of them. The accounts are
 * derived from the seeds alone, so the pipelines can be installed before the simulators start.
 */

/** Accounts per platform. */
export const DEMO_SOCIAL_ACCOUNTS = 10;

/** What a demo credential looks like: never a real one, so it is never mistaken for one. */
export const DEMO_SOCIAL_CREDENTIALS = {
  youtube: { apiKey: 'siphon-demo-youtube-key' },
  instagram: { accessToken: 'siphon-demo-instagram-token' },
  tiktok: { clientKey: 'siphon-demo-tiktok-key', clientSecret: 'siphon-demo-tiktok-secret' },
} as const;

const SEEDS = { youtube: 4001, instagram: 4002, tiktok: 4003 } as const;

/**
 * The simulators' data (`asOf` is added at start: the demo's first start). Modest sizes: the first
 * sync of all thirty accounts is a few hundred calls. Limits are far above what the demo spends, so
 * restarts on one day never meet a simulated quota.
 */
export const DEMO_SIMULATORS = {
  youtube: {
    seed: SEEDS.youtube,
    channels: DEMO_SOCIAL_ACCOUNTS,
    videosPerChannel: [3, 8],
    commentThreadsPerVideo: [0, 5],
    repliesPerThread: [0, 3],
    apiKeys: [DEMO_SOCIAL_CREDENTIALS.youtube.apiKey],
    dailyQuotaUnits: 1_000_000,
  },
  instagram: {
    seed: SEEDS.instagram,
    accounts: DEMO_SOCIAL_ACCOUNTS,
    // Every account belongs to the token: their comments are readable too (business discovery's are not).
    ownAccounts: DEMO_SOCIAL_ACCOUNTS,
    mediaPerAccount: [3, 8],
    commentsPerMedia: [0, 6],
    repliesPerComment: [0, 2],
    accessTokens: [DEMO_SOCIAL_CREDENTIALS.instagram.accessToken],
    callsPerWindow: 1_000_000,
  },
  tiktok: {
    seed: SEEDS.tiktok,
    users: DEMO_SOCIAL_ACCOUNTS,
    videosPerUser: [3, 8],
    commentsPerVideo: [0, 6],
    repliesPerComment: [0, 2],
    // Inside the adapter's 180-day backfill, so the first sync finds every video.
    historyDays: 150,
    privateShare: 0,
    clients: { [DEMO_SOCIAL_CREDENTIALS.tiktok.clientKey]: DEMO_SOCIAL_CREDENTIALS.tiktok.clientSecret },
    dailyRequestLimit: 1_000_000,
  },
} as const satisfies {
  youtube: YouTubeSimulatorOptions;
  instagram: InstagramSimulatorOptions;
  tiktok: TikTokSimulatorOptions;
};

const ids = (platform: SocialPlatform): string[] =>
  Array.from({ length: DEMO_SOCIAL_ACCOUNTS }, (_, i) =>
    platform === 'youtube'
      ? channelIdOf(SEEDS.youtube, i)
      : platform === 'instagram'
        ? instagramUserIdOf(SEEDS.instagram, i)
        : tiktokUsernameOf(SEEDS.tiktok, i),
  );

const PIPELINE_IDS = {
  youtube: '55555555-5555-5555-5555-555555555555',
  instagram: '66666666-6666-6666-6666-666666666666',
  tiktok: '77777777-7777-7777-7777-777777777777',
} as const;

const LABELS = { youtube: 'YouTube channels', instagram: 'Instagram accounts', tiktok: 'TikTok users' };

/** The demo social pipeline of a platform: `<platform>_demo`, incremental, over every demo account. */
export function socialDemoPipeline(platform: SocialPlatform): DemoPipeline {
  return {
    id: PIPELINE_IDS[platform],
    name: `${platform}_demo`,
    description: `Demo: ${DEMO_SOCIAL_ACCOUNTS} simulated ${LABELS[platform]} (profiles, posts, comments).`,
    kind: 'social',
    mode: 'incremental',
    social: {
      platform,
      accounts: ids(platform),
      // The simulators are local: a generous rate keeps the first sync to seconds.
      rate: { calls: 50, window: '1s' },
    },
  };
}

/**
 * The platforms the demo may simulate: those for which the user configured no credential at all.
 * A real (or partial) credential is never overridden; that platform simply has no demo.
 */
export function demoSocialPlatforms(config: Config): SocialPlatform[] {
  const configured: Record<SocialPlatform, boolean> = {
    youtube: config.youtube.apiKey !== undefined,
    instagram: config.instagram.accessToken !== undefined || config.instagram.userId !== undefined,
    tiktok: config.tiktok.clientKey !== undefined || config.tiktok.clientSecret !== undefined,
  };
  return (['youtube', 'instagram', 'tiktok'] as const).filter((platform) => !configured[platform]);
}

/** Where the running demo simulators listen. */
export interface DemoSocialEndpoints {
  readonly youtube?: { readonly baseUrl: string };
  readonly instagram?: { readonly baseUrl: string; readonly userId: string };
  readonly tiktok?: { readonly baseUrl: string };
}

/**
 * The runner's configuration with the simulated platforms pointed at their simulators and given the
 * demo credentials; a platform the user configured (not in `endpoints`) is left exactly as it was.
 */
export function withDemoSocialEndpoints(config: Config, endpoints: DemoSocialEndpoints): Config {
  const { youtube, instagram, tiktok } = endpoints;
  const demo = DEMO_SOCIAL_CREDENTIALS;
  return Object.freeze({
    ...config,
    youtube:
      youtube && config.youtube.apiKey === undefined
        ? Object.freeze({ baseUrl: youtube.baseUrl, apiKey: demo.youtube.apiKey })
        : config.youtube,
    instagram:
      instagram && config.instagram.accessToken === undefined && config.instagram.userId === undefined
        ? Object.freeze({
            baseUrl: instagram.baseUrl,
            accessToken: demo.instagram.accessToken,
            userId: instagram.userId,
          })
        : config.instagram,
    tiktok:
      tiktok && config.tiktok.clientKey === undefined && config.tiktok.clientSecret === undefined
        ? Object.freeze({ baseUrl: tiktok.baseUrl, ...demo.tiktok })
        : config.tiktok,
  });
}
