import { startYouTubeSimulator, type RunningYouTubeSimulator } from '../../src/simulators/youtube/index.js';
import {
  mapVideo,
  YouTubeClient,
  type PostRecord,
  type YouTubeComment,
  type YouTubeCommentThread,
  type YouTubeError,
  type YouTubePlaylistItem,
  type YouTubeResult,
} from '../../src/connectors/youtube/index.js';

export const KEY = 'integration-key';
export const SMALL_KEY = 'small-budget-key';
export const CHANNELS = 5000;

/** A simulator with thousands of lazily generated channels, a settable clock and a client for it. */
export interface YouTubeHarness {
  readonly sim: RunningYouTubeSimulator;
  readonly client: YouTubeClient;
  /** The clock both sides read; starts at 2026-03-04T18:00:00Z, 10:00 Pacific (PST). */
  now: number;
}

export async function startYouTubeHarness(): Promise<YouTubeHarness> {
  const clock = { now: Date.parse('2026-03-04T18:00:00Z') };
  const sim = await startYouTubeSimulator({
    seed: 7,
    channels: CHANNELS,
    videosPerChannel: [0, 140],
    commentThreadsPerVideo: [0, 45],
    repliesPerThread: [0, 8],
    apiKeys: [KEY, SMALL_KEY],
    now: () => clock.now,
  });
  const client = new YouTubeClient({
    baseUrl: sim.baseUrl,
    apiKey: KEY,
    timeoutMs: 2000,
    now: () => clock.now,
  });
  return Object.assign(clock, { sim, client });
}

export async function ok<T>(call: Promise<YouTubeResult<T>>): Promise<T> {
  const result = await call;
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

export async function failed<T>(call: Promise<YouTubeResult<T>>): Promise<YouTubeError> {
  const result = await call;
  if (result.ok) throw new Error('expected the call to fail');
  return result.error;
}

/** Follows nextPageToken until it is absent; returns every item and the number of pages. */
export async function allPages<T>(
  fetchPage: (
    pageToken: string | undefined,
  ) => Promise<YouTubeResult<{ items?: readonly T[]; nextPageToken?: string }>>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const page = await ok(fetchPage(pageToken));
    items.push(...(page.items ?? []));
    pageToken = page.nextPageToken;
    pages += 1;
  } while (pageToken !== undefined);
  return { items, pages };
}

export function allUploads(
  client: YouTubeClient,
  playlistId: string,
): Promise<{ items: YouTubePlaylistItem[]; pages: number }> {
  const part = ['snippet', 'contentDetails', 'status'] as const;
  return allPages((pageToken) => client.listPlaylistItems({ part, playlistId, maxResults: 50, pageToken }));
}

export async function allThreads(
  client: YouTubeClient,
  videoId: string,
  maxResults: number,
): Promise<YouTubeCommentThread[]> {
  const part = ['snippet', 'replies'] as const;
  const { items } = await allPages((pageToken) =>
    client.listCommentThreads({
      part,
      videoId,
      order: 'time',
      textFormat: 'plainText',
      maxResults,
      pageToken,
    }),
  );
  return items;
}

export async function allReplies(
  client: YouTubeClient,
  parentId: string,
  maxResults: number,
): Promise<YouTubeComment[]> {
  const { items } = await allPages((pageToken) =>
    client.listComments({ part: ['snippet'], parentId, textFormat: 'plainText', maxResults, pageToken }),
  );
  return items;
}

/** videos.list in batches of 50, mapped to posts (a quarantined video fails the test). */
export async function posts(client: YouTubeClient, videoIds: readonly string[]): Promise<PostRecord[]> {
  const out: PostRecord[] = [];
  for (let i = 0; i < videoIds.length; i += 50) {
    const part = ['snippet', 'contentDetails', 'statistics'] as const;
    const page = await ok(client.listVideos({ part, id: videoIds.slice(i, i + 50) }));
    for (const mapped of (page.items ?? []).map(mapVideo)) {
      if (!mapped.ok) throw new Error(mapped.quarantine.reason);
      out.push(mapped.record);
    }
  }
  return out;
}

export const uploadsOf = (channelId: string): string => `UU${channelId.slice(2)}`;

/** The first channel (by index) whose ground-truth video count satisfies `test`. */
export function findChannel(sim: RunningYouTubeSimulator, test: (videoCount: number) => boolean): string {
  for (let i = 0; i < CHANNELS; i++) {
    const id = sim.control.channelId(i);
    if (test(sim.control.truth.channel(id)!.videoCount)) return id;
  }
  throw new Error('no such channel in the data set');
}

/** A video with more than `threads` top-level comments and a thread with more than `replies` replies. */
export function findBusyVideo(sim: RunningYouTubeSimulator, threads: number, replies: number): string {
  for (let i = 0; i < 200; i++) {
    for (const videoId of sim.control.truth.uploads(sim.control.channelId(i))) {
      const truth = sim.control.truth.threads(videoId);
      if (truth.length > threads && truth.some((t) => t.replyIds.length > replies)) return videoId;
    }
  }
  throw new Error('no busy video in the data set');
}
