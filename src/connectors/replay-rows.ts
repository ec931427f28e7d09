import type { Platform, RawReplay, ReplayRows } from './connector.js';

/** What the connectors' replay transforms (`replay*Raw`) share: no rows, and a raw they cannot read. */

export const NO_ROWS: ReplayRows = {
  profiles: [],
  posts: [],
  media: [],
  comments: [],
  follows: [],
  quarantined: [],
};

/** A plain JSON object, or null for anything else (arrays included). */
export function objectOf(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** A stored raw that maps to nothing: the whole payload is quarantined with the reason. */
export function unreadableRaw(platform: Platform, raw: RawReplay, reason: string): ReplayRows {
  return {
    ...NO_ROWS,
    quarantined: [{ platform, kind: raw.kind, externalId: raw.externalId, reason, payload: raw.payload }],
  };
}
