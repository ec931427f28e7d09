export { buildApp, type ApiDeps } from './app.js';
