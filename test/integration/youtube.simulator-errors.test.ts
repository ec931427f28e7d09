import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import { classifyYouTubeError, YouTubeClient } from '../../src/connectors/youtube/index.js';
import {
  failed,
  findChannel,
  ok,
  posts,
  SMALL_KEY,
  KEY,
  startYouTubeHarness,
  uploadsOf,
  type YouTubeHarness,
} from '../helpers/youtube.js';

let h: YouTubeHarness;
beforeAll(async () => {
  h = await startYouTubeHarness();
});
afterAll(async () => {
  await h.sim.close();
});

describe('quota', () => {
  it('answers the documented 403 quotaExceeded once a key has spent its daily units, until midnight PT', async () => {
    h.sim.control.quota.setDailyLimit(3, SMALL_KEY);
    const small = new YouTubeClient({ baseUrl: h.sim.baseUrl, apiKey: SMALL_KEY, now: () => h.now });
    const channelId = h.sim.control.channelId(1);
    for (let i = 0; i < 2; i++) await ok(small.listChannels({ part: ['id'], id: [channelId] }));
    // Invalid requests cost units too.
    const pageToken = 'nope';
    const bad = await failed(
      small.listPlaylistItems({ part: ['id'], playlistId: uploadsOf(channelId), pageToken }),
    );
    expect(bad).toMatchObject({ kind: 'bad-request', reason: 'invalidPageToken' });
    expect(h.sim.control.quota.used(SMALL_KEY)).toBe(3);

    const spent = await failed(small.listChannels({ part: ['id'], id: [channelId] }));
    expect(spent).toMatchObject({
      kind: 'quota-exhausted',
      status: 403,
      reason: 'quotaExceeded',
      code: 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED',
      retryAt: '2026-03-05T08:00:00.000Z',
      method: 'channels',
    });
    expect(spent.url).not.toContain(SMALL_KEY);
    expect(h.sim.control.quota.used(SMALL_KEY)).toBe(3);

    const raw = await fetch(`${h.sim.baseUrl}channels?part=id&id=${channelId}&key=${SMALL_KEY}`);
    expect(raw.status).toBe(403);
    expect(raw.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    const text = await raw.text();
    expect(text).toContain(
      '\\u003ca href=\\"/youtube/v3/getting-started#quota\\"\\u003equota\\u003c/a\\u003e',
    );
    expect(JSON.parse(text)).toEqual({
      error: {
        code: 403,
        message: expect.stringContaining(
          'exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>',
        ),
        errors: [{ message: expect.any(String), domain: 'youtube.quota', reason: 'quotaExceeded' }],
      },
    });

    const saved = h.now;
    try {
      h.now = Date.parse('2026-03-05T08:00:00Z'); // midnight Pacific: a new quota day
      await ok(small.listChannels({ part: ['id'], id: [channelId] }));
      expect(h.sim.control.quota.used(SMALL_KEY)).toBe(1);
    } finally {
      h.now = saved;
    }
  });
});

describe('errors the simulator emits, as the client classifies them', () => {
  it('refuses an invalid key (400 API_KEY_INVALID) and a missing key (401 required) as auth', async () => {
    const wrong = new YouTubeClient({ baseUrl: h.sim.baseUrl, apiKey: 'not-a-key' });
    expect(await failed(wrong.listChannels({ part: ['id'], id: ['x'] }))).toMatchObject({
      kind: 'auth',
      status: 400,
      reason: 'badRequest',
    });
    const body = (await (await fetch(`${h.sim.baseUrl}channels?part=id&id=x&key=not-a-key`)).json()) as {
      error: { details: { reason: string }[] };
    };
    expect(body.error.details[0]!.reason).toBe('API_KEY_INVALID');
    const missing = await fetch(`${h.sim.baseUrl}channels?part=id&id=x`);
    const missingBody: unknown = await missing.json();
    expect(missing.status).toBe(401);
    expect(missingBody).toMatchObject({
      error: { code: 401, errors: [{ reason: 'required', domain: 'global' }] },
    });
    expect(classifyYouTubeError(401, missingBody).kind).toBe('auth');

    const forbidden = buildYouTubeSimulator({ missingKey: 'forbidden' });
    const res = await forbidden.app.inject({ method: 'GET', url: '/youtube/v3/channels?part=id&id=x' });
    expect(res.statusCode).toBe(403);
    expect(classifyYouTubeError(res.statusCode, res.body)).toMatchObject({
      kind: 'auth',
      reason: 'forbidden',
    });
    await forbidden.app.close();
  });

  it('refuses an invalid or foreign pageToken with 400 invalidPageToken', async () => {
    const playlistId = uploadsOf(findChannel(h.sim, (n) => n > 60));
    const first = await ok(h.client.listPlaylistItems({ part: ['id'], playlistId, maxResults: 5 }));
    const other = uploadsOf(h.sim.control.channelId(4000));
    for (const [id, token] of [
      [playlistId, 'garbage'],
      [other, first.nextPageToken!],
    ] as const) {
      const error = await failed(
        h.client.listPlaylistItems({ part: ['id'], playlistId: id, pageToken: token }),
      );
      expect(error).toMatchObject({ kind: 'bad-request', status: 400, reason: 'invalidPageToken' });
    }
  });

  it('classifies injected 500/503 as transient and recovers on the next request', async () => {
    const id = [h.sim.control.channelId(2)];
    h.sim.control.faults.failNext(1, 500);
    expect(await failed(h.client.listChannels({ part: ['id'], id }))).toMatchObject({
      kind: 'transient',
      status: 500,
      reason: 'backendError',
    });
    h.sim.control.faults.failNext(1, 503, 'videos');
    await ok(h.client.listChannels({ part: ['id'], id })); // the 503 waits for a videos call
    expect(await failed(h.client.listVideos({ part: ['id'], id: ['abc'] }))).toMatchObject({
      kind: 'transient',
      status: 503,
    });
    await ok(h.client.listChannels({ part: ['id'], id }));
  });

  it('rate limits with Retry-After, drops connections, times out slow answers and honours cancellation', async () => {
    const id = [h.sim.control.channelId(3)];
    h.sim.control.faults.rateLimitNext(1, { variant: '429', retryAfterSeconds: 7 });
    expect(await failed(h.client.listChannels({ part: ['id'], id }))).toMatchObject({
      kind: 'rate-limited',
      status: 429,
      retryAfterMs: 7000,
    });
    h.sim.control.faults.rateLimitNext(1);
    expect(await failed(h.client.listChannels({ part: ['id'], id }))).toMatchObject({
      kind: 'rate-limited',
      status: 403,
      reason: 'rateLimitExceeded',
    });
    h.sim.control.faults.dropNext(1);
    expect(await failed(h.client.listChannels({ part: ['id'], id }))).toMatchObject({
      kind: 'transient',
      status: 0,
      reason: 'network',
    });
    expect(h.sim.control.requests().filter((r) => r.status === 0)).toHaveLength(1);
    h.sim.control.faults.setDelay(300);
    try {
      const impatient = new YouTubeClient({ baseUrl: h.sim.baseUrl, apiKey: KEY, timeoutMs: 50 });
      expect(await failed(impatient.listChannels({ part: ['id'], id }))).toMatchObject({
        kind: 'transient',
        reason: 'timeout',
      });
      const controller = new AbortController();
      const call = h.client.listChannels({ part: ['id'], id }, controller.signal);
      controller.abort(new Error('run cancelled'));
      await expect(call).rejects.toThrow('run cancelled');
    } finally {
      h.sim.control.faults.setDelay(0);
    }
  });

  it('answers commentsDisabled, videoNotFound, playlistNotFound and parameter errors as documented', async () => {
    const videoId = h.sim.control.truth.uploads(findChannel(h.sim, (n) => n > 0))[0]!;
    h.sim.control.setCommentsDisabled(videoId, true);
    const disabled = await failed(h.client.listCommentThreads({ part: ['snippet'], videoId }));
    expect(disabled).toMatchObject({ kind: 'not-found', status: 403, reason: 'commentsDisabled' });
    expect((await posts(h.client, [videoId]))[0]!.comment_count).toBeNull();
    h.sim.control.setCommentsDisabled(videoId, false);
    await ok(h.client.listCommentThreads({ part: ['snippet'], videoId }));

    expect(
      await failed(h.client.listCommentThreads({ part: ['snippet'], videoId: 'AAAAAAAAAAA' })),
    ).toMatchObject({
      kind: 'not-found',
      status: 404,
      reason: 'videoNotFound',
    });
    expect(await failed(h.client.listPlaylistItems({ part: ['id'], playlistId: 'UUnope' }))).toMatchObject({
      kind: 'not-found',
      status: 404,
      reason: 'playlistNotFound',
    });
    const playlistId = uploadsOf(h.sim.control.channelId(0));
    expect(
      await failed(h.client.listPlaylistItems({ part: ['id'], playlistId, maxResults: 51 })),
    ).toMatchObject({
      kind: 'bad-request',
      status: 400,
      reason: 'invalidParameter',
    });
    expect(await failed(h.client.listPlaylistItems({ part: [], playlistId }))).toMatchObject({
      kind: 'bad-request',
      reason: 'missingRequiredParameter',
    });
  });
});
