import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createTimeToIso,
  decodeCommentsCursor,
  decodeOffset,
  encodeCommentsCursor,
  TIKTOK_LAUNCH,
  decodePostsCursor,
  encodePostsCursor,
  exactId,
  firstWindow,
  mapComment,
  mapFollow,
  mapUserInfo,
  mapVideo,
  olderWindow,
  parseCount,
  parseTikTokJson,
  partition,
  researchDate,
  researchDateMs,
  type Mapped,
  type PostsCursor,
  type TikTokCommentListData,
  type TikTokEnvelope,
  type TikTokFollowersData,
  type TikTokUserInfo,
  type TikTokVideoQueryData,
} from '../../src/connectors/tiktok/index.js';

/** Fixtures hold int64 ids as bare JSON numbers, as the API sends them: read them like the client does. */
const text = (name: string) => readFileSync(new URL(`../fixtures/tiktok/${name}`, import.meta.url), 'utf8');
const fixture = <T>(name: string) => parseTikTokJson(text(name)) as TikTokEnvelope<T>;

const reasons = <T>(items: Mapped<T>[]) =>
  items.map((m) => (m.ok ? 'ok' : { id: m.quarantine.externalId, reason: m.quarantine.reason }));

describe('big ids', () => {
  it('the fixture ids are above 2^53 and JSON.parse would corrupt them; parseTikTokJson keeps every digit', () => {
    const lossy = JSON.parse(text('video-query.json')) as { data: { videos: { id: number }[] } };
    expect(Number('7028743950684949650') > Number.MAX_SAFE_INTEGER).toBe(true);
    expect(String(lossy.data.videos[0]!.id)).not.toBe('7028743950684949650');
    const exact = fixture<TikTokVideoQueryData>('video-query.json');
    expect(exact.data!.videos![0]!.id).toBe('7028743950684949650');
    expect(exact.data!.videos![0]!.music_id).toBe('7038475063498387000');
    // Counters and cursors stay numbers; the search id stays the string it was.
    expect(exact.data!.videos![0]!.view_count).toBe(1050);
    expect(exact.data).toMatchObject({ cursor: 100, search_id: '7201388525814961198', has_more: true });
  });

  it('exactId accepts decimal strings and safe numbers, refuses a number that already lost precision', () => {
    expect(exactId('7028743950684949650')).toEqual({ id: '7028743950684949650' });
    expect(exactId(12345)).toEqual({ id: '12345' });
    expect(exactId(Number('7028743950684949650'))).toHaveProperty('reason');
    expect(exactId('12a')).toHaveProperty('reason');
    expect(exactId(undefined)).toEqual({ reason: 'missing' });
    expect(exactId(-1)).toHaveProperty('reason');
  });
});

