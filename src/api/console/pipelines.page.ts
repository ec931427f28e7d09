import { PIPELINE_STATUSES } from '../../core/pipeline-spec.schema.js';
import { formatCount, formatSeconds, formatTime, secondsBetween } from './format.js';
import { html, type Html } from './html.js';
import { badge, page, type PageContext } from './layout.js';
import type { PipelineSummary } from './pipeline-summary.js';

export interface PipelineFilter {
  readonly text?: string | undefined;
  readonly kind?: string | undefined;
  readonly status?: string | undefined;
}

export const PIPELINE_KINDS = ['sql', 'social'] as const;

function freshnessCell(p: PipelineSummary): Html {
  const { verdict } = p;
  const age = formatSeconds(p.staleness_seconds);
  if (verdict.state === 'unknown') return html`<span class="muted">no budget</span> (${age})`;
  return html`${badge(verdict.state)} ${age} of ${formatSeconds(verdict.budgetSeconds)}
    <span class="muted">(${verdict.basis})</span>`;
}

/** The table of pipelines the overview and the list share. */
export function pipelineTable(pipelines: readonly PipelineSummary[], caption: string): Html {
  if (pipelines.length === 0) return html`<p class="muted">No pipeline matches.</p>`;
  const now = new Date();
  return html`<div class="table-wrap">
    <table>
      <caption class="vh">
        ${caption}
      </caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Status</th>
          <th scope="col" class="hide-small">Kind</th>
          <th scope="col" class="hide-small">Schedule</th>
          <th scope="col">Last run</th>
          <th scope="col" class="num">Rows</th>
          <th scope="col">Freshness</th>
        </tr>
      </thead>
      <tbody>
        ${pipelines.map(
          (p) =>
            html`<tr>
              <td><a class="name" href="/ui/pipelines/${p.id}">${p.name}</a></td>
              <td>${badge(p.status)} ${p.enabled ? '' : badge('disabled')}</td>
              <td class="hide-small">${p.kind} · ${p.mode}</td>
              <td class="hide-small">${p.schedule ?? html`<span class="muted">manual</span>`}</td>
              <td>
                ${
                  p.last_run_id
                    ? html`<a href="/ui/runs/${p.last_run_id}">${badge(p.last_run_status)}</a>
                        <span class="muted"
                          >${formatTime(p.last_run_started_at)},
                          ${formatSeconds(secondsBetween(p.last_run_started_at, p.last_run_finished_at, now))}</span
                        >
                        ${p.last_run_error_code ? html`<code>${p.last_run_error_code}</code>` : ''}`
                    : html`<span class="muted">never run</span>`
                }
              </td>
              <td class="num">${p.last_run_id ? formatCount(p.last_run_rows_written) : '—'}</td>
              <td>${freshnessCell(p)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

export function pipelinesPage(
  ctx: PageContext,
  filter: PipelineFilter,
  pipelines: readonly PipelineSummary[],
): Html {
  const option = (value: string, selected: string | undefined) =>
    html`<option value="${value}" ${value === selected ? html`selected` : ''}>${value}</option>`;
  return page(
    ctx,
    'pipelines',
    'Pipelines',
    html`<h1>Pipelines</h1>
      ${
        ctx.who.role === 'operator'
          ? html`<nav class="actions" aria-label="Actions"><a href="/ui/pipelines/new">New pipeline</a></nav>`
          : ''
      }
      <form class="filters" method="get" action="/ui/pipelines" role="search">
        <label>Search <input type="search" name="q" value="${filter.text ?? ''}" maxlength="200" /></label>
        <label
          >Kind
          <select name="kind">
            <option value="">any</option>
            ${PIPELINE_KINDS.map((k) => option(k, filter.kind))}
          </select>
        </label>
        <label
          >Status
          <select name="status">
            <option value="">any</option>
            ${PIPELINE_STATUSES.map((s) => option(s, filter.status))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <p class="muted" role="status">${pipelines.length} shown</p>
      ${pipelineTable(pipelines, 'Pipelines')}`,
  );
}
