import { stringify } from 'csv-stringify/sync';
import { SiphonError } from '../core/errors.js';
import type { SocialPlatform } from '../core/tracked-account.js';
import type { Pool } from '../db/pool.js';
import { parseDuration } from '../core/duration.js';
import { TIER_PATTERN } from '../core/tracked-account.js';
import {
  allTracked,
  changeTracked,
  listTiers,
  saveTier,
  tierStatus,
  type TierRow,
  type TierStatus,
  trackAccounts,
  untrackAccounts,
  type TrackedAccountRow,
  type TrackedChange,
  type TrackedFilter,
  type TrackedTarget,
} from '../db/repositories/tracked-accounts.repository.js';
import { parseImport, type ImportDefaults, type RejectedLine } from './account-import.js';

/** At most this many refused lines are listed in a report (all are counted). */
export const MAX_LISTED_REJECTS = 1000;

export interface ImportReport {
  readonly platform: SocialPlatform;
  /** Accounts offered (blank and comment lines excluded). */
  readonly received: number;
  /** Newly tracked accounts (never seen before, or tracked again after a removal). */
  readonly inserted: number;
  /** Known accounts whose tags, tier or tracking changed. */
  readonly updated: number;
  /** Accepted lines that changed nothing (a re-import of the same file: all of them). */
  readonly unchanged: number;
  readonly rejected_total: number;
  /** The first {@link MAX_LISTED_REJECTS} refused lines, in file order. */
  readonly rejected: readonly RejectedLine[];
}

/**
 * Imports accounts to track (CSV or JSON, up to 200,000 in one go): every valid line is applied in
 * one statement, refused lines are reported and change nothing. Idempotent: the same file twice
 * reports everything `unchanged` the second time.
 */
export async function importAccounts(
  pool: Pool,
  platform: SocialPlatform,
  input: Parameters<typeof parseImport>[1],
  by: string,
  defaults: ImportDefaults = {},
): Promise<ImportReport> {
  const knownTiers = new Set((await listTiers(pool)).map((t) => t.name));
  if (defaults.tier !== undefined && !knownTiers.has(defaults.tier)) {
    throw new SiphonError('SIPHON_ERR_ACCOUNTS_INVALID', unknownTier(defaults.tier, knownTiers), {
      field: 'tier',
    });
  }
  const parsed = parseImport(platform, input, { ...defaults, knownTiers });
  const { inserted, updated } = await trackAccounts(pool, platform, parsed.rows, by);
  return {
    platform,
    received: parsed.received,
    inserted,
    updated,
    unchanged: parsed.rows.length - inserted - updated,
    rejected_total: parsed.rejected.length,
    rejected: parsed.rejected.slice(0, MAX_LISTED_REJECTS),
  };
}

/** The tracked accounts matching the filter as CSV (the import's columns first) or as JSON rows. */
export async function exportAccounts(
  pool: Pool,
  filter: TrackedFilter,
  format: 'csv' | 'json',
): Promise<string> {
  const rows = await allTracked(pool, filter);
  if (format === 'json') return JSON.stringify(rows.map(exported));
  return stringify(
    rows.map((r) => {
      const e = exported(r);
      return { ...e, tags: e.tags.join(';'), paused: e.paused ? 'yes' : 'no' };
    }),
    {
      header: true,
      columns: [
        'platform',
        'account',
        'tags',
        'tier',
        'paused',
        'status',
        'handle',
        'last_synced_at',
        'added_at',
      ],
    },
  );
}

function exported(r: TrackedAccountRow) {
  return {
    platform: r.platform,
    account: r.external_id,
    tags: r.tags,
    tier: r.tier,
    paused: r.paused,
    status: r.status,
    handle: r.handle ?? '',
    last_synced_at: r.last_synced_at?.toISOString() ?? '',
    added_at: r.added_at?.toISOString() ?? '',
  };
}

/**
 * One change (tier, tags added or removed, paused) to the platform's tracked accounts the target
 * names; returns how many changed. Pausing an account only keeps it out of runs that open later: a
 * run in progress, and the other accounts, are not disturbed.
 */
