import {
  baseChannel,
  baseReply,
  baseReplyCount,
  baseSubscriptions,
  baseSubscriptionsPrivate,
  baseThread,
  baseThreadCount,
  baseVideo,
  baseVideoCount,
  type ChannelState,
  type CommentState,
  type DataOptions,
  type VideoState,
} from './generate.js';
import {
  parseChannelId,
  parseReplyId,
  parseThreadId,
  parseVideoId,
  replyIdOf,
  threadIdOf,
  videoIdOf,
} from './ids.js';

export interface AddVideoInit {
  readonly title?: string;
  readonly description?: string;
  readonly durationSec?: number;
  /** @default the simulator clock's now */
  readonly publishedAtMs?: number;
}

export interface AddCommentInit {
  readonly text: string;
  /** A thread id: the new comment is a reply to it. */
  readonly parentId?: string;
  readonly authorName?: string;
}

type VideoPatch = Partial<
  Pick<VideoState, 'title' | 'description' | 'durationSec' | 'commentsDisabled' | 'likesHidden'>
>;

/**
 * The base data set plus an overlay of mutations (added, edited, deleted entities and counter bumps).
 * Queries return only live entities, already in the API's order.
 */
export class YouTubeDataset {
  readonly options: DataOptions;
  readonly #now: () => number;
  readonly #channelDelta = new Map<number, { views: number; subscribers: number }>();
  readonly #videos = new Map<string, VideoState>();
  readonly #addedVideos = new Map<number, number>();
  readonly #deletedVideos = new Set<string>();
  readonly #comments = new Map<string, CommentState>();
  readonly #addedThreads = new Map<string, number>();
  readonly #addedReplies = new Map<string, number>();
  readonly #newThreadIds = new Set<string>();
  readonly #deletedComments = new Set<string>();
  readonly #subscriptionsPrivate = new Map<number, boolean>();

  constructor(options: DataOptions, now: () => number) {
    this.options = options;
    this.#now = now;
  }

