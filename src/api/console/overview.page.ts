import type { IncidentRow } from '../../db/repositories/incidents.repository.js';
import type { RowsMoved, RunnerSummaryRow } from '../../db/repositories/console.repository.js';
import { formatCount, formatSeconds, formatTime } from './format.js';
import { html, type Html } from './html.js';
import { badge, page, type PageContext } from './layout.js';
import { needsAttentionFirst, type PipelineSummary } from './pipeline-summary.js';
import { pipelineTable } from './pipelines.page.js';

/** Pipelines listed on the overview (the most in need of a person first); the list page has them all. */
export const OVERVIEW_ROWS = 50;

export interface OverviewData {
  readonly pipelines: readonly PipelineSummary[];
  readonly runners: readonly RunnerSummaryRow[];
  readonly incidents: readonly IncidentRow[];
  readonly today: RowsMoved;
}

export function overviewPage(ctx: PageContext, data: OverviewData): Html {
  const byStatus = new Map<string, number>();
  for (const p of data.pipelines) byStatus.set(p.status, (byStatus.get(p.status) ?? 0) + 1);
  const stale = data.pipelines.filter((p) => p.verdict.state === 'stale').length;
  const failing = data.pipelines.filter((p) => p.failing).length;
  const live = data.runners.filter((r) => r.alive).length;
  return page(
    ctx,
    'overview',
    'Overview',
    html`<h1>Overview</h1>
      <div class="grid">
        <section class="panel" aria-labelledby="h-status">
          <h2 id="h-status">Pipelines by status</h2>
          <p>
            <span class="big">${data.pipelines.length}</span> pipelines: ${failing} failing, ${stale} stale
          </p>
          <ul>
            ${[...byStatus.entries()]
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([status, n]) => html`<li>${badge(status)} ${n}</li>`)}
          </ul>
        </section>
        <section class="panel" aria-labelledby="h-today">
          <h2 id="h-today">Today (UTC)</h2>
          <p><span class="big">${formatCount(data.today.written)}</span> rows written</p>
          <p class="muted">
            ${formatCount(data.today.read)} read, ${formatCount(data.today.deleted)} deleted, in
            ${formatCount(data.today.runs)} runs
          </p>
        </section>
        <section class="panel" aria-labelledby="h-runners">
          <h2 id="h-runners">Runners</h2>
          <p><span class="big">${live}</span> live</p>
          ${
            data.runners.length === 0
              ? html`<p class="muted">No runner has reported in the last day.</p>`
              : html`<ul>
                  ${data.runners.map(
                    (r) =>
                      html`<li>
                        ${badge(r.alive ? 'live' : 'stale')} <code>${r.id}</code>: heartbeat
                        ${formatSeconds(r.heartbeat_age_seconds)} ago, ${r.active_runs} running
                      </li>`,
                  )}
                </ul>`
          }
        </section>
      </div>
      <section aria-labelledby="h-incidents">
        <h2 id="h-incidents">Open incidents</h2>
        ${
          data.incidents.length === 0
            ? html`<p class="muted">None.</p>`
            : html`<ul>
                ${data.incidents.map(
                  (i) =>
                    html`<li>
                      ${badge(i.status)} <a href="/ui/incidents#incident-${i.id}">${i.kind}</a>
                      ${i.pipeline_name ? html`on <strong>${i.pipeline_name}</strong>` : ''}: ${i.message}
                      <span class="muted">(×${i.count}, last ${formatTime(i.last_seen_at)})</span>
                    </li>`,
                )}
              </ul>`
        }
      </section>
      <section aria-labelledby="h-attention">
        <h2 id="h-attention">Pipelines, failing and stale first</h2>
        ${pipelineTable(
          needsAttentionFirst(data.pipelines).slice(0, OVERVIEW_ROWS),
          'Pipelines, failing and stale first',
        )}
        ${
          data.pipelines.length > OVERVIEW_ROWS
            ? html`<p>
                The first ${OVERVIEW_ROWS} of ${data.pipelines.length};
                <a href="/ui/pipelines">all pipelines</a>.
              </p>`
            : ''
        }
      </section>`,
  );
}
