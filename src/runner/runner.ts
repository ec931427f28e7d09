import { clockOf, type Clock } from '../core/clock.js';
import type { QualifiedName } from '../core/identifiers.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
import { claimPipeline, renewLeases } from '../db/repositories/lease.repository.js';
import { promoteDueSchedules } from '../db/repositories/pipeline.repository.js';
import { nextOccurrence } from '../core/schedule.js';
import {
  heartbeatRunner,
  listenForPipelineChanges,
  pausedBy,
  markRunnerStopped,
  registerRunner,
} from '../db/repositories/runner.repository.js';
import { withTransaction, type Pool } from '../db/pool.js';
import { RunnerEvents } from '../core/runner-events.js';
import { executeClaim } from './run-executor.js';
import { buildOrphanedHeldIndexes } from './remote-run.js';
import { defaultTaskRegistry, type TaskRegistry } from '../tasks/index.js';
import { DEFAULT_SQL_POLICY, type SqlPolicy } from '../sql-guard/index.js';
import { startSyncWorkers, type SyncWorkers } from '../sync/sync-workers.js';
import { scheduleRetention, type RetentionPolicy } from '../sync/retention.js';
import { TierReservation } from '../sync/tier-reserve.js';
import type { CredentialPools } from '../sync/credential-pool.js';
import type { PlatformAdapter } from '../connectors/connector.js';
import type { IncidentNotifier } from '../incidents/index.js';
import type { SourceDeps } from '../sources/index.js';
import type { EnrichmentClient, EnrichmentPolicy } from '../enrichment/index.js';

/** How often a runner looks for indexes held by a first load that can no longer end. */
const HELD_INDEX_SWEEP_MS = 60_000;

export interface RunnerOptions {
  readonly pool: Pool;
  /** Connection string for the LISTEN connection (same role as the pool). */
  readonly listenUrl: string;
  readonly logger: Logger;
  readonly pollIntervalMs: number;
  readonly leaseMs: number;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly version?: string;
  readonly events?: RunnerEvents;
  readonly id?: string;
  /** How batches move rows (see ExecutorDeps.transfer). @default 'pushdown' */
  readonly transfer?: 'pushdown' | 'stream';
  /** siphon_reader pool for streamed source reads. @default the writer pool */
  readonly readerPool?: Pool;
  /** What pipeline SQL may read, write and call; re-checked at each claim. @default DEFAULT_SQL_POLICY */
  readonly sqlPolicy?: SqlPolicy;
  /** Sources in other databases (named connections). @default none (see ExecutorDeps.sources) */
  readonly sources?: SourceDeps;
  /** CODE tasks available to pipelines. @default defaultTaskRegistry() */
  readonly tasks?: TaskRegistry;
  /** The clock of runs and sync steps (durations, renewals, reschedules). @default systemClock */
  readonly clock?: Clock;
  /**
   * Prune raw responses and finished sync jobs past their retention every `everyMs` (src/sync/retention.ts).
   * @default off (the process that builds the runner passes the configured policy)
   */
  readonly retention?: RetentionPolicy & { readonly everyMs: number };
  /**
   * Social sync: the platform adapters this runner has credentials for, and how many sync steps it
   * executes at once (0: none; it still coordinates the social runs it claims). @default no adapters, 4
   */
  readonly sync?: {
    readonly adapters: ReadonlyMap<string, PlatformAdapter>;
    /** Platforms with several credentials: calls spread over each pool (src/sync/credential-pool.ts). */
    readonly pools?: CredentialPools;
    readonly concurrency?: number;
    readonly notifier?: IncidentNotifier;
    /** The ML service: pages queue enrichment and this runner's workers submit and poll it. @default off */
    readonly ml?: EnrichmentClient;
    /** Waits between enrichment polls and submits per item. @default DEFAULT_ENRICHMENT_POLICY */
    readonly enrichment?: Partial<EnrichmentPolicy>;
    /** First backoff after a transient platform failure (doubling up to a minute). @default 1000 */
    readonly retryBaseMs?: number;
    /**
     * Regular syncs of a tier start only while the day's quota left also covers the faster tiers
     * (src/sync/tier-reserve.ts; SIPHON_QUOTA_TIER_RESERVE). @default false
     */
    readonly tierReserve?: boolean;
  };
}

/**
 * A runner process's claim loop. Any number of runners, on any number of machines, share one
 * PostgreSQL: they claim pipelines with SKIP LOCKED, hold them by a renewed lease, and are woken by
 * NOTIFY (polling is the fallback). `stop()` drains: each run hands off after its current batch.
 */