describe('parsers', () => {
  it('create_time: unix seconds → ISO UTC; milliseconds, text and negatives are refused', () => {
    expect(createTimeToIso(1633823999)).toBe('2021-10-09T23:59:59.000Z');
    expect(createTimeToIso('1633823999')).toBe('2021-10-09T23:59:59.000Z');
    expect(createTimeToIso(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(createTimeToIso(1633823999000)).toBeNull();
    expect(createTimeToIso(-1)).toBeNull();
    expect(createTimeToIso(1.5)).toBeNull();
    expect(createTimeToIso('yesterday')).toBeNull();
    expect(createTimeToIso(undefined)).toBeNull();
  });

  it('counters: non-negative safe integers only', () => {
    expect(parseCount(0)).toBe(0);
    expect(parseCount(27155089)).toBe(27155089);
    expect(parseCount('42')).toBe(42);
    expect(parseCount(-5)).toBeNull();
    expect(parseCount(1.5)).toBeNull();
    expect(parseCount(undefined)).toBeNull();
    expect(parseCount('7028743950684949650')).toBeNull();
  });
});

describe('mapUserInfo', () => {
  it('maps the documented example; the username is the key', () => {
    const mapped = mapUserInfo('@joe123456', fixture<TikTokUserInfo>('user-info.json').data);
    expect(mapped).toEqual({
      ok: true,
      row: {
        external_id: 'joe123456',
        handle: 'joe123456',
        title: 'my nick name',
        description: 'my_bio',
        country: null,
        published_at: null,
        subscriber_count: 232,
        view_count: null,
        post_count: 44,
      },
    });
  });

  it('quarantines an empty answer and an empty username', () => {
    expect(
      reasons([
        mapUserInfo('joe', {}),
        mapUserInfo('joe', undefined),
        mapUserInfo('@', { display_name: 'x' }),
      ]),
    ).toEqual([
      { id: 'joe', reason: 'user info is empty' },
      { id: 'joe', reason: 'user info is empty' },
      { id: null, reason: 'username is empty' },
    ]);
  });
});

describe('mapVideo', () => {
  const videos = fixture<TikTokVideoQueryData>('video-query.json').data!.videos!;
  const mapped = videos.map((v) => mapVideo(v, { username: 'joe123456' }));

  it('maps good items and quarantines each bad one with its reason, in order', () => {
    expect(reasons(mapped)).toEqual([
      'ok',
      'ok',
      { id: null, reason: 'id: missing' },
      { id: '7028743950684949653', reason: 'video belongs to @someone_else, not @joe123456' },
      { id: '7028743950684949654', reason: 'create_time is missing' },
      { id: '7028743950684949655', reason: 'create_time is not unix seconds: 1633823999000' },
      { id: '7028743950684949656', reason: 'create_time is not unix seconds: "yesterday"' },
      { id: '7028743950684949657x', reason: 'id: not a decimal id: "7028743950684949657x"' },
      'ok',
    ]);
    const { quarantined } = partition(mapped);
    expect(quarantined.every((q) => q.platform === 'tiktok' && q.kind === 'post')).toBe(true);
    expect(quarantined[1]!.payload).toBe(videos[3]);
  });

  it('builds the post row: exact id, ISO time, VIDEO, url from share_url or the canonical address', () => {
    const { rows } = partition(mapped);
    expect(rows[0]).toEqual({
      external_id: '7028743950684949650',
      profile_external_id: 'joe123456',
      title: null,
      description: 'lol #pov #avengers',
      published_at: '2021-10-09T23:59:59.000Z',
      duration_seconds: null,
      view_count: 1050,
      like_count: 120,
      comment_count: 2,
      thumbnail_url: null,
      media_type: 'VIDEO',
      url: 'https://www.tiktok.com/@joe123456/video/7028743950684949650',
    });
    // `video_id` instead of `id`, the owner in another letter case.
    expect(rows[1]).toMatchObject({
      external_id: '7028743950684949651',
      duration_seconds: 15,
      view_count: 0,
    });
    // Bad counters become null, not a quarantine; share_url wins when present.
    expect(rows[2]).toMatchObject({
      external_id: '7028743950684949658',
      view_count: null,
      like_count: null,
      url: 'https://www.tiktok.com/@joe123456/video/7028743950684949658?utm_source=open_api',
    });
  });
});

describe('mapComment', () => {
  const comments = fixture<TikTokCommentListData>('comments.json').data!.comments!;
  const mapped = comments.map((c) => mapComment(c, { videoId: '7028743950684949650' }));

  it('top-level comments (parent = the video) have no parent; replies keep their parent exactly', () => {
    expect(reasons(mapped)).toEqual([
      'ok',
      'ok',
      'ok',
      { id: null, reason: 'id: missing' },
      { id: '7123456169346341344', reason: 'comment of video 7028743950684949659, not 7028743950684949650' },
      { id: '7123456169346341345', reason: 'create_time is missing' },
      { id: '7123456169346341346', reason: 'comment is its own parent' },
    ]);
    const { rows } = partition(mapped);
    expect(rows[0]).toEqual({
      external_id: '7123456169346341340',
      post_external_id: '7028743950684949650',
      parent_external_id: null,
      author: null,
      text: 'AWEEEEEE 🥰🥰🥰',
      like_count: 50,
      published_at: '2022-12-19T23:13:18.000Z',
      edited_at: null,
    });
    expect(rows[1]).toMatchObject({
      external_id: '7123456169346341341',
      parent_external_id: '7123456169346341340',
    });
    expect(rows[2]).toMatchObject({
      post_external_id: '7028743950684949650',
      parent_external_id: null,
      like_count: null,
    });
  });
});

describe('mapFollow', () => {
  it('maps followers; an entry without a username is quarantined', () => {
    const users = fixture<TikTokFollowersData>('followers.json').data!.user_followers!;
    const mapped = users.map((u) => mapFollow(u, { username: 'joe123456', relation: 'follower' }));
    expect(reasons(mapped)).toEqual([
      'ok',
      { id: null, reason: 'username is missing' },
      'ok',
      { id: null, reason: 'username is missing' },
    ]);
    expect(partition(mapped).rows).toEqual([
      {
        profile_external_id: 'joe123456',
        relation: 'follower',
        other_external_id: 'quiet.river.ab12c',
        other_handle: 'quiet.river.ab12c',
        other_title: 'Quiet River',
      },
      {
        profile_external_id: 'joe123456',
        relation: 'follower',
        other_external_id: 'brave.orbit',
        other_handle: 'brave.orbit',
        other_title: null,
      },
    ]);
  });
});

describe('posts cursor', () => {
  const NOW = Date.parse('2026-03-04T18:30:00Z');
  const FLOOR_180 = NOW - 180 * 86_400_000;

  it('research dates are UTC days; impossible dates are NaN', () => {
    expect(researchDate(NOW)).toBe('20260304');
    expect(researchDateMs('20260304')).toBe(Date.parse('2026-03-04T00:00:00Z'));
    expect(researchDateMs('20260230')).toBeNaN();
    expect(researchDateMs('2026034')).toBeNaN();
  });

  it('windows run newest first, at most 30 days each, without gaps or overlaps, down to the floor', () => {
    const windows: PostsCursor[] = [];
    for (let w: PostsCursor | null = firstWindow(NOW, FLOOR_180, 30); w !== null; w = olderWindow(w, 30))
      windows.push(w);
    expect(windows[0]).toEqual({
      start: '20260203',
      end: '20260304',
      floor: '20250905',
      cursor: 0,
      searchId: null,
      found: 0,
      target: null,
      seen: 0,
      asOf: null,
    });
    expect(windows.at(-1)!.start).toBe('20250905');
    const days = (a: string, b: string) => (researchDateMs(b) - researchDateMs(a)) / 86_400_000;
    for (const [i, w] of windows.entries()) {
      expect(days(w.start, w.end)).toBeLessThanOrEqual(29);
      if (i > 0) expect(days(w.end, windows[i - 1]!.start)).toBe(1);
    }
    // 181 days (today and the 180 before it), every one in exactly one window.
    expect(windows.reduce((n, w) => n + days(w.start, w.end) + 1, 0)).toBe(181);
    // A zero-day backfill reads today only.
    expect(firstWindow(NOW, NOW, 30)).toMatchObject({
      start: '20260304',
      end: '20260304',
      floor: '20260304',
    });
    expect(olderWindow(firstWindow(NOW, NOW, 30), 30)).toBeNull();
    // No floor asked for: the whole history, down to TikTok's launch; never before it.
    expect(firstWindow(NOW, 0, 30).floor).toBe(TIKTOK_LAUNCH);
  });

  it('the walk ends once the videos read reach the video_count, and only at the floor without one', () => {
    const first = firstWindow(NOW, 0, 30, 25);
    const second = olderWindow(first, 30, 10)!;
    expect(second).toMatchObject({ end: '20260202', found: 10, target: 25 });
    // An empty window in between (a silent month) does not end it.
    const third = olderWindow(second, 30, 0)!;
    expect(third).toMatchObject({ found: 10, target: 25 });
    expect(olderWindow(third, 30, 15)).toBeNull();
    // Without a video_count: on to the floor, whatever was found.
    let w: PostsCursor | null = firstWindow(NOW, 0, 30);
    let windows = 0;
    while (w !== null) {
      windows += 1;
      w = olderWindow(w, 30, 1000);
    }
    expect(windows).toBeGreaterThan(110);
  });

  it('comments cursor: top level, then the replies of each comment that has any', () => {
    expect(decodeCommentsCursor(null)).toEqual({ top: 0, queue: [], replyOffset: 0 });
    expect(decodeCommentsCursor('300')).toEqual({ top: 300, queue: [], replyOffset: 0 });
    const c = { top: 100, queue: ['7201388525814961198', '7201388525814961199'], replyOffset: 20 };
    expect(decodeCommentsCursor(encodeCommentsCursor(c))).toEqual(c);
    const lastTop = { top: null, queue: ['7201388525814961198'], replyOffset: 0 };
    expect(decodeCommentsCursor(encodeCommentsCursor(lastTop))).toEqual(lastTop);
    expect(encodeCommentsCursor({ top: null, queue: [], replyOffset: 0 })).toBeNull();
    for (const bad of ['ttc1::0:', 'ttc1:1:0:x', 'ttc1:1:-1:', 'x'])
      expect(decodeCommentsCursor(bad)).toBeUndefined();
  });

  it('round-trips, and refuses cursors it did not write', () => {
    const c: PostsCursor = {
      start: '20260203',
      end: '20260304',
      floor: '20250905',
      cursor: 200,
      searchId: '7201388525814961198',
      found: 40,
      target: 567,
      seen: 180,
      asOf: 1772649000,
    };
    expect(decodePostsCursor(encodePostsCursor(c))).toEqual(c);
    // A cursor stored before the counts existed still reads; its offset stands for the window's count.
    expect(decodePostsCursor('tt1:20260203:20260304:20250905:200:7201388525814961198')).toEqual({
      ...c,
      found: 0,
      target: null,
      seen: 200,
      asOf: null,
    });
    // So does one stored before the window's count and the profile's read time were carried.
    expect(decodePostsCursor('tt2:20260203:20260304:20250905:200:7201388525814961198:40:567')).toEqual({
      ...c,
      seen: 200,
      asOf: null,
    });
    const first = firstWindow(NOW, FLOOR_180, 30);
    expect(decodePostsCursor(encodePostsCursor(first))).toEqual(first);
    for (const bad of [
      'EAAaBlBUOkNESQ',
      'tt1:20260203:20260304:20250905:200:',
      'tt1:20260304:20260203:20250905:0:',
      'tt1:20260203:20260304:20260301:0:',
      'tt1:20260230:20260304:20250905:0:',
      'tt2:20260203:20260304:20250905:0:',
      'tt1:20260203:20260304:20250905:-1:x',
      'tt3:20260203:20260304:20250905:0::0:',
      'tt3:20260203:20260304:20250905:0::0::x:',
    ]) {
      expect(decodePostsCursor(bad)).toBeUndefined();
    }
    expect(decodeOffset(null)).toBe(0);
    expect(decodeOffset('300')).toBe(300);
    expect(decodeOffset('x')).toBeUndefined();
  });
});
