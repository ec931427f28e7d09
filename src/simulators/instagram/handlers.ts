import type { InstagramDataset } from './dataset.js';
import { errors } from './error-bodies.js';
import type { Endpoint } from './faults.js';
import { FieldSyntaxError, parseFields, type FieldSpec } from './fields.js';
import type { AccountState, ChildState, CommentState, MediaState } from './generate.js';
import { kindOfId } from './ids.js';
import {
  newestFirst,
  oldestFirst,
  paginate,
  readLimit,
  SimFailure,
  type Order,
  type Page,
} from './paging.js';

/**
 * Pure request handling: (data set, path, query) → response body, or a thrown SimFailure with a
 * documented error body. Token, usage and faults are handled before, in the simulator.
 */
export interface HandlerContext {
  readonly dataset: InstagramDataset;
  /** `http://host:port/v21.0`: where `paging.next` links point. */
  readonly origin: string;
  /** Echoed in `paging.next`, as the real API does. */
  readonly token: string;
  readonly defaultLimit: number;
  readonly maxLimit: number;
  /** Page size of nested edges (`replies{…}`, `media{…}`) without `.limit()`. */
  readonly nestedLimit: number;
  readonly strictCursors: boolean;
  /** Whether this edge page should come back empty with `next` (a fault). */
  readonly emptyPage: (endpoint: Endpoint) => boolean;
}

export type Query = Readonly<Record<string, string | undefined>>;

/** The endpoint a path is for, from its shape only (used before any check, for faults and logs). */
export function endpointOf(segments: readonly string[], query: Query): Endpoint {
  const kind = kindOfId(segments[0] ?? '');
  if (segments.length === 1) {
    if (kind === 'user')
      return /\bbusiness_discovery\b/.test(query.fields ?? '') ? 'business_discovery' : 'user';
    if (kind === 'media') return 'media_node';
    if (kind === 'comment') return 'comment_node';
    return 'unknown';
  }
  const edge = segments[1];
  if (
    edge === 'media' ||
    edge === 'stories' ||
    edge === 'children' ||
    edge === 'comments' ||
    edge === 'replies'
  )
    return edge;
  return 'unknown';
}

const USER_FIELDS = [
  'id',
  'ig_id',
  'username',
  'name',
  'biography',
  'website',
  'profile_picture_url',
  'followers_count',
  'follows_count',
  'media_count',
  'media',
  'stories',
  'business_discovery',
];
const MEDIA_FIELDS = [
  'id',
  'ig_id',
  'caption',
  'comments_count',
  'like_count',
  'is_comment_enabled',
  'media_type',
  'media_product_type',
  'media_url',
  'thumbnail_url',
  'owner',
  'permalink',
  'shortcode',
  'timestamp',
  'username',
  'children',
  'comments',
];
const CHILD_FIELDS = ['id', 'ig_id', 'media_type', 'media_url', 'thumbnail_url', 'timestamp', 'shortcode'];
const COMMENT_FIELDS = [
  'id',
  'text',
  'timestamp',
  'username',
  'like_count',
  'hidden',
  'from',
  'media',
  'parent_id',
  'replies',
];
const DEFAULT_COMMENT_FIELDS = ['timestamp', 'text', 'id'];

const spec = (names: readonly string[]): FieldSpec[] => names.map((name) => ({ name, modifiers: {} }));

/** `+0000` offsets, as the Graph API writes them. */
export function graphTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

function fieldsOf(query: Query): FieldSpec[] | undefined {
  if (query.fields === undefined || query.fields === '') return undefined;
  try {
    return parseFields(query.fields);
  } catch (error) {
    if (error instanceof FieldSyntaxError) throw new SimFailure(errors.invalidParameter(error.message));
    throw error;
  }
}

/** The text form of a field list, for `paging.next` links. */
export function fieldsText(fields: readonly FieldSpec[]): string {
  return fields
    .map((f) => {
      const modifiers = Object.entries(f.modifiers)
        .map(([k, v]) => `.${k}(${v})`)
        .join('');
      return `${f.name}${modifiers}${f.fields ? `{${fieldsText(f.fields)}}` : ''}`;
    })
    .join(',');
}

