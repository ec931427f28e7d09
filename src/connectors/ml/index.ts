export * from './ml.client.js';
export * from './ml.errors.js';
export type * from './ml.types.js';
