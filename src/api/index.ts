export { buildApp } from './app.js';
export type { ApiDeps } from './api-deps.js';
