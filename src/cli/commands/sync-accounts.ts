import { setTimeout as sleep } from 'node:timers/promises';
import { buildAdapters, buildCredentialPools } from '../../bootstrap/adapters.js';
import { startRunner } from '../../bootstrap/services.js';
import { credentialsFor } from '../../sync/credential-pool.js';
import type { Config } from '../../config/index.js';
import { SiphonError } from '../../core/errors.js';
import {
  listRunJobs,
  readSyncSummary,
  type Platform,
  type RunJobRow,
  type SyncSummary,
} from '../../sync/index.js';
import { configOf, findPipeline, type PipelineRow } from '../../db/repositories/pipeline.repository.js';
import { listRuns, type RunRow } from '../../db/repositories/run.repository.js';
import type { Executor } from '../../db/pool.js';
import { patchPipeline, requestStatus, savePipeline } from '../../pipelines/index.js';
import type { CliContext } from '../context.js';
import { progressReporter } from '../output.js';

/** The variables a platform's adapter needs, named in the error when one is missing. */
const CREDENTIALS: Record<Platform, string> = {
  youtube: 'SIPHON_YOUTUBE_API_KEY',
  instagram: 'SIPHON_INSTAGRAM_ACCESS_TOKEN and SIPHON_INSTAGRAM_USER_ID',
  tiktok: 'SIPHON_TIKTOK_CLIENT_KEY and SIPHON_TIKTOK_CLIENT_SECRET',
};

export interface SyncAccountsOptions {
  readonly pipeline: string;
  readonly backfill?: boolean;
  readonly since?: string;
  readonly until?: string;
}

export interface SyncAccountsResult {
  readonly pipeline: PipelineRow;
  readonly run: RunRow | undefined;
  readonly jobs: RunJobRow[];
}

/** Refuses before touching the database when this process cannot reach the platform. */
export function assertCredentials(config: Config, platform: Platform): void {
  if (!buildAdapters(config).has(platform) && !buildCredentialPools(config).has(platform)) {
    const names = CREDENTIALS[platform];
    throw new SiphonError(
      'SIPHON_ERR_CONFIG_INVALID',
      `${names} ${names.includes(' and ') ? 'are' : 'is'} not set`,
      { field: names.split(' ')[0]! },
    );
  }
}

/**
 * `siphon sync <platform> <account…>`: a social pipeline like any other, run to its end by a runner
 * started in this process (other runners may take part). The pipeline is created, or its accounts
 * (and backfill range) replaced as a new configuration version; its other settings stay. The run goes
 * through the shared quota limiter, graphile-worker page steps and the run history. `pause` is
 * called on the first Ctrl-C: the run stops after its current pages, resumable by the same command.
 */
export async function syncAccounts(
  ctx: CliContext,
  platform: Platform,
  accounts: readonly string[],
  options: SyncAccountsOptions,
  onInterrupt: (pause: () => void) => void,
): Promise<SyncAccountsResult> {
  const { api, config, db, logger } = ctx;
  // The command's own credentials, by name: every runner that takes part (a server's too) uses only
  // these, so a runner configured for other accounts or a simulator leaves the pages to this one.
  const credentials = credentialsFor(
    { adapters: buildAdapters(config), pools: buildCredentialPools(config) },
    platform,
  ).map((c) => c.adapter.credentialId);
  const social = {
    accounts,
    credentials,
    since: options.since ?? null,
    until: options.until ?? null,
  };
  const mode = options.backfill || options.since || options.until ? 'full' : 'incremental';
  const existing = await findPipeline(api, options.pipeline);
  let pipeline: PipelineRow;
  if (existing) {
    if (existing.kind !== 'social' || existing.social?.platform !== platform) {
      throw new SiphonError(
        'SIPHON_ERR_CLI_USAGE',
        `pipeline ${existing.name} is not a social pipeline of ${platform}; choose another name with --pipeline`,
        { field: 'pipeline' },
      );
    }
    const current = configOf(existing) as { social: Record<string, unknown> };
    ({ pipeline } = await patchPipeline(
      api,
      existing.id,
      { mode, social: { ...current.social, ...social } },
      'cli',
      existing.version,
    ));
  } else {
    pipeline = await savePipeline(
      api,
      { name: options.pipeline, kind: 'social', mode, social: { platform, ...social } },
      'cli',
    );
  }
  const before = (await listRuns(api, pipeline.id, 1))[0]?.id;
  await requestStatus(api, pipeline.id, 'run', 'cli', 'cli');
  const running = await startRunner(config, db, logger);
  try {
    onInterrupt(() => {
      void requestStatus(api, pipeline.id, 'pause', 'cli', 'cli').catch((error: unknown) =>
        logger.warn({ err: error }, 'could not request a pause'),
      );
    });
    pipeline = await waitUntilSettled(api, pipeline.id);
  } finally {
    await running.stop();
  }
  const latest = (await listRuns(api, pipeline.id, 1))[0];
  const run = latest?.id === before ? undefined : latest;
  return { pipeline, run, jobs: run ? await listRunJobs(api, run.id) : [] };
}

/**
 * Polls until the pipeline has left RUN_REQUESTED / RUNNING / PAUSE_REQUESTED, showing on stderr how
 * many accounts are done, pages read, calls made and tasks waiting (progressReporter's pace).
 */
async function waitUntilSettled(api: Executor, id: string): Promise<PipelineRow> {
  const progress = progressReporter();
  const started = Date.now();
  for (;;) {
    const row = await findPipeline(api, id);
    if (!row) throw new SiphonError('SIPHON_ERR_PIPELINE_NOT_FOUND', `pipeline ${id} was deleted meanwhile`);
    if (!['RUN_REQUESTED', 'RUNNING', 'PAUSE_REQUESTED'].includes(row.status)) {
      // The last word, whatever the pace: where the run ended.
      const summary = await readSyncSummary(api, id, undefined);
      progress(() => syncProgressLine(summary, Date.now() - started), true);
      progress.end();
      return row;
    }
    if (row.status === 'RUNNING' && progress.due()) {
      const summary = await readSyncSummary(api, id, undefined);
      progress(() => syncProgressLine(summary, Date.now() - started));
    }
    await sleep(250);
  }
}

function syncProgressLine(s: SyncSummary, elapsedMs: number): string {
  const j = s.jobs.by_status;
  const done = (j.SUCCESS ?? 0) + (j.FAILED ?? 0) + (j.SKIPPED ?? 0);
  const pages = Object.values(s.tasks.by_kind).reduce((n, byStatus) => n + (byStatus?.DONE ?? 0), 0);
  const seconds = Math.round(elapsedMs / 1000);
  const rate = seconds > 0 ? ` (${(s.calls / seconds).toFixed(1)}/s)` : '';
  return (
    `sync: ${done}/${s.jobs.total} accounts done (${j.SKIPPED ?? 0} skipped, ${j.FAILED ?? 0} failed), ` +
    `${pages} streams done, ${s.calls} calls${rate}, ${s.waiting.items} waiting, ${seconds} s`
  );
}
