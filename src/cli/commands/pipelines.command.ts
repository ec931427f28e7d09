import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { presentPipeline } from '../../api/presenters.js';
import { SiphonError } from '../../core/errors.js';
import { createSecretResolver } from '../../config/index.js';
import { listPipelines } from '../../db/repositories/pipeline.repository.js';
import { findRun, listBatches, listRuns } from '../../db/repositories/run.repository.js';
import { readState } from '../../db/repositories/state.repository.js';
import { changeEnabled, getPipeline, requestStatus } from '../../pipelines/index.js';
import { reconcilePipeline } from '../../reconcile/index.js';
import { pipelineSyncStatus } from '../../api/routes/sync.routes.js';
import { Paging } from '../../api/route-schemas.js';
import { wholeNumber, wholeNumberOf } from '../arguments.js';
import { withContext } from '../context.js';
import { jsonOption, printObject, printRows, progressReporter } from '../output.js';
import { printSyncStatus } from './social.command.js';

const CLI_USER = 'cli';

/** `pipelines list|show|run|pause|enable|disable`, `reconcile` and `runs`. */
export function registerPipelineCommands(program: Command): void {
  const pipelines = program.command('pipelines').description('list, inspect, run and pause pipelines');
  registerPipelineReadCommands(pipelines);
  registerPipelineStatusCommands(pipelines);
  registerReconcileCommand(program);
  registerRunsCommand(program);
}

/** `pipelines list` and `pipelines show <pipeline>` (a social one with its sync status). */
function registerPipelineReadCommands(pipelines: Command): void {
  pipelines
    .command('list')
    .description('all pipelines with their status')
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const rows = (await listPipelines(api)).map(presentPipeline);
        printRows(rows, ['id', 'name', 'status', 'enabled', 'mode', 'batch_size', 'target_table'], options);
      });
    });

  pipelines
    .command('show <pipeline>')
    .description('one pipeline (by id or name) with its checkpoint; a social one with its sync status')
    .addOption(jsonOption())
    .action(async (idOrName: string, options: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const row = await getPipeline(api, idOrName);
        const state = await readState(api, row.id);
        const shown = { ...presentPipeline(row), checkpoint: state ?? null };
        if (row.kind !== 'social') {
          printObject(shown, options);
          return;
        }
        const sync = await pipelineSyncStatus(api, row.id);
        if (options.json) {
          printObject({ ...shown, sync }, options);
          return;
        }
        printObject(shown, options);
        printSyncStatus(sync, options);
      });
    });
}

/** `pipelines run|pause|enable|disable <pipeline>`: the status changes a person asks for. */
function registerPipelineStatusCommands(pipelines: Command): void {
  pipelines
    .command('run <pipeline>')
    .description('request a run (a runner picks it up); --wait follows it to the end')
    .option('--wait', 'wait until the run ends and print its summary')
    .option(
      '--timeout <seconds>',
      'give up waiting after this long',
      wholeNumber('--timeout', 1, 7 * 86_400),
      600,
    )
    .addOption(jsonOption())
    .action(async (idOrName: string, options: { wait?: boolean; timeout: number; json?: boolean }) => {
      const timeout = options.timeout;
      await withContext(async ({ api }) => {
        const row = await requestStatus(api, idOrName, 'run', CLI_USER, 'cli');
        if (!options.wait) {
          printObject({ id: row.id, name: row.name, status: row.status }, options);
          return;
        }
        const run = await waitForRun(api, row.id, timeout * 1000);
        printObject(run as unknown as Record<string, unknown>, options);
        // A script waiting for a run learns how it ended: 0 only when it succeeded.
        if (run.status === 'FAILED') process.exitCode = 1;
        else if (run.status !== 'SUCCESS') process.exitCode = 4;
      });
    });

  pipelines
    .command('pause <pipeline>')
    .description('request a pause: the runner stops after its current batch, checkpoint committed')
    .addOption(jsonOption())
    .action(async (idOrName: string, options: { json?: boolean }) => {
      await withContext(async ({ api }) => {
        const row = await requestStatus(api, idOrName, 'pause', CLI_USER);
        printObject({ id: row.id, name: row.name, status: row.status }, options);
      });
    });

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    pipelines
      .command(`${verb} <pipeline>`)
      .description(
        enabled ? 'let runners execute the pipeline' : 'runners ignore the pipeline until it is enabled',
      )
      .addOption(jsonOption())
      .action(async (idOrName: string, options: { json?: boolean }) => {
        await withContext(async ({ api }) => {
          const row = await changeEnabled(api, idOrName, enabled, CLI_USER);
          printObject({ id: row.id, name: row.name, enabled: row.enabled, status: row.status }, options);
        });
      });
  }
}

