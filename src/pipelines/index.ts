export {
  patchPipeline,
  deletePipeline,
  resetPipelineState,
  type PatchResult,
  getPipeline,
  requestStatus,
  requestStatusChange,
  changeEnabled,
  savePipeline,
  setTasks,
  assertSafePipeline,
  type SaveOptions,
} from './pipeline.service.js';
