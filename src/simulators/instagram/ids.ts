/**
 * Deterministic randomness and the simulator's identifiers. Ids are numeric strings like the real
 * ones (IG users 17 digits starting `17841`, media 17 digits, comments 18), and each embeds its
 * account's index, so any id leads to its account without a global map: accounts are generated only
 * when first asked for.
 */

import { hash32, randomFor, type Random } from '../shared/random.js';

export { hash32, randomFor, type Random };

const pad = (value: number, width: number): string => String(value).padStart(width, '0');
const seedDigits = (seed: number): string => pad(hash32(`seed|${seed}`) % 1000, 3);

/** `17841` + 3 seed digits + 9 index digits (17 digits, as real IG user ids). */
export function userIdOf(seed: number, account: number): string {
  return `17841${seedDigits(seed)}${pad(account, 9)}`;
}

/** Media and carousel children: `18` + account (7) + sequence (8). */
export function mediaIdOf(account: number, sequence: number): string {
  return `18${pad(account, 7)}${pad(sequence, 8)}`;
}

/** Comments and replies: `179` + account (7) + sequence (8). */
export function commentIdOf(account: number, sequence: number): string {
  return `179${pad(account, 7)}${pad(sequence, 8)}`;
}

/** The account an id belongs to, from its shape alone (the caller still checks the entity exists). */
export function accountOfId(seed: number, id: string): number | undefined {
  if (/^17841\d{12}$/.test(id)) {
    return id.slice(5, 8) === seedDigits(seed) ? Number(id.slice(8)) : undefined;
  }
  if (/^18\d{15}$/.test(id)) return Number(id.slice(2, 9));
  if (/^179\d{15}$/.test(id)) return Number(id.slice(3, 10));
  return undefined;
}

export type IdKind = 'user' | 'media' | 'comment';

export function kindOfId(id: string): IdKind | undefined {
  if (/^17841\d{12}$/.test(id)) return 'user';
  if (/^18\d{15}$/.test(id)) return 'media';
  if (/^179\d{15}$/.test(id)) return 'comment';
  return undefined;
}

/** An 11-character URL slug, as `shortcode`. */
export function shortcodeOf(seed: number, mediaId: string): string {
  return randomFor(seed, 'shortcode', mediaId).chars(11);
}
