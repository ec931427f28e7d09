import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import {
  changeAccounts,
  defineTier,
  exportAccounts,
  readTierStatus,
  importAccounts,
  listTracked,
  removeAccounts,
  type ImportReport,
} from '../../accounts/index.js';
import { SiphonError } from '../../core/errors.js';
import { zodToSiphonError } from '../../core/pipeline-spec.schema.js';
import { accountsChangeSchema, SOCIAL_PLATFORMS, type SocialPlatform } from '../../core/tracked-account.js';
import { Paging } from '../../api/route-schemas.js';
import { wholeNumberOf } from '../arguments.js';
import { withContext } from '../context.js';
import { jsonOption, printObject, printRows } from '../output.js';

const CLI_USER = 'cli';
const ACCOUNT_COLUMNS = [
  'platform',
  'external_id',
  'handle',
  'tags',
  'tier',
  'paused',
  'status',
  'last_synced_at',
];
/** Refused lines printed after an import (all are in --json). */
const SHOWN_REJECTS = 20;

const platformOption = (required: boolean) => {
  const option = new Option('--platform <platform>', 'youtube, instagram or tiktok').choices(
    SOCIAL_PLATFORMS,
  );
  return required ? option.makeOptionMandatory() : option;
};
const list = (value: string | undefined) =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');

/**
 * `accounts list|import|export|set|pause|resume|remove`: the tracked accounts social pipelines select
 * (`social.select`), with the API's rules (POST /accounts/import, PATCH /accounts, …).
 */
export function registerAccountCommands(program: Command): void {
  const accounts = program
    .command('accounts')
    .description(
      'tracked social accounts: import (CSV/JSON, 100,000 at once), list, export, tag, tier, pause, remove',
    );

  accounts
    .command('list')
    .description('tracked accounts, filtered, with their tags, tier, state and last sync')
    .addOption(platformOption(false))
    .option('--tag <tag>', 'only accounts carrying this tag')
    .option('--tier <tier>', 'only accounts of this tier')
    .addOption(
      new Option('--state <state>', 'active, unreachable or paused').choices([
        'active',
        'unreachable',
        'paused',
      ]),
    )
    .option('--search <text>', 'part of the account or its handle')
    .option('--limit <n>', 'at most this many', wholeNumberOf('--limit', Paging.limit), 50)
    .option('--offset <n>', 'skip this many', wholeNumberOf('--offset', Paging.offset), 0)
    .addOption(jsonOption())
    .action(async (o: ListOptions) => {
      const page = { limit: o.limit, offset: o.offset };
      await withContext(async ({ api }) => {
        const { total, items } = await listTracked(
          api,
          { platform: o.platform, tag: o.tag, tier: o.tier, state: o.state, search: o.search },
          page,
        );
        if (o.json) {
          printObject({ total, ...page, items }, o);
          return;
        }
        printRows(items as unknown as Record<string, unknown>[], ACCOUNT_COLUMNS, o);
        process.stdout.write(`${items.length} of ${total}\n`);
      });
    });

  accounts
    .command('import <file>')
    .description(
      'track the accounts of a CSV (header account,tags,tier; or one per line) or JSON file; - reads stdin',
    )
    .addOption(platformOption(true))
    .option('--tags <tags>', 'tags (comma-separated) for lines that give none')
    .option('--tier <tier>', 'tier for lines that give none')
    .addOption(
      new Option('--format <format>', 'csv or json (default: from the file name, else csv)').choices([
        'csv',
        'json',
      ]),
    )
    .addOption(jsonOption())
    .action(async (file: string, o: ImportOptions) => {
      const text = file === '-' ? await readStdin() : await readInput(file);
      const format = o.format ?? (file.toLowerCase().endsWith('.json') ? 'json' : 'csv');
      const input = format === 'json' ? { format, items: parseJson(text, file) } : { format, text };
      await withContext(async ({ api }) => {
        const report = await importAccounts(api, o.platform, input, CLI_USER, {
          tags: list(o.tags),
          tier: o.tier,
        });
        printReport(report, o);
        // A script learns that some lines were refused (the others were imported).
        if (report.rejected_total > 0) process.exitCode = 3;
      });
    });

  accounts
    .command('export')
    .description('print the tracked accounts as CSV (re-importable) or JSON')
    .addOption(platformOption(false))
    .option('--tag <tag>', 'only accounts carrying this tag')
    .option('--tier <tier>', 'only accounts of this tier')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .action(async (o: { platform?: SocialPlatform; tag?: string; tier?: string; format: 'csv' | 'json' }) => {
      await withContext(async ({ api }) => {
        const body = await exportAccounts(api, { platform: o.platform, tag: o.tag, tier: o.tier }, o.format);
        process.stdout.write(o.format === 'json' ? `${body}\n` : body);
      });
    });

  accounts
    .command('set [account...]')
    .description(
      'change the tier, tags or pause of the listed accounts, or of those with --where-tag/--where-tier',
    )
    .addOption(platformOption(true))
    .option('--where-tag <tag>', 'the accounts carrying this tag')
    .option('--where-tier <tier>', 'the accounts of this tier')
    .option('--tier <tier>', 'move them to this tier')
    .option('--add-tags <tags>', 'add these tags (comma-separated)')
    .option('--remove-tags <tags>', 'remove these tags (comma-separated)')
    .option('--pause', 'leave them out of runs that open from now on')
    .option('--resume', 'sync them again')
    .addOption(jsonOption())
    .action(async (names: string[], o: SetOptions) => {
      if (o.pause && o.resume) {
        throw new SiphonError('SIPHON_ERR_CLI_USAGE', '--pause and --resume exclude each other', {
          field: 'pause',
        });
      }
      if (names.length === 0 && o.whereTag === undefined && o.whereTier === undefined) {
        throw new SiphonError(
          'SIPHON_ERR_CLI_USAGE',
          'name the accounts, or select them with --where-tag / --where-tier (both may be given)',
          { field: 'account' },
        );
      }
      const parsed = accountsChangeSchema.safeParse({
        platform: o.platform,
        ...(names.length > 0 ? { accounts: names } : {}),
        ...(o.whereTag === undefined ? {} : { tag: o.whereTag }),
        ...(o.whereTier === undefined ? {} : { tier: o.whereTier }),
        set: {
          ...(o.tier === undefined ? {} : { tier: o.tier }),
          ...(o.addTags === undefined ? {} : { add_tags: list(o.addTags) }),
          ...(o.removeTags === undefined ? {} : { remove_tags: list(o.removeTags) }),
          ...(o.pause ? { paused: true } : o.resume ? { paused: false } : {}),
        },
      });
      if (!parsed.success) throw zodToSiphonError(parsed.error, 'SIPHON_ERR_ACCOUNTS_INVALID');
      const b = parsed.data;
      await withContext(async ({ api }) => {
        const result = await changeAccounts(
          api,
          b.platform,
          { accounts: b.accounts, tag: b.tag, tier: b.tier },
          { tier: b.set.tier, addTags: b.set.add_tags, removeTags: b.set.remove_tags, paused: b.set.paused },
        );
        printObject(result, o);
      });
    });

  accounts
    .command('tiers')
    .description('the tiers with, per platform, tracked, paused, due and late accounts')
    .addOption(jsonOption())
    .action(async (o: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const rows = await readTierStatus(api);
        if (o.json) {
          printRows(rows as unknown as Record<string, unknown>[], [], o);
          return;
        }
        printRows(
          rows.map((r) => ({ ...r, every: everyText(r.interval_seconds), platform: r.platform ?? '' })),
          ['name', 'every', 'platform', 'accounts', 'paused', 'due', 'late', 'oldest_due_at'],
          o,
        );
      });
    });

  accounts
    .command('tier <name>')
    .description('create a tier or change how often its accounts are synced')
    .requiredOption('--interval <duration>', '30m, 1h, 1d, 7d (1 minute to 90 days)')
    .option('--description <text>', 'what the tier is for')
    .addOption(jsonOption())
    .action(async (name: string, o: { interval: string; description?: string; json?: boolean }) => {
      await withContext(async ({ api }) => {
        const { tier, created } = await defineTier(api, name, o);
        printObject({ ...tier, created }, o);
      });
    });

  accounts
    .command('remove <account...>')
    .description('stop tracking accounts (their data and history stay)')
    .addOption(platformOption(true))
    .addOption(jsonOption())
    .action(async (names: string[], o: { platform: SocialPlatform; json?: boolean }) => {
      await withContext(async ({ api }) => printObject(await removeAccounts(api, o.platform, names), o));
    });
}

