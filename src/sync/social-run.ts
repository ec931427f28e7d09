import { clockOf, type Clock } from '../core/clock.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { parseDuration } from '../core/duration.js';
import { SiphonError } from '../core/errors.js';
import { socialSpecSchema } from '../core/social-spec.schema.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { injectTraceContext } from '../observability/index.js';
import {
  fenceAndRenew,
  releasePipeline,
  type ClaimedPipeline,
  type Fence,
} from '../db/repositories/lease.repository.js';
import { finishRun, type RunRow } from '../db/repositories/run.repository.js';
import type { PlatformAdapter } from '../connectors/connector.js';
import { credentialsFor, type CredentialPools } from './credential-pool.js';
import * as quota from '../db/repositories/quota.repository.js';
import { defaultLimit, quotaDayZone } from './sync-step.js';
import * as jobs from '../db/repositories/sync-jobs.repository.js';
import * as queue from '../db/repositories/sync-queue.repository.js';

/** What the coordinator of a social run needs from the runner (a subset of the executor's deps). */
export interface SocialRunDeps {
  readonly pool: Pool;
  readonly runnerId: string;
  readonly leaseMs: number;
  readonly stopSignal: AbortSignal;
  readonly adapters: ReadonlyMap<string, PlatformAdapter>;
  /** Platforms with several credentials (SIPHON_CREDENTIALS_FILE). */
  readonly pools?: CredentialPools | undefined;
  /** How often the coordinator renews its lease and looks at the run's progress. @default 500 ms */
  readonly pollMs?: number;
  /** When dead runners' steps were last freed. @default systemClock */
  readonly clock?: Clock;
}

/** Steps queued at a run's start from which the queue table's statistics are refreshed at once. */
const ANALYZE_QUEUE_AFTER = 5_000;

export type SocialOutcome = 'succeeded' | 'paused' | 'handed-off';

/** Thrown inside a transaction when the fence no longer holds. */
export class SocialLeaseLost extends Error {}

// The coordinator's open-then-poll loop reads as one story; each step it takes is a repository call.
/**
 * Coordinates one run of a social pipeline. The accounts' jobs and their profile tasks are opened
 * (or adopted from an interrupted run) and queued; workers of any runner execute the steps; this
 * loop renews the lease, honours a pause, frees steps locked by dead runners, closes finished jobs,
 * and ends the run when no job is left running. Rate limits and an exhausted quota only make tasks
 * wait: the run stays RUNNING, its checkpoint (the tasks' cursors) kept.
 */
