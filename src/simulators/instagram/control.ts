import type { AddCommentInit, AddMediaInit, InstagramDataset } from './dataset.js';
import type { Endpoint, FaultControl } from './faults.js';
import { held } from '../shared/lookup.js';
import type { AccountState, CommentState, MediaState } from './generate.js';
import { graphTime } from './handlers.js';
import { userIdOf } from './ids.js';
import type { UsageLedger } from './usage.js';

/** One request as the simulator saw it; `status` 0 means the connection was dropped. */
export interface SimRequest {
  readonly endpoint: Endpoint;
  /** Path under the version, e.g. `17841…/media`. */
  readonly path: string;
  /** Query parameters without `access_token`. */
  readonly params: Readonly<Record<string, string>>;
  /** Whether the token came as the `access_token` query parameter. */
  readonly tokenInQuery: boolean;
  readonly status: number;
}

export interface TruthAccount {
  readonly id: string;
  readonly username: string;
  readonly name: string;
  readonly biography: string;
  readonly website: string | null;
  readonly followersCount: number;
  readonly followsCount: number;
  readonly mediaCount: number;
  /** Personal accounts are invisible to business discovery. */
  readonly professional: boolean;
  /** Owned by the token: readable directly, comments included. */
  readonly own: boolean;
}

export interface TruthChild {
  readonly id: string;
  readonly mediaType: string;
  readonly mediaUrl: string;
}

export interface TruthMedia {
  readonly id: string;
  readonly ownerId: string;
  readonly caption: string | null;
  readonly mediaType: string;
  readonly productType: string;
  readonly permalink: string;
  /** Graph format, `+0000`. */
  readonly timestamp: string;
  readonly likeCount: number;
  readonly commentsCount: number;
  readonly commentsEnabled: boolean;
  readonly children: readonly TruthChild[];
}

export interface TruthComment {
  readonly id: string;
  readonly mediaId: string;
  readonly parentId: string | null;
  readonly username: string;
  readonly text: string;
  readonly likeCount: number;
  readonly timestamp: string;
}

/** An account with everything it holds, for comparing a whole sync. */
export interface TruthDump {
  readonly account: TruthAccount;
  /** Live stories (the last 24 h), newest first; empty for accounts that are not the token's. */
  readonly stories: readonly TruthMedia[];
  readonly media: readonly (TruthMedia & {
    readonly comments: readonly (TruthComment & { readonly replies: readonly TruthComment[] })[];
  })[];
}

/** What the simulator holds, in plain values, for tests to compare a sync against. */
export interface GroundTruth {
  /** By id or username. */
  account(idOrUsername: string): TruthAccount | undefined;
  /** Live media ids of the account, newest first. */
  media(accountId: string): string[];
  /** Live story ids of the account (the last 24 h), newest first. */
  stories(accountId: string): string[];
  mediaItem(mediaId: string): TruthMedia | undefined;
  /** Live top-level comments, newest first, each with its live reply ids (oldest first). */
  comments(mediaId: string): { id: string; replyIds: string[] }[];
  comment(commentId: string): TruthComment | undefined;
  /** One account in full. */
  dump(accountId: string): TruthDump;
  /** Every account of the data set in full (generates them all). */
  all(): TruthDump[];
}

export interface InstagramSimulatorControl {
  readonly faults: FaultControl;
  readonly usage: {
    /** Calls counted in the current window for `token`. */
    calls(token: string): number;
    setLimit(callsPerWindow: number, windowMs?: number): void;
    reset(): void;
  };
  readonly tokens: {
    /** From now on this token (every token when omitted) answers 190/463 "Session has expired". */
    expire(token?: string): void;
    /** Accepts a new token (a refreshed one). */
    add(token: string): void;
  };
  readonly truth: GroundTruth;
  /** Requests seen so far, oldest first. */
  requests(): readonly SimRequest[];
  /** The id of account #index (account 0 is the token's own, the SIPHON_INSTAGRAM_USER_ID). */
  userId(index: number): string;
  username(index: number): string;
  /** Publishes a new media (now, unless `timestampMs` is given); returns its id. */
  addMedia(accountId: string, init?: AddMediaInit): string;
  /** Posts a story on an own account (now, unless `timestampMs` is given); returns its id. */
  addStory(
    accountId: string,
    init?: { caption?: string | null; video?: boolean; timestampMs?: number },
  ): string;
  /** Takes a story down before its 24 h are over (as if it had expired). */
  expireStory(storyId: string): void;
  editCaption(mediaId: string, caption: string | null): void;
  deleteMedia(mediaId: string): void;
  bumpMediaCounters(mediaId: string, delta: { likes?: number }): void;
  bumpAccountCounters(accountId: string, delta: { followers?: number; follows?: number }): void;
  /** Seeded drift of every counter of the account (round = which drift). */
  driftCounters(accountId: string, round: number): void;
  setCommentsEnabled(mediaId: string, enabled: boolean): void;
  /** Adds a top-level comment, or a reply when `parentId` names one; returns its id. */
  addComment(mediaId: string, init: AddCommentInit): string;
  deleteComment(commentId: string): void;
}

