/**
 * Pure cursor arithmetic for the TikTok posts stream. The Research video query needs a date window
 * of at most 30 days, so an account's history is read as consecutive windows, newest first, down to
 * a floor date; inside a window, pages follow the API's `cursor` + `search_id`. The posts cursor the
 * engine stores carries all of it, so a resumed sync continues on exactly the next page.
 *
 * Format (opaque to the engine):
 * `tt3:<start>:<end>:<floor>:<cursor>:<search_id>:<found>:<target>:<seen>:<asOf>` with dates as
 * `YYYYMMDD` (UTC, inclusive), an empty search id on a window's first page, `found` the videos read in
 * the windows before this one, `target` the profile's `video_count` (empty when unknown), `seen` the
 * videos read on this window's pages so far, and `asOf` the unix second the profile was read (empty
 * when unknown). The walk ends at the floor, or as soon as `found` reaches `target`: empty windows in
 * between (an account silent for months) do not end it.
 *
 * Why `seen` and `asOf`, where SOCIAL-APIS.md is silent: the API's `cursor` is an offset in the search,
 * and pages "may contain fewer than max_count" (§3.3.2): our reading is that the search still holds
 * records it no longer returns (videos deleted or made private, which `video_count` no longer counts),
 * so counting by offset could reach `video_count` before the oldest videos are read. Only videos
 * actually returned are counted, and only those published at or before the profile read: a video
 * posted during the walk is not in that `video_count` and must not end the walk one window early. Both
 * errors can only make the walk go further (to the floor), never stop short.
 *
 * `tt1` (no counts) and `tt2` (no `seen`/`asOf`) cursors stay readable: inside a window their `seen`
 * is taken from the offset, as those versions did.
 */

/** TikTok's launch (September 2016): no account has a video older than this; the default floor. */
export const TIKTOK_LAUNCH = '20160901';

const DAY_MS = 86_400_000;

export interface PostsCursor {
  /** First day of the window, `YYYYMMDD`. */
  readonly start: string;
  /** Last day of the window (inclusive). */
  readonly end: string;
  /** The oldest day the sync reads; the window starting there is the last one. */
  readonly floor: string;
  /** Offset inside the window's search (0 on its first page). */
  readonly cursor: number;
  /** The search to continue; null on a window's first page. */
  readonly searchId: string | null;
  /** Videos read in the windows before this one. */
  readonly found?: number;
  /** The profile's video_count, when known: the walk ends once `found` reaches it. */
  readonly target?: number | null;
  /** Videos read (and counted) on this window's pages before this one; absent in old cursors. */
  readonly seen?: number;
  /** Unix second of the profile read: only videos published at or before it count. */
  readonly asOf?: number | null;
}

/** `YYYYMMDD` of the UTC day of `ms`. */
export function researchDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** 00:00 UTC of a `YYYYMMDD` day, or NaN when it is not a real date. */
export function researchDateMs(date: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  if (!m) return Number.NaN;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  return researchDate(ms) === date ? ms : Number.NaN;
}

const addDays = (date: string, days: number): string => researchDate(researchDateMs(date) + days * DAY_MS);

/**
 * The newest window: ends today (UTC, by `nowMs`) and reaches `windowDays` back, or to the floor
 * (epoch ms; its UTC day) when that is nearer. `target`: the account's video_count, when known;
 * `asOf`: the unix second it was read at, when known.
 */
export function firstWindow(
  nowMs: number,
  floorMs: number,
  windowDays: number,
  target: number | null = null,
  asOf: number | null = null,
): PostsCursor {
  const end = researchDate(nowMs);
  const floor = minDate(end, maxDate(TIKTOK_LAUNCH, researchDate(floorMs)));
  return {
    start: maxDate(floor, addDays(end, -(windowDays - 1))),
    end,
    floor,
    cursor: 0,
    searchId: null,
    found: 0,
    target,
    seen: 0,
    asOf,
  };
}

/**
 * The window just before `current` (`inWindow`: the videos read in `current`, counted as
 * {@link countsToward} says), or null when `current` starts at the floor or the videos read reach the
 * account's video_count.
 */
export function olderWindow(current: PostsCursor, windowDays: number, inWindow = 0): PostsCursor | null {
  const found = (current.found ?? 0) + inWindow;
  if (current.start <= current.floor) return null;
  if (current.target !== undefined && current.target !== null && found >= current.target) return null;
  const end = addDays(current.start, -1);
  const start = maxDate(current.floor, addDays(end, -(windowDays - 1)));
  return {
    start,
    end,
    floor: current.floor,
    cursor: 0,
    searchId: null,
    found,
    target: current.target ?? null,
    seen: 0,
    asOf: current.asOf ?? null,
  };
}

