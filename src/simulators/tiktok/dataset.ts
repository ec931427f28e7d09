import {
  commentIdOf,
  MAX_USERS,
  parseVideoId,
  randomFor,
  TIKTOK_ALPHABET,
  videoIdOf,
  type Random,
} from './ids.js';
import { ADJECTIVES, NOUNS } from '../shared/words.js';

/**
 * The simulator's data: computed from the seed, one user at a time on first use (a user with its
 * videos and follow lists; a video's comments when first asked for), then kept and mutated in place
 * by the control API. Same seed and options, same data.
 */
export interface DataOptions {
  readonly seed: number;
  readonly users: number;
  readonly videosPerUser: readonly [number, number];
  readonly commentsPerVideo: readonly [number, number];
  readonly repliesPerComment: readonly [number, number];
  readonly followersPerUser: readonly [number, number];
  readonly followingPerUser: readonly [number, number];
  /** Videos are spread over this many days before `asOfMs`. */
  readonly historyDays: number;
  /**
   * Silent stretches per user: spans of 60–240 days (seeded) inside the history in which the user
   * published nothing, like an account paused for months. Absent or 0: videos are spread evenly.
   */
  readonly silentStretches?: number;
  readonly asOfMs: number;
  /** Share of users whose account is private (not readable through the Research API). */
  readonly privateShare: number;
}

export interface FollowState {
  username: string;
  displayName: string;
}

export interface VideoState {
  readonly id: string;
  readonly user: number;
  readonly index: number;
  readonly username: string;
  readonly createSeconds: number;
  description: string;
  readonly regionCode: string;
  readonly hashtags: readonly string[];
  readonly musicId: string;
  viewCount: number;
  likeCount: number;
  shareCount: number;
  favoritesCount: number;
  readonly durationSec: number;
  deleted: boolean;
}

export interface CommentState {
  readonly id: string;
  readonly videoId: string;
  /** null for a top-level comment. */
  readonly parentId: string | null;
  text: string;
  likeCount: number;
  readonly createSeconds: number;
  deleted: boolean;
}

export interface UserState {
  readonly index: number;
  readonly username: string;
  displayName: string;
  bio: string;
  readonly avatarUrl: string;
  readonly bioUrl: string;
  readonly isVerified: boolean;
  isPrivate: boolean;
  /** Every video ever made, deleted ones flagged; index = position. */
  readonly videos: VideoState[];
  readonly followers: FollowState[];
  readonly following: FollowState[];
  /** Followers counted but not listable (private followers), moved by counter drift. */
  hiddenFollowers: number;
}

const TAGS = ['fyp', 'pov', 'dance', 'cooking', 'diy', 'travel', 'comedy', 'music', 'tutorial', 'pets'];
const REGIONS = ['US', 'GB', 'DE', 'FR', 'BR', 'IN', 'JP', 'CA', 'ES', 'KR'];
const PHRASES = [
  'AWEEEEEE 🥰🥰🥰',
  'first 🎉',
  'this is so helpful, thanks',
  'Tom & Jerry would approve <3',
  'part 2 please!!',
  'watched it twice.\nstill great.',
  'who else is here in 2026?',
  'the ending 😂',
];

/**
 * The user's silent stretches, as `[at, length]` seconds on the axis of time with videos (0 = the
 * history's start), sorted; and how long that axis is. Each stretch is 60–240 days, and together they
 * take at most half of the history. From its own seeded stream, so users without stretches keep
 * exactly the data they had before the option existed.
 */
function silences(
  seed: number,
  user: number,
  count: number,
  historySeconds: number,
): { stretches: [number, number][]; active: number } {
  const r = randomFor(seed, 'silence', user);
  const lengths: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const length = r.int(60, 240) * 86_400;
    if (total + length > historySeconds / 2) break;
    lengths.push(length);
    total += length;
  }
  const active = historySeconds - total;
  const stretches = lengths
    .map((length): [number, number] => [Math.floor(r.next() * active), length])
    .sort((a, b) => a[0] - b[0]);
  return { stretches, active };
}

/** Spreads `count` instants over [start, end) seconds, the i-th in its own slot. */
function slot(r: Random, start: number, end: number, i: number, count: number): number {
  const width = Math.max(end - start, count * 2) / Math.max(count, 1);
  return Math.floor(start + (i + 0.25 + 0.5 * r.next()) * width);
}

export function usernameOf(seed: number, index: number): string {
  const r = randomFor(seed, 'username', index);
  return `${r.pick(ADJECTIVES)}_${r.pick(NOUNS)}${index}`;
}

