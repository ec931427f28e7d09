import type { Task } from 'graphile-worker';
import type { Logger } from 'pino';
import { truncateMessage } from '../core/errors.js';
import type { MlClient, MlJobRequest } from '../connectors/ml/index.js';

/** The enrichment service's client (the ML platform's API); the engine receives one through its deps. */
export type EnrichmentClient = MlClient;
import type { Executor, Pool } from '../db/pool.js';
import { injectTraceContext, setSpanAttributes, withExtractedContext } from '../observability/index.js';
import type { EnrichmentItem } from './enrichment.mapper.js';
import {
  decide,
  DEFAULT_DEADLINE_MS,
  DEFAULT_ENRICHMENT_POLICY,
  expiredBeforeCall,
  type Decision,
  type EnrichmentPolicy,
  type OpenItem,
} from './enrichment.policy.js';
import * as repo from '../db/repositories/enrichment.repository.js';

/**
 * Enrichment without holding a worker: an item waits in `social.enrichment_jobs` (PENDING → WAITING →
 * DONE | FAILED | EXPIRED) and each step is one short graphile-worker job (one submit or one poll),
 * queued again at the item's next_poll_at. Nothing sleeps while the ML service works.
 */

export interface EnqueueEnrichment {
  readonly platform: string;
  /** The run whose page wrote the items (enrichmentSummary counts by it). */
  readonly runId: string | null;
  readonly items: readonly EnrichmentItem[];
  /** How long the items may wait before they expire. @default 2 days */
  readonly deadlineMs?: number;
}

/**
 * Opens the items' waits in the caller's transaction (the page's, so data and queue commit together),
 * with the active trace context. New or changed items only; returns how many were opened.
 */
export function enqueueEnrichment(tx: Executor, spec: EnqueueEnrichment): Promise<number> {
  return repo.openEnrichmentJobs(tx, {
    platform: spec.platform,
    runId: spec.runId,
    items: spec.items,
    deadlineMs: spec.deadlineMs ?? DEFAULT_DEADLINE_MS,
    trace: injectTraceContext(),
  });
}

export interface EnrichmentDeps {
  /** The writer pool. */
  readonly pool: Pool;
  readonly ml: EnrichmentClient;
  readonly logger: Logger;
  readonly policy?: Partial<EnrichmentPolicy>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** One step of one item: submit it (PENDING) or poll it (WAITING), then store what that decided. */
export async function pollEnrichment(deps: EnrichmentDeps, id: number, signal?: AbortSignal): Promise<void> {
  const row = await repo.loadEnrichmentJob(deps.pool, id);
  if (!row || (row.status !== 'PENDING' && row.status !== 'WAITING')) return;
  const now = deps.now ?? Date.now;
  if (row.early) {
    // A replaced or duplicated job: the item's own job is (re)queued for its time.
    await repo.requeueEnrichmentJob(deps.pool, id);
    return;
  }
  const policy = { ...DEFAULT_ENRICHMENT_POLICY, ...deps.policy };
  const item: OpenItem = {
    status: row.status,
    externalJobId: row.external_job_id,
    backoffMs: row.backoff_ms,
    attempts: row.attempts,
    deadlineAt: row.deadline_at.getTime(),
  };
  let decision = expiredBeforeCall(item, now());
  if (!decision) {
    const answer =
      row.status === 'WAITING' && row.external_job_id !== null
        ? await deps.ml.poll(row.external_job_id, signal)
        : await deps.ml.submit(requestOf(row), {
            // A resubmit after a lost answer finds the job the first one made; a new wait (re-open)
            // or a submit after a failed job makes a new one.
            idempotencyKey: `siphon:${row.id}:${row.created_at.getTime()}:${row.attempts}`,
            ...(signal ? { signal } : {}),
          });
    decision = decide(item, answer, now(), policy);
  }
  const stored = await store(deps.pool, id, row.revision, decision);
  setSpanAttributes({ 'siphon.enrichment.status': decision.to, 'siphon.enrichment.stored': stored });
  const log = deps.logger.child({ enrichmentId: row.id, runId: row.run_id, analysis: row.analysis });
  if (decision.to === 'FAILED' || decision.to === 'EXPIRED') {
    log.warn({ code: decision.code, error: decision.message }, `enrichment ${decision.to.toLowerCase()}`);
  } else if ('error' in decision && decision.error) {
    log.debug({ code: decision.error.code }, 'enrichment backs off');
  }
}

function requestOf(row: repo.EnrichmentJobRow): MlJobRequest {
  return row.analysis === 'image'
    ? { analysis: 'image', input: { url: row.input?.url ?? '' } }
    : { analysis: 'text', input: { text: row.input?.text ?? '' } };
}

function store(db: Executor, id: number, revision: number, decision: Decision): Promise<boolean> {
  switch (decision.to) {
    case 'DONE':
      return repo.completeEnrichmentJob(db, id, revision, decision.result);
    case 'FAILED':
    case 'EXPIRED':
      return repo.endEnrichmentJob(db, id, revision, {
        status: decision.to,
        code: decision.code,
        message: truncateMessage(decision.message),
      });
    case 'PENDING':
    case 'WAITING':
      return repo.rescheduleEnrichmentJob(db, id, revision, {
        status: decision.to,
        externalJobId: decision.externalJobId,
        backoffMs: decision.backoffMs,
        attempts: decision.attempts,
        delayMs: decision.delayMs,
        errorCode: decision.error?.code ?? null,
        error: decision.error ? truncateMessage(decision.error.message) : null,
      });
  }
}

/**
 * The graphile-worker task: one step of one item, in a span linked to the trace of the page that
 * queued it (that trace may have ended days ago, so a link rather than a parent).
 */
export function enrichmentPollTask(deps: EnrichmentDeps): Task {
  return async (payload, helpers) => {
    const { id, trace } = payload as { id: number | string; trace?: Record<string, string> };
    await withExtractedContext(
      trace,
      'siphon.enrichment.poll',
      () => pollEnrichment(deps, Number(id), helpers.abortSignal),
      { link: true, attributes: { 'siphon.enrichment.id': String(id) } },
    );
  };
}

/** At worker start: items whose poll is overdue by more than this get a job again. */
export const OVERDUE_GRACE_MS = 60_000;

/** Re-queues items whose job was lost (workers were off, or enrichment was off). */
export function requeueOverdue(db: Executor, graceMs = OVERDUE_GRACE_MS): Promise<number> {
  return repo.requeueOverdueEnrichment(db, graceMs);
}
