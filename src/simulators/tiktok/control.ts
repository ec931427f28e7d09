import type { CommentState, TikTokDataset, UserState, VideoState } from './dataset.js';
import type { FaultControl } from './faults.js';
import { held } from '../shared/lookup.js';
import type { DailyQuota, QuotaBucket, RateWindow, RateWindows, TokenStore } from './limits.js';

/** One request as the simulator saw it; `status` 0 means the connection was dropped. */
export interface SimRequest {
  /** Path after `/v2/`: `oauth/token`, `research/video/query`, … */
  readonly endpoint: string;
  readonly status: number;
  /** `error.code` of the answer (`ok` on success), the OAuth error, or `dropped`. */
  readonly code: string;
  /** Simulator clock. */
  readonly at: number;
}

export interface TruthUser {
  readonly username: string;
  readonly displayName: string;
  readonly bio: string;
  readonly isVerified: boolean;
  readonly isPrivate: boolean;
  /** As `follower_count`: listable followers plus private ones. */
  readonly followerCount: number;
  readonly followingCount: number;
  readonly likesCount: number;
  readonly videoCount: number;
}

export interface TruthVideo {
  /** Exact decimal string of the int64 id. */
  readonly id: string;
  readonly username: string;
  /** Unix seconds. */
  readonly createTime: number;
  readonly description: string;
  readonly regionCode: string;
  readonly viewCount: number;
  readonly likeCount: number;
  readonly shareCount: number;
  readonly commentCount: number;
  readonly durationSec: number;
}

export interface TruthComment {
  readonly id: string;
  readonly videoId: string;
  /** null for a top-level comment (the API answers the video id as its parent). */
  readonly parentId: string | null;
  readonly text: string;
  readonly likeCount: number;
  readonly replyCount: number;
  readonly createTime: number;
}

export interface TruthFollow {
  readonly username: string;
  readonly displayName: string;
}

/** The whole data set as plain values (live entities only). */
export interface DatasetSnapshot {
  readonly users: readonly (TruthUser & {
    readonly videos: readonly (TruthVideo & { readonly comments?: readonly TruthComment[] })[];
    readonly followers: readonly TruthFollow[];
    readonly following: readonly TruthFollow[];
  })[];
}

export interface TikTokSimulatorControl {
  readonly faults: FaultControl;
  readonly tokens: {
    /** Tokens issued so far. */
    issued(): number;
    /** Every issued token answers 401 `access_token_invalid` from now on. */
    expireAll(): void;
    /** Lifetime of tokens issued from now on. */
    setTtlSeconds(seconds: number): void;
  };
  readonly quota: {
    used(clientKey: string, bucket?: QuotaBucket): number;
    limit(bucket?: QuotaBucket): number;
    setDailyLimit(requests: number, bucket?: QuotaBucket): void;
    /** Spends today's quota: 429 `daily_quota_limit_exceeded` until 00:00 UTC on the simulator clock. */
    exhaust(clientKey: string, bucket?: QuotaBucket): void;
    reset(): void;
  };
  readonly rate: {
    /** N requests per W ms over all endpoints (token requests included); undefined = no limit. */
    setLimit(limit: { requests: number; windowMs: number } | undefined): void;
    /** Arrivals per fixed window since the limit was last set. */
    windows(): RateWindow[];
    /** The most requests that arrived in any one window. */
    maxArrived(): number;
  };
  /** Requests seen so far, oldest first (the last 10,000). */
  requests(): readonly SimRequest[];
  usernames(): string[];
  user(username: string): TruthUser | undefined;
  /** Live videos, newest first. */
  videos(username: string): TruthVideo[];
  video(id: string): TruthVideo | undefined;
  /** Live comments and replies, oldest first. */
  comments(videoId: string): TruthComment[];
  followers(username: string): TruthFollow[];
  following(username: string): TruthFollow[];
  /** Everything; comments only with `withComments` (they are generated on demand). */
  dataset(options?: { withComments?: boolean }): DatasetSnapshot;
  /** Publishes a video (now on the simulator clock, unless `createTime` is given); returns its id. */
  addVideo(
    username: string,
    init?: { description?: string; createTime?: number; durationSec?: number },
  ): string;
  deleteVideo(id: string): void;
  bumpVideoCounters(id: string, delta: { views?: number; likes?: number; shares?: number }): void;
  /** Every live video of the user gains views and likes, and the user gains followers (deterministic). */
  driftCounters(username: string, step?: number): void;
  /** A top-level comment, or a reply when `parentId` names a top-level comment; returns its id. */
  addComment(videoId: string, init: { text: string; parentId?: string; createTime?: number }): string;
  deleteComment(id: string): void;
  setPrivate(username: string, isPrivate: boolean): void;
  addFollower(username: string, follower: TruthFollow): void;
  removeFollower(username: string, followerUsername: string): void;
}

export interface ControlDeps {
  readonly dataset: TikTokDataset;
  readonly faults: FaultControl;
  readonly tokens: TokenStore;
  readonly quota: DailyQuota;
  readonly rate: RateWindows;
  readonly log: readonly SimRequest[];
}

