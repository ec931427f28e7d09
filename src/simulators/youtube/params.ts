import { errors, type SimResponse } from './error-bodies.js';
import { hash32 } from './ids.js';

/** Thrown by handlers to answer with a documented error body. */
export class SimFailure extends Error {
  readonly response: SimResponse;
  constructor(response: SimResponse) {
    super(`simulated YouTube error ${response.status}`);
    this.response = response;
  }
}

export type Query = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Parameters every method accepts (`fields` and `hl` are accepted and ignored). */
const GLOBAL_PARAMS = ['key', 'access_token', 'part', 'fields', 'prettyPrint', 'quotaUser', 'alt', 'hl'];

export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  return typeof value === 'string' ? value : value?.[0];
}

/** Comma lists, and the parameter repeated, both give a list. */
export function list(query: Query, name: string): string[] {
  const value = query[name];
  const raw = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  return raw
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export function rejectUnexpected(query: Query, allowed: readonly string[]): void {
  const unexpected = Object.keys(query).find(
    (name) => !GLOBAL_PARAMS.includes(name) && !allowed.includes(name),
  );
  if (unexpected !== undefined) throw new SimFailure(errors.unexpectedParameter(unexpected));
}

/** The requested parts; `id` is always returned, so it is not in the set. */
export function parts(query: Query, known: readonly string[]): Set<string> {
  const requested = list(query, 'part');
  if (requested.length === 0) throw new SimFailure(errors.missingPart());
  const unknown = requested.find((p) => p !== 'id' && !known.includes(p));
  if (unknown !== undefined) throw new SimFailure(errors.unknownPart(unknown));
  return new Set(requested.filter((p) => p !== 'id'));
}

/** The one filter present among `filters`; none or several is a 400. */
export function oneFilter(query: Query, filters: readonly string[]): string {
  const present = filters.filter((f) => query[f] !== undefined);
  if (present.length === 0) throw new SimFailure(errors.noFilter(filters));
  if (present.length > 1) throw new SimFailure(errors.incompatibleParameters(present));
  return present[0]!;
}

export interface PageSize {
  readonly min: number;
  readonly max: number;
  readonly fallback: number;
}

/** `maxResults` within its documented range: out of range is a 400, or clamped if so configured. */
export function maxResults(query: Query, size: PageSize, clamp: boolean): number {
  const text = single(query, 'maxResults');
  if (text === undefined) return size.fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isInteger(value) && value >= size.min && value <= size.max) return value;
  if (clamp && Number.isInteger(value)) return Math.min(Math.max(value, size.min), size.max);
  throw new SimFailure(errors.invalidValue('maxResults', text, `[${size.min}, ${size.max}]`));
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextPageToken?: string;
  readonly prevPageToken?: string;
}

/**
 * Offset paging with opaque tokens bound to the request's filters (`scope`): a token from another
 * list, or not minted here, is a 400 `invalidPageToken`.
 */
export function paginate<T>(query: Query, all: readonly T[], size: number, scope: string): Page<T> {
  const token = single(query, 'pageToken');
  const offset = token === undefined ? 0 : readToken(token, scope);
  if (offset === undefined) throw new SimFailure(errors.invalidPageToken());
  const end = offset + size;
  return {
    items: all.slice(offset, end),
    ...(size > 0 && end < all.length ? { nextPageToken: mintToken(scope, end) } : {}),
    ...(offset > 0 ? { prevPageToken: mintToken(scope, Math.max(0, offset - size)) } : {}),
  };
}

function mintToken(scope: string, offset: number): string {
  return Buffer.from(`PT:${offset}:${hash32(scope).toString(36)}`).toString('base64url');
}

function readToken(token: string, scope: string): number | undefined {
  const match = /^PT:(\d+):([0-9a-z]+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match && match[2] === hash32(scope).toString(36) ? Number(match[1]) : undefined;
}
