import { isUuid } from '../../core/identifiers.js';
import { Option, type Command } from 'commander';
import { instant, wholeNumber } from '../arguments.js';
import { channelIdOf } from '../../simulators/youtube/ids.js';
import { startYouTubeSimulator } from '../../simulators/youtube/index.js';
import { startInstagramSimulator } from '../../simulators/instagram/index.js';
import { startTikTokSimulator } from '../../simulators/tiktok/index.js';
import { startMlSimulator } from '../../simulators/ml/index.js';
import { pipelineSyncStatus, type PipelineSyncStatus } from '../../api/routes/sync.routes.js';
import { replayInstagramRaw } from '../../connectors/instagram/index.js';
import { replayTikTokRaw } from '../../connectors/tiktok/index.js';
import { replayYouTubeRaw } from '../../connectors/youtube/index.js';
import { SiphonError } from '../../core/errors.js';
import {
  listQuotaStatus,
  planQuotas,
  SYNC_TASK_STATUSES,
  PLATFORMS,
  type Platform,
  type QuotaStatusRow,
} from '../../sync/index.js';
import { REPLAY_TABLES, replayRawZone, type RawReplayer, type ReplaySummary } from '../../sync/replay.js';
import { loadConfig } from '../../config/index.js';
import { withContext } from '../context.js';
import { assertCredentials, syncAccounts, type SyncAccountsOptions } from './sync-accounts.js';
import { jsonOption, printObject, printRows, type OutputOptions } from '../output.js';

const ACCOUNT_WORDS: Record<Platform, string> = {
  youtube: 'YouTube channels (ids or @handles)',
  instagram: 'Instagram accounts (ids or usernames)',
  tiktok: 'TikTok accounts (usernames)',
};

/** Social sync from the command line: platform simulators, the quota limiters, and a sync of named accounts. */
export function registerSocialCommands(program: Command): void {
  registerSimulatorCommands(program);
  registerQuotaCommand(program);
  registerSyncCommands(program);
}

/** `simulate youtube|instagram|tiktok|ml`: the local simulators, on 8101–8104 by default. */
function registerSimulatorCommands(program: Command): void {
  const simulate = program
    .command('simulate')
    .description('local simulators of the platform APIs (loopback only)');
  registerYouTubeSimulator(simulate);
  registerInstagramSimulator(simulate);
  registerTikTokSimulator(simulate);
  registerMlSimulator(simulate);
}

