import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  mapComment,
  mapCommentWithReplies,
  mapMedia,
  mapUser,
  nextAfter,
  parseCount,
  parseInstagramTimestamp,
  type InstagramBusinessDiscoveryResponse,
  type InstagramComment,
  type InstagramEdge,
  type InstagramMedia,
  type InstagramUser,
} from '../../src/connectors/instagram/index.js';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/instagram/${name}`, import.meta.url), 'utf8')) as T;

describe('parseInstagramTimestamp', () => {
  it('reads the Graph offset without a colon, RFC 3339 offsets and Z, and gives UTC ISO', () => {
    expect(parseInstagramTimestamp('2023-06-12T19:20:02+0000')).toBe('2023-06-12T19:20:02.000Z');
    expect(parseInstagramTimestamp('2023-06-12T19:20:02-0130')).toBe('2023-06-12T20:50:02.000Z');
    expect(parseInstagramTimestamp('2023-06-12T19:20:02+02:00')).toBe('2023-06-12T17:20:02.000Z');
    expect(parseInstagramTimestamp('2023-06-12T19:20:02.5Z')).toBe('2023-06-12T19:20:02.500Z');
  });

  it('refuses what is not a real instant', () => {
    for (const bad of [
      '2023-02-30T10:00:00+0000',
      '2023-06-12 19:20:02',
      'yesterday',
      '',
      17,
      null,
      undefined,
    ]) {
      expect(parseInstagramTimestamp(bad)).toBeNull();
    }
    expect(parseInstagramTimestamp('2023-06-12T19:20:02+2500')).toBeNull();
  });
});

describe('parseCount', () => {
  it('keeps safe non-negative integers, also from digit strings', () => {
    expect([parseCount(0), parseCount(12), parseCount('345')]).toEqual([0, 12, 345]);
    expect([
      parseCount(-1),
      parseCount(1.5),
      parseCount('12a'),
      parseCount(undefined),
      parseCount(2 ** 60),
    ]).toEqual([null, null, null, null, null]);
  });
});

describe('mapUser', () => {
  it('maps the own profile: username as handle, name as title, followers and media counts', () => {
    const mapped = mapUser(fixture<InstagramUser>('user.json'));
    expect(mapped).toEqual({
      ok: true,
      row: {
        external_id: '17841405822304914',
        handle: 'metadevs',
        title: 'Meta for Developers',
        description: 'Building the future of social technology.',
        country: null,
        published_at: null,
        subscriber_count: 12345,
        view_count: null,
        post_count: 256,
      },
    });
  });

  it('maps a business discovery account by its numeric id', () => {
    const bd = fixture<InstagramBusinessDiscoveryResponse>('business-discovery.json').business_discovery!;
    const mapped = mapUser(bd);
    expect(mapped.ok && mapped.row).toMatchObject({
      external_id: '17841401441775531',
      handle: 'bluebottle',
      subscriber_count: 267793,
      post_count: 1205,
    });
  });

  it('quarantines a user without an id', () => {
    const mapped = mapUser({ username: 'ghost' });
    expect(mapped).toMatchObject({
      ok: false,
      quarantine: { platform: 'instagram', kind: 'profile', externalId: null, reason: 'id is missing' },
    });
  });
});

describe('mapMedia', () => {
  const page = fixture<InstagramEdge<InstagramMedia>>('media-page.json');
  const results = page.data!.map((m) => mapMedia(m, { profileExternalId: 'fallback' }));

  it('maps a reel: REELS kind, permalink as url, video thumbnail, counts as numbers', () => {
    const reel = results[0]!;
    expect(reel.ok && reel.value.post).toEqual({
      external_id: '17984386203808767',
      profile_external_id: '17841405822304914',
      title: null,
      description: 'New drop 🔥 #coffee',
      published_at: '2023-06-12T19:20:02.000Z',
      duration_seconds: null,
      view_count: null,
      like_count: 12,
      comment_count: 2,
      thumbnail_url: 'https://scontent.cdninstagram.com/v/t51.29350-15/abc.jpg?oe=6A0B1C2D',
      media_type: 'REELS',
      url: 'https://www.instagram.com/reel/C7x1AbCdEfG/',
    });
    expect(reel.ok && reel.value.media).toEqual([
      {
        external_id: '17984386203808767',
        post_external_id: '17984386203808767',
        position: 0,
        media_type: 'VIDEO',
        media_url: 'https://scontent.cdninstagram.com/o1/v/t16/f1/m82/abc.mp4?efg=1',
        thumbnail_url: 'https://scontent.cdninstagram.com/v/t51.29350-15/abc.jpg?oe=6A0B1C2D',
      },
    ]);
  });

  it('turns carousel children into media rows in order; a child without id is quarantined alone', () => {
    const album = results[1]!;
    if (!album.ok) throw new Error('the album should map');
    expect(album.value.post.media_type).toBe('CAROUSEL_ALBUM');
    expect(album.value.post.thumbnail_url).toContain('first_child.jpg');
    expect(
      album.value.media.map((m) => [m.external_id, m.post_external_id, m.position, m.media_type]),
    ).toEqual([
      ['17907608776690540', '17966123508374641', 0, 'IMAGE'],
      ['17852896800415362', '17966123508374641', 1, 'VIDEO'],
    ]);
    expect(album.value.media[1]!.thumbnail_url).toContain('second_child.jpg');
    expect(album.value.quarantined).toEqual([
      expect.objectContaining({
        kind: 'media',
        externalId: null,
        reason: expect.stringContaining('17966123508374641'),
      }),
    ]);
  });

  it('normalises a negative offset to UTC and keeps an image without caption', () => {
    const image = results[2]!;
    expect(image.ok && image.value.post).toMatchObject({
      published_at: '2020-02-01T01:29:59.000Z',
      description: null,
      media_type: 'IMAGE',
      thumbnail_url: 'https://scontent.cdninstagram.com/v/t51.2885-15/plain.jpg?oe=6A0B1C2D',
    });
  });

  it('quarantines items without id, with an impossible date, or with an id that lost digits', () => {
    expect(
      results.slice(3).map((r) => (r.ok ? 'ok' : [r.quarantine.externalId, r.quarantine.reason])),
    ).toEqual([
      [null, 'id is missing'],
      ['17800000000000001', 'timestamp is not an ISO 8601 timestamp: "2020-02-30T10:00:00+0000"'],
      [null, 'id arrived as a JSON number beyond 2^53; its digits cannot be trusted'],
    ]);
    const first = results[3]!;
    expect(!first.ok && first.quarantine.payload).toEqual(page.data![3]);
  });

  it('uses the given profile id when the item has no owner (business discovery)', () => {
    const bd = fixture<InstagramBusinessDiscoveryResponse>('business-discovery.json').business_discovery!;
    const mapped = mapMedia(bd.media!.data![0]!, { profileExternalId: '17841401441775531' });
    expect(mapped.ok && mapped.value.post.profile_external_id).toBe('17841401441775531');
  });

  it('finds the next cursor in the next URL, and none without next', () => {
    expect(nextAfter(page.paging)).toBe('QVFIUmJqMzM5ZAXJ');
    expect(nextAfter({ cursors: { after: 'x' }, next: 'not a url' })).toBe('x');
    expect(nextAfter({ cursors: { before: 'a', after: 'b' } })).toBeNull();
    expect(nextAfter(undefined)).toBeNull();
  });
});

describe('mapComment', () => {
  const page = fixture<InstagramEdge<InstagramComment>>('comments-page.json');

  it('maps a comment and its inline replies with the parent id; a bad reply is quarantined', () => {
    const mapped = mapCommentWithReplies(page.data![0]!, '17966123508374641');
    expect(mapped.map((m) => (m.ok ? m.row : m.quarantine.reason))).toEqual([
      {
        external_id: '17873440459141021',
        post_external_id: '17966123508374641',
        parent_external_id: null,
        author: 'coffee.fan',
        text: 'I love this!',
        like_count: 4,
        published_at: '2017-08-31T18:10:30.000Z',
        edited_at: null,
      },
      expect.objectContaining({
        external_id: '17881770991003328',
        parent_external_id: '17873440459141021',
        author: 'metadevs',
        like_count: 1,
      }),
      expect.objectContaining({
        external_id: '17881770991003329',
        parent_external_id: '17873440459141021',
        author: 'tea.person',
        like_count: null,
        published_at: '2017-09-01T06:00:00.000Z',
      }),
      'timestamp is not an ISO 8601 timestamp: "yesterday"',
    ]);
  });

  it('maps the documented default fields and quarantines a comment without id', () => {
    const plain = mapComment(page.data![1]!, { postExternalId: 'p1' });
    expect(plain.ok && plain.row).toMatchObject({
      external_id: '17870913679156914',
      post_external_id: 'p1',
      parent_external_id: null,
      author: null,
      text: 'This is awesome!',
    });
    const bad = mapComment(page.data![2]!, { postExternalId: 'p1' });
    expect(bad).toMatchObject({ ok: false, quarantine: { kind: 'comment', reason: 'id is missing' } });
  });
});