export class Runner {
  readonly id: string;
  readonly events: RunnerEvents;
  readonly #options: RunnerOptions;
  readonly #active = new Map<string, Promise<void>>();
  readonly #stop = new AbortController();
  readonly #tasks: TaskRegistry;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #listener: pg.Client | undefined;
  #syncWorkers: SyncWorkers | undefined;
  #retention: { stop(): Promise<void> } | undefined;
  #sweeping: Promise<void> | undefined;
  #sweptAt = Number.NEGATIVE_INFINITY;
  /** The failure last logged for each target whose held indexes could not be built ('' for the look itself). */
  readonly #heldIndexFailures = new Map<string, string>();
  /** When each pipeline this runner is running was last announced as asked to pause (its clock). */
  readonly #pauseNotices = new Map<string, number>();

  constructor(options: RunnerOptions) {
    this.#options = options;
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.events = options.events ?? new RunnerEvents();
    this.#tasks = options.tasks ?? defaultTaskRegistry();
  }

  get activeRuns(): number {
    return this.#active.size;
  }

  async start(): Promise<void> {
    const { pool, logger } = this.#options;
    await registerRunner(pool, {
      id: this.id,
      hostname: hostname(),
      pid: process.pid,
      version: this.#options.version ?? '0',
    });
    const beatEvery = Math.max(250, Math.floor(this.#options.leaseMs / 3));
    this.#heartbeat = setInterval(() => void this.#beat(), beatEvery);
    this.#sweepHeldIndexes();
    await this.#listen();
    const sync = this.#options.sync;
    if (sync && (sync.concurrency ?? 4) > 0) {
      this.#syncWorkers = await startSyncWorkers({
        pool,
        logger,
        runnerId: this.id,
        adapters: sync.adapters,
        pools: sync.pools,
        concurrency: sync.concurrency ?? 4,
        pollIntervalMs: this.#options.pollIntervalMs,
        ...(sync.notifier ? { notifier: sync.notifier } : {}),
        ...(sync.ml ? { ml: sync.ml, enrichment: sync.enrichment } : {}),
        ...(sync.retryBaseMs ? { retryBaseMs: sync.retryBaseMs } : {}),
        ...(this.#options.clock ? { clock: this.#options.clock } : {}),
        ...(sync.tierReserve
          ? { tierReservation: new TierReservation(pool, { clock: this.#options.clock }) }
          : {}),
      });
    }
    if (this.#options.retention) this.#retention = scheduleRetention(pool, this.#options.retention, logger);
    logger.info({ runnerId: this.id, concurrency: this.#options.concurrency }, 'runner started');
    this.#loop = this.#claimLoop();
  }

  /** Drain: stop claiming, let each run commit its current batch and hand off, then deregister. */
  async stop(): Promise<void> {
    if (this.#stop.signal.aborted) return this.#loop;
    this.#stop.abort();
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled(this.#active.values());
    await this.#syncWorkers?.stop().catch(() => {});
    await this.#retention?.stop();
    clearInterval(this.#heartbeat);
    await this.#sweeping;
    await this.#listener?.end().catch(() => {});
    // /health and `siphon status` list a runner as live until this is recorded.
    await markRunnerStopped(this.#options.pool, this.id).catch((error: unknown) =>
      this.#options.logger.warn(
        { runnerId: this.id, err: (error as Error).message },
        'could not record that the runner stopped; it drops out of /health after its lease',
      ),
    );
    this.#options.logger.info({ runnerId: this.id }, 'runner stopped');
  }

  async #claimLoop(): Promise<void> {
    const { pool, logger, leaseMs, concurrency, pollIntervalMs } = this.#options;
    while (!this.#stop.signal.aborted) {
      let claimed = false;
      if (this.#active.size < concurrency) {
        try {
          const due = await withTransaction(pool, (tx) => promoteDueSchedules(tx, nextOccurrence));
          for (const skip of due.skipped) {
            logger.warn(
              { pipelineId: skip.id, pipeline: skip.name, status: skip.status, due: skip.due },
              'scheduled run skipped: the pipeline was not IDLE at its occurrence (etl_audit schedule_skipped)',
            );
          }
          const pipeline = await claimPipeline(pool, this.id, leaseMs, [...this.#active.keys()]);
          if (pipeline) {
            claimed = true;
            const work = executeClaim(
              {
                pool,
                logger,
                events: this.events,
                runnerId: this.id,
                leaseMs,
                maxAttempts: this.#options.maxAttempts,
                stopSignal: this.#stop.signal,
                tasks: this.#tasks,
                transfer: this.#options.transfer ?? 'pushdown',
                readerPool: this.#options.readerPool,
                sqlPolicy: this.#options.sqlPolicy ?? DEFAULT_SQL_POLICY,
                adapters: this.#options.sync?.adapters ?? new Map(),
                pools: this.#options.sync?.pools,
                sources: this.#options.sources,
                pauseAskedSince: (id, since) =>
                  (this.#pauseNotices.get(id) ?? Number.NEGATIVE_INFINITY) >= since,
                ...(this.#options.clock ? { clock: this.#options.clock } : {}),
              },
              pipeline,
            )
              .catch((error: unknown) => logger.error({ err: error, pipelineId: pipeline.id }, 'run crashed'))
              .finally(() => {
                // The same runner may have re-claimed this pipeline meanwhile: forget only this work.
                if (this.#active.get(pipeline.id) === work) {
                  this.#active.delete(pipeline.id);
                  this.#pauseNotices.delete(pipeline.id);
                }
                this.#wake?.();
              });
            this.#active.set(pipeline.id, work);
          }
        } catch (error) {
          logger.warn({ err: (error as Error).message }, 'claim failed; will retry');
        }
      }
      if (!claimed) await this.#idle(pollIntervalMs);
    }
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #beat(): Promise<void> {
    const { pool, leaseMs, logger } = this.#options;
    try {
      await renewLeases(pool, this.id, leaseMs, [...this.#active.keys()]);
      await heartbeatRunner(pool, this.id);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    }
    this.#sweepHeldIndexes();
  }

  /**
   * Builds the indexes a first load held back when its pipeline was deleted or now writes elsewhere
   * (remote-run.ts, docs/adr/0020): at start, then at the first heartbeat a minute after the last look.
   */
  #sweepHeldIndexes(): void {
    const now = clockOf(this.#options).now();
    if (this.#sweeping || this.#stop.signal.aborted || now - this.#sweptAt < HELD_INDEX_SWEEP_MS) return;
    this.#sweptAt = now;
    const { pool, logger } = this.#options;
    const failing = new Set<string>();
    const failed = (error: unknown, target?: QualifiedName) => {
      const name = target && `${target.schema}.${target.table}`;
      failing.add(name ?? '');
      const fields = {
        err: (error as Error).message,
        code: (error as { code?: unknown }).code,
        target: name,
      };
      // A failure that needs a person (a key found twice) would otherwise warn every minute: it warns
      // once, and again only when it changes.
      const again = this.#heldIndexFailures.get(name ?? '') === fields.err;
      this.#heldIndexFailures.set(name ?? '', fields.err);
      if (again)
        logger.debug(fields, 'still cannot build the indexes a first load held back; trying again later');
      else logger.warn(fields, 'could not build the indexes a first load held back; trying again later');
    };
    this.#sweeping = buildOrphanedHeldIndexes(pool, this.#stop.signal, failed)
      .then((built) => {
        for (const target of built) {
          logger.info(
            { target: `${target.schema}.${target.table}` },
            'built the indexes held back by a first load whose pipeline was deleted or retargeted',
          );
        }
      })
      .catch((error: unknown) => failed(error))
      .finally(() => {
        // A failure not met again in this look (built, or no longer held) warns anew if it returns.
        for (const key of this.#heldIndexFailures.keys()) {
          if (!failing.has(key)) this.#heldIndexFailures.delete(key);
        }
        this.#sweeping = undefined;
      });
  }

  async #listen(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    const client = new pg.Client({
      connectionString: this.#options.listenUrl,
      application_name: 'siphon-runner-listen',
    });
    client.on('notification', (message) => {
      // A run of a pipeline asked to pause ends a group of batches at the next one (docs/adr/0027).
      const paused = pausedBy(message.payload);
      if (paused !== undefined && this.#active.has(paused)) {
        this.#pauseNotices.set(paused, clockOf(this.#options).now());
      }
      this.#wake?.();
    });
    client.on('error', () => {
      // PostgreSQL went away: polling keeps working; re-listen after a pause.
      this.#listener = undefined;
      setTimeout(() => void this.#listen().catch(() => {}), this.#options.pollIntervalMs).unref();
    });
    try {
      await client.connect();
      await listenForPipelineChanges(client);
      this.#listener = client;
    } catch {
      await client.end().catch(() => {});
      setTimeout(() => void this.#listen().catch(() => {}), this.#options.pollIntervalMs).unref();
    }
  }
}
