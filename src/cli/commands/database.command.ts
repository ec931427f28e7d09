import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { wholeNumber } from '../arguments.js';
import cliProgress from 'cli-progress';
import { listRunners } from '../../db/repositories/runner.repository.js';
import { listPipelines } from '../../db/repositories/pipeline.repository.js';
import { currentMigrationVersion } from '../../db/migrator.js';
import { prepareDatabase } from '../../bootstrap/database.js';
import { loadDemo, resetDemo } from '../../demo/demo.service.js';
import { redactUrl } from '../../observability/index.js';
import { SiphonError } from '../../core/errors.js';
import { pruneOnce, retentionStatus } from '../../sync/index.js';
import { withContext } from '../context.js';
import { jsonOption, printObject, printRows } from '../output.js';

/** `migrate`, `demo load|reset` and `status`. */
export function registerDatabaseCommands(program: Command): void {
  registerMigrateCommand(program);
  registerDemoCommands(program);
  registerStatusCommand(program);
  registerPruneCommand(program);
}

/** `prune`: one retention pass now (runners also run one every SIPHON_RETENTION_INTERVAL). */
function registerPruneCommand(program: Command): void {
  program
    .command('prune')
    .description(
      'delete raw responses and finished sync jobs past their retention (SIPHON_RAW_RETENTION, SIPHON_SYNC_HISTORY_RETENTION), in bounded batches',
    )
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      await withContext(async ({ writer, config }) => {
        // No time budget here: a person asked for the whole pass.
        const pruned = await pruneOnce(writer, { ...config.retention, budgetMs: Number.MAX_SAFE_INTEGER });
        const kept = await retentionStatus(writer);
        printObject({ ...pruned, ...kept }, options);
      });
    });
}

/** `migrate`: the database roles and the pending migrations. */
function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('create the database roles and apply pending migrations (refuses to run twice at once)')
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      await withContext(
        async ({ db }) => {
          const result = await prepareDatabase(db.adminUrl, db.secrets.rolePasswords);
          printObject(
            {
              applied: result.applied.length ? result.applied : 'nothing to apply',
              schema_version: result.current,
            },
            options,
          );
        },
        { requireCurrent: false },
      );
    });
}

/** One demo load step: its rows, rate and ETA. */
const DEMO_PROGRESS_FORMAT = '  {step} [{bar}] {value}/{total} rows · {rate} rows/s · ETA {eta_formatted}';

/** `demo load` and `demo reset`: the demo data set of seed 004. */
function registerDemoCommands(program: Command): void {
  const demo = program
    .command('demo')
    .description('the demo data set of seed 004 (films, ratings, four pipelines)');
  demo
    .command('load')
    .description(
      'generate the demo data (deterministic) and install the demo pipelines; existing rows are kept',
    )
    .option('--films <n>', 'number of films', wholeNumber('--films', 1, 100_000_000))
    .option('--ratings <n>', 'number of ratings', wholeNumber('--ratings', 1, 1_000_000_000))
    .option('--reset', 'empty the demo sources, marts and run history first (asks, or needs --yes)')
    .option('--yes', 'with --reset: do not ask')
    .action(async (options: { films?: number; ratings?: number; reset?: boolean; yes?: boolean }) => {
      if (options.reset) await confirmReset('demo load --reset', options.yes === true);
      await withContext(
        async ({ config, admin }) => {
          if (options.reset) await resetDemo(admin);
          const sizes = {
            films: options.films ?? config.demo.films,
            ratings: options.ratings ?? config.demo.ratings,
          };
          // Rows, rate and ETA per step: redrawn on a terminal, a line a minute to a pipe or a log.
          const bars = new cliProgress.MultiBar(
            {
              format: DEMO_PROGRESS_FORMAT,
              stream: process.stderr,
              hideCursor: true,
              noTTYOutput: true,
              notTTYSchedule: 60_000,
            },
            cliProgress.Presets.shades_classic,
          );
          const byStep = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
          const counts = await loadDemo(admin, sizes, (step, done, total) => {
            let entry = byStep.get(step);
            if (!entry) {
              entry = {
                bar: bars.create(total, 0, { step: step.padEnd(7), rate: '…' }),
                started: Date.now(),
              };
              byStep.set(step, entry);
            }
            const seconds = (Date.now() - entry.started) / 1000;
            // Under a second of history says nothing about the rate.
            const rate = seconds < 1 ? '…' : Math.round(done / seconds).toLocaleString('en-US');
            entry.bar.update(done, { step: step.padEnd(7), rate });
          });
          bars.stop();
          process.stdout.write(`demo loaded: ${counts.films} films, ${counts.ratings} ratings\n`);
        },
        { migrate: true },
      );
    });
  demo
    .command('reset')
    .description("empty the demo sources, marts and the demo pipelines' run history and checkpoints")
    .option('--yes', 'do not ask')
    .action(async (options: { yes?: boolean }) => {
      await confirmReset('demo reset', options.yes === true);
      await withContext(async ({ admin }) => {
        await resetDemo(admin);
        process.stdout.write('demo data, marts and demo run history removed\n');
      });
    });
}

const RESET_DELETES =
  'content.film_work, ugc.ratings, analytics.film_dim and analytics.film_rating_agg are emptied, and the ' +
  "demo pipelines' run history and checkpoints are deleted (their next run starts from scratch)";

/**
 * A reset deletes data a person may want: it says what, and goes on only after "yes" typed on a
 * terminal or `--yes`; without a terminal to ask on, it refuses rather than guess.
 */
async function confirmReset(command: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new SiphonError(
      'SIPHON_ERR_CLI_USAGE',
      `${command}: ${RESET_DELETES}; add --yes to confirm (there is no terminal to ask on)`,
      { field: 'yes' },
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${RESET_DELETES}.\nType yes to go on: `);
    if (answer.trim().toLowerCase() !== 'yes') {
      throw new SiphonError('SIPHON_ERR_CLI_USAGE', `${command}: not confirmed, nothing deleted`, {
        field: 'yes',
      });
    }
  } finally {
    rl.close();
  }
}

/** `status`: database, schema version, live runners and pipelines. */
function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('database, schema version, live runners and pipelines at a glance')
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      await withContext(async ({ db, api, config }) => {
        const runners = (await listRunners(api, config.runner.leaseMs)).filter((r) => r.alive);
        const pipelines = await listPipelines(api);
        const byStatus: Record<string, number> = {};
        for (const p of pipelines) byStatus[p.status] = (byStatus[p.status] ?? 0) + 1;
        printObject(
          {
            database: redactUrl(db.adminUrl),
            embedded: db.embedded
              ? 'started for this command'
              : db.ownsServer
                ? 'yes'
                : 'attached or external',
            schema_version: await currentMigrationVersion(api),
            live_runners: runners.map((r) => r.id),
            pipelines: pipelines.length,
            by_status: byStatus,
          },
          options,
        );
        if (!options.json)
          printRows(
            pipelines as unknown as Record<string, unknown>[],
            ['name', 'status', 'enabled', 'mode', 'target_table'],
            options,
          );
      });
    });
}
