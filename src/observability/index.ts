export { createLogger, redactUrl, type Logger } from './logger.js';
export { createMetrics } from './metrics.js';
