import { SiphonError } from './errors.js';
import type { PipelineStatus } from './pipeline-spec.schema.js';

/** What a person (API or CLI) may ask of a pipeline. The runner moves it through the other states. */
export type StatusRequest = 'run' | 'pause';

export interface TransitionInput {
  readonly status: PipelineStatus;
  readonly enabled: boolean;
}

/**
 * The status machine of ARCHITECTURE.md, for requests from people:
 * IDLE|PAUSED|FAILED --run--> RUN_REQUESTED; RUNNING --pause--> PAUSE_REQUESTED;
 * RUN_REQUESTED --pause--> PAUSED (it never started). Repeating a request is a no-op.
 * Returns the new status, or throws a 409-class SiphonError that says why not.
 */
export function requestTransition(current: TransitionInput, request: StatusRequest): PipelineStatus {
  const { status } = current;
  switch (request) {
    case 'run':
      if (!current.enabled) {
        throw new SiphonError(
          'SIPHON_ERR_PIPELINE_DISABLED',
          'the pipeline is disabled; enable it before running it',
        );
      }
      if (status === 'IDLE' || status === 'PAUSED' || status === 'FAILED' || status === 'RUN_REQUESTED') {
        return 'RUN_REQUESTED';
      }
      throw new SiphonError('SIPHON_ERR_PIPELINE_TRANSITION', `cannot run a pipeline that is ${status}`, {
        details: { status },
      });
    case 'pause':
      if (status === 'RUNNING' || status === 'PAUSE_REQUESTED') return 'PAUSE_REQUESTED';
      if (status === 'RUN_REQUESTED' || status === 'PAUSED') return 'PAUSED';
      throw new SiphonError('SIPHON_ERR_PIPELINE_TRANSITION', `cannot pause a pipeline that is ${status}`, {
        details: { status },
      });
    default: {
      const never: never = request;
      throw new Error(`unknown request ${String(never)}`);
    }
  }
}

/** Fields that cannot change while a run owns the pipeline (they would change what the run means). */
export const FIELDS_FROZEN_WHILE_RUNNING = [
  'target_table',
  'mode',
  'incremental_key',
  'unique_key',
  'source_connection',
] as const;

export function isActiveStatus(status: PipelineStatus): boolean {
  return status === 'RUNNING' || status === 'PAUSE_REQUESTED';
}
