import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { backoffMs, parseDuration } from '../core/duration.js';
import { truncateMessage } from '../core/errors.js';
import { nextMidnightIn } from '../core/timestamps.js';
import { socialSpecSchema, type SocialSpec } from '../core/social-spec.schema.js';
import { withTransaction, type Executor, type Pool } from '../db/pool.js';
import {
  enqueueEnrichment,
  enrichmentItems,
  type EnrichmentClient,
  type EnrichmentSource,
} from '../enrichment/index.js';
import { reportIncident, type IncidentNotifier } from '../incidents/index.js';
import { injectTraceContext } from '../observability/index.js';
import * as engine from '../db/repositories/engine.repository.js';
import type {
  CommentsPage,
  ConnectorFailure,
  FollowsPage,
  PlatformAdapter,
  PostsPage,
  ProfileStep,
  RawPage,
  StepContext,
  StepResult,
} from '../connectors/connector.js';
import * as quota from '../db/repositories/quota.repository.js';
import * as repo from '../db/repositories/sync.repository.js';
import type { QuarantineInsert, RawKind } from '../connectors/connector.js';

/** What the sync workers of one runner share. */
export interface SyncStepDeps {
  /** The writer pool. */
  readonly pool: Pool;
  readonly adapters: ReadonlyMap<string, PlatformAdapter>;
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

/**
 * Executes one step of one sync task: one page (profile, posts, comments or a relation), committed
 * with its raw responses, rows, next cursor and follow-up tasks in one transaction, then queued again
 * for the next page. Never throws for an API failure (the task is rescheduled, skipped or failed);
 * throws only when the database fails, and graphile-worker retries the step then.
 */
export async function runSyncStep(deps: SyncStepDeps, taskId: number, signal?: AbortSignal): Promise<void> {
  const step = await engine.loadStep(deps.pool, taskId);
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
  const adapter = deps.adapters.get(step.platform);
  if (!adapter) {
    // Another runner may hold this platform's credential: leave the step to it (checked again in a
    // minute) rather than failing an account this runner merely cannot read.
    const until = new Date(Date.now() + 60_000);
    await withTransaction(deps.pool, async (tx) => {
      const failure = {
        code: 'SIPHON_ERR_SYNC_NO_CREDENTIAL',
        message: `runner has no ${step.platform} credential; waiting for one that has`,
      };
      await engine.deferTask(tx, step.task_id, until, failure, false);
      await engine.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
    });
    return;
  }
  const spec = socialSpecSchema.parse(step.social ?? { platform: step.platform, accounts: ['-'] });
  let calls = 0;
  const ctx: StepContext = {
    ...(signal ? { signal } : {}),
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
      await handleFailure(deps, step, adapter, outcome.error, calls, log);
      return;
    }
    const committed = await commitPage(deps, step, spec, outcome.value, calls);
    log.debug(
      { committed, calls },
      committed ? 'sync step committed' : 'sync step lost its page to another worker',
    );
  } catch (error) {
    if (!(error instanceof QuotaWait)) throw error;
    await withTransaction(deps.pool, async (tx) => {
      await engine.deferTask(
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
      await engine.enqueueTasks(tx, [step.task_id], error.until, injectTraceContext());
      await engine.addTaskCalls(tx, step.task_id, calls);
    });
  }
}

function isRunnable(step: engine.StepRow): boolean {
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
    quotaDayEnd(adapter.platform, Date.now()),
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
    throw new QuotaWait(new Date(Date.now() + reservation.waitMs), false);
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

type Page =
  | { readonly kind: 'profile'; readonly value: ProfileStep }
  | { readonly kind: 'posts'; readonly value: PostsPage }
  | { readonly kind: 'stories'; readonly value: PostsPage }
  | { readonly kind: 'comments'; readonly value: CommentsPage }
  | { readonly kind: 'follows'; readonly value: FollowsPage };

async function fetchPage(
  adapter: PlatformAdapter,
  ctx: StepContext,
  step: engine.StepRow,
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

interface Cutoffs {
  /** Posts pages stop after the page whose oldest post is older than this (epoch ms). */
  readonly stopBefore: number | null;
  /** Comments are read for posts published at or after this (null: all). */
  readonly commentsFrom: number | null;
  /** A complete pass over everything: rows it did not see are marked deleted. */
  readonly completePass: boolean;
}

function cutoffs(step: engine.StepRow, spec: SocialSpec): Cutoffs {
  if (step.job_kind === 'backfill') {
    const since = step.since?.getTime() ?? null;
    return { stopBefore: since, commentsFrom: since, completePass: since === null && step.until === null };
  }
  const last = step.last_synced_at?.getTime() ?? null;
  const from = last === null ? null : last - parseDuration(spec.lookback);
  return {
    stopBefore: from,
    commentsFrom: spec.comments === 'all' ? null : from,
    completePass: from === null,
  };
}

/** One transaction: raw responses first, then rows, quarantine, child tasks, cursor, queue, counters. */
async function commitPage(
  deps: SyncStepDeps,
  step: engine.StepRow,
  spec: SocialSpec,
  page: Page,
  calls: number,
): Promise<boolean> {
  const platform = step.platform;
  const cut = cutoffs(step, spec);
  return withTransaction(deps.pool, async (tx) => {
    if (!(await engine.claimPageCommit(tx, step.task_id, step.cursor))) return false;
    await storeRaw(tx, platform, step.task_id, page.value.raw);
    let read = 0;
    let written = 0;
    let next: string | null = null;
    let quarantined: readonly QuarantineInsert[] = page.value.quarantined;
    const children: number[] = [];
    let enrich: EnrichmentSource = {};
    switch (page.kind) {
      case 'profile': {
        const { profile, postsSource } = page.value;
        if (profile) written += await repo.upsertProfiles(tx, platform, [profile]);
        read = profile ? 1 : 0;
        enrich = { profile };
        if (postsSource !== null) {
          children.push(
            ...(await engine.openChildTasks(tx, step.job_id, 'posts', [
              { externalId: postsSource, detail: null },
            ])),
          );
        }
        const adapter = deps.adapters.get(platform);
        const storiesSource = page.value.storiesSource ?? null;
        if (spec.stories !== false && storiesSource !== null && adapter?.fetchStoriesPage) {
          children.push(
            ...(await engine.openChildTasks(tx, step.job_id, 'stories', [
              { externalId: storiesSource, detail: null },
            ])),
          );
        }
        if (spec.relations && adapter && adapter.relations.length > 0) {
          const relations = adapter.relations.map((r) => ({ externalId: r, detail: r }));
          children.push(...(await engine.openChildTasks(tx, step.job_id, 'follows', relations)));
        }
        break;
      }
      case 'posts': {
        const { posts, media, commentable, oldestPublishedAt, nextCursor } = page.value;
        const inRange = posts.filter((p) => withinUntil(p.published_at, step.until));
        written += await repo.upsertPosts(tx, platform, inRange);
        written += await engine.upsertMedia(tx, platform, media);
        // A post the platform now counts zero comments on has none left: stored ones were deleted.
        const emptied = inRange.filter((p) => p.comment_count === 0).map((p) => p.external_id);
        await engine.markCommentsOfPostsDeleted(tx, platform, emptied);
        read = posts.length;
        enrich = { posts: inRange, media };
        if (cut.completePass)
          await engine.recordSeen(
            tx,
            step.task_id,
            posts.map((p) => p.external_id),
          );
        const published = new Map(posts.map((p) => [p.external_id, p.published_at]));
        const wanted =
          spec.comments === 'none' && step.job_kind === 'sync'
            ? []
            : commentable.filter((id) => {
                const at = published.get(id);
                const time = at ? Date.parse(at) : Number.NaN;
                if (!withinUntil(at ?? null, step.until)) return false;
                return cut.commentsFrom === null || Number.isNaN(time) || time >= cut.commentsFrom;
              });
        children.push(
          ...(await engine.openChildTasks(
            tx,
            step.job_id,
            'comments',
            wanted.map((id) => ({ externalId: id, detail: null })),
          )),
        );
        const reachedCutoff =
          cut.stopBefore !== null && oldestPublishedAt !== null && oldestPublishedAt < cut.stopBefore;
        next = reachedCutoff ? null : nextCursor;
        if (next === null && cut.completePass) {
          await engine.markUnseenDeleted(tx, platform, step.task_id, {
            table: 'posts',
            profile: inRange[0]?.profile_external_id ?? (await profileIdOf(tx, step)),
          });
        }
        break;
      }
      case 'stories': {
        // Kept after they expire, never marked deleted; the platform gives no comments on them.
        const { posts, media, nextCursor } = page.value;
        const inRange = posts.filter((p) => withinUntil(p.published_at, step.until));
        written += await repo.upsertPosts(tx, platform, inRange);
        written += await engine.upsertMedia(tx, platform, media);
        read = posts.length;
        enrich = { posts: inRange, media };
        next = nextCursor;
        break;
      }
      case 'comments': {
        const { comments, nextCursor } = page.value;
        written += await repo.upsertComments(tx, platform, comments);
        read = comments.length;
        enrich = { comments };
        await engine.recordSeen(
          tx,
          step.task_id,
          comments.map((c) => c.external_id),
        );
        next = nextCursor;
        if (next === null) {
          await engine.markUnseenDeleted(tx, platform, step.task_id, {
            table: 'comments',
            post: step.external_id,
          });
        }
        break;
      }
      case 'follows': {
        const { follows, nextCursor } = page.value;
        written += await engine.upsertFollows(tx, platform, follows);
        read = follows.length;
        await engine.recordSeen(
          tx,
          step.task_id,
          follows.map((f) => f.other_external_id),
        );
        next = nextCursor;
        if (next === null) {
          await engine.markUnseenDeleted(tx, platform, step.task_id, {
            table: 'follows',
            profile: await profileIdOf(tx, step),
            relation: step.external_id,
          });
        }
        break;
      }
    }
    if (quarantined.length > 0) await repo.insertQuarantine(tx, quarantined);
    if (deps.ml)
      await enqueueEnrichment(tx, { platform, runId: step.run_id, items: enrichmentItems(enrich) });
    quarantined = [];
    await engine.savePage(tx, step.task_id, {
      cursor: next,
      items: read,
      written,
      calls,
      done: next === null,
    });
    if (next !== null) children.push(step.task_id);
    await engine.enqueueTasks(tx, children, null, injectTraceContext());
    return true;
  });
}

function withinUntil(publishedAt: string | null, until: Date | null): boolean {
  if (until === null || publishedAt === null) return true;
  return Date.parse(publishedAt) < until.getTime();
}

/** The profile's platform id (the account may be named by a handle or username). */
async function profileIdOf(tx: Executor, step: engine.StepRow): Promise<string> {
  return (
    (await engine.findProfileId(tx, step.platform, step.account_external_id)) ?? step.account_external_id
  );
}

async function storeRaw(tx: Executor, platform: string, taskId: number, pages: readonly RawPage[]) {
  for (const page of pages) {
    await repo.insertRawResponse(tx, {
      platform,
      kind: page.kind as RawKind,
      externalId: page.externalId,
      request: page.request,
      payload: page.payload,
      payloadHash: repo.payloadHash(page.payload),
      syncTaskId: taskId,
    });
  }
}

/** Rate limits and quota wait; transient failures back off; the rest skip or fail the task or job. */
async function handleFailure(
  deps: SyncStepDeps,
  step: engine.StepRow,
  adapter: PlatformAdapter,
  error: ConnectorFailure,
  calls: number,
  log: Logger,
): Promise<void> {
  const failure = { code: error.code, message: truncateMessage(`${error.method}: ${error.message}`) };
  const now = Date.now();
  let incident: 'credential_rejected' | 'quota_exhausted' | undefined;
  await withTransaction(deps.pool, async (tx) => {
    await engine.addTaskCalls(tx, step.task_id, calls);
    switch (error.kind) {
      case 'rate-limited': {
        const until = new Date(now + Math.max(error.retryAfterMs ?? 60_000, 1000));
        await quota.recordRateLimited(tx, adapter.platform, adapter.credentialId, until);
        await engine.deferTask(tx, step.task_id, until, failure, false);
        await engine.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
        return;
      }
      case 'quota-exhausted': {
        const until = new Date(error.resetAt ?? quotaDayEnd(adapter.platform, now).getTime());
        await quota.pauseCredential(tx, adapter.platform, adapter.credentialId, until);
        await engine.deferTask(tx, step.task_id, until, failure, false);
        await engine.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
        incident = 'quota_exhausted';
        return;
      }
      case 'transient': {
        const attempt = step.attempts + 1;
        if (attempt >= (deps.maxAttempts ?? 8)) {
          await engine.endTask(tx, step.task_id, 'FAILED', failure);
          return;
        }
        const base = deps.retryBaseMs ?? 1000;
        const until = new Date(now + Math.max(error.retryAfterMs ?? 0, backoffMs(attempt, base, 60_000)));
        await engine.deferTask(tx, step.task_id, until, failure, true);
        await engine.enqueueTasks(tx, [step.task_id], until, injectTraceContext());
        return;
      }
      case 'auth':
        await engine.failJob(tx, step.job_id, failure);
        incident = 'credential_rejected';
        return;
      case 'not-found':
        if (step.kind === 'profile') {
          await engine.markProfileDeleted(tx, step.platform, step.account_external_id);
          await engine.failJob(tx, step.job_id, failure);
        } else {
          await engine.endTask(tx, step.task_id, 'SKIPPED', failure);
        }
        return;
      case 'permission':
        // An optional stream the credential may not be granted is skipped; a required one fails.
        await engine.endTask(
          tx,
          step.task_id,
          step.kind === 'follows' || step.kind === 'stories' ? 'SKIPPED' : 'FAILED',
          failure,
        );
        return;
      case 'bad-request':
        await engine.endTask(tx, step.task_id, 'FAILED', failure);
        return;
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
