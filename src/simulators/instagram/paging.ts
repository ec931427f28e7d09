import { errors, type SimResponse } from './error-bodies.js';
import { hash32 } from './ids.js';

/** Thrown by handlers to answer with a documented error body. */
export class SimFailure extends Error {
  readonly response: SimResponse;
  constructor(response: SimResponse) {
    super(`simulated Graph API error ${response.status}`);
    this.response = response;
  }
}

export interface Keyed {
  readonly id: string;
  readonly timestampMs: number;
}

/** A list's order: negative when `a` comes first. */
export type Order = (a: Keyed, b: Keyed) => number;

export const newestFirst: Order = (a, b) => b.timestampMs - a.timestampMs || compareIds(b.id, a.id);
export const oldestFirst: Order = (a, b) => a.timestampMs - b.timestampMs || compareIds(a.id, b.id);

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Cursors point at an item (its time and id), bound to the list they came from (`scope`), and look
 * like the real ones (`QVFI…`). Paging on from a cursor means "the items after that position", so
 * an item deleted in between does not shift the pages; with `strict`, a cursor whose item is gone is
 * refused, as the Graph documentation warns it may be.
 */
export function mintCursor(scope: string, item: Keyed | null): string {
  const payload = { s: hash32(scope).toString(36), t: item?.timestampMs ?? null, i: item?.id ?? null };
  return `QVFI${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
}

function readCursor(scope: string, cursor: string): Keyed | null | undefined {
  if (!cursor.startsWith('QVFI')) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(cursor.slice(4), 'base64url').toString('utf8')) as {
      s?: unknown;
      t?: unknown;
      i?: unknown;
    };
    if (payload.s !== hash32(scope).toString(36)) return undefined;
    if (payload.t === null && payload.i === null) return null;
    if (typeof payload.t !== 'number' || typeof payload.i !== 'string') return undefined;
    return { timestampMs: payload.t, id: payload.i };
  } catch {
    return undefined;
  }
}

export interface PageRequest {
  readonly limit: number;
  readonly after?: string | undefined;
  readonly scope: string;
  /** Refuse a cursor whose item was deleted. */
  readonly strict: boolean;
  /** Answer an empty page that still has `next` (privacy filtering). */
  readonly empty: boolean;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly before?: string;
  readonly after?: string;
  /** The cursor to put in `next` (or the nested `after`) when there is more; undefined at the end. */
  readonly more?: string;
}

export function paginate<T extends Keyed>(all: readonly T[], order: Order, request: PageRequest): Page<T> {
  let start = 0;
  if (request.after !== undefined) {
    const key = readCursor(request.scope, request.after);
    if (key === undefined)
      throw new SimFailure(errors.invalidParameter('The parameter after is not a valid cursor'));
    if (key !== null) {
      if (request.strict && !all.some((item) => item.id === key.id)) {
        throw new SimFailure(errors.invalidParameter('The cursor points at an object that no longer exists'));
      }
      start = all.findIndex((item) => order(item, key) > 0);
      if (start < 0) start = all.length;
    }
  }
  if (request.empty && start < all.length) {
    // Nothing shown, but the position is kept: the next page starts where this one would have.
    const resume = start === 0 ? mintCursor(request.scope, null) : mintCursor(request.scope, all[start - 1]!);
    return { items: [], more: resume };
  }
  const items = all.slice(start, start + request.limit);
  if (items.length === 0) return { items };
  const last = items[items.length - 1]!;
  const after = mintCursor(request.scope, last);
  return {
    items,
    before: mintCursor(request.scope, items[0]!),
    after,
    ...(start + items.length < all.length ? { more: after } : {}),
  };
}

/** `limit`: a positive integer, clamped to the edge's maximum. */
export function readLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return Math.min(fallback, max);
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new SimFailure(errors.invalidParameter('Param limit must be a positive integer'));
  }
  return Math.min(Number(value), max);
}
