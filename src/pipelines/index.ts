export { getPipeline, requestStatus, changeEnabled, savePipeline } from './pipeline.service.js';
