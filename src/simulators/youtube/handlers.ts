import type { YouTubeDataset } from './dataset.js';
import { errors } from './error-bodies.js';
import type { ChannelState, CommentState } from './generate.js';
import {
  list,
  maxResults,
  oneFilter,
  paginate,
  parts,
  rejectUnexpected,
  SimFailure,
  single,
  type Query,
} from './params.js';
import {
  channelResource,
  commentResource,
  etagOf,
  listResponse,
  playlistItemResource,
  subscriptionResource,
  threadResource,
  videoResource,
  type TextFormat,
} from './resources.js';

/**
 * One pure handler per list method: (data set, query) → response body, or a thrown SimFailure with a
 * documented error body. Auth, quota and fault injection happen before, in the simulator.
 */
export interface HandlerContext {
  readonly dataset: YouTubeDataset;
  /** Out-of-range `maxResults` is clamped instead of refused. */
  readonly clampMaxResults: boolean;
  /** How many replies `commentThreads` carries inline. */
  readonly inlineReplies: number;
}

type Handler = (ctx: HandlerContext, query: Query) => unknown;

const textFormat = (query: Query): TextFormat => {
  const format = single(query, 'textFormat') ?? 'html';
  if (format === 'html' || format === 'plainText') return format;
  throw new SimFailure(errors.invalidValue('textFormat', format, '[html, plainText]'));
};

const noPaging = (query: Query, filter: string): void => {
  const paging = ['maxResults', 'pageToken', 'order'].filter((p) => query[p] !== undefined);
  if (paging.length > 0) throw new SimFailure(errors.incompatibleParameters([filter, ...paging]));
};

function channels(ctx: HandlerContext, query: Query): unknown {
  rejectUnexpected(query, ['id', 'forHandle', 'forUsername', 'mine', 'maxResults', 'pageToken']);
  const wanted = parts(query, [
    'snippet',
    'contentDetails',
    'statistics',
    'status',
    'brandingSettings',
    'topicDetails',
  ]);
  const filter = oneFilter(query, ['forHandle', 'forUsername', 'id', 'mine']);
  if (filter === 'mine') throw new SimFailure(errors.loginRequired());
  const size = maxResults(query, { min: 0, max: 50, fallback: 5 }, ctx.clampMaxResults);
  const value = single(query, filter) ?? '';
  const found: (ChannelState | undefined)[] =
    filter === 'id'
      ? [...new Set(list(query, 'id'))].map((id) => ctx.dataset.channelById(id))
      : [filter === 'forHandle' ? ctx.dataset.channelByHandle(value) : ctx.dataset.channelByUsername(value)];
  const matches = found.filter((c): c is ChannelState => c !== undefined);
  // An id list is answered whole (at most 50 ids); maxResults=0 still means "only pageInfo".
  const pageSize = filter === 'id' && size > 0 ? Math.max(size, matches.length) : size;
  const page = paginate(query, matches, pageSize, `channels|${filter}|${value}`);
  const items = page.items.map((c) => channelResource(c, ctx.dataset.uploads(c).length, wanted));
  return listResponse('youtube#channelListResponse', { ...page, items }, matches.length, size);
}

function playlistItems(ctx: HandlerContext, query: Query): unknown {
  rejectUnexpected(query, ['playlistId', 'videoId', 'maxResults', 'pageToken']);
  const wanted = parts(query, ['snippet', 'contentDetails', 'status']);
  const playlistId = single(query, 'playlistId');
  if (playlistId === undefined) throw new SimFailure(errors.noFilter(['playlistId']));
  const size = maxResults(query, { min: 0, max: 50, fallback: 5 }, ctx.clampMaxResults);
  const channel = ctx.dataset.channelByUploadsId(playlistId);
  if (!channel) throw new SimFailure(errors.playlistNotFound());
  const videoId = single(query, 'videoId');
  const entries = ctx.dataset
    .uploads(channel)
    .map((video, position) => ({ video, position }))
    .filter((e) => videoId === undefined || e.video.id === videoId);
  const page = paginate(query, entries, size, `playlistItems|${playlistId}|${videoId ?? ''}`);
  const items = page.items.map((e) => playlistItemResource(e.video, channel, e.position, wanted));
  return listResponse('youtube#playlistItemListResponse', { ...page, items }, entries.length, size);
}

function videos(ctx: HandlerContext, query: Query): unknown {
  rejectUnexpected(query, ['id', 'maxResults', 'pageToken', 'regionCode']);
  const wanted = parts(query, [
    'snippet',
    'contentDetails',
    'statistics',
    'status',
    'liveStreamingDetails',
    'player',
  ]);
  oneFilter(query, ['id']);
  // maxResults and pageToken are only honoured with chart/myRating: validated, then ignored.
  maxResults(query, { min: 1, max: 50, fallback: 5 }, ctx.clampMaxResults);
  const ids = [...new Set(list(query, 'id'))];
  if (ids.length > 50) throw new SimFailure(errors.invalidValue('id', `${ids.length} ids`, '[1, 50]'));
  const items = ids.flatMap((id) => {
    const video = ctx.dataset.video(id);
    if (!video) return []; // deleted, private or unknown ids are silently omitted
    const count = wanted.has('statistics') && !video.commentsDisabled ? ctx.dataset.commentCount(video) : 0;
    return [videoResource(video, ctx.dataset.channel(video.channel)!, count, wanted)];
  });
  return listResponse('youtube#videoListResponse', { items }, items.length, items.length);
}

