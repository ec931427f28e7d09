import type { Config } from '../config/index.js';
import { retryAfterGuard } from '../connectors/retry-after.fetch.js';
import { InstagramAdapter, InstagramClient } from '../connectors/instagram/index.js';
import { TikTokAdapter, TikTokClient } from '../connectors/tiktok/index.js';
import { YouTubeAdapter, YouTubeClient } from '../connectors/youtube/index.js';
import type { PlatformAdapter } from '../connectors/connector.js';

/** The platform adapters this process has credentials for (a platform without one is absent). */
export function buildAdapters(config: Config): Map<string, PlatformAdapter> {
  const adapters = new Map<string, PlatformAdapter>();
  const { youtube, instagram, tiktok } = config;
  if (youtube.apiKey) {
    adapters.set(
      'youtube',
      new YouTubeAdapter({
        client: new YouTubeClient({
          baseUrl: youtube.baseUrl,
          apiKey: youtube.apiKey,
          fetch: retryAfterGuard(),
        }),
      }),
    );
  }
  if (instagram.accessToken && instagram.userId) {
    const client = new InstagramClient({
      baseUrl: instagram.baseUrl,
      accessToken: instagram.accessToken,
      fetch: retryAfterGuard(),
    });
    adapters.set('instagram', new InstagramAdapter({ client, userId: instagram.userId }));
  }
  if (tiktok.clientKey && tiktok.clientSecret) {
    const client = new TikTokClient({
      baseUrl: tiktok.baseUrl,
      clientKey: tiktok.clientKey,
      clientSecret: tiktok.clientSecret,
      fetch: retryAfterGuard(),
    });
    adapters.set('tiktok', new TikTokAdapter({ client }));
  }
  return adapters;
}
