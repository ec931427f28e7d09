import type { Logger } from 'pino';
import type { Executor } from '../db/pool.js';
import type { RunnerEventMap, RunnerEvents } from '../core/runner-events.js';
import { skippedShareJumped, TAKEOVER_THRESHOLD, TAKEOVER_WINDOW_MS } from '../core/incident.js';
import { countRecentTakeovers, skippedSharesOf } from '../db/repositories/incidents.repository.js';
import { autoResolve, reportIncident, type IncidentDeps } from './incidents.service.js';
import type { IncidentNotifier } from './webhook.js';

export interface IncidentSubscriberDeps {
  /** The runner's pool (siphon_writer). */
  readonly db: Executor;
  readonly logger: Logger;
  readonly notifier?: IncidentNotifier;
  /** @default TAKEOVER_THRESHOLD (3) */
  readonly takeoverThreshold?: number;
  /** @default TAKEOVER_WINDOW_MS (one hour) */
  readonly takeoverWindowMs?: number;
}

export interface IncidentSubscription {
  /** Stops listening; work already started still finishes (see `drain`). */
  detach(): void;
  /** Resolves when every incident write and webhook delivery started so far has ended. */
  drain(): Promise<void>;
}

/**
 * Turns the runner's events into incidents: `run:failed` opens (or folds into) a `pipeline_failed`
 * incident, the third takeover of one pipeline within an hour a `lease_takeovers` one, and
 * `run:succeeded` resolves the pipeline's `pipeline_failed` incidents — and, for a social run whose
 * share of unreachable accounts jumped (`skippedShareJumped`), opens an `accounts_unreachable` one. The work runs after the event,
 * in order per pipeline; it never throws into the runner.
 */
export function attachIncidentReporting(
  events: RunnerEvents,
  deps: IncidentSubscriberDeps,
): IncidentSubscription {
  const log = deps.logger.child({ component: 'incidents' });
  const service: IncidentDeps & { logger: Logger } = { db: deps.db, notifier: deps.notifier, logger: log };
  const threshold = deps.takeoverThreshold ?? TAKEOVER_THRESHOLD;
  const windowMs = deps.takeoverWindowMs ?? TAKEOVER_WINDOW_MS;
  // One chain per pipeline, so a success that follows a failure resolves the incident it opened.
  const chains = new Map<string, Promise<void>>();

  const enqueue = (pipelineId: string, work: () => Promise<unknown>) => {
    const next = (chains.get(pipelineId) ?? Promise.resolve())
      .then(work)
      .then(
        () => undefined,
        (error: unknown) =>
          log.error({ err: (error as Error).message, pipelineId }, 'incident handling failed'),
      )
      .finally(() => {
        if (chains.get(pipelineId) === next) chains.delete(pipelineId);
      });
    chains.set(pipelineId, next);
  };

  const onFailed = (event: RunnerEventMap['run:failed'][0]) =>
    enqueue(event.pipelineId, () =>
      reportIncident(service, {
        kind: 'pipeline_failed',
        pipelineId: event.pipelineId,
        runId: event.runId,
        errorCode: event.code,
        message: event.message,
        traceId: traceIdOf(event),
      }),
    );

  const onClaimed = (event: RunnerEventMap['run:claimed'][0]) => {
    if (!event.takeover) return;
    enqueue(event.pipelineId, async () => {
      const takeovers = await countRecentTakeovers(deps.db, event.pipelineId, windowMs);
      if (takeovers < threshold) return;
      await reportIncident(service, {
        kind: 'lease_takeovers',
        pipelineId: event.pipelineId,
        runId: event.runId,
        errorCode: 'SIPHON_ERR_RUNNER_LEASE_EXPIRED',
        message: `pipeline ${event.pipelineName} was taken over ${takeovers} times within ${Math.round(windowMs / 60_000)} min: its runners keep dying or freezing`,
        traceId: traceIdOf(event),
        details: { takeovers, window_ms: windowMs, epoch: event.epoch },
      });
    });
  };

  const onSucceeded = (event: RunnerEventMap['run:succeeded'][0]) =>
    enqueue(event.pipelineId, async () => {
      const resolved = await autoResolve(service, event.pipelineId);
      for (const incident of resolved) {
        log.info(
          { incidentId: incident.id, pipelineId: event.pipelineId },
          'incident resolved: the pipeline succeeded',
        );
      }
      const shares = await skippedSharesOf(deps.db, event.pipelineId, event.runId);
      if (!skippedShareJumped(shares.now, shares.before)) return;
      const percent = (share: { skipped: number; jobs: number } | undefined) =>
        share && share.jobs > 0 ? Math.round((share.skipped / share.jobs) * 1000) / 10 : 0;
      await reportIncident(service, {
        kind: 'accounts_unreachable',
        pipelineId: event.pipelineId,
        runId: event.runId,
        errorCode: 'SIPHON_ERR_SYNC_ACCOUNT_UNREACHABLE',
        message:
          `${shares.now.skipped} of ${shares.now.jobs} accounts were unreachable (${percent(shares.now)} %, ` +
          `${percent(shares.before)} % on the previous successful run): check the account list and the ` +
          `skipped accounts' reasons (siphon sync status)`,
        traceId: traceIdOf(event),
        details: {
          skipped: shares.now.skipped,
          jobs: shares.now.jobs,
          previous_skipped: shares.before?.skipped ?? null,
          previous_jobs: shares.before?.jobs ?? null,
        },
      });
    });

  events.on('run:failed', onFailed);
  events.on('run:claimed', onClaimed);
  events.on('run:succeeded', onSucceeded);
  return {
    detach() {
      events.off('run:failed', onFailed);
      events.off('run:claimed', onClaimed);
      events.off('run:succeeded', onSucceeded);
    },
    async drain() {
      while (chains.size > 0) await Promise.allSettled([...chains.values()]);
      await deps.notifier?.drain();
    },
  };
}

/** Events carry a trace id once tracing exists; until then incidents have none. */
function traceIdOf(event: object): string | undefined {
  const traceId = (event as { traceId?: unknown }).traceId;
  return typeof traceId === 'string' && traceId !== '' ? traceId : undefined;
}
