import { commentIdOf, mediaIdOf, randomFor, shortcodeOf, userIdOf, type Random } from './ids.js';
import { ADJECTIVES, NOUNS } from '../shared/words.js';

/**
 * The seeded base data of one account, generated in full the first time the account is asked for
 * (an account is at most a few thousand objects). The dataset then mutates these states in place.
 */
export interface DataOptions {
  readonly seed: number;
  readonly accounts: number;
  /** Accounts 0 … ownAccounts−1 belong to the token; the others are reachable by business discovery. */
  readonly ownAccounts: number;
  readonly mediaPerAccount: readonly [number, number];
  readonly commentsPerMedia: readonly [number, number];
  readonly repliesPerComment: readonly [number, number];
  /** Live stories of each own account, inclusive range (other accounts' stories are not readable). */
  readonly storiesPerAccount: readonly [number, number];
  /**
   * Generated content is dated before this instant (ms since epoch); stories in the 24 h before it,
   * so they are live while the simulator's clock is less than a day past it.
   */
  readonly asOfMs: number;
}

export interface ChildState {
  readonly id: string;
  readonly mediaType: 'IMAGE' | 'VIDEO';
  readonly mediaUrl: string;
  readonly thumbnailUrl: string | null;
  readonly timestampMs: number;
}

export interface CommentState {
  readonly id: string;
  readonly mediaId: string;
  readonly parentId: string | null;
  readonly username: string;
  readonly fromId: string;
  text: string;
  likeCount: number;
  hidden: boolean;
  readonly timestampMs: number;
  /** Top-level comments only; oldest first. */
  readonly replies: CommentState[];
}

export interface MediaState {
  readonly id: string;
  readonly account: number;
  readonly igId: string;
  caption: string | null;
  readonly mediaType: 'IMAGE' | 'VIDEO' | 'CAROUSEL_ALBUM';
  readonly productType: 'FEED' | 'REELS' | 'STORY';
  /** null: omitted (a video with licensed audio). */
  readonly mediaUrl: string | null;
  readonly thumbnailUrl: string | null;
  readonly shortcode: string;
  readonly permalink: string;
  readonly timestampMs: number;
  likeCount: number;
  commentsEnabled: boolean;
  readonly children: readonly ChildState[];
  /** Top-level comments, newest first. */
  readonly comments: CommentState[];
}

export interface AccountState {
  readonly index: number;
  readonly id: string;
  readonly username: string;
  readonly name: string;
  readonly biography: string;
  readonly website: string | null;
  readonly profilePictureUrl: string;
  /** Personal (non-professional) accounts cannot be found by business discovery. */
  readonly professional: boolean;
  readonly own: boolean;
  readonly createdAtMs: number;
  followers: number;
  follows: number;
  /** Newest first. */
  readonly media: MediaState[];
  /** Own accounts' stories, newest first; the API shows those of the last 24 h (see `liveStories`). */
  readonly stories: MediaState[];
  /** The next free id sequence number of this account. */
  sequence: number;
}

const CAPTIONS = [
  'New drop 🔥 #coffee',
  'Swipe →',
  'Behind the scenes at the studio',
  'Morning light, no filter',
  'Tag someone who needs this 👇',
  'Our recipe of the week: link in bio',
  'Thank you for 10k! 🎉\nMore soon.',
  'Sunday reset #slowliving',
];
const PHRASES = [
  'I love this!',
  'This is awesome!',
  'Where is this? 😍',
  'Need this in my life',
  'So good 🔥🔥',
  '@friend look at this',
  'Tom & Jerry would approve <3',
  'First!',
];
const DAY_MS = 86_400_000;
/** How long a story is shown (and readable through `/{ig-user-id}/stories`). */
export const STORY_LIFETIME_MS = DAY_MS;

export const seconds = (ms: number): number => Math.floor(ms / 1000) * 1000;
const capital = (word: string): string => word[0]!.toUpperCase() + word.slice(1);

/** `count` strictly increasing instants over [startMs, endMs): the i-th lands in its own slot. */
function slot(random: Random, startMs: number, endMs: number, i: number, count: number): number {
  const width = Math.max(endMs - startMs, count * 2000) / Math.max(count, 1);
  return seconds(startMs + (i + 0.25 + 0.5 * random.next()) * width);
}

