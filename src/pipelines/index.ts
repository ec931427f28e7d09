export {
  patchPipeline,
  deletePipeline,
  resetPipelineState,
  type PatchResult,
  getPipeline,
  requestStatus,
  changeEnabled,
  savePipeline,
  setTasks,
  assertSafePipeline,
  type SaveOptions,
} from './pipeline.service.js';
