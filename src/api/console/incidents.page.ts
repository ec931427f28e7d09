import { INCIDENT_STATUSES } from '../../core/incident.js';
import type { IncidentRow } from '../../db/repositories/incidents.repository.js';
import { formatTime } from './format.js';
import { html, type Html } from './html.js';
import { badge, csrfField, page, type PageContext } from './layout.js';

export function incidentsPage(
  ctx: PageContext,
  status: string | undefined,
  incidents: readonly IncidentRow[],
): Html {
  const operator = ctx.who.role === 'operator';
  return page(
    ctx,
    'incidents',
    'Incidents',
    html`<h1>Incidents</h1>
      <form class="filters" method="get" action="/ui/incidents">
        <label
          >Status
          <select name="status">
            <option value="">any</option>
            ${INCIDENT_STATUSES.map(
              (s) => html`<option value="${s}" ${s === status ? html`selected` : ''}>${s}</option>`,
            )}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      ${
        incidents.length === 0
          ? html`<p class="muted">No incident${status ? html` is ${status}` : ''}.</p>`
          : html`<div class="table-wrap">
              <table>
                <caption class="vh">
                  Incidents, most recently seen first
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Status</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Pipeline</th>
                    <th scope="col">Message</th>
                    <th scope="col">Seen</th>
                    ${operator ? html`<th scope="col">Actions</th>` : ''}
                  </tr>
                </thead>
                <tbody>
                  ${incidents.map((i) => incidentRow(ctx, i, operator))}
                </tbody>
              </table>
            </div>`
      }`,
  );
}

function incidentRow(ctx: PageContext, i: IncidentRow, operator: boolean): Html {
  const action = (name: 'acknowledge' | 'resolve', label: string) =>
    html`<form class="inline" method="post" action="/ui/incidents/${i.id}/${name}">
      ${csrfField(ctx.csrf)}<button type="submit">${label}</button>
    </form>`;
  return html`<tr id="incident-${i.id}">
    <td>${badge(i.status)}</td>
    <td>${i.kind}${i.error_code ? html`<br /><code>${i.error_code}</code>` : ''}</td>
    <td>${i.pipeline_id ? html`<a href="/ui/pipelines/${i.pipeline_id}">${i.pipeline_name}</a>` : '—'}</td>
    <td>${i.message}</td>
    <td>×${i.count}, first ${formatTime(i.first_seen_at)}, last ${formatTime(i.last_seen_at)}</td>
    ${
      operator
        ? html`<td>
            ${i.status === 'OPEN' ? action('acknowledge', 'Acknowledge') : ''}
            ${i.status !== 'RESOLVED' ? action('resolve', 'Resolve') : ''}
          </td>`
        : ''
    }
  </tr>`;
}
