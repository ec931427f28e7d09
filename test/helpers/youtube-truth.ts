import { expect } from 'vitest';
import type { RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import type { TestDatabase } from './db.js';

/** The simulator's ground truth for the given channels, as the unified tables should hold it. */
export function youtubeTruth(sim: RunningYouTubeSimulator, channelIds: readonly string[]) {
  const { truth } = sim.control;
  const profiles = channelIds.map((id) => truth.channel(id)!);
  const videos = channelIds.flatMap((id) => truth.uploads(id)).map((id) => truth.video(id)!);
  const comments = videos
    .filter((v) => v.commentCount !== null)
    .flatMap((v) => truth.threads(v.id).flatMap((t) => [t.id, ...t.replyIds]))
    .map((id) => truth.comment(id)!);
  return { profiles, videos, comments };
}

/**
 * Asserts social.profiles/posts/comments hold exactly what the simulator holds for `channelIds`:
 * every live row with the same values, and nothing else that is not marked deleted.
 */
export async function expectYouTubeTablesMatchTruth(
  db: TestDatabase,
  sim: RunningYouTubeSimulator,
  channelIds: readonly string[],
): Promise<void> {
  const truth = youtubeTruth(sim, channelIds);
  const q = async (sql: string) => (await db.admin.query(sql)).rows;

  const profiles = await q('SELECT * FROM social.profiles WHERE deleted_at IS NULL ORDER BY external_id');
  expect(profiles.map((p) => p.external_id)).toEqual(truth.profiles.map((p) => p.id).sort());
  for (const t of truth.profiles) {
    expect(profiles.find((p) => p.external_id === t.id)).toMatchObject({
      handle: t.handle,
      title: t.title,
      country: t.country,
      subscriber_count: t.subscriberCount,
      view_count: t.viewCount,
      post_count: t.videoCount,
      published_at: new Date(t.publishedAt),
    });
  }

  const posts = await q('SELECT * FROM social.posts WHERE deleted_at IS NULL ORDER BY external_id');
  expect(posts.map((p) => p.external_id)).toEqual(truth.videos.map((v) => v.id).sort());
  const postById = new Map(posts.map((p) => [p.external_id, p]));
  for (const t of truth.videos) {
    expect(postById.get(t.id)).toMatchObject({
      profile_external_id: t.channelId,
      title: t.title,
      description: t.description,
      published_at: new Date(t.publishedAt),
      duration_seconds: t.durationSec,
      view_count: t.viewCount,
      like_count: t.likeCount,
      comment_count: t.commentCount,
    });
  }

  const comments = await q('SELECT * FROM social.comments WHERE deleted_at IS NULL ORDER BY external_id');
  expect(comments.map((c) => c.external_id)).toEqual(truth.comments.map((c) => c.id).sort());
  const commentById = new Map(comments.map((c) => [c.external_id, c]));
  for (const t of truth.comments) {
    expect(commentById.get(t.id)).toMatchObject({
      post_external_id: t.videoId,
      parent_external_id: t.parentId,
      author: t.authorName,
      text: t.text,
      like_count: t.likeCount,
      published_at: new Date(t.publishedAt),
      edited_at: t.updatedAt > t.publishedAt ? new Date(t.updatedAt) : null,
    });
  }
}
