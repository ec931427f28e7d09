import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import {
  mapChannel,
  mapComment,
  mapCommentThread,
  type CommentRecord,
} from '../../src/connectors/youtube/index.js';
import {
  allReplies,
  allThreads,
  allUploads,
  findBusyVideo,
  findChannel,
  ok,
  posts,
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

describe('channels.list', () => {
  it('finds channels by id, handle and legacy username; unknown ids give 200 without items', async () => {
    const [a, b] = [h.sim.control.channelId(0), h.sim.control.channelId(4999)];
    const part = ['snippet', 'contentDetails', 'statistics', 'status'] as const;
    const byId = await ok(h.client.listChannels({ part, id: [a, b, 'UCxxxxxxxxxxxxxxxxxxxxxx'] }));
    expect(byId).toMatchObject({ kind: 'youtube#channelListResponse', pageInfo: { totalResults: 2 } });
    expect(byId.items!.map((c) => c.id)).toEqual([a, b]);
    const first = byId.items![0]!;
    expect(typeof first.statistics!.viewCount).toBe('string');
    expect(typeof first.statistics!.hiddenSubscriberCount).toBe('boolean');
    expect(first.contentDetails!.relatedPlaylists!.uploads).toBe(uploadsOf(a));

    const truth = h.sim.control.truth.channel(a)!;
    const profile = mapChannel(first);
    expect(profile.ok && profile.record).toMatchObject({
      external_id: a,
      handle: truth.handle,
      subscriber_count: truth.subscriberCount,
      view_count: truth.viewCount,
      video_count: truth.videoCount,
      published_at: new Date(truth.publishedAt).toISOString(),
    });

    const byHandle = await ok(h.client.listChannels({ part: ['id'], forHandle: truth.handle.toUpperCase() }));
    expect(byHandle.items!.map((c) => c.id)).toEqual([a]);
    const username = `${truth.title.split(' ').slice(0, 2).join('')}0`;
    const byUsername = await ok(h.client.listChannels({ part: ['id'], forUsername: username }));
    expect(byUsername.items!.map((c) => c.id)).toEqual([a]);

    const none = await ok(h.client.listChannels({ part: ['snippet'], forHandle: '@nobody-here' }));
    expect(none).not.toHaveProperty('items');
    expect(none.pageInfo).toEqual({ totalResults: 0, resultsPerPage: 5 });
  });
});

describe('uploads and videos', () => {
  it('pages the uploads playlist newest first, ending exactly: no duplicates, no gaps, the ground truth', async () => {
    const channelId = findChannel(h.sim, (n) => n > 100);
    const truth = h.sim.control.truth.uploads(channelId);
    const { items, pages } = await allUploads(h.client, uploadsOf(channelId));
    const ids = items.map((i) => i.contentDetails!.videoId!);
    expect(ids).toEqual(truth);
    expect(new Set(ids).size).toBe(truth.length);
    expect(pages).toBe(Math.ceil(truth.length / 50));
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(items.map((i) => i.snippet!.position)).toEqual(truth.map((_, i) => i));
    const times = items.map((i) => Date.parse(i.contentDetails!.videoPublishedAt!));
    expect(times).toEqual([...times].sort((x, y) => y - x));

    const mapped = await posts(h.client, ids);
    expect(mapped.map((p) => p.external_id)).toEqual(truth);
    for (const post of mapped) {
      const video = h.sim.control.truth.video(post.external_id)!;
      expect(post).toMatchObject({
        profile_external_id: channelId,
        title: video.title,
        duration_seconds: video.durationSec,
        view_count: video.viewCount,
        like_count: video.likeCount,
        comment_count: video.commentCount,
        published_at: new Date(video.publishedAt).toISOString(),
      });
    }
    // The data set exercises the edge cases: hidden likes and disabled comments arrive as null.
    expect(mapped.some((p) => p.like_count === null) || mapped.some((p) => p.comment_count === null)).toBe(
      true,
    );
  });

  it('ends an empty playlist without items or next token, and honours maxResults=0', async () => {
    const empty = findChannel(h.sim, (n) => n === 0);
    const page = await ok(
      h.client.listPlaylistItems({ part: ['snippet'], playlistId: uploadsOf(empty), maxResults: 50 }),
    );
    expect(page).not.toHaveProperty('items');
    expect(page).not.toHaveProperty('nextPageToken');
    const busy = findChannel(h.sim, (n) => n > 10);
    const counted = await ok(
      h.client.listPlaylistItems({ part: ['id'], playlistId: uploadsOf(busy), maxResults: 0 }),
    );
    expect(counted).not.toHaveProperty('items');
    expect(counted.pageInfo!.totalResults).toBe(h.sim.control.truth.channel(busy)!.videoCount);
  });
});

describe('comment threads and replies', () => {
  it('pages threads newest first and completes replies with comments.list, matching the ground truth', async () => {
    const videoId = findBusyVideo(h.sim, 25, 5);
    const truth = h.sim.control.truth.threads(videoId);
    const threads = await allThreads(h.client, videoId, 10);
    expect(threads.map((t) => t.id)).toEqual(truth.map((t) => t.id));

    const comments: CommentRecord[] = [];
    let completed = 0;
    for (const thread of threads) {
      const [top, ...inline] = mapCommentThread(thread).map((m) => (m.ok ? m.record : undefined));
      comments.push(top!);
      const expected = truth.find((t) => t.id === thread.id)!.replyIds;
      expect(thread.snippet!.totalReplyCount).toBe(expected.length);
      let replies = inline;
      if (inline.length < expected.length) {
        completed += 1;
        const fetched = await allReplies(h.client, thread.id!, 3);
        replies = fetched.map((r) => {
          const m = mapComment(r, { postExternalId: videoId });
          return m.ok ? m.record : undefined;
        });
      }
      expect(replies.map((r) => r!.external_id)).toEqual(expected);
      expect(replies.every((r) => r!.parent_external_id === thread.id)).toBe(true);
      comments.push(...replies.map((r) => r!));
    }
    expect(completed).toBeGreaterThan(0);
    expect(new Set(comments.map((c) => c.external_id)).size).toBe(comments.length);
    const [post] = await posts(h.client, [videoId]);
    expect(comments).toHaveLength(post!.comment_count!);
  });
});

describe('mutations between syncs', () => {
  it('shows a new upload, an edited title, bumped counters, deletions and comment edits on the next read', async () => {
    const channelId = findChannel(h.sim, (n) => n > 55);
    const before = await allUploads(h.client, uploadsOf(channelId));
    const oldest = before.items.at(-1)!.contentDetails!.videoId!;

    const added = h.sim.control.addVideo(channelId, { title: 'Fresh upload', durationSec: 3723 });
    h.sim.control.updateVideo(oldest, { title: 'Renamed' });
    h.sim.control.bumpVideoCounters(oldest, { views: 1000 });
    h.sim.control.bumpChannelCounters(channelId, { subscribers: 10 });
    const after = await allUploads(h.client, uploadsOf(channelId));
    expect(after.items[0]!.contentDetails!.videoId).toBe(added);
    expect(after.items).toHaveLength(before.items.length + 1);
    const [fresh, renamed] = await posts(h.client, [added, oldest]);
    expect(fresh).toMatchObject({
      title: 'Fresh upload',
      duration_seconds: 3723,
      view_count: 0,
      comment_count: 0,
    });
    expect(renamed).toMatchObject({
      title: 'Renamed',
      view_count: h.sim.control.truth.video(oldest)!.viewCount,
    });
    const channel = await ok(h.client.listChannels({ part: ['statistics'], id: [channelId] }));
    expect(channel.items![0]!.statistics!.videoCount).toBe(String(before.items.length + 1));

    const threadId = h.sim.control.addComment(added, { text: 'first!' });
    const replyId = h.sim.control.addComment(added, { text: 'second', parentId: threadId });
    h.now += 60_000;
    h.sim.control.editComment(threadId, 'first! (edited)');
    const [thread] = await allThreads(h.client, added, 20);
    const [top, reply] = mapCommentThread(thread!).map((m) => (m.ok ? m.record : undefined));
    expect(top).toMatchObject({ external_id: threadId, text: 'first! (edited)', reply_count: 1 });
    expect(Date.parse(top!.updated_at!)).toBeGreaterThan(Date.parse(top!.published_at));
    expect(reply).toMatchObject({ external_id: replyId, parent_external_id: threadId });
    expect((await posts(h.client, [added]))[0]!.comment_count).toBe(2);

    h.sim.control.deleteComment(replyId);
    h.sim.control.deleteVideo(oldest);
    expect((await allThreads(h.client, added, 20))[0]!.snippet!.totalReplyCount).toBe(0);
    expect(await posts(h.client, [oldest, added])).toHaveLength(1); // deleted ids are silently omitted
    const last = await allUploads(h.client, uploadsOf(channelId));
    expect(last.items.map((i) => i.contentDetails!.videoId)).not.toContain(oldest);
    expect(last.items).toHaveLength(before.items.length);
  });
});

describe('determinism and laziness', () => {
  it('gives the same answers for the same seed and different ones for another seed', async () => {
    const options = { seed: 42, channels: 100_000 };
    const url = (id: string) => `/youtube/v3/channels?part=snippet,statistics&id=${id}&key=sim-key`;
    const one = buildYouTubeSimulator(options);
    const two = buildYouTubeSimulator(options);
    const other = buildYouTubeSimulator({ seed: 43 });
    const id = one.control.channelId(99_999);
    const a = await one.app.inject({ method: 'GET', url: url(id) });
    const b = await two.app.inject({ method: 'GET', url: url(id) });
    expect(a.statusCode).toBe(200);
    expect(a.json().items).toHaveLength(1);
    expect(a.body).toBe(b.body);
    expect(other.control.channelId(0)).not.toBe(one.control.channelId(0));
    await Promise.all([one.app.close(), two.app.close(), other.app.close()]);
  });
});
