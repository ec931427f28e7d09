export {
  API_VERSION,
  buildInstagramSimulator,
  startInstagramSimulator,
  type InstagramSimulator,
  type InstagramSimulatorOptions,
  type RunningInstagramSimulator,
} from './simulator.js';
export type {
  GroundTruth,
  InstagramSimulatorControl,
  SimRequest,
  TruthAccount,
  TruthComment,
  TruthDump,
  TruthMedia,
} from './control.js';
export type { AddCommentInit, AddMediaInit } from './dataset.js';
export { errors as instagramErrorBodies, type RateLimitCode, type SimResponse } from './error-bodies.js';
export type { Endpoint, FaultControl, RateLimitOptions } from './faults.js';
export { userIdOf as instagramUserIdOf } from './ids.js';
