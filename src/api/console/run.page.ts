import type { BatchRow, RunRow } from '../../db/repositories/run.repository.js';
import { formatCount, formatSeconds, formatTime } from './format.js';
import { html, type Html } from './html.js';
import { badge, page, type PageContext } from './layout.js';
import { runProgress } from './live-progress.js';

export interface RunPageData {
  readonly run: RunRow;
  readonly pipeline: { readonly id: string; readonly name: string };
  readonly batches: readonly BatchRow[];
  readonly expectedRows: number | undefined;
}

/** The batch a failure names in its details, when it names one. */
function failedBatch(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Record<string, unknown>;
  const n = d.batchNo ?? d.batch_no ?? d.batch;
  return typeof n === 'number' ? n : undefined;
}

export function runPage(ctx: PageContext, data: RunPageData, now: Date): Html {
  const { run, pipeline } = data;
  const live = runProgress(run, data.expectedRows, now).fields;
  const running = run.status === 'RUNNING';
  const batch = failedBatch(run.error_details);
  return page(
    ctx,
    'pipelines',
    `Run of ${pipeline.name}`,
    html`<p>
        <a href="/ui/pipelines">Pipelines</a> / <a href="/ui/pipelines/${pipeline.id}">${pipeline.name}</a> /
      </p>
      <h1>Run of ${pipeline.name}</h1>
      <section
        class="panel"
        aria-labelledby="h-progress"
        ${running ? html`data-live="/ui/runs/${run.id}/events"` : ''}
      >
        <h2 id="h-progress">Progress</h2>
        <div aria-live="polite">
          <dl class="facts">
            <dt>Status</dt>
            <dd>${badge(run.status, 'run_status')}</dd>
            <dt>Rows read / written / deleted</dt>
            <dd>
              <span data-field="rows_read">${live.rows_read}</span> /
              <span data-field="rows_written">${live.rows_written}</span> /
              <span data-field="rows_deleted">${live.rows_deleted}</span>
            </dd>
            <dt>Batches</dt>
            <dd data-field="batches">${live.batches}</dd>
            <dt>Elapsed</dt>
            <dd data-field="elapsed">${live.elapsed}</dd>
            <dt>Rate</dt>
            <dd data-field="rate">${live.rate}</dd>
            <dt>ETA</dt>
            <dd data-field="eta">${live.eta}</dd>
          </dl>
        </div>
      </section>
      ${
        run.error_code || run.error
          ? html`<section class="panel" aria-labelledby="h-error" role="alert">
              <h2 id="h-error">Error</h2>
              <p>
                <code>${run.error_code ?? 'no code'}</code
                >${batch !== undefined ? html` in batch ${batch}` : ''}: ${run.error}
              </p>
              ${run.error_details ? html`<pre>${JSON.stringify(run.error_details, null, 2)}</pre>` : ''}
            </section>`
          : ''
      }
      <section class="panel" aria-labelledby="h-facts">
        <h2 id="h-facts">Run</h2>
        <dl class="facts">
          <dt>Id</dt>
          <dd><code>${run.id}</code></dd>
          <dt>Configuration version</dt>
          <dd>${run.config_version}</dd>
          <dt>Trigger, mode</dt>
          <dd>${run.trigger}, ${run.mode}</dd>
          <dt>Runner (lease epoch)</dt>
          <dd><code>${run.runner_id}</code> (${run.lease_epoch})</dd>
          <dt>Started</dt>
          <dd>${formatTime(run.started_at)}</dd>
          <dt>Finished</dt>
          <dd>${formatTime(run.finished_at)}</dd>
        </dl>
      </section>
      <section aria-labelledby="h-ledger">
        <h2 id="h-ledger">Batch ledger</h2>
        ${
          data.batches.length === 0
            ? html`<p class="muted">
                No batch committed${running ? ' yet (reload to see the ledger)' : ''}.
              </p>`
            : html`<ol class="ledger">
                ${data.batches.map(
                  (b) =>
                    html`<li>
                      <strong>batch ${b.batch_no}</strong> committed ${formatTime(b.committed_at)}:
                      ${formatCount(b.rows_read)} read, ${formatCount(b.rows_written)} written,
                      ${formatCount(b.rows_deleted)} deleted in ${formatSeconds(b.duration_ms / 1000)}
                      <span class="muted"
                        >cursor ${JSON.stringify(b.cursor_from)} → ${JSON.stringify(b.cursor_to)}</span
                      >
                    </li>`,
                )}
              </ol>`
        }
      </section>`,
  );
}