interface ListOptions {
  platform?: SocialPlatform;
  tag?: string;
  tier?: string;
  state?: 'active' | 'unreachable' | 'paused';
  search?: string;
  limit: number;
  offset: number;
  json?: boolean;
}

interface ImportOptions {
  platform: SocialPlatform;
  tags?: string;
  tier?: string;
  format?: 'csv' | 'json';
  json?: boolean;
}

interface SetOptions {
  platform: SocialPlatform;
  whereTag?: string;
  whereTier?: string;
  tier?: string;
  addTags?: string;
  removeTags?: string;
  pause?: boolean;
  resume?: boolean;
  json?: boolean;
}

function printReport(report: ImportReport, options: { json?: boolean }): void {
  if (options.json) {
    printObject(report as unknown as Record<string, unknown>, options);
    return;
  }
  const { rejected, ...counts } = report;
  printObject(counts, options);
  if (rejected.length === 0) return;
  process.stderr.write(`refused lines (${report.rejected_total}):\n`);
  for (const r of rejected.slice(0, SHOWN_REJECTS)) {
    process.stderr.write(`  line ${r.line}: ${r.field} "${r.value}": ${r.message}\n`);
  }
  if (report.rejected_total > SHOWN_REJECTS) {
    process.stderr.write(
      `  … and ${report.rejected_total - SHOWN_REJECTS} more (--json lists ${rejected.length})\n`,
    );
  }
}

async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SiphonError('SIPHON_ERR_CLI_USAGE', `cannot read ${file}: ${(error as Error).message}`, {
      field: 'file',
    });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SiphonError('SIPHON_ERR_ACCOUNTS_INVALID', `${file} is not JSON: ${(error as Error).message}`, {
      field: 'file',
    });
  }
}

function everyText(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