export async function coordinateSocialRun(
  deps: SocialRunDeps,
  claimed: ClaimedPipeline & { readonly social: unknown },
  fence: Fence,
  run: RunRow,
  log: Logger,
): Promise<SocialOutcome> {
  const spec = socialSpecSchema.parse(claimed.social);
  const credentials = credentialsFor(deps, spec.platform, spec.credentials);
  // A pipeline that names its credentials may be coordinated by any runner (coordinating calls no
  // platform); its pages wait for a runner that holds one of them.
  if (credentials.length === 0 && !spec.credentials) {
    throw new SiphonError(
      'SIPHON_ERR_SYNC_NO_CREDENTIAL',
      `no ${spec.platform} credential is configured on runner ${deps.runnerId} (see docs/configuration.md)`,
      { field: 'social.platform' },
    );
  }
  const opened = await withTransaction(deps.pool, async (tx) => {
    if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new SocialLeaseLost();
    const limit = spec.rate
      ? {
          callsPerWindow: spec.rate.calls,
          windowMs: parseDuration(spec.rate.window),
          dailyUnits: spec.rate.daily_units ?? null,
          dayZone: quotaDayZone(spec.platform),
        }
      : defaultLimit(spec.platform);
    // Every credential of a pool keeps its own limits; the pipeline's rate applies to those without.
    for (const credential of credentials) {
      const { platform, credentialId } = credential.adapter;
      await quota.upsertLimit(tx, platform, credentialId, credential.limit ?? limit);
    }
    // Named credentials this runner does not hold: their limiter starts at the pipeline's limits
    // (the runner that holds one writes its own limits when it coordinates).
    const held = new Set(credentials.map((c) => c.adapter.credentialId));
    for (const name of spec.credentials ?? []) {
      if (!held.has(name)) await quota.upsertLimit(tx, spec.platform, name, limit, { keepExisting: true });
    }
    const counts = await jobs.openRunJobs(tx, {
      pipelineId: claimed.id,
      runId: run.id,
      platform: spec.platform,
      jobKind: claimed.mode === 'full' ? 'backfill' : 'sync',
      since: claimed.mode === 'full' ? spec.since : null,
      until: claimed.mode === 'full' ? spec.until : null,
      accounts: spec.accounts ?? null,
      select: spec.select,
    });
    const queued = await queue.enqueueOpenTasks(tx, run.id, injectTraceContext());
    return { ...counts, queued };
  });
  log.info(opened, 'social run: jobs opened and queued');
  if (opened.queued >= ANALYZE_QUEUE_AFTER) {
    await queue.analyzeQueue(deps.pool).catch((error: unknown) => {
      log.warn({ err: (error as Error).message }, 'could not analyze the step queue');
    });
  }

  const pollMs = deps.pollMs ?? 500;
  let lastUnlock = 0;
  let lastPollMs = 0;
  for (;;) {
    // A stop wakes it at once: the run is handed off without waiting out a long interval.
    await sleep(pollInterval(pollMs, lastPollMs, deps.leaseMs), undefined, { signal: deps.stopSignal }).catch(
      () => {},
    );
    if (deps.stopSignal.aborted) return 'handed-off';
    const now = clockOf(deps).now();
    if (now - lastUnlock > Math.max(deps.leaseMs, 2000)) {
      lastUnlock = now;
      const freed = await queue.unlockDeadWorkers(deps.pool, deps.leaseMs);
      if (freed > 0) log.warn({ freed }, 'freed sync steps held by runners that stopped beating');
      const requeued = await queue.enqueueOrphanedTasks(deps.pool, run.id, injectTraceContext());
      if (requeued > 0) log.warn({ requeued }, 'queued open sync tasks that had lost their job');
    }
    const state = await withTransaction(deps.pool, async (tx) => {
      const status = await fenceAndRenew(tx, fence, deps.leaseMs);
      if (!status) throw new SocialLeaseLost();
      if (status === 'PAUSE_REQUESTED') {
        await finishRun(tx, run.id, { status: 'PAUSED' });
        await releasePipeline(tx, fence, 'PAUSED');
        return 'paused' as const;
      }
      await jobs.closeFinishedJobs(tx, run.id);
      return jobs.runProgress(tx, run.id);
    });
    lastPollMs = clockOf(deps).now() - now;
    if (state === 'paused') return 'paused';
    if (state.running_jobs > 0) continue;
    if (state.failed_jobs > 0) {
      throw new SiphonError(
        'SIPHON_ERR_SYNC_FAILED',
        `${state.failed_jobs} of ${state.jobs} accounts failed; first: ${state.first_error_code ?? '?'} ${state.first_error ?? ''}`.trim(),
        {
          details: {
            failedJobs: state.failed_jobs,
            jobs: state.jobs,
            firstErrorCode: state.first_error_code,
          },
        },
      );
    }
    return 'succeeded';
  }
}

/** A look at the run waits this many times its own duration (see pollInterval). */
const LOOK_SHARE = 9;

/**
 * The wait before the coordinator's next look at its run: `pollMs`, or nine times what the last
 * look took when that is longer, so that the look (which reads every running job of the run: about
 * 0.2–0.7 s at 100,000 accounts, more on a busy server) takes at most a tenth of a server core away
 * from the steps — at three times, it was 3 in 20 samples of the active statements at 100,000
 * accounts; never more than a third of the lease, which the look renews. A finished job closes (and
 * its account's next due time moves), a pause is seen and the run ends up to one wait later.
 */
export function pollInterval(pollMs: number, lastPollMs: number, leaseMs: number): number {
  return Math.max(pollMs, Math.min(LOOK_SHARE * lastPollMs, Math.floor(leaseMs / 3)));
}

/** Closes a successful social run and returns the pipeline to IDLE (fenced). */
export async function completeSocialRun(deps: SocialRunDeps, fence: Fence, run: RunRow): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    if (!(await fenceAndRenew(tx, fence, deps.leaseMs))) throw new SocialLeaseLost();
    await finishRun(tx, run.id, { status: 'SUCCESS' });
    await releasePipeline(tx, fence, 'IDLE');
    await queue.purgeRetiredSteps(tx);
  });
}
