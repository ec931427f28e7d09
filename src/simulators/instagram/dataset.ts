import {
  accountOfUsername,
  generateAccount,
  liveStories,
  newComment,
  newestFirst,
  newMedia,
  seconds,
  type AccountState,
  type ChildState,
  type CommentState,
  type DataOptions,
  type MediaState,
} from './generate.js';
import { accountOfId, randomFor } from './ids.js';

export interface AddMediaInit {
  readonly caption?: string | null;
  /** @default 'IMAGE' */
  readonly mediaType?: MediaState['mediaType'];
  /** @default 'REELS' for a video, else 'FEED' */
  readonly productType?: MediaState['productType'];
  /** Carousel children. @default 3 for an album */
  readonly children?: number;
  /** @default the simulator clock's now */
  readonly timestampMs?: number;
}

export interface AddCommentInit {
  readonly text: string;
  /** A top-level comment id: the new comment is a reply to it. */
  readonly parentId?: string;
  readonly username?: string;
}

type Indexed =
  | { readonly kind: 'media'; readonly media: MediaState }
  | { readonly kind: 'child'; readonly child: ChildState; readonly media: MediaState }
  | { readonly kind: 'comment'; readonly comment: CommentState; readonly media: MediaState };

/**
 * The live data set: accounts are generated on first access and then mutated in place. Deleted
 * media and comments are removed (the API forgets them); lists are kept in the API's order.
 */
export class InstagramDataset {
  readonly options: DataOptions;
  readonly #now: () => number;
  readonly #accounts = new Map<number, AccountState>();
  readonly #index = new Map<string, Indexed>();

  constructor(options: DataOptions, now: () => number) {
    this.options = options;
    this.#now = now;
  }

  account(index: number): AccountState | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.accounts) return undefined;
    let account = this.#accounts.get(index);
    if (!account) {
      account = generateAccount(this.options, index);
      this.#accounts.set(index, account);
      for (const media of [...account.media, ...account.stories]) this.#indexMedia(media);
    }
    return account;
  }

  accountById(id: string): AccountState | undefined {
    const index = accountOfId(this.options.seed, id);
    const account = index === undefined ? undefined : this.account(index);
    return account?.id === id ? account : undefined;
  }

  accountByUsername(username: string): AccountState | undefined {
    const index = accountOfUsername(this.options, username);
    return index === undefined ? undefined : this.account(index);
  }

  /** A live media, carousel child or comment. */
  find(id: string): Indexed | undefined {
    const index = accountOfId(this.options.seed, id);
    if (index === undefined || this.account(index) === undefined) return undefined;
    return this.#index.get(id);
  }

  media(id: string): MediaState | undefined {
    const found = this.find(id);
    return found?.kind === 'media' ? found.media : undefined;
  }

  comment(id: string): CommentState | undefined {
    const found = this.find(id);
    return found?.kind === 'comment' ? found.comment : undefined;
  }

  /** `comments_count`: top-level comments plus replies. */
  commentsCount(media: MediaState): number {
    return media.comments.reduce((n, c) => n + 1 + c.replies.length, 0);
  }

  addMedia(account: AccountState, init: AddMediaInit = {}): MediaState {
    const mediaType = init.mediaType ?? 'IMAGE';
    const media = newMedia(this.options, account, {
      caption: init.caption === undefined ? `New post #${account.media.length + 1}` : init.caption,
      mediaType,
      productType: init.productType ?? (mediaType === 'VIDEO' ? 'REELS' : 'FEED'),
      timestampMs: seconds(init.timestampMs ?? this.#now()),
      children: mediaType === 'CAROUSEL_ALBUM' ? (init.children ?? 3) : 0,
    });
    account.media.push(media);
    account.media.sort(newestFirst);
    this.#indexMedia(media);
    return media;
  }

  /** The account's stories the API shows now (the last 24 h on the simulator's clock), newest first. */
  stories(account: AccountState): MediaState[] {
    return liveStories(account, this.#now());
  }

  /** Posts a story (now, unless `timestampMs` is given): shown for 24 h, own accounts only. */
  addStory(
    account: AccountState,
    init: { caption?: string | null; video?: boolean; timestampMs?: number } = {},
  ) {
    if (!account.own)
      throw new Error(`account ${account.id} is not the token's: its stories are not readable`);
    const story = newMedia(this.options, account, {
      caption: init.caption === undefined ? null : init.caption,
      mediaType: init.video ? 'VIDEO' : 'IMAGE',
      productType: 'STORY',
      timestampMs: seconds(init.timestampMs ?? this.#now()),
    });
    account.stories.push(story);
    account.stories.sort(newestFirst);
    this.#indexMedia(story);
    return story;
  }

  /** Deletes a feed media, or takes a story down (expired or deleted: the API forgets it alike). */
  deleteMedia(media: MediaState): void {
    const account = this.account(media.account)!;
    const list = media.productType === 'STORY' ? account.stories : account.media;
    list.splice(list.indexOf(media), 1);
    this.#index.delete(media.id);
    for (const child of media.children) this.#index.delete(child.id);
    for (const comment of media.comments) this.#unindexComment(comment);
  }

  addComment(media: MediaState, init: AddCommentInit): CommentState {
    const account = this.account(media.account)!;
    let parent: CommentState | undefined;
    if (init.parentId !== undefined) {
      parent = this.comment(init.parentId);
      if (!parent || parent.mediaId !== media.id || parent.parentId !== null) {
        throw new Error(`no top-level comment ${init.parentId} on media ${media.id}`);
      }
    }
    const base = newComment(
      this.options,
      account,
      media,
      parent?.id ?? null,
      init.text,
      seconds(this.#now()),
    );
    const comment = init.username === undefined ? base : { ...base, username: init.username };
    if (parent) {
      parent.replies.push(comment);
    } else {
      media.comments.push(comment);
      media.comments.sort(newestFirst);
    }
    this.#index.set(comment.id, { kind: 'comment', comment, media });
    return comment;
  }

  deleteComment(comment: CommentState): void {
    const media = this.media(comment.mediaId)!;
    const list = comment.parentId === null ? media.comments : this.comment(comment.parentId)!.replies;
    list.splice(list.indexOf(comment), 1);
    this.#unindexComment(comment);
  }

  /** Every media of the account gains a seeded amount of likes; followers move too. */
  drift(account: AccountState, round: number): void {
    const r = randomFor(this.options.seed, 'drift', account.index, round);
    account.followers = Math.max(0, account.followers + r.int(-5, 50));
    for (const media of account.media) media.likeCount += r.int(0, 20);
  }

  #indexMedia(media: MediaState): void {
    this.#index.set(media.id, { kind: 'media', media });
    for (const child of media.children) this.#index.set(child.id, { kind: 'child', child, media });
    for (const comment of media.comments) {
      this.#index.set(comment.id, { kind: 'comment', comment, media });
      for (const reply of comment.replies)
        this.#index.set(reply.id, { kind: 'comment', comment: reply, media });
    }
  }

  #unindexComment(comment: CommentState): void {
    this.#index.delete(comment.id);
    for (const reply of comment.replies) this.#index.delete(reply.id);
  }
}
