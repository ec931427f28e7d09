import { DEMO_SIMULATORS, type DemoSocialEndpoints, type SocialPlatform } from '../demo/demo-social.js';
import { startInstagramSimulator } from '../simulators/instagram/index.js';
import { startTikTokSimulator } from '../simulators/tiktok/index.js';
import { startYouTubeSimulator } from '../simulators/youtube/index.js';

export interface RunningDemoSimulators {
  readonly endpoints: DemoSocialEndpoints;
  close(): Promise<void>;
}

/**
 * Starts the demo's platform simulators in this process, on free loopback ports, with the demo's
 * fixed seeds and content dated before `asOf` (so a restart serves exactly the same data).
 */
export async function startDemoSimulators(
  platforms: readonly SocialPlatform[],
  asOf: Date,
): Promise<RunningDemoSimulators> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    await Promise.allSettled(closers.splice(0).map((closeOne) => closeOne()));
  };
  const at = asOf.toISOString();
  const endpoints: { -readonly [P in keyof DemoSocialEndpoints]: DemoSocialEndpoints[P] } = {};
  try {
    if (platforms.includes('youtube')) {
      const sim = await startYouTubeSimulator({ ...DEMO_SIMULATORS.youtube, asOf: at });
      closers.push(() => sim.close());
      endpoints.youtube = { baseUrl: sim.baseUrl };
    }
    if (platforms.includes('instagram')) {
      const sim = await startInstagramSimulator({ ...DEMO_SIMULATORS.instagram, asOf: at });
      closers.push(() => sim.close());
      endpoints.instagram = { baseUrl: sim.baseUrl, userId: sim.userId };
    }
    if (platforms.includes('tiktok')) {
      const sim = await startTikTokSimulator({ ...DEMO_SIMULATORS.tiktok, asOf: at });
      closers.push(() => sim.close());
      endpoints.tiktok = { baseUrl: sim.baseUrl };
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoints, close };
}
