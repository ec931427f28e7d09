export {
  API_PREFIX,
  buildYouTubeSimulator,
  startYouTubeSimulator,
  type RunningYouTubeSimulator,
  type YouTubeSimulator,
  type YouTubeSimulatorOptions,
} from './simulator.js';
export type {
  GroundTruth,
  SimRequest,
  TruthChannel,
  TruthComment,
  TruthVideo,
  YouTubeSimulatorControl,
} from './control.js';
export type { AddCommentInit, AddVideoInit } from './dataset.js';
export { errors as youtubeErrorBodies, type SimResponse } from './error-bodies.js';
export type { FaultControl } from './faults.js';
export { pacificDay } from './quota.js';
