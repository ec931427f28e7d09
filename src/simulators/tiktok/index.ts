export {
  buildTikTokSimulator,
  startTikTokSimulator,
  type RunningTikTokSimulator,
  type TikTokSimulator,
  type TikTokSimulatorOptions,
} from './simulator.js';
export type {
  DatasetSnapshot,
  SimRequest,
  TikTokSimulatorControl,
  TruthComment,
  TruthFollow,
  TruthUser,
  TruthVideo,
} from './control.js';
export { errors as tiktokErrorBodies, type SimResponse } from './error-bodies.js';
export type { Endpoint, FaultControl } from './faults.js';
export type { QuotaBucket, RateWindow } from './limits.js';
export { usernameOf } from './dataset.js';
