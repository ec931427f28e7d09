import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { assertNever } from '../core/assert-never.js';
import { clockOf, type Clock } from '../core/clock.js';
import { backoffMs, parseDuration } from '../core/duration.js';
import { truncateMessage } from '../core/errors.js';
import { nextMidnightIn } from '../core/timestamps.js';
import { socialSpecSchema, type SocialSpec } from '../core/social-spec.schema.js';
import { withTransaction, type Pool } from '../db/pool.js';
import type { EnrichmentClient } from '../enrichment/index.js';
import { reportIncident, type IncidentNotifier } from '../incidents/index.js';
import { injectTraceContext } from '../observability/index.js';
import type { ConnectorFailure, PlatformAdapter, StepContext, StepResult } from '../connectors/connector.js';
import * as quota from '../db/repositories/quota.repository.js';
import * as jobs from '../db/repositories/sync-jobs.repository.js';
import * as queue from '../db/repositories/sync-queue.repository.js';
import * as tables from '../db/repositories/social-tables.repository.js';
import { commitPage, type Page } from './page-commit.js';
import {
  chooseCredential,
  credentialsFor,
  REJECTED_FOR_MS,
  type CredentialPools,
  type PooledCredential,
} from './credential-pool.js';
import type { TierReservation } from './tier-reserve.js';

/** What the sync workers of one runner share. */
export interface SyncStepDeps {
  /** The writer pool. */
  readonly pool: Pool;
  readonly adapters: ReadonlyMap<string, PlatformAdapter>;
  /** Platforms with several credentials: each step calls through the pool's best one. */
  readonly pools?: CredentialPools | undefined;
  readonly logger: Logger;
  /** Incident webhook, when configured. */
  readonly notifier?: IncidentNotifier;
  /** Transient failures of one task before it is FAILED. @default 8 */
  readonly maxAttempts?: number;
  /** Longest the limiter may make a step wait in place; longer waits reschedule the task. @default 30 s */
  readonly maxSlotWaitMs?: number;
  /** The ML service: each page queues enrichment of the rows it wrote. Enrichment is off when unset. */
  readonly ml?: EnrichmentClient;
  /** First backoff after a transient failure, doubling per attempt up to a minute. @default 1000 */
  readonly retryBaseMs?: number;
  /**
   * Holds a tier's regular syncs back while the pool's rest of the day is what the faster tiers still
   * need (SIPHON_QUOTA_TIER_RESERVE). Unset: quota is spent first come, first served.
   */
  readonly tierReservation?: TierReservation | undefined;
  /** Reschedules, backoff and quota days are computed from it. @default systemClock */
  readonly clock?: Clock;
}

/** The limiter gave no slot: the step is rescheduled (no attempt is spent). */
class QuotaWait extends Error {
  constructor(
    readonly until: Date,
    readonly exhausted: boolean,
  ) {
    super(exhausted ? 'daily quota exhausted' : 'waiting for the credential');
  }
}

/** The zone whose midnight starts the platform's quota day (YouTube: Pacific time; others: UTC). */
export function quotaDayZone(platform: string): string {
  return platform === 'youtube' ? 'America/Los_Angeles' : 'UTC';
}

/** When the platform's quota day ends: the next midnight in its zone. */
export function quotaDayEnd(platform: string, now: number): Date {
  return new Date(nextMidnightIn(quotaDayZone(platform), now));
}

// A little over 80 lines: load, context, fetch, commit and the quota reschedule are one step's story.
/**
 * Executes one step of one sync task: one page (profile, posts, comments or a relation), committed
 * with its raw responses, rows, next cursor and follow-up tasks in one transaction, then queued again
 * for the next page. Never throws for an API failure (the task is rescheduled, skipped or failed);
 * throws only when the database fails, and graphile-worker retries the step then.
 */