export const cdnUrl = (id: string, ext: 'jpg' | 'mp4'): string =>
  `https://scontent.cdninstagram.com/v/t51.2885-15/${id}_n.${ext}?_nc_cat=1&oe=6A0B1C2D`;

function nameParts(seed: number, index: number): [string, string] {
  const r = randomFor(seed, 'username', index);
  return [r.pick(ADJECTIVES), r.pick(NOUNS)];
}

export function usernameOf(seed: number, index: number): string {
  const [adjective, noun] = nameParts(seed, index);
  return `${adjective}${noun}_${index}`;
}

/** Index of the account a username names (case-insensitive), if it exists. */
export function accountOfUsername(o: DataOptions, username: string): number | undefined {
  const index = Number(/_(\d+)$/.exec(username)?.[1] ?? Number.NaN);
  if (!Number.isInteger(index) || index < 0 || index >= o.accounts) return undefined;
  return usernameOf(o.seed, index) === username.toLowerCase() ? index : undefined;
}

export function generateAccount(o: DataOptions, index: number): AccountState {
  const r = randomFor(o.seed, 'account', index);
  const username = usernameOf(o.seed, index);
  const own = index < o.ownAccounts;
  const id = userIdOf(o.seed, index);
  const createdAtMs = seconds(o.asOfMs - r.int(200, 10 * 365) * DAY_MS);
  const account: AccountState = {
    index,
    id,
    username,
    name: `${nameParts(o.seed, index).map(capital).join(' ')} ${index}`,
    biography: `${capital(r.pick(ADJECTIVES))} ${r.pick(NOUNS)} stories, every week.`,
    website: r.chance(0.3) ? null : `https://${username.replace('_', '-')}.example/`,
    profilePictureUrl: cdnUrl(id, 'jpg'),
    professional: own || !r.chance(0.1),
    own,
    createdAtMs,
    followers: Math.floor(10 ** (1 + r.next() * 6)),
    follows: r.int(0, 2000),
    media: [],
    stories: [],
    sequence: 0,
  };
  const count = r.int(o.mediaPerAccount[0], o.mediaPerAccount[1]);
  for (let i = 0; i < count; i++) {
    const timestampMs = slot(r, createdAtMs + DAY_MS, o.asOfMs - 3_600_000, i, count);
    account.media.push(generateMedia(o, account, i, timestampMs));
  }
  account.media.sort(newestFirst);
  // Stories come after the feed so that adding them did not change any feed id; their own random
  // stream keeps the feed's data as it was.
  if (own) {
    const rs = randomFor(o.seed, 'stories', index);
    const stories = rs.int(o.storiesPerAccount[0], o.storiesPerAccount[1]);
    const start = o.asOfMs - STORY_LIFETIME_MS + 60_000;
    for (let i = 0; i < stories; i++) {
      const video = rs.chance(0.4);
      account.stories.push(
        newMedia(o, account, {
          caption: rs.chance(0.5) ? null : rs.pick(CAPTIONS),
          mediaType: video ? 'VIDEO' : 'IMAGE',
          productType: 'STORY',
          timestampMs: slot(rs, start, o.asOfMs - 60_000, i, stories),
        }),
      );
    }
    account.stories.sort(newestFirst);
  }
  return account;
}

/** The stories the API still shows at `nowMs` (the last 24 h), newest first. */
export function liveStories(account: AccountState, nowMs: number): MediaState[] {
  return account.stories.filter((s) => s.timestampMs > nowMs - STORY_LIFETIME_MS);
}

export function newestFirst(a: { timestampMs: number; id: string }, b: { timestampMs: number; id: string }) {
  return (
    b.timestampMs - a.timestampMs || (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0)
  );
}

