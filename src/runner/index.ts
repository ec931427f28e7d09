export { Runner, type RunnerOptions } from './runner.js';
export { RunnerEvents, type RunnerEventMap } from './events.js';