/** `simulate youtube`: a YouTube Data API v3 simulator. */
function registerYouTubeSimulator(simulate: Command): void {
  simulate
    .command('youtube')
    .description('serve a YouTube Data API v3 simulator with deterministic data')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', wholeNumber('--port', 0, 65535), 8101)
    .option('--channels <n>', 'number of channels', wholeNumber('--channels', 1, 1_000_000), 30)
    .option('--seed <n>', 'data seed (same seed, same data)', wholeNumber('--seed', 0, 2 ** 31), 1)
    .option('--key <key>', 'the API key it accepts', 'sim-key')
    .action(async (options: { port: number; channels: number; seed: number; key: string }) => {
      const sim = await startYouTubeSimulator(
        { seed: options.seed, channels: options.channels, apiKeys: [options.key] },
        options.port,
      );
      const ids = Array.from({ length: Math.min(5, options.channels) }, (_, i) =>
        channelIdOf(options.seed, i),
      );
      process.stdout.write(
        [
          `YouTube simulator on ${sim.baseUrl} (${options.channels} channels, seed ${options.seed})`,
          `  SIPHON_YOUTUBE_BASE_URL=${sim.baseUrl} SIPHON_YOUTUBE_API_KEY=${options.key} \\`,
          `    npm run siphon -- sync youtube ${ids.join(' ')}`,
          '  Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
      stopOnSignal(sim);
    });
}

/** `simulate instagram`: an Instagram Graph API simulator. */
function registerInstagramSimulator(simulate: Command): void {
  simulate
    .command('instagram')
    .description('serve an Instagram Graph API simulator with deterministic data')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', wholeNumber('--port', 0, 65535), 8102)
    .option('--accounts <n>', 'number of accounts', wholeNumber('--accounts', 1, 1_000_000), 30)
    .option('--seed <n>', 'data seed (same seed, same data)', wholeNumber('--seed', 0, 2 ** 31), 1)
    .option('--token <token>', 'the access token it accepts', 'sim-token')
    .action(async (options: { port: number; accounts: number; seed: number; token: string }) => {
      const sim = await startInstagramSimulator(
        { seed: options.seed, accounts: options.accounts, accessTokens: [options.token] },
        options.port,
      );
      const others = Array.from({ length: Math.min(4, options.accounts - 1) }, (_, i) =>
        sim.control.username(i + 1),
      );
      process.stdout.write(
        [
          `Instagram simulator on ${sim.baseUrl} (${options.accounts} accounts, seed ${options.seed})`,
          `  SIPHON_INSTAGRAM_BASE_URL=${sim.baseUrl} SIPHON_INSTAGRAM_ACCESS_TOKEN=${options.token} \\`,
          `  SIPHON_INSTAGRAM_USER_ID=${sim.userId}`,
          `  own account: ${sim.userId}; others (business discovery): ${others.join(' ')}`,
          '  Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
      stopOnSignal(sim);
    });
}

/** `simulate tiktok`: a TikTok Research API simulator. */
function registerTikTokSimulator(simulate: Command): void {
  simulate
    .command('tiktok')
    .description('serve a TikTok Research API simulator with deterministic data')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', wholeNumber('--port', 0, 65535), 8103)
    .option('--users <n>', 'number of users', wholeNumber('--users', 1, 262_143), 30)
    .option('--seed <n>', 'data seed (same seed, same data)', wholeNumber('--seed', 0, 2 ** 31), 1)
    .option('--client-key <key>', 'the client key it accepts', 'sim-client-key')
    .option('--client-secret <secret>', 'the client secret it accepts', 'sim-client-secret')
    .action(
      async (options: {
        port: number;
        users: number;
        seed: number;
        clientKey: string;
        clientSecret: string;
      }) => {
        const sim = await startTikTokSimulator(
          {
            seed: options.seed,
            users: options.users,
            clients: { [options.clientKey]: options.clientSecret },
            // Content up to now, so the adapter's "last 180 days" windows find it.
            asOf: new Date().toISOString(),
          },
          options.port,
        );
        process.stdout.write(
          [
            `TikTok simulator on ${sim.baseUrl} (${options.users} users, seed ${options.seed})`,
            `  SIPHON_TIKTOK_BASE_URL=${sim.baseUrl} SIPHON_TIKTOK_CLIENT_KEY=${options.clientKey} SIPHON_TIKTOK_CLIENT_SECRET=${options.clientSecret}`,
            `  usernames: ${sim.control.usernames().slice(0, 5).join(' ')}`,
            '  Stop with Ctrl-C.',
            '',
          ].join('\n'),
        );
        stopOnSignal(sim);
      },
    );
}

/** `simulate ml`: an ML / image-recognition service simulator. */
function registerMlSimulator(simulate: Command): void {
  simulate
    .command('ml')
    .description('serve an ML / image-recognition service simulator (asynchronous jobs)')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free port)', wholeNumber('--port', 0, 65535), 8104)
    .option('--token <token>', 'the bearer token it accepts', 'sim-ml-token')
    .option('--delay <ms>', 'time from submit to result', wholeNumber('--delay', 0, 86_400_000), 3000)
    .option('--failure-rate <percent>', 'share of jobs that fail', wholeNumber('--failure-rate', 0, 100), 0)
    .option('--max-active <n>', 'unfinished jobs before 429 overloaded', wholeNumber('--max-active', 1, 1e6))
    .option('--seed <n>', 'result seed (same seed, same labels)', wholeNumber('--seed', 0, 2 ** 31), 1)
    .action(
      async (options: {
        port: number;
        token: string;
        delay: number;
        failureRate: number;
        maxActive?: number;
        seed: number;
      }) => {
        const sim = await startMlSimulator(
          {
            seed: options.seed,
            tokens: [options.token],
            completionDelayMs: options.delay,
            failureRate: options.failureRate / 100,
            ...(options.maxActive === undefined ? {} : { maxActiveJobs: options.maxActive }),
          },
          options.port,
        );
        process.stdout.write(
          [
            `ML simulator on ${sim.baseUrl} (results after ${options.delay} ms, ${options.failureRate} % fail, seed ${options.seed})`,
            `  SIPHON_ML_BASE_URL=${sim.baseUrl} (bearer token: ${options.token})`,
            '  Stop with Ctrl-C.',
            '',
          ].join('\n'),
        );
        stopOnSignal(sim);
      },
    );
}

/** `quota`: every platform credential's shared limiter. */
function registerQuotaCommand(program: Command): void {
  const quota = program
    .command('quota')

    .description(
      'the shared quota limiter of every platform credential: call rate, calls, 429s, daily units, pause',
    )
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const rows = await listQuotaStatus(api);
        if (options.json) {
          printRows(rows as unknown as Record<string, unknown>[], [], options);
          return;
        }
        printRows(rows.map(presentQuota), QUOTA_COLUMNS, options);
      });
    });

  quota
    .command('plan')
    .description(
      'forecast: what the tracked accounts need a day at their tiers against the credentials, which tiers fall behind, what would fit',
    )
    .option(
      '--days <n>',
      'measure the cost of a regular sync on this many days of runs',
      wholeNumber('--days', 1, 90),
      7,
    )
    .addOption(jsonOption())
    .action(async (own: { days: number; json?: boolean }) => {
      // `quota plan --json`: commander may hand --json to the parent `quota`, which has it too.
      const options = { ...own, json: own.json === true || quota.opts<{ json?: boolean }>().json === true };
      await withContext(async ({ api }) => {
        const plan = await planQuotas(api, options.days);
        if (options.json) {
          printObject(plan as unknown as Record<string, unknown>, options);
          return;
        }
        for (const p of plan.platforms) {
          const verdict = p.fits
            ? 'fits'
            : `does NOT fit: ${p.credentials_needed ?? '?'} credentials like the current ones would`;
          process.stdout.write(
            `${p.platform}: needs ${p.need_per_day} calls/day, ${p.credentials} credential(s) give ${p.capacity_per_day} — ${verdict}\n`,
          );
          printRows(
            p.tiers.map((t) => ({
              ...t,
              fits: t.fits ? 'yes' : `NO (${Math.round(t.coverage * 100)} %)`,
              every: `${t.interval_seconds}s`,
              really_every:
                t.effective_interval_seconds === null ? 'never' : `${t.effective_interval_seconds}s`,
              fits_at: t.interval_that_fits_seconds === null ? '' : `${t.interval_that_fits_seconds}s`,
            })),
            [
              'tier',
              'accounts',
              'every',
              'cost_per_sync',
              'cost_source',
              'need_per_day',
              'allocated_per_day',
              'kept_for_faster_per_day',
              'fits',
              'really_every',
              'fits_at',
            ],
            options,
          );
        }
      });
    });
}