export async function runSyncStep(deps: SyncStepDeps, taskId: number, signal?: AbortSignal): Promise<void> {
  const step = await jobs.loadStep(deps.pool, taskId);
  if (!step || !isRunnable(step)) {
    deps.logger.debug(
      { taskId, status: step?.status, job: step?.job_status, pipeline: step?.pipeline_status },
      'sync step not runnable; skipped',
    );
    return;
  }
  const log = deps.logger.child({
    taskId,
    jobId: step.job_id,
    runId: step.run_id,
    pipelineId: step.pipeline_id,
    platform: step.platform,
    kind: step.kind,
  });
  const spec = await socialSpecOf(deps, step);
  const credentials = credentialsFor(deps, step.platform, spec.credentials);
  const adapter = await chooseCredential(deps.pool, credentials);
  if (!adapter) {
    // Another runner may hold this platform's credential: leave the step to it (checked again in a
    // minute) rather than failing an account this runner merely cannot read.
    // A pipeline naming its credentials usually has a runner holding them at work now: hand the step
    // back within a couple of seconds (jittered, so two runners without them do not keep trading it).
    const wait = spec.credentials ? 1000 + Math.floor(Math.random() * 2000) : 60_000;
    const until = new Date(clockOf(deps).now() + wait);
    await withTransaction(deps.pool, async (tx) => {
      const failure = {
        code: 'SIPHON_ERR_SYNC_NO_CREDENTIAL',
        message: spec.credentials
          ? `runner holds none of the pipeline's credentials (${spec.credentials.join(', ')}); waiting for one that does`
          : `runner has no ${step.platform} credential; waiting for one that has`,
      };
      await jobs.deferTask(tx, step.task_id, until, failure, false);
      await queue.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
    });
    return;
  }
  if (await heldForFasterTiers(deps, step, credentials, log)) return;
  let calls = 0;
  const historySince =
    step.since?.getTime() ?? (spec.history ? clockOf(deps).now() - parseDuration(spec.history) : undefined);
  const ctx: StepContext = {
    ...(signal ? { signal } : {}),
    ...(historySince === undefined ? {} : { historySince }),
    beforeCall: async (_method, units) => {
      await takeSlot(deps, adapter, units);
      calls += 1;
    },
    reportUsage: (usage) => {
      if (usage.usedPercent !== undefined) {
        void quota
          .recordUsedPercent(deps.pool, adapter.platform, adapter.credentialId, usage.usedPercent)
          .catch(() => {});
      }
    },
  };
  try {
    const outcome = await fetchPage(adapter, ctx, step);
    if (!outcome.ok) {
      await handleFailure(deps, step, adapter, outcome.error, calls, log, spec.credentials);
      return;
    }
    const committed = await commitPage(deps.pool, {
      step,
      spec,
      page: outcome.value,
      calls,
      adapter: credentialsFor(deps, step.platform)[0]?.adapter,
      ml: deps.ml !== undefined,
    });
    log.debug(
      { committed, calls },
      committed ? 'sync step committed' : 'sync step lost its page to another worker',
    );
  } catch (error) {
    if (!(error instanceof QuotaWait)) throw error;
    await withTransaction(deps.pool, async (tx) => {
      await jobs.deferTask(
        tx,
        step.task_id,
        error.until,
        {
          code: error.exhausted
            ? 'SIPHON_ERR_CONNECTOR_QUOTA_EXHAUSTED'
            : 'SIPHON_ERR_CONNECTOR_RATE_LIMITED',
          message: `${error.message}; next attempt at ${error.until.toISOString()}`,
        },
        false,
      );
      await queue.enqueueTasks(tx, [step.task_id], error.until, injectTraceContext());
      await jobs.addTaskCalls(tx, step.task_id, calls);
    });
  }
}

/**
 * A tracked account's regular sync starts (its profile step) only if the pool's rest of the day also
 * covers what the faster tiers still need today; otherwise its job is SKIPPED with
 * SIPHON_ERR_QUOTA_RESERVED and the account stays due for a later run. Backfills, which a person
 * starts, and accounts only a pipeline's list names are never held back.
 */
async function heldForFasterTiers(
  deps: SyncStepDeps,
  step: jobs.StepRow,
  credentials: readonly PooledCredential[],
  log: Logger,
): Promise<boolean> {
  if (!deps.tierReservation || step.kind !== 'profile' || step.job_kind !== 'sync' || !step.account_tier) {
    return false;
  }
  const held = await deps.tierReservation.check(
    step.platform,
    step.account_tier,
    credentials.map((c) => c.adapter.credentialId),
    quotaDayEnd(step.platform, clockOf(deps).now()),
  );
  if (!held) return false;
  const reason = {
    code: 'SIPHON_ERR_QUOTA_RESERVED',
    message:
      `tier ${held.tier}: what the ${step.platform} credentials have left today (${held.left} calls/units) ` +
      `is kept for faster tiers (${held.reserved} still needed today); the account stays due`,
  };
  await withTransaction(deps.pool, (tx) => jobs.skipJob(tx, step.job_id, reason));
  log.info({ tier: held.tier, left: held.left, reserved: held.reserved }, 'sync held back for faster tiers');
  return true;
}

/**
 * The pipeline's social spec, parsed once per version and runner: the steps of one deps object (one
 * runner's workers) share a cache. Its account list is left out; a step syncs its own account.
 */
const specCaches = new WeakMap<
  SyncStepDeps,
  Map<string, { readonly version: number; readonly spec: SocialSpec }>
>();