// Longer than 80 lines: the control object is one literal of small methods a test reads as a list.
export function createControl(deps: ControlDeps): TikTokSimulatorControl {
  const { dataset } = deps;
  const user = (name: string): UserState => held(dataset.user(name), `user ${name}`);
  const video = (id: string): VideoState => held(dataset.video(id), `live video ${id}`);
  const comment = (id: string): CommentState => held(dataset.comment(id), `live comment ${id}`);
  const truthUser = (u: UserState): TruthUser => {
    const videos = dataset.videos(u);
    return {
      username: u.username,
      displayName: u.displayName,
      bio: u.bio,
      isVerified: u.isVerified,
      isPrivate: u.isPrivate,
      followerCount: u.followers.length + u.hiddenFollowers,
      followingCount: u.following.length,
      likesCount: videos.reduce((n, v) => n + v.likeCount, 0),
      videoCount: videos.length,
    };
  };
  const truthVideo = (v: VideoState): TruthVideo => ({
    id: v.id,
    username: v.username,
    createTime: v.createSeconds,
    description: v.description,
    regionCode: v.regionCode,
    viewCount: v.viewCount,
    likeCount: v.likeCount,
    shareCount: v.shareCount,
    commentCount: dataset.comments(v).length,
    durationSec: v.durationSec,
  });
  const truthComment = (c: CommentState): TruthComment => ({
    id: c.id,
    videoId: c.videoId,
    parentId: c.parentId,
    text: c.text,
    likeCount: c.likeCount,
    replyCount: dataset.replyCount(c),
    createTime: c.createSeconds,
  });
  const follows = (list: readonly { username: string; displayName: string }[]) =>
    list.map((f) => ({ username: f.username, displayName: f.displayName }));

  return {
    faults: deps.faults,
    tokens: {
      issued: () => deps.tokens.issued(),
      expireAll: () => deps.tokens.expireAll(),
      setTtlSeconds: (seconds) => {
        deps.tokens.ttlSeconds = seconds;
      },
    },
    quota: {
      used: (clientKey, bucket = 'research') => deps.quota.used(clientKey, bucket),
      limit: (bucket = 'research') => deps.quota.limit(bucket),
      setDailyLimit: (requests, bucket = 'research') => deps.quota.setLimit(bucket, requests),
      exhaust: (clientKey, bucket = 'research') => deps.quota.exhaust(clientKey, bucket),
      reset: () => deps.quota.reset(),
    },
    rate: {
      setLimit: (limit) => deps.rate.setLimit(limit),
      windows: () => deps.rate.windows(),
      maxArrived: () => Math.max(0, ...deps.rate.windows().map((w) => w.arrived)),
    },
    requests: () => [...deps.log],
    usernames: () => dataset.usernames(),
    user: (name) => {
      const u = dataset.user(name);
      return u && truthUser(u);
    },
    videos: (name) => dataset.videos(user(name)).map(truthVideo),
    video: (id) => {
      const v = dataset.video(id);
      return v && truthVideo(v);
    },
    comments: (videoId) => dataset.comments(video(videoId)).map(truthComment),
    followers: (name) => follows(user(name).followers),
    following: (name) => follows(user(name).following),
    dataset: (options = {}) => ({
      users: dataset.usernames().map((name) => {
        const u = user(name);
        return {
          ...truthUser(u),
          videos: dataset.videos(u).map((v) => ({
            ...truthVideo(v),
            ...(options.withComments ? { comments: dataset.comments(v).map(truthComment) } : {}),
          })),
          followers: follows(u.followers),
          following: follows(u.following),
        };
      }),
    }),
    addVideo: (name, init = {}) =>
      dataset.addVideo(user(name), {
        ...(init.description === undefined ? {} : { description: init.description }),
        ...(init.createTime === undefined ? {} : { createSeconds: init.createTime }),
        ...(init.durationSec === undefined ? {} : { durationSec: init.durationSec }),
      }).id,
    deleteVideo: (id) => {
      video(id).deleted = true;
    },
    bumpVideoCounters: (id, delta) => {
      const v = video(id);
      v.viewCount += delta.views ?? 0;
      v.likeCount += delta.likes ?? 0;
      v.shareCount += delta.shares ?? 0;
    },
    driftCounters: (name, step = 1) => {
      const u = user(name);
      for (const v of dataset.videos(u)) {
        v.viewCount += step * (10 + (v.index % 7) * 13);
        v.likeCount += step * (1 + (v.index % 3));
      }
      u.hiddenFollowers += step * 5;
    },
    addComment: (videoId, init) =>
      dataset.addComment(video(videoId), {
        text: init.text,
        ...(init.parentId === undefined ? {} : { parentId: init.parentId }),
        ...(init.createTime === undefined ? {} : { createSeconds: init.createTime }),
      }).id,
    deleteComment: (id) => {
      comment(id).deleted = true;
    },
    setPrivate: (name, isPrivate) => {
      user(name).isPrivate = isPrivate;
    },
    addFollower: (name, follower) => {
      user(name).followers.push({ ...follower });
    },
    removeFollower: (name, other) => {
      const list = user(name).followers;
      const index = list.findIndex((f) => f.username === other);
      if (index < 0) throw new Error(`${other} does not follow ${name}`);
      list.splice(index, 1);
    },
  };
}
