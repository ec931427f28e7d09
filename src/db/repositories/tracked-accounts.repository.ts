import type { Executor } from '../pool.js';

/**
 * Tracked accounts: the rows of social.accounts a person manages (`tracked`, tags, tier, paused, who
 * added them when). The sync state of the same rows (last_synced_at, unreachable…) is the runners'
 * (sync-jobs.repository.ts). Executor first; the API's role may only touch the columns of the list.
 */

export interface TrackedAccountRow {
  readonly platform: string;
  readonly external_id: string;
  readonly handle: string | null;
  readonly tags: string[];
  readonly tier: string;
  readonly paused: boolean;
  /** `active` or `unreachable` (the platform does not show it; see unreachable_reason). */
  readonly status: string;
  readonly unreachable_reason: string | null;
  readonly next_check_at: Date | null;
  readonly last_synced_at: Date | null;
  readonly added_by: string | null;
  readonly added_at: Date | null;
  readonly changed_at: Date | null;
}

export interface TrackedAccountInput {
  readonly externalId: string;
  /** null: keep the account's tags (a new account gets none). */
  readonly tags: readonly string[] | null;
  /** null: keep the account's tier (a new account gets `standard`). */
  readonly tier: string | null;
}

const COLUMNS = `platform, external_id, handle, tags, tier, paused, status, unreachable_reason, next_check_at,
                 last_synced_at, added_by, added_at, changed_at`;

/**
 * Tracks the accounts (one statement; idempotent): a new one is inserted, a known one (tracked or not)
 * is tracked with the given tags and tier, an identical one is not written. Returns how many were
 * inserted and how many changed; the rest were unchanged. Should another import insert the same
 * account at the same moment, that import's values win and the account counts as unchanged here.
 */
export async function trackAccounts(
  db: Executor,
  platform: string,
  rows: readonly TrackedAccountInput[],
  by: string,
): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const { rows: result } = await db.query<{ inserted: number; updated: number }>(
    `WITH input AS (
       SELECT i.external_id, string_to_array(i.tags, ',') AS tags, i.tier
         FROM unnest($2::text[], $3::text[], $4::text[]) AS i(external_id, tags, tier)
     ), updated AS (
       UPDATE social.accounts a
          SET tracked = true, tags = coalesce(i.tags, a.tags), tier = coalesce(i.tier, a.tier),
              added_by = CASE WHEN a.tracked THEN a.added_by ELSE $5 END,
              added_at = CASE WHEN a.tracked THEN a.added_at ELSE now() END,
              changed_at = now()
         FROM input i
        WHERE a.platform = $1 AND a.external_id = i.external_id
          AND (a.tracked, a.tags, a.tier) IS DISTINCT FROM (true, coalesce(i.tags, a.tags), coalesce(i.tier, a.tier))
       RETURNING 1
     ), inserted AS (
       INSERT INTO social.accounts (platform, external_id, tracked, tags, tier, added_by, added_at, changed_at)
       SELECT $1, i.external_id, true, coalesce(i.tags, '{}'), coalesce(i.tier, 'standard'), $5, now(), now()
         FROM input i
        WHERE NOT EXISTS (SELECT 1 FROM social.accounts a WHERE a.platform = $1 AND a.external_id = i.external_id)
       ON CONFLICT (platform, external_id) DO NOTHING
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM inserted)::int AS inserted, (SELECT count(*) FROM updated)::int AS updated`,
    [
      platform,
      rows.map((r) => r.externalId),
      rows.map((r) => (r.tags === null ? null : r.tags.join(','))),
      rows.map((r) => r.tier),
      by,
    ],
  );
  return result[0]!;
}

export interface TrackedFilter {
  readonly platform?: string | undefined;
  /** Accounts carrying this tag. */
  readonly tag?: string | undefined;
  readonly tier?: string | undefined;
  /** `active`, `unreachable` or `paused`. */
  readonly state?: 'active' | 'unreachable' | 'paused' | undefined;
  /** A part of the account or its handle (case-insensitive). */
  readonly search?: string | undefined;
}

