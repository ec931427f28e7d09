export * from './tiktok.adapter.js';
export * from './tiktok.client.js';
export * from './tiktok.cursor.js';
export * from './tiktok.errors.js';
export * from './tiktok.mapper.js';
export type * from './tiktok.types.js';
