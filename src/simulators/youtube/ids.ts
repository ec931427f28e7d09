/**
 * Deterministic randomness and the simulator's identifiers. Every id embeds the indexes it was made
 * from plus seed-derived filler, so an id can be resolved back to its entity without keeping a map:
 * thousands of channels cost nothing until they are asked for.
 */

import { BASE64URL, hash32, randomFor, type Random } from '../shared/random.js';

export { hash32, randomFor, type Random };

/** Fixed-width base64url encoding of a non-negative integer (big-endian). */
export function encodeIndex(value: number, width: number): string {
  if (!Number.isInteger(value) || value < 0 || value >= 64 ** width) {
    throw new RangeError(`index ${value} does not fit in ${width} characters`);
  }
  let out = '';
  for (let rest = value, i = 0; i < width; i++, rest = Math.floor(rest / 64))
    out = BASE64URL[rest % 64] + out;
  return out;
}

export function decodeIndex(text: string): number | undefined {
  let value = 0;
  for (const char of text) {
    const digit = BASE64URL.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 64 + digit;
  }
  return value;
}

/** `UC` + 22 characters (24 in all), as real channel ids. */
export function channelIdOf(seed: number, channel: number): string {
  return `UC${randomFor(seed, 'channel-id', channel).chars(18)}${encodeIndex(channel, 4)}`;
}

export function parseChannelId(seed: number, id: string): number | undefined {
  if (!/^UC[\w-]{22}$/.test(id)) return undefined;
  const channel = decodeIndex(id.slice(20))!;
  return channelIdOf(seed, channel) === id ? channel : undefined;
}

/** Uploads playlist: the channel id with `UC` replaced by `UU`. */
export const uploadsIdOf = (channelId: string): string => `UU${channelId.slice(2)}`;

/** 11 characters, as real video ids. */
export function videoIdOf(seed: number, channel: number, video: number): string {
  return `${randomFor(seed, 'video-id', channel, video).chars(4)}${encodeIndex(channel, 4)}${encodeIndex(video, 3)}`;
}

export function parseVideoId(seed: number, id: string): { channel: number; video: number } | undefined {
  if (!/^[\w-]{11}$/.test(id)) return undefined;
  const channel = decodeIndex(id.slice(4, 8))!;
  const video = decodeIndex(id.slice(8))!;
  return videoIdOf(seed, channel, video) === id ? { channel, video } : undefined;
}

/** 26 characters starting with `Ug`; a thread id equals its top-level comment id. */
export function threadIdOf(seed: number, channel: number, video: number, thread: number): string {
  const filler = randomFor(seed, 'thread-id', channel, video, thread).chars(13);
  return `Ug${filler}${encodeIndex(channel, 4)}${encodeIndex(video, 3)}${encodeIndex(thread, 4)}`;
}

export function parseThreadId(
  seed: number,
  id: string,
): { channel: number; video: number; thread: number } | undefined {
  if (!/^Ug[\w-]{24}$/.test(id)) return undefined;
  const channel = decodeIndex(id.slice(15, 19))!;
  const video = decodeIndex(id.slice(19, 22))!;
  const thread = decodeIndex(id.slice(22))!;
  return threadIdOf(seed, channel, video, thread) === id ? { channel, video, thread } : undefined;
}

/** `<thread id>.<22 characters>`. */
export function replyIdOf(seed: number, threadId: string, reply: number): string {
  return `${threadId}.${randomFor(seed, 'reply-id', threadId, reply).chars(19)}${encodeIndex(reply, 3)}`;
}

export function parseReplyId(seed: number, id: string): { threadId: string; reply: number } | undefined {
  const match = /^(Ug[\w-]{24})\.[\w-]{22}$/.exec(id);
  if (!match) return undefined;
  const reply = decodeIndex(id.slice(-3))!;
  return replyIdOf(seed, match[1]!, reply) === id ? { threadId: match[1]!, reply } : undefined;
}