function generateMedia(o: DataOptions, account: AccountState, i: number, timestampMs: number): MediaState {
  const r = randomFor(o.seed, 'media', account.index, i);
  const roll = r.next();
  const mediaType = roll < 0.15 ? 'CAROUSEL_ALBUM' : roll < 0.45 ? 'VIDEO' : 'IMAGE';
  const productType = mediaType === 'VIDEO' && r.chance(0.8) ? 'REELS' : 'FEED';
  const media = newMedia(o, account, {
    caption: r.chance(0.05) ? null : r.pick(CAPTIONS),
    mediaType,
    productType,
    timestampMs,
    licensedAudio: mediaType === 'VIDEO' && r.chance(0.05),
    children: mediaType === 'CAROUSEL_ALBUM' ? r.int(2, 10) : 0,
  });
  media.likeCount = Math.floor(10 ** (r.next() * 4));
  media.commentsEnabled = !r.chance(0.05);
  if (!media.commentsEnabled) return media;
  const comments = r.int(o.commentsPerMedia[0], o.commentsPerMedia[1]);
  const end = Math.min(timestampMs + 30 * DAY_MS, o.asOfMs);
  for (let c = 0; c < comments; c++) {
    const cr = randomFor(o.seed, 'comment', account.index, i, c);
    const at = slot(cr, timestampMs + 60_000, end, c, comments);
    const comment = newComment(o, account, media, null, cr.pick(PHRASES), at, cr);
    const replies = cr.int(o.repliesPerComment[0], o.repliesPerComment[1]);
    const replyEnd = Math.max(Math.min(at + 7 * DAY_MS, o.asOfMs), at + 3_600_000);
    for (let k = 0; k < replies; k++) {
      const rr = randomFor(o.seed, 'reply', account.index, i, c, k);
      const replyAt = slot(rr, at + 30_000, replyEnd, k, replies);
      comment.replies.push(newComment(o, account, media, comment.id, rr.pick(PHRASES), replyAt, rr));
    }
    media.comments.push(comment);
  }
  media.comments.sort(newestFirst);
  return media;
}

export interface NewMediaInit {
  readonly caption: string | null;
  readonly mediaType: MediaState['mediaType'];
  readonly productType: MediaState['productType'];
  readonly timestampMs: number;
  readonly licensedAudio?: boolean;
  readonly children?: number;
}

/** A media with fresh ids from the account's sequence (no likes, no comments yet). */
export function newMedia(o: DataOptions, account: AccountState, init: NewMediaInit): MediaState {
  const id = mediaIdOf(account.index, account.sequence++);
  const shortcode = shortcodeOf(o.seed, id);
  const video = init.mediaType === 'VIDEO';
  const children: ChildState[] = [];
  for (let c = 0; c < (init.children ?? 0); c++) {
    const childId = mediaIdOf(account.index, account.sequence++);
    const childVideo = randomFor(o.seed, 'child', childId).chance(0.2);
    children.push({
      id: childId,
      mediaType: childVideo ? 'VIDEO' : 'IMAGE',
      mediaUrl: cdnUrl(childId, childVideo ? 'mp4' : 'jpg'),
      thumbnailUrl: childVideo ? cdnUrl(`${childId}_thumb`, 'jpg') : null,
      timestampMs: init.timestampMs,
    });
  }
  return {
    id,
    account: account.index,
    igId: `${BigInt(id) * 173n + 3123724930722523505n}`,
    caption: init.caption,
    mediaType: init.mediaType,
    productType: init.productType,
    mediaUrl: init.licensedAudio
      ? null
      : init.mediaType === 'CAROUSEL_ALBUM'
        ? children[0]!.mediaUrl
        : cdnUrl(id, video ? 'mp4' : 'jpg'),
    thumbnailUrl: video ? cdnUrl(`${id}_thumb`, 'jpg') : null,
    shortcode,
    permalink:
      init.productType === 'STORY'
        ? `https://www.instagram.com/stories/${account.username}/${id}/`
        : `https://www.instagram.com/${init.productType === 'REELS' ? 'reel' : 'p'}/${shortcode}/`,
    timestampMs: init.timestampMs,
    likeCount: 0,
    commentsEnabled: true,
    children,
    comments: [],
  };
}

export function newComment(
  o: DataOptions,
  account: AccountState,
  media: MediaState,
  parentId: string | null,
  text: string,
  timestampMs: number,
  r: Random = randomFor(o.seed, 'new-comment', account.index, account.sequence),
): CommentState {
  const id = commentIdOf(account.index, account.sequence++);
  return {
    id,
    mediaId: media.id,
    parentId,
    username: `${r.pick(ADJECTIVES)}.${r.pick(NOUNS)}${r.int(1, 9999)}`,
    fromId: `17841${String(r.int(0, 999_999_999_999)).padStart(12, '0')}`,
    text,
    likeCount: r.chance(0.6) ? 0 : Math.floor(10 ** (r.next() * 3)),
    hidden: r.chance(0.03),
    timestampMs,
    replies: [],
  };
}
