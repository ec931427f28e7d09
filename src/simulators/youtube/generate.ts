import { channelIdOf, randomFor, replyIdOf, threadIdOf, uploadsIdOf, videoIdOf, type Random } from './ids.js';
import { ADJECTIVES, NOUNS } from '../shared/words.js';

/**
 * The seeded, never-mutated base data set. Each entity is computed from (seed, indexes) on demand;
 * nothing is stored here. Mutations live in the dataset's overlay.
 */
export interface DataOptions {
  readonly seed: number;
  readonly channels: number;
  readonly videosPerChannel: readonly [number, number];
  readonly commentThreadsPerVideo: readonly [number, number];
  readonly repliesPerThread: readonly [number, number];
  /** Public subscriptions per channel, inclusive range (capped at the other channels). */
  readonly subscriptionsPerChannel: readonly [number, number];
  /** Share of channels whose subscriptions are private (0–1). */
  readonly privateSubscriptionsRate: number;
  /** Generated content is dated before this instant (ms since epoch). */
  readonly asOfMs: number;
}

export interface ChannelState {
  readonly index: number;
  readonly id: string;
  readonly uploadsId: string;
  /** With the leading `@`, lower case, as `snippet.customUrl`. */
  readonly handle: string;
  /** Legacy username for `forUsername`. */
  readonly username: string;
  readonly title: string;
  readonly description: string;
  readonly country: string | null;
  readonly publishedAtMs: number;
  readonly viewCount: number;
  readonly subscriberCount: number;
  readonly hiddenSubscriberCount: boolean;
}

export interface VideoState {
  readonly channel: number;
  readonly index: number;
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly publishedAtMs: number;
  readonly durationSec: number;
  readonly tags: readonly string[];
  readonly categoryId: string;
  readonly viewCount: number;
  readonly likeCount: number;
  readonly likesHidden: boolean;
  readonly commentsDisabled: boolean;
}

export interface CommentState {
  readonly id: string;
  readonly videoId: string;
  readonly channelId: string;
  readonly parentId: string | null;
  readonly authorName: string;
  readonly authorChannelId: string;
  readonly text: string;
  readonly likeCount: number;
  readonly publishedAtMs: number;
  readonly updatedAtMs: number;
}

const TOPICS = ['tutorial', 'review', 'vlog', 'live session', 'deep dive', 'unboxing', 'Q&A', 'recap'];
const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'BR', 'IN', 'JP', 'CA', 'ES', 'KR'];
const CATEGORIES = ['22', '28', '10', '20', '24', '27'];
const PHRASES = [
  'Great video!',
  'First 🎉',
  'This helped me a lot, thanks',
  'Tom & Jerry would approve <3',
  'Can you do a follow-up on this?',
  'Watched it twice.\nStill great.',
  'Who else is here in 2026?',
  'The part at 3:15 is the best',
];
const DAY_MS = 86_400_000;

const capital = (word: string): string => word[0]!.toUpperCase() + word.slice(1);
const seconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** Spreads `count` strictly increasing instants over [startMs, endMs): the i-th lands in its own slot. */
function slot(random: Random, startMs: number, endMs: number, i: number, count: number): number {
  const width = Math.max(endMs - startMs, count * 2000) / Math.max(count, 1);
  return seconds(startMs + (i + 0.25 + 0.5 * random.next()) * width);
}

export function baseChannel(o: DataOptions, index: number): ChannelState {
  const r = randomFor(o.seed, 'channel', index);
  const adjective = r.pick(ADJECTIVES);
  const noun = r.pick(NOUNS);
  const id = channelIdOf(o.seed, index);
  const subscribers = Math.floor(10 ** (1 + r.next() * 6));
  const magnitude = 10 ** Math.max(0, Math.floor(Math.log10(subscribers)) - 2);
  return {
    index,
    id,
    uploadsId: uploadsIdOf(id),
    handle: `@${adjective}${noun}${index}`,
    username: `${capital(adjective)}${capital(noun)}${index}`,
    title: `${capital(adjective)} ${capital(noun)} ${index}`,
    description: `The ${adjective} ${noun} channel: ${r.pick(TOPICS)}s every week.`,
    country: r.chance(0.2) ? null : r.pick(COUNTRIES),
    publishedAtMs: seconds(o.asOfMs - r.int(365, 15 * 365) * DAY_MS - r.int(0, DAY_MS)),
    viewCount: subscribers * r.int(20, 400),
    // Public reads see the subscriber count rounded to three significant figures.
    subscriberCount: Math.round(subscribers / magnitude) * magnitude,
    hiddenSubscriberCount: r.chance(0.05),
  };
}

export function baseVideoCount(o: DataOptions, channel: number): number {
  return randomFor(o.seed, 'video-count', channel).int(o.videosPerChannel[0], o.videosPerChannel[1]);
}

function duration(r: Random): number {
  const roll = r.next();
  if (roll < 0.01) return 0;
  if (roll < 0.02) return r.int(86_400, 100_000);
  if (roll < 0.17) return r.int(5, 60);
  if (roll < 0.27) return r.int(1200, 7200);
  return r.int(61, 1199);
}

