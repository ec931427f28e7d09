import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  mapChannel,
  mapComment,
  mapCommentThread,
  mapVideo,
  parseCount,
  parseIsoDuration,
  parseTimestamp,
  type Mapped,
} from '../../src/connectors/youtube/index.js';
import type {
  YouTubeChannelListResponse,
  YouTubeCommentListResponse,
  YouTubeCommentThreadListResponse,
  YouTubeVideoListResponse,
} from '../../src/connectors/youtube/index.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/youtube/${name}`, import.meta.url), 'utf8')) as T;

const records = <T>(results: Mapped<T>[]): T[] =>
  results.map((r) => {
    if (!r.ok) throw new Error(`unexpected quarantine: ${r.quarantine.reason}`);
    return r.record;
  });

const reasons = <T>(results: Mapped<T>[]) =>
  results.map((r) => (r.ok ? 'ok' : { id: r.quarantine.external_id, reason: r.quarantine.reason }));

describe('parsers', () => {
  it.each([
    ['PT15M51S', 951],
    ['PT1H2M3S', 3723],
    ['P1DT2H', 93_600],
    ['PT0S', 0],
    ['P0D', 0],
    ['PT45S', 45],
    ['PT1M', 60],
    ['P1W', 604_800],
    ['PT1.6S', 2],
  ])('duration %s is %d seconds', (text, seconds) => expect(parseIsoDuration(text)).toBe(seconds));

  it('refuses what is not a duration it can count in seconds', () => {
    for (const bad of ['', 'P', 'PT', 'P1DT', '15:51', 'P1Y', 'P2M', 'PT-1S', undefined, 951]) {
      expect(parseIsoDuration(bad)).toBeNull();
    }
  });

  it.each([
    ['2024-05-01T16:00:12Z', '2024-05-01T16:00:12.000Z'],
    ['2024-05-01T16:00:12.123456Z', '2024-05-01T16:00:12.123Z'],
    ['2020-02-29T23:30:00-08:00', '2020-03-01T07:30:00.000Z'],
    ['2024-05-01T16:00:12+05:30', '2024-05-01T10:30:12.000Z'],
  ])('timestamp %s is %s in UTC', (text, iso) => expect(parseTimestamp(text)).toBe(iso));

  it('refuses timestamps that are not real RFC 3339 instants', () => {
    for (const bad of [
      '2019-02-30T10:00:00Z',
      '2024-05-02T25:00:00Z',
      '2024-05-01',
      'yesterday',
      '',
      null,
      0,
    ]) {
      expect(parseTimestamp(bad)).toBeNull();
    }
  });

  it('reads counters from strings and integers only', () => {
    expect(parseCount('298765432')).toBe(298_765_432);
    expect(parseCount(3)).toBe(3);
    for (const bad of [undefined, '', '-1', '1.5', 'not-a-number', -1, 1.5])
      expect(parseCount(bad)).toBeNull();
  });
});

describe('channels → profiles', () => {
  const items = fixture<YouTubeChannelListResponse>('channels.list.json').items!;

  it('maps the documented example field by field, counters as numbers', () => {
    expect(records(items.map(mapChannel))[0]).toEqual({
      platform: 'youtube',
      external_id: 'UC_x5XG1OV2P6uZZ5FSM9Ttw',
      handle: '@googledevelopers',
      title: 'Google for Developers',
      description: 'Subscribe to join a community of creative developers…',
      country: 'US',
      published_at: '2007-08-23T00:34:43.000Z',
      subscriber_count: 2_390_000,
      view_count: 298_765_432,
      video_count: 6140,
      uploads_playlist_id: 'UU_x5XG1OV2P6uZZ5FSM9Ttw',
      thumbnail_url: 'https://yt3.ggpht.com/abc=s800-c-k-c0x00ffffff-no-rj',
    });
  });

  it('gives null for a hidden subscriber count, absent country and missing statistics', () => {
    const [, hidden, snippetOnly] = records(items.map(mapChannel));
    expect(hidden).toMatchObject({ subscriber_count: null, view_count: 1200, video_count: 7, country: null });
    expect(hidden!.published_at).toBe('2015-03-09T12:00:00.250Z');
    expect(snippetOnly).toMatchObject({
      subscriber_count: null,
      view_count: null,
      video_count: null,
      uploads_playlist_id: null,
      thumbnail_url: null,
      published_at: '2020-03-01T07:30:00.000Z',
    });
  });

  it('quarantines a channel without id or with an impossible date instead of throwing', () => {
    const invalid = fixture<YouTubeChannelListResponse>('channels.list.invalid.json').items!;
    expect(reasons(invalid.map(mapChannel))).toEqual([
      { id: null, reason: 'id is missing' },
      { id: 'UCbaddate000000000000000', reason: expect.stringMatching(/publishedAt is not an RFC 3339/) },
      { id: 'UCnosnippet0000000000000', reason: 'snippet.publishedAt is missing' },
    ]);
    const first = mapChannel(invalid[0]!);
    expect(!first.ok && first.quarantine).toMatchObject({
      platform: 'youtube',
      kind: 'profile',
      raw: invalid[0],
    });
  });
});

