import { parse, type Options } from 'csv-parse/sync';
import { normalizeAccount, tagListSchema, tierSchema, type SocialPlatform } from '../core/tracked-account.js';
import type { TrackedAccountInput } from '../db/repositories/tracked-accounts.repository.js';

/**
 * Reads an accounts import (CSV or JSON) into rows to track and lines refused, each refusal with its
 * line, the value and why. Pure: nothing is stored here.
 *
 * - CSV: a header naming the columns (`account`, or `external_id`/`id`/`handle`/`username`; optional
 *   `tags`, separated by `;` or `|` or spaces, and `tier`), or no header at all: then every line is one
 *   account in the first column. Blank lines and lines starting with `#` are skipped.
 * - JSON: `{"accounts": [...]}`, each a string (the account) or `{ "account": …, "tags": [...], "tier": … }`.
 * - A tags or tier cell left empty (or a missing key) keeps what a known account has; the import's
 *   `tags`/`tier` defaults apply to lines that give none.
 * - The same account twice in one import: the first line wins, the later ones are refused.
 */

export const MAX_IMPORT_ROWS = 200_000;

export interface RejectedLine {
  /** 1-based line of the CSV (header included), or 1-based position in the JSON array. */
  readonly line: number;
  readonly value: string;
  readonly field: 'account' | 'tags' | 'tier' | 'line';
  readonly message: string;
}

export interface ParsedImport {
  /** Lines read (accounts offered), blank and comment lines excluded. */
  readonly received: number;
  readonly rows: TrackedAccountInput[];
  readonly rejected: RejectedLine[];
}

export interface ImportDefaults {
  readonly tags?: readonly string[] | undefined;
  readonly tier?: string | undefined;
  /** The tiers that exist (social.tiers); a line naming another is refused. Unset: not checked. */
  readonly knownTiers?: ReadonlySet<string> | undefined;
}

interface RawLine {
  readonly line: number;
  readonly account: unknown;
  readonly tags: unknown;
  readonly tier: unknown;
}

const ACCOUNT_HEADERS = new Set([
  'account',
  'external_id',
  'id',
  'handle',
  'username',
  'channel',
  'channel_id',
]);

export function parseImport(
  platform: SocialPlatform,
  input:
    { readonly format: 'csv'; readonly text: string } | { readonly format: 'json'; readonly items: unknown },
  defaults: ImportDefaults = {},
): ParsedImport {
  const lines = input.format === 'csv' ? csvLines(input.text) : jsonLines(input.items);
  if ('error' in lines) return { received: 0, rows: [], rejected: [lines.error] };
  if (lines.length > MAX_IMPORT_ROWS) {
    return {
      received: lines.length,
      rows: [],
      rejected: [
        {
          line: MAX_IMPORT_ROWS + 1,
          value: '',
          field: 'line',
          message: `an import holds at most ${MAX_IMPORT_ROWS.toLocaleString('en-US')} accounts; split the file`,
        },
      ],
    };
  }
  const rows: TrackedAccountInput[] = [];
  const rejected: RejectedLine[] = [];
  const firstLine = new Map<string, number>();
  for (const raw of lines) {
    const result = readLine(platform, raw, defaults);
    if ('rejected' in result) {
      rejected.push(result.rejected);
      continue;
    }
    const seen = firstLine.get(result.row.externalId);
    if (seen !== undefined) {
      rejected.push({
        line: raw.line,
        value: result.row.externalId,
        field: 'account',
        message: `the same account as line ${seen}`,
      });
      continue;
    }
    firstLine.set(result.row.externalId, raw.line);
    rows.push(result.row);
  }
  return { received: lines.length, rows, rejected };
}

