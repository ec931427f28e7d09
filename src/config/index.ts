export { loadConfig, type Config } from './load-config.js';
export { configSchema } from './config.schema.js';
export { colourWanted } from './terminal.js';
export { createSecretResolver, type SecretReference, type SecretResolver } from './connection-secrets.js';
