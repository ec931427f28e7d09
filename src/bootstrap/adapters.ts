import type { Config } from '../config/index.js';
import { retryAfterGuard } from '../connectors/retry-after.fetch.js';
import { InstagramAdapter, InstagramClient } from '../connectors/instagram/index.js';
import { TikTokAdapter, TikTokClient } from '../connectors/tiktok/index.js';
import { YouTubeAdapter, YouTubeClient } from '../connectors/youtube/index.js';
import type { PlatformAdapter } from '../connectors/connector.js';
import { readCredentialsFile, type CredentialRate } from '../config/credentials-file.js';
import { parseDuration } from '../core/duration.js';
import type { QuotaLimit } from '../db/repositories/quota.repository.js';
import type { PooledCredential } from '../sync/credential-pool.js';
import { defaultLimit } from '../sync/sync-step.js';

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

/**
 * The credential pools of SIPHON_CREDENTIALS_FILE (YouTube and TikTok): one adapter per credential,
 * known by its name, with its own limits when the file gives a `rate`. A platform's credential from
 * the environment joins its pool (as `env`). A platform with fewer than two credentials has no pool.
 */
export function buildCredentialPools(config: Config): Map<string, PooledCredential[]> {
  const pools = new Map<string, PooledCredential[]>();
  if (!config.credentialsFile) return pools;
  const file = readCredentialsFile(config.credentialsFile);
  const youtube: PooledCredential[] = (file.youtube ?? []).map((c) => ({
    adapter: new YouTubeAdapter({
      client: new YouTubeClient({
        baseUrl: config.youtube.baseUrl,
        apiKey: c.api_key,
        credentialId: c.name,
        fetch: retryAfterGuard(),
      }),
    }),
    limit: limitOf('youtube', c.rate),
  }));
  if (youtube.length > 0 && config.youtube.apiKey) {
    const client = new YouTubeClient({
      baseUrl: config.youtube.baseUrl,
      apiKey: config.youtube.apiKey,
      credentialId: 'env',
      fetch: retryAfterGuard(),
    });
    youtube.push({ adapter: new YouTubeAdapter({ client }) });
  }
  const tiktokClient = (clientKey: string, clientSecret: string) =>
    new TikTokClient({ baseUrl: config.tiktok.baseUrl, clientKey, clientSecret, fetch: retryAfterGuard() });
  const tiktok: PooledCredential[] = (file.tiktok ?? []).map((c) => ({
    adapter: new TikTokAdapter({ client: tiktokClient(c.client_key, c.client_secret), credentialId: c.name }),
    limit: limitOf('tiktok', c.rate),
  }));
  if (tiktok.length > 0 && config.tiktok.clientKey && config.tiktok.clientSecret) {
    tiktok.push({
      adapter: new TikTokAdapter({
        client: tiktokClient(config.tiktok.clientKey, config.tiktok.clientSecret),
        credentialId: 'env',
      }),
    });
  }
  // A single credential from the file is a pool of one: it is the platform's credential then.
  if (youtube.length > 0) pools.set('youtube', youtube);
  if (tiktok.length > 0) pools.set('tiktok', tiktok);
  return pools;
}

/** A credential's own limits: the file's `rate` over the platform's defaults; none without a `rate`. */
function limitOf(platform: 'youtube' | 'tiktok', rate: CredentialRate | undefined): QuotaLimit | undefined {
  if (!rate) return undefined;
  const base = defaultLimit(platform);
  return {
    callsPerWindow: rate.calls ?? base.callsPerWindow,
    windowMs: rate.window ? parseDuration(rate.window) : base.windowMs,
    dailyUnits: rate.daily_units === undefined ? base.dailyUnits : rate.daily_units,
    dayZone: base.dayZone,
  };
}