/** Renders requested fields; `id` always comes back, as on the real API. */
function render(
  fields: readonly FieldSpec[],
  known: readonly string[],
  nodeType: string,
  value: (f: FieldSpec) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!known.includes(f.name)) throw new SimFailure(errors.nonexistingField(f.name, nodeType));
    const v = value(f);
    if (v !== undefined && v !== null) out[f.name] = v;
  }
  if (!('id' in out)) {
    const id = value({ name: 'id', modifiers: {} });
    return { ...out, id };
  }
  return out;
}

/** `{id}` or the requested sub-fields of a small object field (`owner`, `from`, `media`). */
function pick(object: Record<string, string>, f: FieldSpec, nodeType: string): Record<string, string> {
  const names = f.fields?.map((s) => s.name) ?? ['id'];
  const unknown = names.find((n) => !(n in object));
  if (unknown !== undefined) throw new SimFailure(errors.nonexistingField(unknown, nodeType));
  return Object.fromEntries(names.map((n) => [n, object[n]!]));
}

interface EdgeOut {
  readonly data: unknown[];
  readonly paging?: unknown;
}

/** A nested or top-level edge page with `cursors` and (unless `cursorsOnly`) an absolute `next`. */
function edgePage<T extends { id: string; timestampMs: number }>(
  ctx: HandlerContext,
  all: readonly T[],
  order: Order,
  options: {
    readonly scope: string;
    readonly limit: number;
    readonly after?: string | undefined;
    readonly path: string;
    readonly fields: string | undefined;
    readonly cursorsOnly?: boolean;
    readonly endpoint?: Endpoint;
  },
  renderItem: (item: T) => unknown,
): EdgeOut {
  const empty = options.endpoint !== undefined && ctx.emptyPage(options.endpoint);
  const page: Page<T> = paginate(all, order, {
    limit: options.limit,
    after: options.after,
    scope: options.scope,
    strict: ctx.strictCursors,
    empty,
  });
  const data = page.items.map(renderItem);
  const cursors = {
    ...(page.before === undefined ? {} : { before: page.before }),
    ...(options.cursorsOnly
      ? page.more === undefined
        ? {}
        : { after: page.more }
      : page.after
        ? { after: page.after }
        : {}),
  };
  let next: string | undefined;
  if (page.more !== undefined && !options.cursorsOnly) {
    const url = new URL(`${ctx.origin}/${options.path}`);
    url.searchParams.set('access_token', ctx.token);
    if (options.fields !== undefined) url.searchParams.set('fields', options.fields);
    url.searchParams.set('limit', String(options.limit));
    url.searchParams.set('after', page.more);
    next = url.toString();
  }
  if (data.length === 0 && next === undefined) return { data };
  return { data, paging: { cursors, ...(next === undefined ? {} : { next }) } };
}

// ---- nodes ----------------------------------------------------------------------------------------

function renderUser(
  ctx: HandlerContext,
  account: AccountState,
  fields: readonly FieldSpec[],
  discovery: boolean,
): Record<string, unknown> {
  const d = ctx.dataset;
  return render(fields, USER_FIELDS, 'IGUser', (f): unknown => {
    switch (f.name) {
      case 'id':
        return account.id;
      case 'ig_id':
        return Number(account.id.slice(-10));
      case 'username':
        return account.username;
      case 'name':
        return account.name;
      case 'biography':
        return account.biography;
      case 'website':
        return account.website;
      case 'profile_picture_url':
        return account.profilePictureUrl;
      case 'followers_count':
        return account.followers;
      case 'follows_count':
        return account.follows;
      case 'media_count':
        return account.media.length;
      case 'media': {
        const limit = readLimit(f.modifiers.limit, ctx.nestedLimit, ctx.maxLimit);
        const inner = f.fields ?? spec(['id']);
        return edgePage(
          ctx,
          account.media,
          newestFirst,
          {
            scope: `media|${account.id}`,
            limit,
            after: f.modifiers.after,
            path: `${account.id}/media`,
            fields: fieldsText(inner),
            cursorsOnly: discovery,
          },
          (m) => renderMedia(ctx, m, inner, discovery),
        );
      }
      case 'stories': {
        // Stories are the token's own account's only: business discovery refuses them (#10).
        if (discovery) throw new SimFailure(errors.noPermission());
        const inner = f.fields ?? spec(['id']);
        return edgePage(
          ctx,
          d.stories(account),
          newestFirst,
          {
            scope: `stories|${account.id}`,
            limit: readLimit(f.modifiers.limit, ctx.nestedLimit, ctx.maxLimit),
            after: f.modifiers.after,
            path: `${account.id}/stories`,
            fields: fieldsText(inner),
          },
          (m) => renderMedia(ctx, m, inner, false),
        );
      }
      case 'business_discovery': {
        if (discovery || !account.own) throw new SimFailure(errors.nonexistingField(f.name, 'IGUser'));
        const username = f.modifiers.username;
        if (username === undefined || username === '') {
          throw new SimFailure(errors.invalidParameter('The parameter username is required'));
        }
        const target = d.accountByUsername(username);
        if (!target?.professional) throw new SimFailure(errors.userNotFound(username));
        return renderUser(ctx, target, f.fields ?? spec(['id']), true);
      }
      default:
        return undefined;
    }
  });
}

