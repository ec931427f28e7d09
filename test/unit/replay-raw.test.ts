import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { replayInstagramRaw } from '../../src/connectors/instagram/index.js';
import { parseTikTokJson, replayTikTokRaw } from '../../src/connectors/tiktok/index.js';
import { replayYouTubeRaw } from '../../src/connectors/youtube/index.js';
import type { RawReplay, ReplayRows } from '../../src/connectors/connector.js';
import { mergeBatch } from '../../src/sync/replay.js';
import type { RawPageRow } from '../../src/db/repositories/replay.repository.js';

const REPLAYERS = { youtube: replayYouTubeRaw, instagram: replayInstagramRaw, tiktok: replayTikTokRaw };

const rowsOf = (out: ReplayRows) =>
  out.profiles.length + out.posts.length + out.media.length + out.comments.length + out.follows.length;

describe('replayRaw: a payload it cannot read is quarantined, never thrown', () => {
  const kinds = [
    'profile',
    'videos',
    'posts_page',
    'stories_page',
    'comments_page',
    'replies_page',
    'followers_page',
  ];
  const payloads: unknown[] = [null, 42, 'text', [], [1, 2], { items: 'x', data: 7 }];
  for (const [platform, replay] of Object.entries(REPLAYERS)) {
    it(`${platform}: garbage payloads and unknown kinds`, () => {
      for (const kind of kinds) {
        for (const payload of payloads) {
          const out = replay({ kind, externalId: 'x', payload });
          expect(rowsOf(out)).toBe(0);
          for (const q of out.quarantined) expect(q).toMatchObject({ platform, reason: expect.any(String) });
        }
      }
      const unknown = replay({ kind: 'highlights_page', externalId: 'x', payload: {} });
      expect(unknown.quarantined).toEqual([
        expect.objectContaining({ platform, kind: 'highlights_page', externalId: 'x' }),
      ]);
    });
  }

  it('TikTok: ids read as exact strings stay exact; an id already rounded to a number is quarantined', () => {
    const exact = parseTikTokJson(
      '{"data":{"videos":[{"id":7345678901234567891,"username":"alice","create_time":1700000000}]}}',
    );
    const replayed = replayTikTokRaw({ kind: 'posts_page', externalId: 'alice', payload: exact });
    expect(replayed.posts.map((p) => p.external_id)).toEqual(['7345678901234567891']);
    const lossy: unknown = JSON.parse(
      '{"data":{"videos":[{"id":7345678901234567891,"username":"alice","create_time":1700000000}]}}',
    );
    const rounded = replayTikTokRaw({ kind: 'posts_page', externalId: 'alice', payload: lossy });
    expect(rounded.posts).toEqual([]);
    expect(rounded.quarantined[0]!.reason).toMatch(/lost precision/);
  });

  it('TikTok: the video-query fixture replays through a jsonb-like round trip with its ids exact', () => {
    const text = readFileSync(new URL('../fixtures/tiktok/video-query.json', import.meta.url), 'utf8');
    const stored: unknown = JSON.parse(JSON.stringify(parseTikTokJson(text)));
    const out = replayTikTokRaw({ kind: 'posts_page', externalId: 'joe123456', payload: stored });
    expect(out.posts.map((p) => p.external_id)).toEqual(
      expect.arrayContaining(['7028743950684949650', '7028743950684949651']),
    );
  });
});

describe('mergeBatch', () => {
  const page = (id: number, kind: string, payload: unknown, extra: Partial<RawPageRow> = {}): RawPageRow => ({
    id: String(id),
    kind,
    external_id: 'UCx',
    payload,
    fetched_at: new Date(id * 1000),
    fetched_key: new Date(id * 1000).toISOString(),
    task_kind: null,
    task_external_id: null,
    account_external_id: null,
    job_until: null,
    ...extra,
  });
  const video = (title: string, publishedAt = '2024-01-01T00:00:00Z') => ({
    items: [{ id: 'v1', snippet: { channelId: 'UCx', title, publishedAt } }],
  });

  it('the later page wins, one row per key', () => {
    const merged = mergeBatch(
      'youtube',
      [page(1, 'videos', video('old')), page(2, 'videos', video('new'))],
      replayYouTubeRaw,
    );
    expect(merged.posts).toEqual([expect.objectContaining({ external_id: 'v1', title: 'new' })]);
  });

  it("leaves out a backfill job's posts published at or after its until, as the sync did", () => {
    const until = new Date('2024-01-01T00:00:00Z');
    const merged = mergeBatch(
      'youtube',
      [page(1, 'videos', video('t'), { job_until: until })],
      replayYouTubeRaw,
    );
    expect(merged.posts).toEqual([]);
    const earlier = mergeBatch(
      'youtube',
      [page(1, 'videos', video('t', '2023-12-31T23:59:59Z'), { job_until: until })],
      replayYouTubeRaw,
    );
    expect(earlier.posts).toHaveLength(1);
  });

  it('a transform that throws quarantines its page and the batch goes on', () => {
    const replay = (raw: RawReplay): ReplayRows => {
      if (raw.kind === 'boom') throw new Error('bug in a transform');
      return replayYouTubeRaw(raw);
    };
    const merged = mergeBatch('youtube', [page(7, 'boom', {}), page(8, 'videos', video('ok'))], replay);
    expect(merged.quarantined).toEqual([
      expect.objectContaining({
        kind: 'boom',
        reason: 'replay of raw response 7 failed: bug in a transform',
      }),
    ]);
    expect(merged.posts).toHaveLength(1);
  });

  it('hands a replies page the post of the comments task that read it', () => {
    const reply = {
      items: [{ id: 'c2', snippet: { publishedAt: '2024-01-02T00:00:00Z', textOriginal: 'hi' } }],
    };
    const withTask = mergeBatch(
      'youtube',
      [page(1, 'replies_page', reply, { task_kind: 'comments', task_external_id: 'v9' })],
      replayYouTubeRaw,
    );
    expect(withTask.comments).toEqual([
      expect.objectContaining({ external_id: 'c2', post_external_id: 'v9', parent_external_id: 'UCx' }),
    ]);
    const withoutTask = mergeBatch('youtube', [page(1, 'replies_page', reply)], replayYouTubeRaw);
    expect(withoutTask.comments).toEqual([]);
    expect(withoutTask.quarantined).toHaveLength(1);
  });
});