// Longer than 80 lines: the control object is one literal of small methods a test reads as a list.
export function createControl(
  dataset: InstagramDataset,
  faults: FaultControl,
  usage: UsageLedger,
  tokens: { expire(token?: string): void; add(token: string): void },
  log: readonly SimRequest[],
): InstagramSimulatorControl {
  const account = (id: string): AccountState =>
    held(dataset.accountById(id) ?? dataset.accountByUsername(id), `account ${id}`);
  const media = (id: string): MediaState => held(dataset.media(id), `live media ${id}`);
  const comment = (id: string): CommentState => held(dataset.comment(id), `live comment ${id}`);

  const truthAccount = (a: AccountState): TruthAccount => ({
    id: a.id,
    username: a.username,
    name: a.name,
    biography: a.biography,
    website: a.website,
    followersCount: a.followers,
    followsCount: a.follows,
    mediaCount: a.media.length,
    professional: a.professional,
    own: a.own,
  });
  const truthMedia = (m: MediaState): TruthMedia => ({
    id: m.id,
    ownerId: dataset.account(m.account)!.id,
    caption: m.caption,
    mediaType: m.mediaType,
    productType: m.productType,
    permalink: m.permalink,
    timestamp: graphTime(m.timestampMs),
    likeCount: m.likeCount,
    commentsCount: dataset.commentsCount(m),
    commentsEnabled: m.commentsEnabled,
    children: m.children.map((c) => ({ id: c.id, mediaType: c.mediaType, mediaUrl: c.mediaUrl })),
  });
  const truthComment = (c: CommentState): TruthComment => ({
    id: c.id,
    mediaId: c.mediaId,
    parentId: c.parentId,
    username: c.username,
    text: c.text,
    likeCount: c.likeCount,
    timestamp: graphTime(c.timestampMs),
  });
  const dump = (a: AccountState): TruthDump => ({
    account: truthAccount(a),
    stories: dataset.stories(a).map(truthMedia),
    media: a.media.map((m) => ({
      ...truthMedia(m),
      comments: m.comments.map((c) => ({ ...truthComment(c), replies: c.replies.map(truthComment) })),
    })),
  });

  const truth: GroundTruth = {
    account(idOrUsername) {
      const a = dataset.accountById(idOrUsername) ?? dataset.accountByUsername(idOrUsername);
      return a && truthAccount(a);
    },
    media: (id) => account(id).media.map((m) => m.id),
    stories: (id) => dataset.stories(account(id)).map((m) => m.id),
    mediaItem(id) {
      const m = dataset.media(id);
      return m && truthMedia(m);
    },
    comments: (id) => media(id).comments.map((c) => ({ id: c.id, replyIds: c.replies.map((r) => r.id) })),
    comment(id) {
      const c = dataset.comment(id);
      return c && truthComment(c);
    },
    dump: (id) => dump(account(id)),
    all: () => Array.from({ length: dataset.options.accounts }, (_, i) => dump(dataset.account(i)!)),
  };

  return {
    faults,
    usage: {
      calls: (token) => usage.calls(token),
      setLimit: (calls, windowMs) => usage.setLimit(calls, windowMs),
      reset: () => usage.reset(),
    },
    tokens,
    truth,
    requests: () => [...log],
    userId: (index) => {
      if (!dataset.account(index)) throw new Error(`the simulator has no account #${index}`);
      return userIdOf(dataset.options.seed, index);
    },
    username: (index) => {
      const a = dataset.account(index);
      if (!a) throw new Error(`the simulator has no account #${index}`);
      return a.username;
    },
    addMedia: (id, init) => dataset.addMedia(account(id), init).id,
    addStory: (id, init) => dataset.addStory(account(id), init).id,
    expireStory: (id) => {
      const story = media(id);
      if (story.productType !== 'STORY') throw new Error(`media ${id} is not a story`);
      dataset.deleteMedia(story);
    },
    editCaption: (id, caption) => {
      media(id).caption = caption;
    },
    deleteMedia: (id) => dataset.deleteMedia(media(id)),
    bumpMediaCounters: (id, delta) => {
      media(id).likeCount += delta.likes ?? 0;
    },
    bumpAccountCounters: (id, delta) => {
      const a = account(id);
      a.followers += delta.followers ?? 0;
      a.follows += delta.follows ?? 0;
    },
    driftCounters: (id, round) => dataset.drift(account(id), round),
    setCommentsEnabled: (id, enabled) => {
      media(id).commentsEnabled = enabled;
    },
    addComment: (id, init) => dataset.addComment(media(id), init).id,
    deleteComment: (id) => dataset.deleteComment(comment(id)),
  };
}