/** `sync <platform> <account…>`, `sync status <pipeline>` and `sync replay`. */
function registerSyncCommands(program: Command): void {
  const sync = program
    .command('sync')
    .description('sync social accounts into the raw zone and the unified tables');
  for (const platform of PLATFORMS) registerSyncAccountsCommand(sync, platform);
  registerSyncStatusCommand(sync);
  registerSyncReplayCommand(sync);
}

/** `sync <platform> <account…>`: a social pipeline run to its end in this process. */
function registerSyncAccountsCommand(sync: Command, platform: Platform): void {
  sync
    .command(`${platform} <account...>`)
    .description(
      `sync ${ACCOUNT_WORDS[platform]} now: a social pipeline (created or updated) run to its end by a runner in this process; Ctrl-C pauses it`,
    )
    .option('--pipeline <name>', 'the social pipeline to create or update', `sync_${platform}`)
    .option('--backfill', 'every post and all its comments, not only what is new (mode full)')
    .option('--since <date>', 'backfill posts published from this date (implies --backfill)')
    .option('--until <date>', 'backfill posts published before this date (implies --backfill)')
    .addOption(jsonOption())
    .action(async (accounts: string[], options: SyncAccountsOptions & { json?: boolean }) => {
      assertCredentials(loadConfig(), platform);
      await withContext(async (ctx) => {
        const result = await syncAccounts(ctx, platform, accounts, options, (pause) => {
          process.once('SIGINT', () => {
            ctx.logger.info('pausing after the current pages (Ctrl-C again to force)');
            pause();
            process.once('SIGINT', () => process.exit(130));
          });
        });
        const order = new Map(accounts.map((a, i) => [a, i]));
        const rows = result.jobs
          .map((j) => ({
            account: j.account,
            status: j.status,
            calls: j.calls,
            error_code: j.error_code ?? '',
          }))
          .sort((a, b) => (order.get(a.account) ?? order.size) - (order.get(b.account) ?? order.size));
        printRows(rows, ['account', 'status', 'calls', 'error_code'], options);
        if (!options.json) {
          const run = result.run;
          process.stdout.write(
            `pipeline ${result.pipeline.name}: ${result.pipeline.status}` +
              (run ? `, run ${run.id} ${run.status}${run.error_code ? ` ${run.error_code}` : ''}` : '') +
              (result.pipeline.status === 'PAUSED' ? ' (run the same command again to resume)' : '') +
              '\n',
          );
        }
        if (result.run?.status !== 'SUCCESS' || rows.some((r) => r.status !== 'SUCCESS'))
          process.exitCode = 1;
      });
    });
}

