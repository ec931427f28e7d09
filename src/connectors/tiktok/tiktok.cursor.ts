/**
 * Pure cursor arithmetic for the TikTok posts stream. The Research video query needs a date window
 * of at most 30 days, so an account's history is read as consecutive windows, newest first, down to
 * a floor date; inside a window, pages follow the API's `cursor` + `search_id`. The posts cursor the
 * engine stores carries all of it, so a resumed sync continues on exactly the next page.
 *
 * Format (opaque to the engine): `tt1:<start>:<end>:<floor>:<cursor>:<search_id>` with dates as
 * `YYYYMMDD` (UTC, inclusive) and an empty search id on a window's first page.
 */

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
 * `backfillDays` before today when that is nearer.
 */
export function firstWindow(nowMs: number, backfillDays: number, windowDays: number): PostsCursor {
  const end = researchDate(nowMs);
  const floor = researchDate(nowMs - backfillDays * DAY_MS);
  return { start: maxDate(floor, addDays(end, -(windowDays - 1))), end, floor, cursor: 0, searchId: null };
}

/** The window just before `current`, or null when `current` already starts at the floor. */
export function olderWindow(current: PostsCursor, windowDays: number): PostsCursor | null {
  if (current.start <= current.floor) return null;
  const end = addDays(current.start, -1);
  const start = maxDate(current.floor, addDays(end, -(windowDays - 1)));
  return { start, end, floor: current.floor, cursor: 0, searchId: null };
}

const maxDate = (a: string, b: string): string => (a > b ? a : b);

export function encodePostsCursor(c: PostsCursor): string {
  return ['tt1', c.start, c.end, c.floor, String(c.cursor), c.searchId ?? ''].join(':');
}

/** The stored cursor, or undefined when it is not one this adapter wrote. */
export function decodePostsCursor(text: string): PostsCursor | undefined {
  const parts = text.split(':');
  if (parts.length !== 6 || parts[0] !== 'tt1') return undefined;
  const [, start, end, floor, cursor, searchId] = parts as [string, string, string, string, string, string];
  const dates = [start, end, floor].map(researchDateMs);
  if (dates.some(Number.isNaN) || !(floor <= start && start <= end)) return undefined;
  if (!/^\d{1,9}$/.test(cursor) || !/^[\w-]{0,100}$/.test(searchId)) return undefined;
  if (Number(cursor) > 0 && searchId === '') return undefined;
  return { start, end, floor, cursor: Number(cursor), searchId: searchId === '' ? null : searchId };
}

/** Comment and follower pages: the API's integer offset, as a decimal string. */
export function decodeOffset(text: string | null): number | undefined {
  if (text === null) return 0;
  return /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}