export async function changeAccounts(
  pool: Pool,
  platform: SocialPlatform,
  target: TrackedTarget,
  change: TrackedChange,
): Promise<{ changed: number }> {
  const empty =
    change.tier === undefined &&
    change.paused === undefined &&
    (change.addTags ?? []).length === 0 &&
    (change.removeTags ?? []).length === 0;
  if (empty) {
    throw new SiphonError(
      'SIPHON_ERR_ACCOUNTS_INVALID',
      'say what to change: tier, add_tags, remove_tags or paused',
      {
        field: 'set',
      },
    );
  }
  if (change.tier !== undefined) {
    const known = new Set((await listTiers(pool)).map((t) => t.name));
    if (!known.has(change.tier)) {
      throw new SiphonError('SIPHON_ERR_ACCOUNTS_INVALID', unknownTier(change.tier, known), {
        field: 'set.tier',
      });
    }
  }
  try {
    return { changed: await changeTracked(pool, platform, target, change) };
  } catch (error) {
    if ((error as { code?: string }).code === '23503') {
      // The tier was removed between the check and the change.
      throw new SiphonError('SIPHON_ERR_ACCOUNTS_INVALID', `no tier "${change.tier}"`, { field: 'set.tier' });
    }
    if ((error as { code?: string }).code === '23514') {
      throw new SiphonError(
        'SIPHON_ERR_ACCOUNTS_INVALID',
        'an account would carry more than 32 tags; nothing was changed',
        {
          field: 'set.add_tags',
        },
      );
    }
    throw error;
  }
}

/** Stops tracking accounts (their data and history stay); an account not tracked is a 404. */
export async function removeAccounts(
  pool: Pool,
  platform: SocialPlatform,
  accounts: readonly string[],
): Promise<{ removed: number }> {
  const removed = await untrackAccounts(pool, platform, accounts);
  if (removed === 0) {
    throw new SiphonError(
      'SIPHON_ERR_ACCOUNT_NOT_FOUND',
      `${accounts.length === 1 ? `${accounts[0]} is` : 'none of these accounts is'} not a tracked ${platform} account`,
      { field: 'account' },
    );
  }
  return { removed };
}

function unknownTier(name: string, known: ReadonlySet<string>): string {
  return `no tier "${name}" (tiers: ${[...known].sort().join(', ')}; siphon accounts tier ${name} --interval … adds it)`;
}

/** The shortest and the longest sync interval of a tier. */
export const TIER_INTERVAL_BOUNDS = { minSeconds: 60, maxSeconds: 90 * 86_400 } as const;

/** Every tier with, per platform, its tracked, paused, due and late accounts (late: by more than an interval). */
export function readTierStatus(pool: Pool): Promise<TierStatus[]> {
  return tierStatus(pool);
}

/**
 * Creates a tier or changes its interval (`30m`, `1h`, `1d`, `7d`; 1 minute to 90 days). Accounts
 * waiting on a slot of the old interval move to the new one; each keeps its own phase.
 */
export async function defineTier(
  pool: Pool,
  name: string,
  input: { interval: string; description?: string | undefined },
): Promise<{ tier: TierRow; created: boolean }> {
  if (!TIER_PATTERN.test(name)) {
    throw new SiphonError(
      'SIPHON_ERR_ACCOUNTS_INVALID',
      `"${name}" is not a tier name: a lower-case name of letters, digits and _`,
      {
        field: 'name',
      },
    );
  }
  let ms: number;
  try {
    ms = parseDuration(input.interval);
  } catch (error) {
    throw new SiphonError('SIPHON_ERR_ACCOUNTS_INVALID', (error as Error).message, { field: 'interval' });
  }
  const seconds = Math.round(ms / 1000);
  if (seconds < TIER_INTERVAL_BOUNDS.minSeconds || seconds > TIER_INTERVAL_BOUNDS.maxSeconds) {
    throw new SiphonError(
      'SIPHON_ERR_ACCOUNTS_INVALID',
      'a tier syncs every 1 minute at least and every 90 days at most',
      {
        field: 'interval',
      },
    );
  }
  if (input.description !== undefined && input.description.length > 500) {
    throw new SiphonError('SIPHON_ERR_ACCOUNTS_INVALID', 'the description is longer than 500 characters', {
      field: 'description',
    });
  }
  return saveTier(pool, { name, intervalSeconds: seconds, description: input.description ?? null });
}