/** Videos read on a window's pages before the current one (old cursors: the offset). */
export function seenInWindow(c: PostsCursor): number {
  return c.seen ?? c.cursor;
}

/**
 * Whether a video published at `publishedMs` counts toward the profile's video_count: published at
 * or before the profile was read (any video, when that instant is unknown). An unreadable date does
 * not count: the walk then goes on to the floor rather than stop short.
 */
export function countsToward(c: PostsCursor, publishedMs: number): boolean {
  if (!Number.isFinite(publishedMs)) return false;
  return c.asOf === undefined || c.asOf === null || publishedMs <= c.asOf * 1000;
}

const maxDate = (a: string, b: string): string => (a > b ? a : b);
const minDate = (a: string, b: string): string => (a < b ? a : b);

export function encodePostsCursor(c: PostsCursor): string {
  const optional = (n: number | null | undefined) => (n === undefined || n === null ? '' : String(n));
  return [
    'tt3',
    c.start,
    c.end,
    c.floor,
    String(c.cursor),
    c.searchId ?? '',
    String(c.found ?? 0),
    optional(c.target),
    String(seenInWindow(c)),
    optional(c.asOf),
  ].join(':');
}

/** How many `:`-separated parts each version of the posts cursor has. */
const POSTS_CURSOR_PARTS = new Map([
  ['tt1', 6],
  ['tt2', 8],
  ['tt3', 10],
]);

/** The stored cursor, or undefined when it is not one this adapter wrote (tt1, tt2 or tt3). */
export function decodePostsCursor(text: string): PostsCursor | undefined {
  const parts = text.split(':');
  if (parts.length !== POSTS_CURSOR_PARTS.get(parts[0] ?? '')) return undefined;
  const [, start, end, floor, cursor, searchId] = parts as [string, string, string, string, string, string];
  const [found = '0', target = '', seen, asOf = ''] = parts.slice(6);
  if (!/^\d{1,9}$/.test(found) || !/^\d{0,9}$/.test(target)) return undefined;
  if ((seen !== undefined && !/^\d{1,9}$/.test(seen)) || !/^\d{0,12}$/.test(asOf)) return undefined;
  const dates = [start, end, floor].map(researchDateMs);
  if (dates.some(Number.isNaN) || !(floor <= start && start <= end)) return undefined;
  if (!/^\d{1,9}$/.test(cursor) || !/^[\w-]{0,100}$/.test(searchId)) return undefined;
  if (Number(cursor) > 0 && searchId === '') return undefined;
  return {
    start,
    end,
    floor,
    cursor: Number(cursor),
    searchId: searchId === '' ? null : searchId,
    found: Number(found),
    target: target === '' ? null : Number(target),
    // tt1/tt2 carry no count of this window's pages: the offset stands in for it, as they did.
    seen: seen === undefined ? Number(cursor) : Number(seen),
    asOf: asOf === '' ? null : Number(asOf),
  };
}

/**
 * Where a video's comments stream stands: the next top-level offset (null: the top level is done),
 * the top-level comments whose replies are still to read (the first is being read), and the offset
 * in its replies. Stored as `ttc1:<top>:<replyOffset>:<id,id,…>`; a plain decimal (the offset of the
 * top level alone, written before replies were read) is still understood. At most one top-level page
 * of ids (≤ 100) is queued at a time, so the cursor stays small.
 */
export interface CommentsCursor {
  readonly top: number | null;
  readonly queue: readonly string[];
  readonly replyOffset: number;
}

/** The stream's next cursor, or null when both the top level and the replies are done. */
export function encodeCommentsCursor(c: CommentsCursor): string | null {
  if (c.top === null && c.queue.length === 0) return null;
  return ['ttc1', c.top === null ? '' : String(c.top), String(c.replyOffset), c.queue.join(',')].join(':');
}

export function decodeCommentsCursor(text: string | null): CommentsCursor | undefined {
  if (text === null) return { top: 0, queue: [], replyOffset: 0 };
  if (/^\d{1,12}$/.test(text)) return { top: Number(text), queue: [], replyOffset: 0 };
  const m = /^ttc1:(\d{1,12})?:(\d{1,12}):((?:\d{1,20})(?:,\d{1,20}){0,99})?$/.exec(text);
  if (!m) return undefined;
  const queue = m[3] ? m[3].split(',') : [];
  const top = m[1] === undefined ? null : Number(m[1]);
  if (top === null && queue.length === 0) return undefined;
  return { top, queue, replyOffset: Number(m[2]) };
}

/** Comment and follower pages: the API's integer offset, as a decimal string. */
export function decodeOffset(text: string | null): number | undefined {
  if (text === null) return 0;
  return /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}
