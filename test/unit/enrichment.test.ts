import { describe, expect, it } from 'vitest';
import type { MlCallResult, MlFailure, MlJob } from '../../src/connectors/ml/index.js';
import {
  decide,
  ENRICHMENT_EXPIRED,
  ENRICHMENT_FAILED,
  enrichmentItems,
  MAX_TEXT_CHARS,
  type EnrichmentPolicy,
} from '../../src/enrichment/index.js';
import { expiredBeforeCall, type OpenItem } from '../../src/enrichment/enrichment.policy.js';

const policy: EnrichmentPolicy = { firstPollMs: 1000, maxPollMs: 8000, maxSubmits: 2 };
const NOW = 1_000_000;
const pending: OpenItem = {
  status: 'PENDING',
  externalJobId: null,
  backoffMs: null,
  attempts: 0,
  deadlineAt: NOW + 60_000,
};
const waiting: OpenItem = {
  ...pending,
  status: 'WAITING',
  externalJobId: 'job_1',
  backoffMs: 1000,
  attempts: 1,
};

const job = (status: MlJob['status'], extra: Partial<MlJob> = {}): MlCallResult<MlJob> => ({
  ok: true,
  value: { job_id: 'job_1', analysis: 'text', status, created_at: '2026-01-01T00:00:00Z', ...extra },
});
const failure = (kind: MlFailure['kind'], extra: Partial<MlFailure> = {}): MlCallResult<MlJob> => ({
  ok: false,
  error: {
    kind,
    code: 'SIPHON_ERR_CONNECTOR_TRANSIENT',
    message: 'boom',
    method: 'GET /v1/jobs/{id}',
    ...extra,
  },
});

describe('enrichment decisions', () => {
  it('a submit waits the first interval, then each "not yet" doubles the wait up to the cap', () => {
    expect(decide(pending, job('queued'), NOW, policy)).toEqual({
      to: 'WAITING',
      externalJobId: 'job_1',
      attempts: 1,
      backoffMs: 1000,
      delayMs: 1000,
    });
    const waits: number[] = [];
    let item = waiting;
    for (let i = 0; i < 5; i++) {
      const next = decide(item, job('running'), NOW, policy);
      if (next.to !== 'WAITING') throw new Error(next.to);
      waits.push(next.delayMs);
      item = { ...item, backoffMs: next.backoffMs };
    }
    expect(waits).toEqual([2000, 4000, 8000, 8000, 8000]);
  });

  it('done lands the result; a failed job is submitted again while retryable and under maxSubmits', () => {
    const result = {
      kind: 'text',
      model: 'm',
      language: 'en',
      sentiment: { label: 'neutral', score: 0 },
      topics: [],
      mentions: [],
      hashtags: [],
    } as const;
    expect(decide(waiting, job('done', { result }), NOW, policy)).toEqual({ to: 'DONE', result });
    const retryable = job('failed', { error: { code: 'model_error', message: 'x', retryable: true } });
    expect(decide(waiting, retryable, NOW, policy)).toMatchObject({
      to: 'PENDING',
      externalJobId: null,
      attempts: 1,
    });
    expect(decide({ ...waiting, attempts: 2 }, retryable, NOW, policy)).toMatchObject({
      to: 'FAILED',
      code: ENRICHMENT_FAILED,
      message: 'model_error: x',
    });
    const final = job('failed', { error: { code: 'input_unreachable', message: 'y', retryable: false } });
    expect(decide(waiting, final, NOW, policy)).toMatchObject({ to: 'FAILED', code: ENRICHMENT_FAILED });
  });

  it('429 and 5xx back off (at least Retry-After) without failing or spending a submit', () => {
    expect(decide(pending, failure('rate-limited', { retryAfterMs: 5000 }), NOW, policy)).toMatchObject({
      to: 'PENDING',
      attempts: 0,
      backoffMs: 1000,
      delayMs: 5000,
    });
    expect(decide(waiting, failure('transient'), NOW, policy)).toMatchObject({
      to: 'WAITING',
      externalJobId: 'job_1',
      attempts: 1,
      delayMs: 2000,
      error: { code: 'SIPHON_ERR_CONNECTOR_TRANSIENT' },
    });
    // A refused credential is not the item's fault: wait long, the deadline bounds it.
    expect(decide(waiting, failure('auth'), NOW, policy)).toMatchObject({ to: 'WAITING', delayMs: 8000 });
    // A forgotten job is submitted again at once; a bad request fails.
    expect(decide(waiting, failure('not-found'), NOW, policy)).toMatchObject({ to: 'PENDING', delayMs: 0 });
    expect(decide(pending, failure('bad-request'), NOW, policy)).toMatchObject({ to: 'FAILED' });
  });

  it('expires at the deadline: the last poll is clipped to it, an unsent item expires unsent', () => {
    const near = { ...waiting, backoffMs: 8000, deadlineAt: NOW + 300 };
    expect(decide(near, job('running'), NOW, policy)).toMatchObject({ to: 'WAITING', delayMs: 300 });
    expect(decide(near, job('running'), NOW + 300, policy)).toMatchObject({
      to: 'EXPIRED',
      code: ENRICHMENT_EXPIRED,
    });
    expect(decide(near, failure('transient'), NOW + 301, policy)).toMatchObject({ to: 'EXPIRED' });
    expect(expiredBeforeCall({ ...pending, deadlineAt: NOW }, NOW)).toMatchObject({ to: 'EXPIRED' });
    expect(expiredBeforeCall(pending, NOW)).toBeNull();
  });
});

