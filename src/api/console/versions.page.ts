import { formatTime } from './format.js';
import { html, type Html } from './html.js';
import { page, type PageContext } from './layout.js';

export interface VersionRow {
  readonly version: number;
  readonly changed_by: string;
  readonly changed_at: Date;
  readonly config: unknown;
}

/** The form that picks two versions to compare (on the pipeline page, and above a comparison). */
export function compareForm(
  pipelineId: string,
  versions: readonly VersionRow[],
  from?: number,
  to?: number,
): Html {
  if (versions.length < 2) return html``;
  const select = (name: string, label: string, chosen: number) =>
    html`<label
      >${label}
      <select name="${name}">
        ${versions.map((v) => html`<option value="${v.version}" ${v.version === chosen ? html`selected` : ''}>version ${v.version}</option>`)}
      </select>
    </label>`;
  return html`<form class="filters" method="get" action="/ui/pipelines/${pipelineId}/versions">
    ${select('from', 'From', from ?? versions[1]!.version)} ${select('to', 'To', to ?? versions[0]!.version)}
    <button type="submit">Compare</button>
  </form>`;
}

const show = (value: unknown) => (value === undefined ? '—' : JSON.stringify(value, null, 2));

/** Two versions side by side, field by field, the changed ones marked in words. */
export function versionsPage(
  ctx: PageContext,
  pipeline: { readonly id: string; readonly name: string },
  versions: readonly VersionRow[],
  from: VersionRow,
  to: VersionRow,
): Html {
  const a = (from.config ?? {}) as Record<string, unknown>;
  const b = (to.config ?? {}) as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changed = fields.filter((f) => JSON.stringify(a[f]) !== JSON.stringify(b[f]));
  return page(
    ctx,
    'pipelines',
    `${pipeline.name}: version ${from.version} → ${to.version}`,
    html`<p>
        <a href="/ui/pipelines">Pipelines</a> / <a href="/ui/pipelines/${pipeline.id}">${pipeline.name}</a> /
      </p>
      <h1>${pipeline.name}: version ${from.version} → ${to.version}</h1>
      ${compareForm(pipeline.id, versions, from.version, to.version)}
      <p role="status">
        ${changed.length === 0 ? 'No field differs.' : `${changed.length} field${changed.length === 1 ? '' : 's'} differ: ${changed.join(', ')}.`}
      </p>
      <div class="table-wrap">
        <table>
          <caption class="vh">
            Configuration of both versions, field by field
          </caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">
                Version ${from.version} (${formatTime(from.changed_at)}, ${from.changed_by})
              </th>
              <th scope="col">Version ${to.version} (${formatTime(to.changed_at)}, ${to.changed_by})</th>
            </tr>
          </thead>
          <tbody>
            ${fields.map((f) => {
              const differs = changed.includes(f);
              return html`<tr>
                <th scope="row">
                  ${f}${differs ? html` <span class="badge" data-tone="warn">changed</span>` : ''}
                </th>
                <td>
                  ${differs ? html`<del><pre>${show(a[f])}</pre></del>` : html`<pre>${show(a[f])}</pre>`}
                </td>
                <td>
                  ${differs ? html`<ins><pre>${show(b[f])}</pre></ins>` : html`<pre>${show(b[f])}</pre>`}
                </td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`,
  );
}
