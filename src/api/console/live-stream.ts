import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { previousFullRunRows } from '../../db/repositories/console.repository.js';
import { findPipeline } from '../../db/repositories/pipeline.repository.js';
import { findRun, listRuns, type RunRow } from '../../db/repositories/run.repository.js';
import type { Pool } from '../../db/pool.js';
import { pipelineProgress, runProgress, type LiveProgress } from './live-progress.js';

/** A comment line every this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

export interface LiveStreams {
  /** Streams a pipeline's status and its current or latest run until the client leaves. */
  pipeline(request: FastifyRequest, reply: FastifyReply, pipelineId: string): void;
  /** Streams a run's progress until it is no longer RUNNING (the last event says `done`). */
  run(request: FastifyRequest, reply: FastifyReply, run: RunRow): void;
}

/**
 * Server-sent events for the console's live panels. Each open stream reads its run from the
 * database every `intervalMs` (two small indexed queries) and sends an event only when something
 * changed; nothing is sent per row. Streams end when the app closes.
 */
export function openLiveStreams(app: FastifyInstance, pool: Pool, intervalMs: number): LiveStreams {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  function stream(
    request: FastifyRequest,
    reply: FastifyReply,
    next: () => Promise<LiveProgress | undefined>,
  ): void {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    let ended = false;
    let last = '';
    let timer: NodeJS.Timeout | undefined;
    let quietSince = Date.now();
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      open.delete(end);
      raw.end();
    };
    open.add(end);
    request.raw.once('close', end);
    const tick = async () => {
      if (ended) return;
      try {
        const progress = await next();
        if (ended) return;
        if (!progress) return end();
        const text = JSON.stringify(progress);
        if (text !== last) {
          raw.write(`event: progress\ndata: ${text}\n\n`);
          last = text;
          quietSince = Date.now();
        } else if (Date.now() - quietSince > KEEPALIVE_MS) {
          raw.write(': keep-alive\n\n');
          quietSince = Date.now();
        }
        if (progress.done) return end();
      } catch (error) {
        request.log.warn({ err: error }, 'console: live update failed; the browser will reconnect');
        return end();
      }
      timer = setTimeout(() => void tick(), intervalMs);
    };
    raw.write('retry: 2000\n\n');
    void tick();
  }

  return {
    pipeline(request, reply, pipelineId) {
      const expected = new Map<string, number | undefined>();
      stream(request, reply, async () => {
        const pipeline = await findPipeline(pool, pipelineId);
        if (!pipeline) return undefined;
        const run = pipeline.current_run_id
          ? await findRun(pool, pipeline.current_run_id)
          : (await listRuns(pool, pipeline.id, 1))[0];
        if (run && run.mode === 'full' && !expected.has(run.id))
          expected.set(run.id, await previousFullRunRows(pool, pipeline.id, run.id));
        return pipelineProgress(pipeline, run, run ? expected.get(run.id) : undefined, new Date());
      });
    },
    run(request, reply, first) {
      let expected: number | undefined | null = null;
      stream(request, reply, async () => {
        const run = await findRun(pool, first.id);
        if (!run) return undefined;
        if (expected === null)
          expected =
            run.mode === 'full' ? await previousFullRunRows(pool, run.pipeline_id, run.id) : undefined;
        const progress = runProgress(run, expected, new Date());
        return { ...progress, hrefs: {}, done: run.status !== 'RUNNING' };
      });
    },
  };
}