function renderChild(child: ChildState, fields: readonly FieldSpec[]) {
  return render(fields, CHILD_FIELDS, 'IGMedia', (f) => {
    switch (f.name) {
      case 'id':
        return child.id;
      case 'ig_id':
        return `${BigInt(child.id) * 173n}`;
      case 'media_type':
        return child.mediaType;
      case 'media_url':
        return child.mediaUrl;
      case 'thumbnail_url':
        return child.thumbnailUrl;
      case 'timestamp':
        return graphTime(child.timestampMs);
      default:
        return undefined;
    }
  });
}

function renderMedia(
  ctx: HandlerContext,
  media: MediaState,
  fields: readonly FieldSpec[],
  discovery: boolean,
): Record<string, unknown> {
  const d = ctx.dataset;
  const owner = d.account(media.account)!;
  return render(fields, MEDIA_FIELDS, 'IGMedia', (f) => {
    switch (f.name) {
      case 'id':
        return media.id;
      case 'ig_id':
        return media.igId;
      case 'caption':
        return media.caption;
      case 'comments_count':
        return d.commentsCount(media);
      case 'like_count':
        return media.likeCount;
      case 'is_comment_enabled':
        return media.commentsEnabled;
      case 'media_type':
        return media.mediaType;
      case 'media_product_type':
        return media.productType;
      case 'media_url':
        return media.mediaUrl;
      case 'thumbnail_url':
        return media.thumbnailUrl;
      case 'owner':
        return pick({ id: owner.id, username: owner.username }, f, 'IGUser');
      case 'permalink':
        return media.permalink;
      case 'shortcode':
        return media.shortcode;
      case 'timestamp':
        return graphTime(media.timestampMs);
      case 'username':
        return owner.username;
      case 'children':
        if (media.mediaType !== 'CAROUSEL_ALBUM') return undefined;
        return { data: media.children.map((c) => renderChild(c, f.fields ?? spec(['id']))) };
      case 'comments': {
        if (discovery) throw new SimFailure(errors.noPermission());
        const inner = f.fields ?? spec(DEFAULT_COMMENT_FIELDS);
        return edgePage(
          ctx,
          media.commentsEnabled ? media.comments : [],
          newestFirst,
          {
            scope: `comments|${media.id}`,
            limit: readLimit(f.modifiers.limit, ctx.nestedLimit, ctx.maxLimit),
            after: f.modifiers.after,
            path: `${media.id}/comments`,
            fields: fieldsText(inner),
          },
          (c) => renderComment(ctx, c, inner),
        );
      }
      default:
        return undefined;
    }
  });
}

function renderComment(ctx: HandlerContext, comment: CommentState, fields: readonly FieldSpec[]): unknown {
  return render(fields, COMMENT_FIELDS, 'IGComment', (f) => {
    switch (f.name) {
      case 'id':
        return comment.id;
      case 'text':
        return comment.text;
      case 'timestamp':
        return graphTime(comment.timestampMs);
      case 'username':
        return comment.username;
      case 'like_count':
        return comment.likeCount;
      case 'hidden':
        return comment.hidden;
      case 'from':
        return pick({ id: comment.fromId, username: comment.username }, f, 'IGUser');
      case 'media':
        return pick({ id: comment.mediaId }, f, 'IGMedia');
      case 'parent_id':
        return comment.parentId;
      case 'replies': {
        const inner = f.fields ?? spec(DEFAULT_COMMENT_FIELDS);
        return edgePage(
          ctx,
          comment.replies,
          oldestFirst,
          {
            scope: `replies|${comment.id}`,
            limit: readLimit(f.modifiers.limit, ctx.nestedLimit, ctx.maxLimit),
            after: f.modifiers.after,
            path: `${comment.id}/replies`,
            fields: fieldsText(inner),
          },
          (r) => renderComment(ctx, r, inner),
        );
      }
      default:
        return undefined;
    }
  });
}