async function socialSpecOf(deps: SyncStepDeps, step: jobs.StepRow): Promise<SocialSpec> {
  const withoutPipeline = { platform: step.platform, accounts: ['-'] };
  if (step.pipeline_id === null) return socialSpecSchema.parse(withoutPipeline);
  let cache = specCaches.get(deps);
  if (!cache) specCaches.set(deps, (cache = new Map()));
  const hit = cache.get(step.pipeline_id);
  if (hit && hit.version === step.pipeline_version) return hit.spec;
  const row = await jobs.loadSocialSpec(deps.pool, step.pipeline_id);
  const spec = socialSpecSchema.parse(row?.social ? { ...row.social, accounts: ['-'] } : withoutPipeline);
  if (row) cache.set(step.pipeline_id, { version: row.version, spec });
  return spec;
}

function isRunnable(step: jobs.StepRow): boolean {
  if (step.status !== 'PENDING' && step.status !== 'WAITING') return false;
  if (step.job_status !== 'RUNNING') return false;
  // A paused, handed-off or failed pipeline: its next run re-queues the open tasks.
  if (step.pipeline_id !== null) {
    return step.pipeline_status === 'RUNNING' && step.current_run_id === step.run_id;
  }
  return true;
}

/** Waits for the credential's next slot (in place when short, else by rescheduling the task). */
async function takeSlot(deps: SyncStepDeps, adapter: PlatformAdapter, units: number): Promise<void> {
  const reservation = await quota.reserveSlot(
    deps.pool,
    adapter.platform,
    adapter.credentialId,
    units,
    quotaDayEnd(adapter.platform, clockOf(deps).now()),
  );
  if (!reservation) {
    await quota.upsertLimit(
      deps.pool,
      adapter.platform,
      adapter.credentialId,
      defaultLimit(adapter.platform),
    );
    return takeSlot(deps, adapter, units);
  }
  if (reservation.kind !== 'slot') throw new QuotaWait(reservation.until, reservation.kind === 'exhausted');
  if (reservation.waitMs > (deps.maxSlotWaitMs ?? 30_000)) {
    throw new QuotaWait(new Date(clockOf(deps).now() + reservation.waitMs), false);
  }
  if (reservation.waitMs > 0) await sleep(reservation.waitMs);
}

/** The platforms' published limits, used until a pipeline's `rate` says otherwise (SOCIAL-APIS.md). */
export function defaultLimit(platform: string): quota.QuotaLimit {
  switch (platform) {
    case 'youtube':
      return { callsPerWindow: 10, windowMs: 1000, dailyUnits: 10_000, dayZone: quotaDayZone(platform) };
    case 'instagram':
      return { callsPerWindow: 200, windowMs: 3_600_000, dailyUnits: null, dayZone: quotaDayZone(platform) };
    case 'tiktok':
      return { callsPerWindow: 10, windowMs: 1000, dailyUnits: 1000, dayZone: quotaDayZone(platform) };
    default:
      return { callsPerWindow: 1, windowMs: 1000, dailyUnits: null, dayZone: quotaDayZone(platform) };
  }
}

async function fetchPage(
  adapter: PlatformAdapter,
  ctx: StepContext,
  step: jobs.StepRow,
): Promise<StepResult<Page>> {
  const account = { external_id: step.account_external_id, handle: step.account_handle };
  const wrap = <K extends Page['kind'], V>(kind: K, result: StepResult<V>): StepResult<Page> =>
    result.ok ? { ok: true, value: { kind, value: result.value } as unknown as Page } : result;
  switch (step.kind) {
    case 'profile':
      return wrap('profile', await adapter.fetchProfile(ctx, account));
    case 'posts':
      return wrap('posts', await adapter.fetchPostsPage(ctx, account, step.external_id, step.cursor));
    case 'stories':
      if (!adapter.fetchStoriesPage) return unsupported(adapter, 'stories');
      return wrap('stories', await adapter.fetchStoriesPage(ctx, account, step.external_id, step.cursor));
    case 'comments':
      return wrap('comments', await adapter.fetchCommentsPage(ctx, account, step.external_id, step.cursor));
    case 'follows': {
      if (!adapter.fetchFollowsPage) return unsupported(adapter, 'follows');
      const relation = step.external_id as 'follower' | 'following' | 'subscription';
      return wrap('follows', await adapter.fetchFollowsPage(ctx, account, relation, step.cursor));
    }
    default:
      return assertNever(step.kind, 'sync task kind');
  }
}

/** A task kind the platform's adapter does not read (a pipeline saved for a richer adapter). */
function unsupported(adapter: PlatformAdapter, stream: 'follows' | 'stories'): StepResult<Page> {
  return {
    ok: false,
    error: {
      kind: 'not-found',
      code: 'SIPHON_ERR_CONNECTOR_NOT_FOUND',
      message: `${adapter.platform} offers no ${stream === 'follows' ? 'relation streams' : 'stories'}`,
      method: stream,
    },
  };
}