function commentThreads(ctx: HandlerContext, query: Query): unknown {
  rejectUnexpected(query, ['id', 'videoId', 'maxResults', 'order', 'pageToken', 'searchTerms', 'textFormat']);
  const wanted = parts(query, ['snippet', 'replies']);
  const filter = oneFilter(query, ['id', 'videoId']);
  const format = textFormat(query);
  const render = (t: CommentState) =>
    threadResource(t, ctx.dataset.replies(t), wanted, format, ctx.inlineReplies);
  if (filter === 'id') {
    noPaging(query, filter);
    const found = list(query, 'id').flatMap((id) => ctx.dataset.thread(id) ?? []);
    return listResponse(
      'youtube#commentThreadListResponse',
      { items: found.map(render) },
      found.length,
      found.length,
    );
  }
  const size = maxResults(query, { min: 1, max: 100, fallback: 20 }, ctx.clampMaxResults);
  const order = single(query, 'order') ?? 'time';
  if (order !== 'time' && order !== 'relevance') {
    throw new SimFailure(errors.invalidValue('order', order, '[time, relevance]'));
  }
  const videoId = single(query, 'videoId') ?? '';
  const video = ctx.dataset.video(videoId);
  if (!video) throw new SimFailure(errors.videoNotFound());
  if (video.commentsDisabled) throw new SimFailure(errors.commentsDisabled());
  const terms = single(query, 'searchTerms')?.toLowerCase();
  let threads = ctx.dataset.threads(video); // newest first
  if (terms) threads = threads.filter((t) => t.text.toLowerCase().includes(terms));
  if (order === 'relevance') threads = [...threads].sort((a, b) => b.likeCount - a.likeCount);
  const page = paginate(query, threads, size, `commentThreads|${videoId}|${order}|${terms ?? ''}`);
  // pageInfo.totalResults is the size of this page, not a grand total (as observed on the real API).
  return listResponse(
    'youtube#commentThreadListResponse',
    { ...page, items: page.items.map(render) },
    page.items.length,
    size,
  );
}

function comments(ctx: HandlerContext, query: Query): unknown {
  rejectUnexpected(query, ['id', 'parentId', 'maxResults', 'pageToken', 'textFormat']);
  const wanted = parts(query, ['snippet']);
  const filter = oneFilter(query, ['id', 'parentId']);
  const format = textFormat(query);
  const render = (c: CommentState) =>
    wanted.has('snippet')
      ? commentResource(c, format)
      : { kind: 'youtube#comment', etag: etagOf(c.id), id: c.id };
  if (filter === 'id') {
    noPaging(query, filter);
    const found = list(query, 'id').flatMap((id) => ctx.dataset.comment(id) ?? []);
    return listResponse(
      'youtube#commentListResponse',
      { items: found.map(render) },
      found.length,
      found.length,
    );
  }
  const size = maxResults(query, { min: 1, max: 100, fallback: 20 }, ctx.clampMaxResults);
  const parentId = single(query, 'parentId') ?? '';
  const thread = ctx.dataset.thread(parentId);
  const replies = thread ? ctx.dataset.replies(thread) : []; // oldest first; unknown parent → empty list
  const page = paginate(query, replies, size, `comments|${parentId}`);
  return listResponse(
    'youtube#commentListResponse',
    { ...page, items: page.items.map(render) },
    page.items.length,
    size,
  );
}

/**
 * A channel's public subscriptions (`channelId`); the OAuth-only filters answer 401. A channel that
 * keeps them private answers 403 `subscriptionForbidden`, an unknown one 404 `subscriberNotFound`.
 */
function subscriptions(ctx: HandlerContext, query: Query): unknown {
  rejectUnexpected(query, [
    'channelId',
    'mine',
    'mySubscribers',
    'myRecentSubscribers',
    'forChannelId',
    'maxResults',
    'order',
    'pageToken',
  ]);
  const wanted = parts(query, ['snippet', 'contentDetails', 'subscriberSnippet']);
  const filter = oneFilter(query, ['channelId', 'mine', 'mySubscribers', 'myRecentSubscribers']);
  if (filter !== 'channelId') throw new SimFailure(errors.loginRequired());
  const size = maxResults(query, { min: 0, max: 50, fallback: 5 }, ctx.clampMaxResults);
  const order = single(query, 'order') ?? 'relevance';
  if (order !== 'relevance' && order !== 'alphabetical' && order !== 'unread') {
    throw new SimFailure(errors.invalidValue('order', order, '[alphabetical, relevance, unread]'));
  }
  const channelId = single(query, 'channelId') ?? '';
  const subscriber = ctx.dataset.channelById(channelId);
  if (!subscriber) throw new SimFailure(errors.subscriberNotFound());
  if (ctx.dataset.subscriptionsPrivate(subscriber)) throw new SimFailure(errors.subscriptionForbidden());
  const only = new Set(list(query, 'forChannelId'));
  let entries = ctx.dataset.subscriptions(subscriber);
  if (only.size > 0) entries = entries.filter((e) => only.has(e.channel.id));
  if (order === 'alphabetical') {
    entries = [...entries].sort((a, b) => a.channel.title.localeCompare(b.channel.title, 'en'));
  }
  const scope = `subscriptions|${channelId}|${order}|${[...only].join(',')}`;
  const page = paginate(query, entries, size, scope);
  const items = page.items.map((e) =>
    subscriptionResource(
      subscriber,
      e.channel,
      e.subscribedAtMs,
      wanted.has('contentDetails') ? ctx.dataset.uploads(e.channel).length : 0,
      wanted,
    ),
  );
  return listResponse('youtube#subscriptionListResponse', { ...page, items }, entries.length, size);
}

export const HANDLERS: Readonly<Record<string, Handler>> = {
  channels,
  playlistItems,
  videos,
  commentThreads,
  comments,
  subscriptions,
};
