/**
 * Pure cursor arithmetic for the TikTok posts stream. The Research video query needs a date window
 * of at most 30 days, so an account's history is read as consecutive windows, newest first, down to
 * a floor date; inside a window, pages follow the API's `cursor` + `search_id`. The posts cursor the
 * engine stores carries all of it, so a resumed sync continues on exactly the next page.
 *
 * Format (opaque to the engine): `tt2:<start>:<end>:<floor>:<cursor>:<search_id>:<found>:<target>`
 * with dates as `YYYYMMDD` (UTC, inclusive), an empty search id on a window's first page, `found` the
 * videos read in the windows before this one and `target` the profile's `video_count` (empty when
 * unknown). The walk ends at the floor, or as soon as `found` reaches `target`: empty windows in
 * between (an account silent for months) do not end it. `tt1` cursors (no counts) stay readable.
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
 * (epoch ms; its UTC day) when that is nearer. `target`: the account's video_count, when known.
 */
export function firstWindow(
  nowMs: number,
  floorMs: number,
  windowDays: number,
  target: number | null = null,
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
  };
}

/**
 * The window just before `current` (`inWindow`: the videos read in `current`), or null when
 * `current` starts at the floor or the videos read reach the account's video_count.
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
  };
}

const maxDate = (a: string, b: string): string => (a > b ? a : b);
const minDate = (a: string, b: string): string => (a < b ? a : b);

export function encodePostsCursor(c: PostsCursor): string {
  const target = c.target === undefined || c.target === null ? '' : String(c.target);
  return [
    'tt2',
    c.start,
    c.end,
    c.floor,
    String(c.cursor),
    c.searchId ?? '',
    String(c.found ?? 0),
    target,
  ].join(':');
}

/** The stored cursor, or undefined when it is not one this adapter wrote. */
export function decodePostsCursor(text: string): PostsCursor | undefined {
  const parts = text.split(':');
  const v1 = parts.length === 6 && parts[0] === 'tt1';
  if (!v1 && !(parts.length === 8 && parts[0] === 'tt2')) return undefined;
  const [, start, end, floor, cursor, searchId] = parts as [string, string, string, string, string, string];
  const [found = '0', target = ''] = v1 ? [] : parts.slice(6);
  if (!/^\d{1,9}$/.test(found) || !/^\d{0,9}$/.test(target)) return undefined;
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
