import { EventEmitter } from 'node:events';

/** What the runner tells the world; logs and metrics subscribe to these (`noun:verb`). */
export interface RunnerEventMap {
  'run:claimed': [
    { pipelineId: string; pipelineName: string; runId: string; epoch: number; takeover: boolean },
  ];
  'batch:committed': [
    {
      pipelineId: string;
      runId: string;
      batchNo: number;
      rowsRead: number;
      rowsWritten: number;
      durationMs: number;
    },
  ];
  'run:succeeded': [
    {
      pipelineId: string;
      runId: string;
      rowsRead: number;
      rowsWritten: number;
      rowsDeleted: number;
      durationMs: number;
    },
  ];
  'task:completed': [{ pipelineId: string; runId: string; task: string; durationMs: number }];
  'run:paused': [{ pipelineId: string; runId: string }];
  /** `traceId`: the run's trace, when tracing is on (incidents carry it). */
  'run:failed': [{ pipelineId: string; runId: string; code: string; message: string; traceId?: string }];
  'run:handed-off': [{ pipelineId: string; runId: string }];
  'lease:lost': [{ pipelineId: string; runId: string; epoch: number }];
  'batch:retry': [{ pipelineId: string; runId: string; attempt: number; delayMs: number; message: string }];
}

export class RunnerEvents extends EventEmitter<RunnerEventMap> {}
