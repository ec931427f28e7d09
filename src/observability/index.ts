export { createLogger, redactUrl, type Logger } from './logger.js';
