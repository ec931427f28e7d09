import { analyzeTable } from '../../db/repositories/task.repository.js';
import type { CodeTask } from '../task-type.js';

/** Refreshes the planner statistics of the pipeline's target after a load. */
export const analyzeTarget: CodeTask = {
  description: "ANALYZE the pipeline's target table so queries on the fresh mart are planned well",
  async run({ db, pipeline }) {
    await analyzeTable(db, pipeline.targetTable);
  },
};