/** `sync status <pipeline>`: the sync summary of a run. */
function registerSyncStatusCommand(sync: Command): void {
  sync
    .command('status <pipeline>')
    .description(
      "a social pipeline's current or last run: jobs, tasks, waiting items, calls, failed accounts",
    )
    .option('--run <run_id>', 'an earlier run of the pipeline')
    .addOption(jsonOption())
    .action(async (idOrName: string, options: { run?: string; json?: boolean }) => {
      if (options.run !== undefined && !isUuid(options.run)) {
        throw new SiphonError(
          'SIPHON_ERR_CLI_USAGE',
          `--run must be a run id (a uuid), got "${options.run}"`,
          {
            field: 'run',
          },
        );
      }
      await withContext(async ({ api }) => {
        printSyncStatus(await pipelineSyncStatus(api, idOrName, options.run), options);
      });
    });
}

/** `sync replay`: the transforms again from the raw zone, with no platform call. */
function registerSyncReplayCommand(sync: Command): void {
  sync
    .command('replay')
    .description(
      'run the transforms again from the raw zone (no platform call): raw pages in fetched_at order, upserts only',
    )
    .addOption(
      new Option('--platform <platform>', 'the platform whose raw pages to replay')
        .choices(PLATFORMS)
        .makeOptionMandatory(),
    )
    .option('--since <iso>', 'pages fetched at or after this instant (ISO 8601)', instant('--since'))
    .option('--until <iso>', 'pages fetched before this instant (ISO 8601)', instant('--until'))
    .option('--kind <kind>', 'only raw pages of this kind (profile, videos, posts_page, comments_page, …)')
    .option('--batch <pages>', 'raw pages per transaction', wholeNumber('--batch', 1, 10_000), 100)
    .addOption(jsonOption())
    .action(
      async (options: {
        platform: Platform;
        since?: Date;
        until?: Date;
        kind?: string;
        batch: number;
        json?: boolean;
      }) => {
        if (options.since && options.until && options.since >= options.until) {
          throw new SiphonError('SIPHON_ERR_CLI_USAGE', '--since must be before --until', { field: 'since' });
        }
        await withContext(async ({ writer, logger }) => {
          const summary = await replayRawZone(
            { pool: writer, replay: REPLAYERS[options.platform], logger },
            {
              platform: options.platform,
              pagesPerTransaction: options.batch,
              ...(options.since ? { since: options.since } : {}),
              ...(options.until ? { until: options.until } : {}),
              ...(options.kind ? { kind: options.kind } : {}),
            },
          );
          printReplaySummary(summary, options);
        });
      },
    );
}