  channel(index: number): ChannelState | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.channels) return undefined;
    const base = baseChannel(this.options, index);
    const delta = this.#channelDelta.get(index);
    if (!delta) return base;
    return {
      ...base,
      viewCount: base.viewCount + delta.views,
      subscriberCount: base.subscriberCount + delta.subscribers,
    };
  }

  channelById(id: string): ChannelState | undefined {
    const index = parseChannelId(this.options.seed, id);
    return index === undefined ? undefined : this.channel(index);
  }

  /** `@handle` or `handle`, case-insensitive, as `forHandle`. */
  channelByHandle(handle: string): ChannelState | undefined {
    const wanted = (handle.startsWith('@') ? handle : `@${handle}`).toLowerCase();
    const channel = this.channel(Number(/(\d+)$/.exec(wanted)?.[1] ?? -1));
    return channel?.handle === wanted ? channel : undefined;
  }

  channelByUsername(username: string): ChannelState | undefined {
    const channel = this.channel(Number(/(\d+)$/.exec(username)?.[1] ?? -1));
    return channel?.username.toLowerCase() === username.toLowerCase() ? channel : undefined;
  }

  channelByUploadsId(playlistId: string): ChannelState | undefined {
    return playlistId.startsWith('UU') ? this.channelById(`UC${playlistId.slice(2)}`) : undefined;
  }

  /** Whether the channel's subscriptions are private (subscriptions.list answers 403). */
  subscriptionsPrivate(channel: ChannelState): boolean {
    return (
      this.#subscriptionsPrivate.get(channel.index) ?? baseSubscriptionsPrivate(this.options, channel.index)
    );
  }

  setSubscriptionsPrivate(channel: ChannelState, hidden: boolean): void {
    this.#subscriptionsPrivate.set(channel.index, hidden);
  }

  /** The channels this channel subscribes to, in subscription order (oldest first). */
  subscriptions(channel: ChannelState): { channel: ChannelState; subscribedAtMs: number }[] {
    return baseSubscriptions(this.options, channel).map((s) => ({
      channel: this.channel(s.channel)!,
      subscribedAtMs: s.subscribedAtMs,
    }));
  }

  /** Live uploads, newest first. */
  uploads(channel: ChannelState): VideoState[] {
    const baseCount = baseVideoCount(this.options, channel.index);
    const total = baseCount + (this.#addedVideos.get(channel.index) ?? 0);
    const videos: VideoState[] = [];
    for (let i = 0; i < total; i++) {
      const id = videoIdOf(this.options.seed, channel.index, i);
      if (this.#deletedVideos.has(id)) continue;
      videos.push(this.#videos.get(id) ?? baseVideo(this.options, channel, i, baseCount));
    }
    return videos.sort((a, b) => b.publishedAtMs - a.publishedAtMs || b.index - a.index);
  }

  video(id: string): VideoState | undefined {
    const parsed = parseVideoId(this.options.seed, id);
    if (!parsed || this.#deletedVideos.has(id)) return undefined;
    const channel = this.channel(parsed.channel);
    if (!channel) return undefined;
    const baseCount = baseVideoCount(this.options, channel.index);
    if (parsed.video >= baseCount + (this.#addedVideos.get(channel.index) ?? 0)) return undefined;
    return this.#videos.get(id) ?? baseVideo(this.options, channel, parsed.video, baseCount);
  }

  /** Live top-level comments of a live video, newest first. */
  threads(video: VideoState): CommentState[] {
    const channelId = this.channel(video.channel)!.id;
    const baseCount = this.#isAddedVideo(video) ? 0 : baseThreadCount(this.options, video);
    const total = baseCount + (this.#addedThreads.get(video.id) ?? 0);
    const threads: { state: CommentState; index: number }[] = [];
    for (let i = 0; i < total; i++) {
      const id = threadIdOf(this.options.seed, video.channel, video.index, i);
      if (this.#deletedComments.has(id)) continue;
      threads.push({
        state: this.#comments.get(id) ?? baseThread(this.options, video, channelId, i),
        index: i,
      });
    }
    threads.sort((a, b) => b.state.publishedAtMs - a.state.publishedAtMs || b.index - a.index);
    return threads.map((t) => t.state);
  }

  /** Live replies of a thread, oldest first. */
  replies(thread: CommentState): CommentState[] {
    const baseCount = this.#newThreadIds.has(thread.id) ? 0 : baseReplyCount(this.options, thread.id);
    const total = baseCount + (this.#addedReplies.get(thread.id) ?? 0);
    const replies: CommentState[] = [];
    for (let i = 0; i < total; i++) {
      const id = replyIdOf(this.options.seed, thread.id, i);
      if (!this.#deletedComments.has(id))
        replies.push(this.#comments.get(id) ?? baseReply(this.options, thread, i));
    }
    return replies.sort((a, b) => a.publishedAtMs - b.publishedAtMs);
  }

  thread(id: string): CommentState | undefined {
    const parsed = parseThreadId(this.options.seed, id);
    if (!parsed || this.#deletedComments.has(id)) return undefined;
    const video = this.video(videoIdOf(this.options.seed, parsed.channel, parsed.video));
    return video && this.threads(video).find((t) => t.id === id);
  }

  /** A live top-level comment or reply. */
  comment(id: string): CommentState | undefined {
    const reply = parseReplyId(this.options.seed, id);
    if (!reply) return this.thread(id);
    const thread = this.thread(reply.threadId);
    return thread && this.replies(thread).find((r) => r.id === id);
  }

  /** Top-level comments plus replies, as `statistics.commentCount`. */
  commentCount(video: VideoState): number {
    return this.threads(video).reduce((n, thread) => n + 1 + this.replies(thread).length, 0);
  }

  addVideo(channel: ChannelState, init: AddVideoInit = {}): VideoState {
    const added = this.#addedVideos.get(channel.index) ?? 0;
    const index = baseVideoCount(this.options, channel.index) + added;
    const video: VideoState = {
      channel: channel.index,
      index,
      id: videoIdOf(this.options.seed, channel.index, index),
      title: init.title ?? `New upload #${index + 1}`,
      description: init.description ?? '',
      publishedAtMs: Math.floor((init.publishedAtMs ?? this.#now()) / 1000) * 1000,
      durationSec: init.durationSec ?? 300,
      tags: [],
      categoryId: '22',
      viewCount: 0,
      likeCount: 0,
      likesHidden: false,
      commentsDisabled: false,
    };
    this.#addedVideos.set(channel.index, added + 1);
    this.#videos.set(video.id, video);
    return video;
  }

  updateVideo(video: VideoState, patch: VideoPatch): void {
    this.#videos.set(video.id, { ...video, ...patch });
  }

  bumpVideo(video: VideoState, delta: { views?: number; likes?: number }): void {
    this.#videos.set(video.id, {
      ...video,
      viewCount: video.viewCount + (delta.views ?? 0),
      likeCount: video.likeCount + (delta.likes ?? 0),
    });
  }

  deleteVideo(video: VideoState): void {
    this.#deletedVideos.add(video.id);
  }

  /** A deleted (or made private) video is public again, with its comments as they were. */
  restoreVideo(videoId: string): void {
    if (!this.#deletedVideos.delete(videoId)) throw new Error(`video ${videoId} is not deleted`);
  }

  bumpChannel(channel: ChannelState, delta: { views?: number; subscribers?: number }): void {
    const current = this.#channelDelta.get(channel.index) ?? { views: 0, subscribers: 0 };
    this.#channelDelta.set(channel.index, {
      views: current.views + (delta.views ?? 0),
      subscribers: current.subscribers + (delta.subscribers ?? 0),
    });
  }

  addComment(video: VideoState, init: AddCommentInit): CommentState {
    const channelId = this.channel(video.channel)!.id;
    const now = Math.floor(this.#now() / 1000) * 1000;
    const base = {
      videoId: video.id,
      channelId,
      text: init.text,
      likeCount: 0,
      publishedAtMs: now,
      updatedAtMs: now,
    };
    const author = {
      authorName: init.authorName ?? '@simulator',
      authorChannelId: 'UCsimulatorAuthor000000000',
    };
    let comment: CommentState;
    if (init.parentId !== undefined) {
      const thread = this.thread(init.parentId);
      if (!thread || thread.videoId !== video.id)
        throw new Error(`no thread ${init.parentId} on video ${video.id}`);
      const index = this.#replySlots(thread.id);
      comment = {
        ...base,
        ...author,
        id: replyIdOf(this.options.seed, thread.id, index),
        parentId: thread.id,
      };
      this.#addedReplies.set(thread.id, (this.#addedReplies.get(thread.id) ?? 0) + 1);
    } else {
      const added = this.#addedThreads.get(video.id) ?? 0;
      const index = (this.#isAddedVideo(video) ? 0 : baseThreadCount(this.options, video)) + added;
      comment = {
        ...base,
        ...author,
        id: threadIdOf(this.options.seed, video.channel, video.index, index),
        parentId: null,
      };
      this.#addedThreads.set(video.id, added + 1);
      this.#newThreadIds.add(comment.id);
    }
    this.#comments.set(comment.id, comment);
    return comment;
  }

  editComment(comment: CommentState, text: string): void {
    this.#comments.set(comment.id, { ...comment, text, updatedAtMs: Math.floor(this.#now() / 1000) * 1000 });
  }

  deleteComment(comment: CommentState): void {
    this.#deletedComments.add(comment.id);
  }

  #replySlots(threadId: string): number {
    const base = this.#newThreadIds.has(threadId) ? 0 : baseReplyCount(this.options, threadId);
    return base + (this.#addedReplies.get(threadId) ?? 0);
  }

  #isAddedVideo(video: VideoState): boolean {
    return video.index >= baseVideoCount(this.options, video.channel);
  }
}
