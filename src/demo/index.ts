export { DEMO_PIPELINES, type DemoPipeline } from './demo-pipelines.js';
export {
  DEMO_SIMULATORS,
  DEMO_SOCIAL_ACCOUNTS,
  DEMO_SOCIAL_CREDENTIALS,
  demoSocialPlatforms,
  socialDemoPipeline,
  withDemoSocialEndpoints,
  type DemoSocialEndpoints,
  type SocialPlatform,
} from './demo-social.js';
export {
  installDemoPipelines,
  installSocialDemoPipelines,
  isDemoLoaded,
  loadDemo,
  requestFirstDemoRuns,
  resetDemo,
  type DemoProgress,
  type SocialDemoInstall,
} from './demo.service.js';
