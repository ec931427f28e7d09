export { consoleRoutes, SESSION_COOKIE, type ConsoleDeps } from './console.routes.js';
export { SessionStore, type SessionStoreOptions } from './session.store.js';
