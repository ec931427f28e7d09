import type { AddCommentInit, AddVideoInit, YouTubeDataset } from './dataset.js';
import type { FaultControl } from './faults.js';
import { held } from '../shared/lookup.js';
import type { ChannelState, CommentState, VideoState } from './generate.js';
import { channelIdOf } from './ids.js';
import type { QuotaLedger } from './quota.js';
import { rfc3339 } from './resources.js';

/** One request as the simulator saw it; `status` 0 means the connection was dropped. */
export interface SimRequest {
  readonly method: string;
  readonly status: number;
}

export interface TruthChannel {
  readonly id: string;
  readonly uploadsId: string;
  readonly handle: string;
  readonly title: string;
  readonly country: string | null;
  readonly publishedAt: string;
  readonly viewCount: number;
  /** null when the channel hides it. */
  readonly subscriberCount: number | null;
  readonly videoCount: number;
}

export interface TruthVideo {
  readonly id: string;
  readonly channelId: string;
  readonly title: string;
  readonly description: string;
  readonly publishedAt: string;
  readonly durationSec: number;
  readonly viewCount: number;
  /** null when likes are hidden. */
  readonly likeCount: number | null;
  /** null when comments are disabled. */
  readonly commentCount: number | null;
}

export interface TruthComment {
  readonly id: string;
  readonly videoId: string;
  readonly parentId: string | null;
  readonly authorName: string;
  readonly text: string;
  readonly likeCount: number;
  readonly publishedAt: string;
  readonly updatedAt: string;
}

/** What the simulator holds, in plain values, for tests to compare a sync against. */
export interface GroundTruth {
  channel(channelId: string): TruthChannel | undefined;
  /** Live video ids of the channel's uploads, newest first. */
  uploads(channelId: string): string[];
  video(videoId: string): TruthVideo | undefined;
  /** Live threads, newest first, each with all its live reply ids (oldest first). */
  threads(videoId: string): { id: string; replyIds: string[] }[];
  comment(commentId: string): TruthComment | undefined;
  /** The channel ids it subscribes to, in the API's default order; null when they are private. */
  subscriptions(channelId: string): string[] | null;
}

export interface YouTubeSimulatorControl {
  readonly faults: FaultControl;
  readonly keys: {
    /** The key answers 400 `API_KEY_INVALID` from now on (deleted or restricted in the console). */
    revoke(key: string): void;
    /** The key is valid (again). */
    add(key: string): void;
  };
  readonly quota: {
    used(key: string): number;
    limit(key: string): number;
    /** Sets one key's daily budget, or the default for every key without its own. */
    setDailyLimit(units: number, key?: string): void;
    /** Forgets today's usage (as midnight Pacific Time does). */
    reset(): void;
  };
  readonly truth: GroundTruth;
  /** Requests seen so far, oldest first. */
  requests(): readonly SimRequest[];
  channelId(index: number): string;
  /** Publishes a new upload (now, unless `publishedAtMs` is given); returns its id. */
  addVideo(channelId: string, init?: AddVideoInit): string;
  updateVideo(videoId: string, patch: { title?: string; description?: string; durationSec?: number }): void;
  deleteVideo(videoId: string): void;
  /** Makes a deleted video public again (as a video made private and then public again comes back). */
  restoreVideo(videoId: string): void;
  bumpVideoCounters(videoId: string, delta: { views?: number; likes?: number }): void;
  bumpChannelCounters(channelId: string, delta: { views?: number; subscribers?: number }): void;
  setCommentsDisabled(videoId: string, disabled: boolean): void;
  setLikesHidden(videoId: string, hidden: boolean): void;
  /** Adds a top-level comment, or a reply when `parentId` names a thread; returns its id. */
  addComment(videoId: string, init: AddCommentInit): string;
  /** Changes the text and sets `updatedAt` to now. */
  editComment(commentId: string, text: string): void;
  deleteComment(commentId: string): void;
  /** Makes a channel's subscriptions private (403 `subscriptionForbidden`) or public. */
  setSubscriptionsPrivate(channelId: string, hidden: boolean): void;
}

