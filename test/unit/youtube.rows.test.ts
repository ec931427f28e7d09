import { describe, expect, it } from 'vitest';
import type { CommentRecord } from '../../src/connectors/youtube/index.js';
import { dedupeBy, oldest, partition, toCommentRow } from '../../src/connectors/youtube/youtube.rows.js';
import { payloadHash } from '../../src/db/repositories/social-tables.repository.js';

const comment = (over: Partial<CommentRecord> = {}): CommentRecord => ({
  platform: 'youtube',
  external_id: 'c1',
  post_external_id: 'v1',
  parent_external_id: null,
  author_name: 'Ann',
  author_external_id: null,
  text: 'hi',
  like_count: 3,
  reply_count: null,
  published_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('youtube sync mapper', () => {
  it('sets edited_at only when the comment changed after publication', () => {
    expect(toCommentRow(comment()).edited_at).toBeNull();
    expect(toCommentRow(comment({ updated_at: '2026-01-02T00:00:00.000Z' })).edited_at).toBe(
      '2026-01-02T00:00:00.000Z',
    );
  });

  it('keeps the last occurrence of a key', () => {
    const rows = dedupeBy(
      [
        { id: 'a', v: 1 },
        { id: 'b', v: 2 },
        { id: 'a', v: 3 },
      ],
      (r) => r.id,
    );
    expect(rows).toEqual([
      { id: 'b', v: 2 },
      { id: 'a', v: 3 },
    ]);
  });

  it('splits records from quarantine entries, finds the oldest instant, hashes stably', () => {
    const q = {
      platform: 'youtube',
      kind: 'post',
      external_id: null,
      reason: 'id is missing',
      raw: {},
    } as const;
    expect(
      partition([
        { ok: true, record: 1 },
        { ok: false, quarantine: q },
      ]),
    ).toEqual({
      records: [1],
      quarantined: [q],
    });
    expect(oldest(['2026-01-02T00:00:00Z', null, 'nope', '2026-01-01T00:00:00Z'])).toBe(
      Date.parse('2026-01-01T00:00:00Z'),
    );
    expect(oldest([])).toBeNull();
    expect(payloadHash({ a: 1 })).toBe(payloadHash({ a: 1 }));
    expect(payloadHash({ a: 1 })).not.toBe(payloadHash({ a: 2 }));
  });
});