function followList(seed: number, user: number, kind: string, count: number): FollowState[] {
  return Array.from({ length: count }, (_, i) => {
    const r = randomFor(seed, kind, user, i);
    const username = `${r.pick(ADJECTIVES)}.${r.pick(NOUNS)}.${r.chars(5, TIKTOK_ALPHABET)}`;
    return { username, displayName: `${r.pick(ADJECTIVES)} ${r.pick(NOUNS)}` };
  });
}

export class TikTokDataset {
  readonly options: DataOptions;
  readonly #now: () => number;
  readonly #users = new Map<number, UserState>();
  readonly #comments = new Map<string, CommentState[]>();
  readonly #commentById = new Map<string, CommentState>();

  constructor(options: DataOptions, now: () => number) {
    if (options.users > MAX_USERS) throw new RangeError(`at most ${MAX_USERS} users`);
    this.options = options;
    this.#now = now;
  }

  /** Every username, by index. */
  usernames(): string[] {
    return Array.from({ length: this.options.users }, (_, i) => usernameOf(this.options.seed, i));
  }

  userByIndex(index: number): UserState | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.users) return undefined;
    let user = this.#users.get(index);
    if (!user) {
      user = this.#generateUser(index);
      this.#users.set(index, user);
    }
    return user;
  }

  /** Case-insensitive, with or without `@`. */
  user(username: string): UserState | undefined {
    const wanted = username.replace(/^@/, '').toLowerCase();
    const user = this.userByIndex(Number(/(\d+)$/.exec(wanted)?.[1] ?? -1));
    return user?.username === wanted ? user : undefined;
  }

  /** Live videos, newest first. */
  videos(user: UserState): VideoState[] {
    return user.videos
      .filter((v) => !v.deleted)
      .sort((a, b) => b.createSeconds - a.createSeconds || b.index - a.index);
  }

  /** A live video by exact id. */
  video(id: string): VideoState | undefined {
    const parsed = parseVideoId(id);
    const video = parsed && this.userByIndex(parsed.user)?.videos[parsed.video];
    return video && video.id === id && !video.deleted ? video : undefined;
  }

  /** Live comments and replies of a video, oldest first. */
  comments(video: VideoState): CommentState[] {
    return this.#allComments(video)
      .filter((c) => !c.deleted && (c.parentId === null || !this.#commentById.get(c.parentId)?.deleted))
      .sort((a, b) => a.createSeconds - b.createSeconds || (a.id < b.id ? -1 : 1));
  }

  /** A live comment by exact id (only comments of videos whose comments were read or listed). */
  comment(id: string): CommentState | undefined {
    const comment = this.#commentById.get(id);
    if (!comment || comment.deleted) return undefined;
    const video = this.video(comment.videoId);
    return video && this.comments(video).includes(comment) ? comment : undefined;
  }

  replyCount(comment: CommentState): number {
    const video = this.video(comment.videoId);
    return video ? this.comments(video).filter((c) => c.parentId === comment.id).length : 0;
  }

  addVideo(
    user: UserState,
    init: { description?: string; createSeconds?: number; durationSec?: number } = {},
  ) {
    const index = user.videos.length;
    const createSeconds = init.createSeconds ?? Math.floor(this.#now() / 1000);
    const video: VideoState = {
      id: videoIdOf(createSeconds, user.index, index),
      user: user.index,
      index,
      username: user.username,
      createSeconds,
      description: init.description ?? `new video #${index + 1}`,
      regionCode: 'US',
      hashtags: [],
      musicId: videoIdOf(createSeconds - 86_400, user.index, index),
      viewCount: 0,
      likeCount: 0,
      shareCount: 0,
      favoritesCount: 0,
      durationSec: init.durationSec ?? 15,
      deleted: false,
    };
    user.videos.push(video);
    return video;
  }

  addComment(
    video: VideoState,
    init: { text: string; parentId?: string; createSeconds?: number },
  ): CommentState {
    const list = this.#allComments(video);
    if (init.parentId !== undefined) {
      const parent = this.comment(init.parentId);
      if (!parent || parent.videoId !== video.id || parent.parentId !== null) {
        throw new Error(`no top-level comment ${init.parentId} on video ${video.id}`);
      }
    }
    const createSeconds = init.createSeconds ?? Math.floor(this.#now() / 1000);
    const comment: CommentState = {
      id: commentIdOf(this.options.seed, createSeconds, video.id, list.length),
      videoId: video.id,
      parentId: init.parentId ?? null,
      text: init.text,
      likeCount: 0,
      createSeconds,
      deleted: false,
    };
    list.push(comment);
    this.#commentById.set(comment.id, comment);
    return comment;
  }

  #allComments(video: VideoState): CommentState[] {
    let list = this.#comments.get(video.id);
    if (!list) {
      list = this.#generateComments(video);
      this.#comments.set(video.id, list);
      for (const c of list) this.#commentById.set(c.id, c);
    }
    return list;
  }

  #generateUser(index: number): UserState {
    const o = this.options;
    const r = randomFor(o.seed, 'user', index);
    const username = usernameOf(o.seed, index);
    const [adjective, noun] = username.replace(/\d+$/, '').split('_') as [string, string];
    const user: UserState = {
      index,
      username,
      displayName: `${adjective[0]!.toUpperCase()}${adjective.slice(1)} ${noun} ${index}`,
      bio: `${r.pick(TAGS)} & ${r.pick(TAGS)} every week`,
      avatarUrl: `https://p16-sign.tiktokcdn.com/sim/${username}.jpeg?x-expires=${Math.floor(o.asOfMs / 1000) + 21_600}`,
      bioUrl: r.chance(0.3) ? `https://linktr.ee/${username}` : '',
      isVerified: r.chance(0.1),
      isPrivate: r.chance(o.privateShare),
      videos: [],
      followers: followList(o.seed, index, 'follower', r.int(o.followersPerUser[0], o.followersPerUser[1])),
      following: followList(o.seed, index, 'following', r.int(o.followingPerUser[0], o.followingPerUser[1])),
      hiddenFollowers: r.int(0, 50),
    };
    const count = r.int(o.videosPerUser[0], o.videosPerUser[1]);
    const end = Math.floor(o.asOfMs / 1000) - 3600;
    const start = end - o.historyDays * 86_400;
    // Videos are placed on the time with videos, then moved past the silent stretches before them.
    const { stretches, active } = silences(o.seed, index, o.silentStretches ?? 0, end - start);
    const real = (at: number) =>
      stretches.reduce((t, [from, length]) => (at - start >= from ? t + length : t), at);
    for (let i = 0; i < count; i++) {
      const v = randomFor(o.seed, 'video', index, i);
      const createSeconds = real(slot(v, start, start + active, i, count));
      const views = Math.floor(10 ** (1 + v.next() * 6));
      const hashtags = [...new Set([v.pick(TAGS), v.pick(TAGS)])];
      const opener = v.pick(['lol', 'wait for it', 'day', 'recipe', 'trying']);
      user.videos.push({
        id: videoIdOf(createSeconds, index, i),
        user: index,
        index: i,
        username,
        createSeconds,
        description: `${opener} ${hashtags.map((t) => `#${t}`).join(' ')}`,
        regionCode: v.pick(REGIONS),
        hashtags,
        musicId: videoIdOf(createSeconds - v.int(86_400, 10_000_000), index, i),
        viewCount: views,
        likeCount: Math.floor(views * (0.01 + v.next() * 0.1)),
        shareCount: Math.floor(views * v.next() * 0.01),
        favoritesCount: Math.floor(views * v.next() * 0.02),
        durationSec: v.int(5, 600),
        deleted: false,
      });
    }
    return user;
  }

  #generateComments(video: VideoState): CommentState[] {
    const o = this.options;
    const r = randomFor(o.seed, 'comments', video.id);
    const asOf = Math.floor(o.asOfMs / 1000);
    const tops = r.int(o.commentsPerVideo[0], o.commentsPerVideo[1]);
    const list: CommentState[] = [];
    const make = (createSeconds: number, parentId: string | null, c: Random): CommentState => ({
      id: commentIdOf(o.seed, createSeconds, video.id, list.length),
      videoId: video.id,
      parentId,
      text: c.pick(PHRASES),
      likeCount: c.chance(0.6) ? 0 : Math.floor(10 ** (c.next() * 3)),
      createSeconds,
      deleted: false,
    });
    const end = Math.max(Math.min(video.createSeconds + 60 * 86_400, asOf), video.createSeconds + 3600);
    for (let t = 0; t < tops; t++) {
      const c = randomFor(o.seed, 'comment', video.id, t);
      const top = make(slot(c, video.createSeconds + 60, end, t, tops), null, c);
      list.push(top);
      const replies = c.int(o.repliesPerComment[0], o.repliesPerComment[1]);
      for (let k = 0; k < replies; k++) {
        const at = slot(c, top.createSeconds + 30, top.createSeconds + 7 * 86_400, k, replies);
        list.push(make(at, top.id, c));
      }
    }
    return list;
  }
}
