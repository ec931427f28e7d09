import type { Logger } from 'pino';
import type { PoolClient } from '../db/pool.js';

/** What a CODE task receives. It runs inside the step's transaction, fenced like a batch. */
export interface CodeTaskContext {
  /** The step's transaction, logged in as siphon_writer: commit happens with the step's checkpoint. */
  readonly db: PoolClient;
  readonly pipeline: { readonly id: string; readonly name: string; readonly targetTable: string };
  readonly runId: string;
  /** `params` of the etl_pipeline_tasks row. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/**
 * A TypeScript function registered by name (seed 003's PYTHON tasks). Nothing is uploaded or
 * evaluated: a pipeline can only name a function that is compiled into Siphon.
 */
export interface CodeTask {
  readonly description: string;
  run(context: CodeTaskContext): Promise<{ rowsAffected?: number } | void>;
}
