/**
 * Deterministic randomness and the simulator's 64-bit ids. Like TikTok's, an id carries its unix
 * second in the high 32 bits, so every id of a video or comment made after 1970-01-25 is above 2^53
 * and cannot survive a plain JSON.parse. Ids are kept as decimal strings here and written to the
 * wire as bare JSON numbers.
 */

import { hash32, randomFor, type Random } from '../shared/random.js';

export { hash32, randomFor, type Random };

/** Usernames and tokens: lower-case letters and digits. */
export const TIKTOK_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Users are indexed below 2^18 and videos per user below 2^14: together the low 32 bits of a video id. */
export const MAX_USERS = 2 ** 18;
export const MAX_VIDEOS_PER_USER = 2 ** 14;

/** `<unix seconds> << 32 | user << 14 | video`: resolvable back to (user, video) without a map. */
export function videoIdOf(createSeconds: number, user: number, video: number): string {
  if (user < 0 || user >= MAX_USERS || video < 0 || video >= MAX_VIDEOS_PER_USER) {
    throw new RangeError(`video ${video} of user ${user} does not fit in an id`);
  }
  return ((BigInt(createSeconds) << 32n) | (BigInt(user) << 14n) | BigInt(video)).toString();
}

export function parseVideoId(id: string): { user: number; video: number; seconds: number } | undefined {
  if (!/^\d{1,20}$/.test(id)) return undefined;
  const value = BigInt(id);
  const low = Number(value & 0xffffffffn);
  return { user: low >>> 14, video: low & 0x3fff, seconds: Number(value >> 32n) };
}

/** A comment id: its unix second in the high bits, a seeded hash of (video, index) in the low ones. */
export function commentIdOf(seed: number, createSeconds: number, videoId: string, index: number): string {
  return ((BigInt(createSeconds) << 32n) | BigInt(hash32(`${seed}|comment|${videoId}|${index}`))).toString();
}

/** A `search_id`: decimal digits, as the API's (sent back as a string). */
export function searchIdOf(seed: number, counter: number): string {
  return (7_201_388_525_814_961_198n + BigInt(hash32(`${seed}|search`)) * 1000n + BigInt(counter)).toString();
}