export function baseVideo(o: DataOptions, channel: ChannelState, index: number, count: number): VideoState {
  const r = randomFor(o.seed, 'video', channel.index, index);
  const views = Math.floor(10 ** (1 + r.next() * 6));
  const start = channel.publishedAtMs + DAY_MS;
  return {
    channel: channel.index,
    index,
    id: videoIdOf(o.seed, channel.index, index),
    title: `${capital(r.pick(ADJECTIVES))} ${r.pick(NOUNS)} ${r.pick(TOPICS)} #${index + 1}`,
    description: `Episode ${index + 1} of ${channel.title}.`,
    publishedAtMs: slot(r, start, o.asOfMs - 3_600_000, index, count),
    durationSec: duration(r),
    tags: Array.from({ length: r.int(0, 3) }, () => r.pick(NOUNS)),
    categoryId: r.pick(CATEGORIES),
    viewCount: views,
    likeCount: Math.floor(views * (0.01 + r.next() * 0.05)),
    likesHidden: r.chance(0.05),
    commentsDisabled: r.chance(0.05),
  };
}

export function baseThreadCount(o: DataOptions, video: VideoState): number {
  if (video.commentsDisabled) return 0;
  const r = randomFor(o.seed, 'thread-count', video.channel, video.index);
  return r.int(o.commentThreadsPerVideo[0], o.commentThreadsPerVideo[1]);
}

export function baseReplyCount(o: DataOptions, threadId: string): number {
  return randomFor(o.seed, 'reply-count', threadId).int(o.repliesPerThread[0], o.repliesPerThread[1]);
}

function comment(
  r: Random,
  base: Pick<CommentState, 'id' | 'videoId' | 'channelId' | 'parentId' | 'publishedAtMs'>,
): CommentState {
  const author = `${r.pick(ADJECTIVES)}${r.pick(NOUNS)}${r.int(1, 9999)}`;
  return {
    ...base,
    authorName: `@${author}`,
    authorChannelId: `UC${r.chars(22)}`,
    text: r.pick(PHRASES),
    likeCount: r.chance(0.6) ? 0 : Math.floor(10 ** (r.next() * 3)),
    updatedAtMs: r.chance(0.1) ? base.publishedAtMs + r.int(60, 3600) * 1000 : base.publishedAtMs,
  };
}

export function baseThread(
  o: DataOptions,
  video: VideoState,
  channelId: string,
  index: number,
): CommentState {
  const r = randomFor(o.seed, 'thread', video.channel, video.index, index);
  const end = Math.min(video.publishedAtMs + 60 * DAY_MS, o.asOfMs);
  return comment(r, {
    id: threadIdOf(o.seed, video.channel, video.index, index),
    videoId: video.id,
    channelId,
    parentId: null,
    publishedAtMs: slot(r, video.publishedAtMs + 60_000, end, index, baseThreadCount(o, video)),
  });
}

export function baseReply(o: DataOptions, thread: CommentState, index: number): CommentState {
  const r = randomFor(o.seed, 'reply', thread.id, index);
  const end = Math.min(
    thread.publishedAtMs + 7 * DAY_MS,
    Math.max(o.asOfMs, thread.publishedAtMs + 3_600_000),
  );
  return comment(r, {
    id: replyIdOf(o.seed, thread.id, index),
    videoId: thread.videoId,
    channelId: thread.channelId,
    parentId: thread.id,
    publishedAtMs: slot(r, thread.publishedAtMs + 30_000, end, index, baseReplyCount(o, thread.id)),
  });
}

/** Whether the channel keeps its subscriptions private (subscriptions.list answers 403). */
export function baseSubscriptionsPrivate(o: DataOptions, channel: number): boolean {
  return randomFor(o.seed, 'subscriptions-private', channel).chance(o.privateSubscriptionsRate);
}

/**
 * The indexes of the channels `channel` subscribes to, distinct, never itself, in the order the
 * channel subscribed (oldest first); each comes with the instant of the subscription.
 */
export function baseSubscriptions(
  o: DataOptions,
  channel: ChannelState,
): { readonly channel: number; readonly subscribedAtMs: number }[] {
  const others = o.channels - 1;
  const r = randomFor(o.seed, 'subscriptions', channel.index);
  const count = Math.min(others, r.int(o.subscriptionsPerChannel[0], o.subscriptionsPerChannel[1]));
  const picked = new Set<number>();
  // Rejection sampling is cheap while count is small next to the catalogue; otherwise walk it.
  if (count * 2 <= others) {
    while (picked.size < count) {
      const other = r.int(0, o.channels - 1);
      if (other !== channel.index) picked.add(other);
    }
  } else {
    for (let i = 0; picked.size < count; i++) {
      const other = (channel.index + 1 + i) % o.channels;
      if (other !== channel.index) picked.add(other);
    }
  }
  const start = channel.publishedAtMs + DAY_MS;
  return [...picked].map((other, i) => ({
    channel: other,
    subscribedAtMs: slot(r, start, o.asOfMs, i, count),
  }));
}