const FILTER = `a.tracked
     AND ($1::text IS NULL OR a.platform = $1)
     AND ($2::text IS NULL OR a.tags @> ARRAY[$2::text])
     AND ($3::text IS NULL OR a.tier = $3)
     AND ($4::text IS NULL OR CASE $4 WHEN 'paused' THEN a.paused
                                      WHEN 'unreachable' THEN a.status = 'unreachable' AND NOT a.paused
                                      ELSE a.status = 'active' AND NOT a.paused END)
     AND ($5::text IS NULL OR strpos(lower(a.external_id), lower($5)) > 0
                           OR strpos(lower(coalesce(a.handle, '')), lower($5)) > 0)`;

const filterParams = (f: TrackedFilter) => [
  f.platform ?? null,
  f.tag ?? null,
  f.tier ?? null,
  f.state ?? null,
  f.search ?? null,
];

/** One page of tracked accounts in (platform, external_id) order, and how many match in all. */
export async function listTracked(
  db: Executor,
  filter: TrackedFilter,
  page: { limit: number; offset: number },
): Promise<{ total: number; items: TrackedAccountRow[] }> {
  const params = filterParams(filter);
  const [{ rows: count }, { rows: items }] = await Promise.all([
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM social.accounts a WHERE ${FILTER}`, params),
    db.query<TrackedAccountRow>(
      `SELECT ${COLUMNS} FROM social.accounts a WHERE ${FILTER}
        ORDER BY a.platform, a.external_id LIMIT $6 OFFSET $7`,
      [...params, page.limit, page.offset],
    ),
  ]);
  return { total: count[0]!.n, items };
}

/** Every tracked account matching the filter, in (platform, external_id) order (for an export). */
export async function allTracked(db: Executor, filter: TrackedFilter): Promise<TrackedAccountRow[]> {
  const { rows } = await db.query<TrackedAccountRow>(
    `SELECT ${COLUMNS} FROM social.accounts a WHERE ${FILTER} ORDER BY a.platform, a.external_id`,
    filterParams(filter),
  );
  return rows;
}

/** Which tracked accounts a bulk change applies to: a list, or a tag and/or tier (all of them: {}). */
export interface TrackedTarget {
  readonly accounts?: readonly string[] | undefined;
  readonly tag?: string | undefined;
  readonly tier?: string | undefined;
}

export interface TrackedChange {
  readonly tier?: string | undefined;
  readonly addTags?: readonly string[] | undefined;
  readonly removeTags?: readonly string[] | undefined;
  readonly paused?: boolean | undefined;
}

/**
 * Applies one change to every tracked account of the platform the target names (one statement), and
 * returns how many it changed (an account already in that state is not written). An account would
 * end with more than 32 tags: the CHECK refuses the whole statement (23514).
 */
export async function changeTracked(
  db: Executor,
  platform: string,
  target: TrackedTarget,
  change: TrackedChange,
): Promise<number> {
  const { rowCount } = await db.query(
    `WITH next AS (
       SELECT a.id,
              coalesce($5::text, a.tier) AS tier,
              coalesce($8::boolean, a.paused) AS paused,
              ARRAY(SELECT DISTINCT t FROM unnest(a.tags || coalesce($6::text[], '{}')) AS t
                     WHERE NOT t = ANY(coalesce($7::text[], '{}')) ORDER BY t) AS tags
         FROM social.accounts a
        WHERE a.platform = $1 AND a.tracked
          AND ($2::text[] IS NULL OR a.external_id = ANY($2::text[]))
          AND ($3::text IS NULL OR a.tags @> ARRAY[$3::text])
          AND ($4::text IS NULL OR a.tier = $4)
     )
     UPDATE social.accounts a SET tier = n.tier, paused = n.paused, tags = n.tags, changed_at = now()
       FROM next n
      WHERE a.id = n.id AND (a.tier, a.paused, a.tags) IS DISTINCT FROM (n.tier, n.paused, n.tags)`,
    [
      platform,
      target.accounts ?? null,
      target.tag ?? null,
      target.tier ?? null,
      change.tier ?? null,
      change.addTags ?? null,
      change.removeTags ?? null,
      change.paused ?? null,
    ],
  );
  return rowCount ?? 0;
}

/** Stops tracking these accounts (their rows, data and history stay); returns how many were tracked. */
export async function untrackAccounts(
  db: Executor,
  platform: string,
  accounts: readonly string[],
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE social.accounts SET tracked = false, changed_at = now()
      WHERE platform = $1 AND external_id = ANY($2::text[]) AND tracked`,
    [platform, accounts],
  );
  return rowCount ?? 0;
}

// ---- tiers ----------------------------------------------------------------------------------------

export interface TierRow {
  readonly name: string;
  /** The sync interval in seconds. */
  readonly interval_seconds: number;
  readonly description: string | null;
  readonly changed_at: Date;
}

export interface TierStatus extends TierRow {
  readonly platform: string | null;
  /** Tracked accounts of the tier (paused included). */
  readonly accounts: number;
  readonly paused: number;
  /** Reachable, not paused, and due now (never synced, or next_due_at passed). */
  readonly due: number;
  /** Of those, late by more than one whole interval: the tier is falling behind. */
  readonly late: number;
  readonly oldest_due_at: Date | null;
}

export async function listTiers(db: Executor): Promise<TierRow[]> {
  const { rows } = await db.query<TierRow>(
    `SELECT name, extract(epoch FROM sync_interval)::int AS interval_seconds, description, changed_at
       FROM social.tiers ORDER BY sync_interval, name`,
  );
  return rows;
}

/**
 * Per tier (and platform, where it has tracked accounts): accounts, paused, due now, late by more than
 * an interval, and the oldest due time. One query on accounts_due_idx; unreachable accounts are left
 * out of due and late (they are checked on their own schedule, next_check_at).
 */
export async function tierStatus(db: Executor): Promise<TierStatus[]> {
  const { rows } = await db.query<TierStatus>(
    `SELECT t.name, extract(epoch FROM t.sync_interval)::int AS interval_seconds, t.description, t.changed_at,
            a.platform,
            count(a.id)::int AS accounts,
            count(a.id) FILTER (WHERE a.paused)::int AS paused,
            count(a.id) FILTER (WHERE NOT a.paused AND a.status = 'active'
                                  AND (a.next_due_at IS NULL OR a.next_due_at <= now()))::int AS due,
            count(a.id) FILTER (WHERE NOT a.paused AND a.status = 'active'
                                  AND a.next_due_at < now() - t.sync_interval)::int AS late,
            min(coalesce(a.next_due_at, a.added_at)) FILTER (WHERE NOT a.paused AND a.status = 'active'
                                  AND (a.next_due_at IS NULL OR a.next_due_at <= now())) AS oldest_due_at
       FROM social.tiers t
       LEFT JOIN social.accounts a ON a.tier = t.name AND a.tracked
      GROUP BY t.name, t.sync_interval, t.description, t.changed_at, a.platform
      ORDER BY t.sync_interval, t.name, a.platform NULLS FIRST`,
  );
  return rows;
}

/** Creates or changes a tier; its accounts keep their phase and move to the new interval's slots. */
export async function saveTier(
  db: Executor,
  tier: { name: string; intervalSeconds: number; description: string | null },
): Promise<{ tier: TierRow; created: boolean }> {
  const { rows } = await db.query<TierRow & { created: boolean }>(
    `WITH saved AS (
       INSERT INTO social.tiers (name, sync_interval, description)
       VALUES ($1, make_interval(secs => $2), $3)
       ON CONFLICT (name) DO UPDATE SET sync_interval = EXCLUDED.sync_interval,
              description = coalesce(EXCLUDED.description, social.tiers.description), changed_at = now()
       RETURNING name, sync_interval, description, changed_at, xmax = 0 AS created
     ), moved AS (
       -- Accounts waiting on a slot of the old interval are re-slotted in the new one from now.
       UPDATE social.accounts a
          SET next_due_at = social.next_slot(a.platform || ':' || a.external_id, s.sync_interval, now())
         FROM saved s
        WHERE a.tier = s.name AND a.tracked AND NOT s.created AND a.next_due_at > now()
     )
     SELECT name, extract(epoch FROM sync_interval)::int AS interval_seconds, description, changed_at, created
       FROM saved`,
    [tier.name, tier.intervalSeconds, tier.description],
  );
  const { created, ...row } = rows[0]!;
  return { tier: row, created };
}