// ---- requests -------------------------------------------------------------------------------------

// Longer than 80 lines: one case per Graph edge, the dispatch table of the simulator.
/** Answers `GET /{id}` or `GET /{id}/{edge}` for the token's own accounts. */
export function handle(ctx: HandlerContext, segments: readonly string[], query: Query): unknown {
  const d = ctx.dataset;
  const [id = '', edge] = segments;
  const fields = fieldsOf(query);
  const found = kindOfId(id) === 'user' ? undefined : d.find(id);
  const account = kindOfId(id) === 'user' ? d.accountById(id) : undefined;
  const ownerOf = (media: MediaState) => d.account(media.account)!;

  if (edge === undefined) {
    if (account?.own) return renderUser(ctx, account, fields ?? spec(['id']), false);
    if (found?.kind === 'media' && ownerOf(found.media).own) {
      return renderMedia(ctx, found.media, fields ?? spec(['id']), false);
    }
    if (found?.kind === 'child' && ownerOf(found.media).own) {
      return renderChild(found.child, fields ?? spec(['id']));
    }
    if (found?.kind === 'comment' && ownerOf(found.media).own) {
      return renderComment(ctx, found.comment, fields ?? spec(DEFAULT_COMMENT_FIELDS));
    }
    throw new SimFailure(errors.unsupportedGet(id));
  }

  const limit = readLimit(query.limit, ctx.defaultLimit, ctx.maxLimit);
  const common = { limit, after: query.after, fields: query.fields };
  if (edge === 'media') {
    if (!account?.own) throw new SimFailure(errors.unsupportedGet(id));
    const inner = fields ?? spec(['id']);
    const path = `${id}/media`;
    return edgePage(
      ctx,
      account.media,
      newestFirst,
      { ...common, scope: `media|${id}`, path, endpoint: 'media' },
      (m) => renderMedia(ctx, m, inner, false),
    );
  }
  if (edge === 'stories') {
    // Own account only, the last 24 h (SOCIAL-APIS.md §2.2); newest first, paged like /media.
    if (!account?.own) throw new SimFailure(errors.unsupportedGet(id));
    const inner = fields ?? spec(['id']);
    return edgePage(
      ctx,
      d.stories(account),
      newestFirst,
      { ...common, scope: `stories|${id}`, path: `${id}/stories`, endpoint: 'stories' },
      (m) => renderMedia(ctx, m, inner, false),
    );
  }
  if (edge === 'children') {
    if (found?.kind !== 'media' || !ownerOf(found.media).own) throw new SimFailure(errors.unsupportedGet(id));
    const children = found.media.mediaType === 'CAROUSEL_ALBUM' ? found.media.children : [];
    return { data: children.map((c) => renderChild(c, fields ?? spec(['id']))) };
  }
  if (edge === 'comments') {
    if (found?.kind !== 'media') throw new SimFailure(errors.unsupportedGet(id));
    if (!ownerOf(found.media).own) throw new SimFailure(errors.noPermission());
    const inner = fields ?? spec(DEFAULT_COMMENT_FIELDS);
    const all = found.media.commentsEnabled ? found.media.comments : [];
    const path = `${id}/comments`;
    return edgePage(
      ctx,
      all,
      newestFirst,
      { ...common, scope: `comments|${id}`, path, endpoint: 'comments' },
      (c) => renderComment(ctx, c, inner),
    );
  }
  if (edge === 'replies') {
    // "You cannot get replies to a comment that has been deleted."
    if (found?.kind !== 'comment') throw new SimFailure(errors.unsupportedGet(id));
    if (!ownerOf(found.media).own) throw new SimFailure(errors.noPermission());
    const inner = fields ?? spec(DEFAULT_COMMENT_FIELDS);
    const path = `${id}/replies`;
    return edgePage(
      ctx,
      found.comment.replies,
      oldestFirst,
      { ...common, scope: `replies|${id}`, path, endpoint: 'replies' },
      (r) => renderComment(ctx, r, inner),
    );
  }
  const nodeType = account ? 'IGUser' : found?.kind === 'comment' ? 'IGComment' : 'IGMedia';
  throw new SimFailure(errors.nonexistingField(edge, nodeType));
}
