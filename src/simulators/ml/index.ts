export {
  buildMlSimulator,
  startMlSimulator,
  type MlSimulator,
  type MlSimulatorOptions,
  type RunningMlSimulator,
} from './simulator.js';
export type { MlSimulatorControl, MlSimulatorSettings, SimRequest as MlSimRequest } from './control.js';
export type { MlFaultControl, MlRoute, SimResponse as MlSimResponse } from './faults.js';
export { analyzeImage, analyzeText, IMAGE_MODEL, TEXT_MODEL } from './analysis.js';