/** `reconcile <pipeline>`: compare (and with `--repair`, re-sync) source and target; exits 3 when they differ. */
function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile <pipeline>')
    .description('compare source and target: counts, key ranges, bucket digests, then the differing keys')
    .option('--repair', 're-sync only the differing keys')
    .option(
      '--buckets <n>',
      'hash buckets to compare before drilling down',
      wholeNumber('--buckets', 1, 65_536),
      64,
    )
    .addOption(jsonOption())
    .action(async (idOrName: string, options: { repair?: boolean; buckets: number; json?: boolean }) => {
      const buckets = options.buckets;
      await withContext(async ({ api, writer, config }) => {
        const pipeline = await getPipeline(api, idOrName);
        const result = await reconcilePipeline({ source: writer, target: writer, writer }, pipeline, {
          buckets,
          repair: options.repair ?? false,
          policy: config.sqlPolicy,
          requestedBy: CLI_USER,
          // A source on another server is opened with this process's secrets, as `connections test` does.
          sources: {
            resolveSecret: createSecretResolver(config),
            statementTimeoutMs: config.runner.statementTimeoutMs,
            applicationName: 'siphon-cli',
          },
        });
        if (options.json) {
          printObject(result as unknown as Record<string, unknown>, options);
        } else {
          const { summary } = result as {
            summary: { source: Record<string, unknown>; target: Record<string, unknown> };
          };
          printRows(
            [
              { side: 'source', ...summary.source },
              { side: 'target', ...summary.target },
            ],
            ['side', 'rows', 'key_min', 'key_max', 'inc_min', 'inc_max'],
            options,
          );
          process.stdout.write(
            `${result.status}: ${result.differing_buckets}/${result.buckets} buckets differ; ` +
              `${result.missing_keys.length} missing, ${result.extra_keys.length} extra, ${result.changed_keys.length} changed` +
              `${options.repair ? `; ${result.repaired_rows} rows repaired` : ''}\n`,
          );
          for (const [label, keys] of [
            ['missing', result.missing_keys],
            ['extra', result.extra_keys],
            ['changed', result.changed_keys],
          ] as const) {
            if (keys.length)
              process.stdout.write(
                `  ${label}: ${keys
                  .slice(0, 20)
                  .map((k) => k.join('|'))
                  .join(', ')}${keys.length > 20 ? ', …' : ''}\n`,
              );
          }
        }
        if (result.status === 'DIFFERENT') process.exitCode = 3;
      });
    });
}

/** `runs <pipeline>`: recent runs, or with `--run <id>` one run with its batches or its sync status. */
function registerRunsCommand(program: Command): void {
  program
    .command('runs <pipeline>')
    .description(
      'recent runs of a pipeline, newest first; --run <id> shows one run with its batch ledger (social: its sync status)',
    )
    .option('--limit <n>', 'how many runs', wholeNumberOf('--limit', Paging.limit), 20)
    .option('--run <run_id>', 'show this run and its batches')
    .addOption(jsonOption())
    .action(async (idOrName: string, options: { limit: number; run?: string; json?: boolean }) => {
      await withContext(async ({ api }) => {
        const row = await getPipeline(api, idOrName);
        if (options.run) {
          const run = await findRun(api, options.run);
          if (!run || run.pipeline_id !== row.id) {
            throw new SiphonError(
              'SIPHON_ERR_RUN_NOT_FOUND',
              `no run ${options.run} for pipeline ${row.name}`,
            );
          }
          if (row.kind === 'social') {
            // A social run commits pages, not batches: its jobs and tasks say where it stands.
            const sync = await pipelineSyncStatus(api, row.id, run.id);
            if (options.json) {
              printObject({ ...run, sync } as unknown as Record<string, unknown>, options);
            } else {
              printObject(run as unknown as Record<string, unknown>, options);
              printSyncStatus(sync, options);
            }
            return;
          }
          printObject(run as unknown as Record<string, unknown>, options);
          printRows(
            (await listBatches(api, run.id)) as unknown as Record<string, unknown>[],
            ['batch_no', 'rows_read', 'rows_written', 'duration_ms', 'cursor_to', 'committed_at'],
            options,
          );
          return;
        }
        const runs = await listRuns(api, row.id, options.limit);
        printRows(
          runs.map((r) => ({
            ...r,
            duration_s: r.finished_at
              ? ((r.finished_at.getTime() - r.started_at.getTime()) / 1000).toFixed(2)
              : '',
          })),
          [
            'id',
            'status',
            'trigger',
            'started_at',
            'duration_s',
            'rows_read',
            'rows_written',
            'rows_deleted',
            'batches',
            'error_code',
          ],
          options,
        );
      });
    });
}

async function waitForRun(api: Parameters<typeof getPipeline>[0], pipelineId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let seenRun: string | undefined;
  const progress = progressReporter();
  while (Date.now() < deadline) {
    const row = await getPipeline(api, pipelineId);
    if (row.current_run_id) seenRun = row.current_run_id;
    if (seenRun && row.status !== 'IDLE') {
      const run = await findRun(api, seenRun);
      if (run?.status === 'RUNNING') progress(() => runProgressLine(run));
    }
    if (['IDLE', 'FAILED', 'PAUSED'].includes(row.status) && seenRun) {
      const run = await findRun(api, seenRun);
      if (run && run.status !== 'RUNNING') {
        progress.end();
        return run;
      }
    }
    if (['IDLE', 'FAILED', 'PAUSED'].includes(row.status) && !seenRun) {
      const [latest] = await listRuns(api, pipelineId, 1);
      if (latest && latest.status !== 'RUNNING') {
        progress.end();
        return latest;
      }
    }
    await sleep(250);
  }
  progress.end();
  throw new SiphonError(
    'SIPHON_ERR_RUN_WAIT_TIMEOUT',
    `the run did not finish within ${timeoutMs / 1000}s; is a runner running?`,
  );
}

/** Rows read, batches and the rate since the run started. */
function runProgressLine(run: {
  id: string;
  rows_read: number | string;
  batches: number | string;
  started_at: Date;
}) {
  const rows = Number(run.rows_read);
  const seconds = Math.max(0.001, (Date.now() - new Date(run.started_at).getTime()) / 1000);
  const rate = Math.round(rows / seconds);
  return `run ${run.id.slice(0, 8)}: ${rows.toLocaleString('en-US')} rows read, ${run.batches} batches, ${rate.toLocaleString('en-US')} rows/s, ${Math.round(seconds)} s`;
}
