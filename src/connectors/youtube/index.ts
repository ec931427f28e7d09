export * from './youtube.adapter.js';
export * from './youtube.client.js';
export * from './youtube.errors.js';
export * from './youtube.mapper.js';
export type * from './youtube.types.js';
