export { Runner, type RunnerOptions } from './runner.js';
export { RunnerEvents, type RunnerEventMap } from '../core/runner-events.js';