describe('videos → posts', () => {
  const items = fixture<YouTubeVideoListResponse>('videos.list.json').items!;

  it('maps the documented example', () => {
    expect(records(items.map(mapVideo))[0]).toEqual({
      platform: 'youtube',
      external_id: 'ljdyTR0bDdE',
      profile_external_id: 'UC_x5XG1OV2P6uZZ5FSM9Ttw',
      title: "What's new in Android",
      description: '…',
      published_at: '2024-05-01T16:00:12.000Z',
      duration_seconds: 951,
      view_count: 183_542,
      like_count: 5120,
      comment_count: 421,
      thumbnail_url: 'https://i.ytimg.com/vi/ljdyTR0bDdE/hqdefault.jpg',
    });
  });

  it('keeps hidden likes, disabled comments and a missing statistics part as null', () => {
    const [, likesHidden, commentsOff, upcoming, zero] = records(items.map(mapVideo));
    expect(likesHidden).toMatchObject({
      duration_seconds: 3723,
      like_count: null,
      comment_count: 12,
      view_count: 9001,
    });
    expect(likesHidden!.thumbnail_url).toBe('https://i.ytimg.com/vi/Ab3_-xYz012/maxresdefault.jpg');
    expect(commentsOff).toMatchObject({
      duration_seconds: 93_600,
      like_count: 3,
      comment_count: null,
      thumbnail_url: null,
    });
    expect(upcoming).toMatchObject({ duration_seconds: 0, view_count: 0, comment_count: 0 });
    expect(zero).toMatchObject({
      duration_seconds: 0,
      view_count: null,
      like_count: null,
      comment_count: null,
    });
    expect(zero!.description).toBeNull();
  });

  it('quarantines a video without id, channel or a parseable date; an odd duration is only null', () => {
    const results = fixture<YouTubeVideoListResponse>('videos.list.invalid.json').items!.map(mapVideo);
    expect(reasons(results)).toEqual([
      { id: null, reason: 'id is missing' },
      { id: 'BadDate0001', reason: 'snippet.publishedAt is not an RFC 3339 timestamp: "yesterday"' },
      { id: 'NoChannel01', reason: 'snippet.channelId is missing' },
      'ok',
    ]);
    expect(results[3]).toMatchObject({ record: { duration_seconds: null, view_count: null, like_count: 5 } });
  });
});

describe('comment threads and replies → comments', () => {
  it('flattens a thread into its top-level comment and inline replies', () => {
    const threads = fixture<YouTubeCommentThreadListResponse>('commentThreads.list.json').items!;
    const comments = records(threads.flatMap(mapCommentThread));
    expect(comments).toHaveLength(3);
    expect(comments[0]).toEqual({
      platform: 'youtube',
      external_id: 'UgzDE2tasfmrYLyNkGt4AaABAg',
      post_external_id: 'ljdyTR0bDdE',
      parent_external_id: null,
      author_name: '@someviewer',
      author_external_id: 'UCq1w2e3r4t5y6u7i8o9p0a1',
      text: 'Great talk!',
      like_count: 3,
      reply_count: 2,
      published_at: '2024-05-02T10:00:00.000Z',
      updated_at: '2024-05-02T10:05:00.000Z',
    });
    expect(comments[1]).toMatchObject({
      external_id: 'UgzDE2tasfmrYLyNkGt4AaABAg.A3bCdEfGhIj',
      parent_external_id: 'UgzDE2tasfmrYLyNkGt4AaABAg',
      post_external_id: 'ljdyTR0bDdE',
      reply_count: null,
      like_count: 0,
    });
    // textOriginal, not the HTML-escaped textDisplay
    expect(comments[2]).toMatchObject({ text: 'Tom & Jerry <3', reply_count: 0, parent_external_id: null });
  });

  it('maps comments.list replies, taking the video id from the context when the snippet lacks it', () => {
    const replies = fixture<YouTubeCommentListResponse>('comments.list.json').items!;
    const mapped = records(replies.map((r) => mapComment(r, { postExternalId: 'ljdyTR0bDdE' })));
    expect(mapped.map((c) => c.post_external_id)).toEqual(['ljdyTR0bDdE', 'ljdyTR0bDdE']);
    expect(mapped[1]).toMatchObject({
      parent_external_id: 'UgzDE2tasfmrYLyNkGt4AaABAg',
      author_name: '@fourth',
      author_external_id: null,
      like_count: 7,
      published_at: '2024-05-02T12:00:00.000Z',
      updated_at: '2024-05-03T09:30:00.000Z',
    });
    const orphan = mapComment(replies[1]!);
    expect(!orphan.ok && orphan.quarantine.reason).toBe('snippet.videoId is missing');
  });

  it('quarantines comments with a missing or impossible date and threads without id', () => {
    const threads = fixture<YouTubeCommentThreadListResponse>('commentThreads.list.invalid.json').items!;
    expect(reasons(threads.flatMap(mapCommentThread))).toEqual([
      { id: 'UgyNoPublishedAt0000AaABAg', reason: 'snippet.publishedAt is missing' },
      {
        id: 'UgyNoPublishedAt0000AaABAg.BadUpdated1',
        reason: 'snippet.updatedAt is not an RFC 3339 timestamp: "2024-05-02T25:00:00Z"',
      },
      { id: null, reason: 'id is missing' },
      { id: null, reason: 'id is missing' },
    ]);
  });
});