/** Each platform's pure transform of a stored page: a replay needs no credential. */
const REPLAYERS: Readonly<Record<Platform, RawReplayer>> = {
  youtube: replayYouTubeRaw,
  instagram: replayInstagramRaw,
  tiktok: replayTikTokRaw,
};

function printReplaySummary(summary: ReplaySummary, options: OutputOptions): void {
  if (options.json) {
    printObject(summary as unknown as Record<string, unknown>, options);
    return;
  }
  printObject(
    {
      platform: summary.platform,
      range: `${summary.since ?? '(first page)'} … ${summary.until ?? '(last page)'}`,
      kind: summary.kind ?? '(every kind)',
      pages: summary.pages,
      transactions: summary.transactions,
      quarantined: `${summary.quarantined} (${summary.quarantinedNew} new)`,
    },
    options,
  );
  printRows(
    REPLAY_TABLES.map((table) => ({ table, mapped: summary.mapped[table], written: summary.rows[table] })),
    ['table', 'mapped', 'written'],
    options,
  );
}

const QUOTA_COLUMNS = [
  'platform',
  'credential',
  'rate',
  'calls_total',
  'rate_limited',
  'units_used',
  'daily_units',
  'units_remaining',
  'used_percent',
  'paused_until',
];

function presentQuota(row: QuotaStatusRow): Record<string, unknown> {
  return {
    ...row,
    rate: `${row.calls_per_window} / ${humanMs(row.window_ms)}`,
    used_percent: row.used_percent === null ? null : `${Math.round(row.used_percent * 10) / 10} %`,
  };
}

/**
 * The sync summary for people (a summary, the tasks by kind and status, the failed accounts), or the
 * API's JSON with `--json`. `pipelines show` prints it too for a social pipeline.
 */
export function printSyncStatus(status: PipelineSyncStatus, options: OutputOptions): void {
  if (options.json) {
    printObject(status as unknown as Record<string, unknown>, options);
    return;
  }
  const jobs = status.jobs.by_status;
  printObject(
    {
      pipeline: `${status.name} (${status.platform}, ${status.accounts} accounts)`,
      pipeline_status: status.pipeline_status,
      run: status.run ? `${status.run.id} ${status.run.status}` : '(no run yet)',
      started_at: status.run?.started_at,
      finished_at: status.run?.finished_at,
      jobs: `${status.jobs.total}: ${jobs.RUNNING} running, ${jobs.SUCCESS} succeeded, ${jobs.FAILED} failed, ${jobs.SKIPPED ?? 0} skipped`,
      calls: status.calls,
      waiting: status.waiting.items,
      oldest_wait: status.waiting.oldest_wait_ms === null ? null : humanMs(status.waiting.oldest_wait_ms),
      next_retry_at: status.waiting.earliest_not_before,
      run_error: status.run?.error_code ? `${status.run.error_code} ${status.run.error ?? ''}`.trim() : null,
    },
    options,
  );
  const kinds = Object.entries(status.tasks.by_kind);
  if (kinds.length > 0) {
    printRows(
      kinds.map(([kind, counts]) => ({ kind, ...counts })),
      ['kind', ...SYNC_TASK_STATUSES],
      options,
    );
  }
  printAccounts('Failed accounts', status.failures, options);
  printAccounts('Skipped accounts (unreachable)', status.skipped, options);
}

function printAccounts(
  title: string,
  list: { readonly total: number; readonly items: readonly unknown[] },
  options: OutputOptions,
): void {
  if (list.total === 0) return;
  const shown = list.total > list.items.length ? ` (first ${list.items.length})` : '';
  process.stdout.write(`${title}: ${list.total}${shown}\n`);
  printRows(list.items as Record<string, unknown>[], ['account', 'handle', 'error_code', 'message'], options);
}

/** 450 ms, 12 s, 3 min 5 s, 2 h 10 min. */
function humanMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

/** A simulator runs until Ctrl-C (or SIGTERM), then closes and exits. */
function stopOnSignal(sim: { close(): Promise<void> }): void {
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
