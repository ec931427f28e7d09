export { getPipeline, requestStatus, changeEnabled, savePipeline, setTasks } from './pipeline.service.js';
