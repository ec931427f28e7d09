import { stringify } from 'csv-stringify/sync';
import { SiphonError } from '../core/errors.js';
import type { SocialPlatform } from '../core/tracked-account.js';
import type { Pool } from '../db/pool.js';
import {
  allTracked,
  changeTracked,
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
  const parsed = parseImport(platform, input, defaults);
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
  try {
    return { changed: await changeTracked(pool, platform, target, change) };
  } catch (error) {
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