// One case per failure kind (an exhaustive switch): splitting it would scatter the policy table.
/** Rate limits and quota wait; transient failures back off; the rest skip or fail the task or job. */
async function handleFailure(
  deps: SyncStepDeps,
  step: jobs.StepRow,
  adapter: PlatformAdapter,
  error: ConnectorFailure,
  calls: number,
  log: Logger,
  only: readonly string[] | undefined,
): Promise<void> {
  const failure = { code: error.code, message: truncateMessage(`${error.method}: ${error.message}`) };
  const now = clockOf(deps).now();
  let incident: 'credential_rejected' | 'quota_exhausted' | undefined;
  await withTransaction(deps.pool, async (tx) => {
    await jobs.addTaskCalls(tx, step.task_id, calls);
    switch (error.kind) {
      case 'rate-limited': {
        const until = new Date(now + Math.max(error.retryAfterMs ?? 60_000, 1000));
        // A 429 shared by the steps of one batched call is one refusal of the credential.
        if (!error.shared) await quota.recordRateLimited(tx, adapter.platform, adapter.credentialId, until);
        await jobs.deferTask(tx, step.task_id, until, failure, false);
        await queue.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
        return;
      }
      case 'quota-exhausted': {
        const until = new Date(error.resetAt ?? quotaDayEnd(adapter.platform, now).getTime());
        await quota.pauseCredential(tx, adapter.platform, adapter.credentialId, until);
        await jobs.deferTask(tx, step.task_id, until, failure, false);
        await queue.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
        incident = 'quota_exhausted';
        return;
      }
      case 'transient': {
        const attempt = step.attempts + 1;
        if (attempt >= (deps.maxAttempts ?? 8)) {
          await jobs.endTask(tx, step.task_id, 'FAILED', failure);
          return;
        }
        const base = deps.retryBaseMs ?? 1000;
        const until = new Date(now + Math.max(error.retryAfterMs ?? 0, backoffMs(attempt, base, 60_000)));
        await jobs.deferTask(tx, step.task_id, until, failure, true);
        await queue.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
        return;
      }
      case 'auth': {
        incident = 'credential_rejected';
        const pool = credentialsFor(deps, adapter.platform, only).map((c) => c.adapter.credentialId);
        if (pool.length > 1) {
          // One credential of a pool refused: it leaves the pool for a while, the step goes on with
          // another at once (no attempt spent). Only a pool with no usable credential left fails.
          const until = new Date(now + REJECTED_FOR_MS);
          const left = await quota.rejectCredential(
            tx,
            adapter.platform,
            adapter.credentialId,
            until,
            failure.message,
            pool,
          );
          if (left > 0) {
            const retry = new Date(now + 1000);
            await jobs.deferTask(tx, step.task_id, retry, failure, false);
            await queue.enqueueTasks(tx, [step.task_id], retry, injectTraceContext());
            return;
          }
        }
        await jobs.failJob(tx, step.job_id, failure);
        return;
      }
      case 'not-found':
        if (step.kind === 'profile') {
          // The account is gone, private or not professional: skipped and checked again later; the
          // other accounts and the run go on (docs/errors.md SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE).
          await tables.markProfileDeleted(tx, step.platform, step.account_external_id);
          await jobs.skipUnreachableAccount(tx, step.job_id, step.account_id, {
            code: 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE',
            message: truncateMessage(
              `${step.platform} account ${step.account_external_id}: ${error.message} [${error.code}]`,
            ),
          });
        } else {
          await jobs.endTask(tx, step.task_id, 'SKIPPED', failure);
        }
        return;
      case 'permission':
        // An optional stream the credential may not be granted is skipped; a required one fails.
        await jobs.endTask(
          tx,
          step.task_id,
          step.kind === 'follows' || step.kind === 'stories' ? 'SKIPPED' : 'FAILED',
          failure,
        );
        return;
      case 'bad-request':
        await jobs.endTask(tx, step.task_id, 'FAILED', failure);
        return;
      default:
        assertNever(error.kind, 'connector failure kind');
    }
  });
  log.warn({ code: error.code, kind: error.kind, retryAfterMs: error.retryAfterMs }, 'sync step failed');
  if (incident) {
    await reportIncident(
      { db: deps.pool, logger: deps.logger, ...(deps.notifier ? { notifier: deps.notifier } : {}) },
      {
        kind: incident,
        message: failure.message,
        errorCode: error.code,
        subject: `${adapter.platform}:${adapter.credentialId}`,
        ...(step.pipeline_id ? { pipelineId: step.pipeline_id } : {}),
        ...(step.run_id ? { runId: step.run_id } : {}),
      },
    );
  }
}