describe('enrichment items of a page', () => {
  it('texts of bios, captions and comments; pictures of media rows, else the post thumbnail', () => {
    const post = (id: string, title: string | null, description: string | null, thumb: string | null) => ({
      external_id: id,
      profile_external_id: 'u',
      title,
      description,
      published_at: null,
      duration_seconds: null,
      view_count: null,
      like_count: null,
      comment_count: null,
      thumbnail_url: thumb,
    });
    const items = enrichmentItems({
      profile: {
        external_id: 'u',
        handle: null,
        title: null,
        description: ' bio ',
        country: null,
        published_at: null,
        subscriber_count: null,
        view_count: null,
        post_count: null,
      },
      posts: [
        post('p1', 'Title', 'Body', 'https://img/p1.jpg'),
        post('p2', null, '   ', 'https://img/p2.jpg'),
        post('p3', null, 'x'.repeat(MAX_TEXT_CHARS + 5), 'not a url'),
      ],
      media: [
        {
          external_id: 'm1',
          post_external_id: 'p2',
          position: 0,
          media_type: 'IMAGE',
          media_url: 'https://img/m1.jpg',
          thumbnail_url: null,
        },
        {
          external_id: 'm2',
          post_external_id: 'p2',
          position: 1,
          media_type: 'VIDEO',
          media_url: 'https://v/m2.mp4',
          thumbnail_url: 'https://img/m2.jpg',
        },
        {
          external_id: 'm3',
          post_external_id: 'p2',
          position: 2,
          media_type: 'VIDEO',
          media_url: 'https://v/m3.mp4',
          thumbnail_url: null,
        },
      ],
      comments: [
        {
          external_id: 'c1',
          post_external_id: 'p1',
          parent_external_id: null,
          author: null,
          text: 'nice',
          like_count: null,
          published_at: null,
          edited_at: null,
        },
        {
          external_id: 'c2',
          post_external_id: 'p1',
          parent_external_id: null,
          author: null,
          text: null,
          like_count: null,
          published_at: null,
          edited_at: null,
        },
      ],
    });
    expect(items.map((i) => [i.kind, i.externalId, i.request.analysis])).toEqual([
      ['profile', 'u', 'text'],
      ['post', 'p1', 'text'],
      ['post', 'p1', 'image'],
      ['post', 'p3', 'text'],
      ['media', 'm1', 'image'],
      ['media', 'm2', 'image'],
      ['comment', 'c1', 'text'],
    ]);
    expect(items[0]!.request.input).toEqual({ text: 'bio' });
    expect(items[1]!.request.input).toEqual({ text: 'Title\n\nBody' });
    expect(items[5]!.request.input).toEqual({ url: 'https://img/m2.jpg' });
    expect((items[3]!.request.input as { text: string }).text).toHaveLength(MAX_TEXT_CHARS);
  });
});
