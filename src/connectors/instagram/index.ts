export * from './instagram.adapter.js';
export * from './instagram.client.js';
export * from './instagram.errors.js';
export * from './instagram.mapper.js';
export type * from './instagram.types.js';