function readLine(
  platform: SocialPlatform,
  raw: RawLine,
  defaults: ImportDefaults,
): { row: TrackedAccountInput } | { rejected: RejectedLine } {
  const text = typeof raw.account === 'string' ? raw.account : '';
  if (typeof raw.account !== 'string') {
    return {
      rejected: {
        line: raw.line,
        value: String(raw.account ?? ''),
        field: 'account',
        message: 'the account must be a string',
      },
    };
  }
  const account = normalizeAccount(platform, text);
  if (!account.ok)
    return { rejected: { line: raw.line, value: text, field: 'account', message: account.message } };
  const tags = readTags(raw.tags);
  if ('message' in tags)
    return { rejected: { line: raw.line, value: String(raw.tags), field: 'tags', message: tags.message } };
  const tier = readTier(raw.tier, defaults.knownTiers);
  if ('message' in tier)
    return { rejected: { line: raw.line, value: String(raw.tier), field: 'tier', message: tier.message } };
  return {
    row: {
      externalId: account.externalId,
      tags: tags.value ?? (defaults.tags ? [...defaults.tags] : null),
      tier: tier.value ?? defaults.tier ?? null,
    },
  };
}

function readTags(value: unknown): { value: string[] | null } | { message: string } {
  if (value === undefined || value === null || value === '') return { value: null };
  const list = typeof value === 'string' ? value.split(/[;|\s]+/).filter((t) => t !== '') : value;
  const parsed = tagListSchema.safeParse(list);
  if (!parsed.success) return { message: parsed.error.issues[0]?.message ?? 'tags are not valid' };
  return { value: [...new Set(parsed.data)].sort() };
}

function readTier(
  value: unknown,
  known: ReadonlySet<string> | undefined,
): { value: string | null } | { message: string } {
  if (value === undefined || value === null || value === '') return { value: null };
  const parsed = tierSchema.safeParse(value);
  if (!parsed.success) return { message: parsed.error.issues[0]?.message ?? 'the tier is not valid' };
  if (known && !known.has(parsed.data)) {
    return {
      message: `no tier "${parsed.data}" (tiers: ${[...known].sort().join(', ')}; siphon accounts tier to add one)`,
    };
  }
  return { value: parsed.data };
}

function csvLines(text: string): RawLine[] | { error: RejectedLine } {
  let records: { record: string[]; line: number }[];
  try {
    const options: Options<{ record: string[]; line: number }, string[]> = {
      bom: true,
      skip_empty_lines: true,
      comment: '#',
      comment_no_infix: true,
      relax_column_count: true,
      trim: true,
      // Only the record and its line are kept, not the whole `info` object of each record.
      on_record: (record, context) => ({ record, line: context.lines }),
    };
    // The typings tie on_record to `columns`; the records are what on_record returns.
    records = parse(text, options as unknown as Options) as unknown as { record: string[]; line: number }[];
  } catch (error) {
    const e = error as { message: string; lines?: number };
    return {
      error: { line: e.lines ?? 1, value: '', field: 'line', message: `not readable as CSV: ${e.message}` },
    };
  }
  const first = records[0];
  if (!first) return [];
  const header = first.record.map((h) => h.toLowerCase());
  const accountAt = header.findIndex((h) => ACCOUNT_HEADERS.has(h));
  if (accountAt < 0) {
    // No header: one account per line, in the first column.
    return records.map(({ record, line }) => ({
      line,
      account: record[0] ?? '',
      tags: undefined,
      tier: undefined,
    }));
  }
  const tagsAt = header.indexOf('tags');
  const tierAt = header.indexOf('tier');
  return records.slice(1).map(({ record, line }) => ({
    line,
    account: record[accountAt] ?? '',
    tags: tagsAt < 0 ? undefined : record[tagsAt],
    tier: tierAt < 0 ? undefined : record[tierAt],
  }));
}

function jsonLines(items: unknown): RawLine[] | { error: RejectedLine } {
  const list =
    typeof items === 'object' && items !== null && !Array.isArray(items)
      ? (items as { accounts?: unknown }).accounts
      : undefined;
  const extra =
    typeof items === 'object' && items !== null ? Object.keys(items).filter((k) => k !== 'accounts') : [];
  if (!Array.isArray(list) || extra.length > 0) {
    return {
      error: {
        line: 1,
        value: extra.join(', '),
        field: 'line',
        message:
          'a JSON import is {"accounts": [...]}, each an account or {"account", "tags", "tier"}; nothing else',
      },
    };
  }
  return list.map((item, i) => {
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const o = item as Record<string, unknown>;
      return { line: i + 1, account: o.account, tags: o.tags, tier: o.tier };
    }
    return { line: i + 1, account: item, tags: undefined, tier: undefined };
  });
}