// Longer than 80 lines: the control object is one literal of small methods a test reads as a list.
export function createControl(
  dataset: YouTubeDataset,
  faults: FaultControl,
  quota: QuotaLedger,
  log: readonly SimRequest[],
  keys: Set<string> = new Set(),
): YouTubeSimulatorControl {
  const channel = (id: string): ChannelState => held(dataset.channelById(id), `channel ${id}`);
  const video = (id: string): VideoState => held(dataset.video(id), `live video ${id}`);
  const comment = (id: string): CommentState => held(dataset.comment(id), `live comment ${id}`);

  const truth: GroundTruth = {
    channel(id) {
      const c = dataset.channelById(id);
      if (!c) return undefined;
      return {
        id: c.id,
        uploadsId: c.uploadsId,
        handle: c.handle,
        title: c.title,
        country: c.country,
        publishedAt: rfc3339(c.publishedAtMs),
        viewCount: c.viewCount,
        subscriberCount: c.hiddenSubscriberCount ? null : c.subscriberCount,
        videoCount: dataset.uploads(c).length,
      };
    },
    uploads: (id) => dataset.uploads(channel(id)).map((v) => v.id),
    video(id) {
      const v = dataset.video(id);
      if (!v) return undefined;
      return {
        id: v.id,
        channelId: dataset.channel(v.channel)!.id,
        title: v.title,
        description: v.description,
        publishedAt: rfc3339(v.publishedAtMs),
        durationSec: v.durationSec,
        viewCount: v.viewCount,
        likeCount: v.likesHidden ? null : v.likeCount,
        commentCount: v.commentsDisabled ? null : dataset.commentCount(v),
      };
    },
    threads: (id) =>
      dataset.threads(video(id)).map((t) => ({ id: t.id, replyIds: dataset.replies(t).map((r) => r.id) })),
    comment(id) {
      const c = dataset.comment(id);
      if (!c) return undefined;
      const { id: commentId, videoId, parentId, authorName, text, likeCount } = c;
      const times = { publishedAt: rfc3339(c.publishedAtMs), updatedAt: rfc3339(c.updatedAtMs) };
      return { id: commentId, videoId, parentId, authorName, text, likeCount, ...times };
    },
    subscriptions(id) {
      const c = channel(id);
      return dataset.subscriptionsPrivate(c) ? null : dataset.subscriptions(c).map((s) => s.channel.id);
    },
  };

  return {
    faults,
    keys: {
      revoke: (key) => void keys.delete(key),
      add: (key) => void keys.add(key),
    },
    quota: {
      used: (key) => quota.used(key),
      limit: (key) => quota.limit(key),
      setDailyLimit: (units, key) => quota.setLimit(units, key),
      reset: () => quota.reset(),
    },
    truth,
    requests: () => [...log],
    channelId: (index) => {
      if (!dataset.channel(index)) throw new Error(`the simulator has no channel #${index}`);
      return channelIdOf(dataset.options.seed, index);
    },
    addVideo: (channelId, init) => dataset.addVideo(channel(channelId), init).id,
    updateVideo: (id, patch) => dataset.updateVideo(video(id), patch),
    deleteVideo: (id) => dataset.deleteVideo(video(id)),
    restoreVideo: (id) => dataset.restoreVideo(id),
    bumpVideoCounters: (id, delta) => dataset.bumpVideo(video(id), delta),
    bumpChannelCounters: (id, delta) => dataset.bumpChannel(channel(id), delta),
    setCommentsDisabled: (id, disabled) => dataset.updateVideo(video(id), { commentsDisabled: disabled }),
    setLikesHidden: (id, hidden) => dataset.updateVideo(video(id), { likesHidden: hidden }),
    addComment: (videoId, init) => dataset.addComment(video(videoId), init).id,
    editComment: (id, text) => dataset.editComment(comment(id), text),
    deleteComment: (id) => dataset.deleteComment(comment(id)),
    setSubscriptionsPrivate: (id, hidden) => dataset.setSubscriptionsPrivate(channel(id), hidden),
  };
}
