import type { PipelineRow } from '../../db/repositories/pipeline.repository.js';
import type { ReconciliationRow } from '../../db/repositories/reconcile.repository.js';
import type { RunRow } from '../../db/repositories/run.repository.js';
import type { StateRow } from '../../db/repositories/state.repository.js';
import { formatCount, formatSeconds, formatTime, secondsBetween } from './format.js';
import type { FreshnessVerdict } from './freshness.js';
import { html, type Html } from './html.js';
import { badge, csrfField, page, type PageContext } from './layout.js';
import { runChart } from './run-chart.js';
import { compareForm } from './versions.page.js';

/** What an operator may ask of a pipeline from the console, with the words of its confirmation. */
export const PIPELINE_ACTIONS = {
  run: { label: 'Run', explain: 'A runner will start a run of this pipeline from its checkpoint.' },
  pause: {
    label: 'Pause',
    explain: 'The run stops after its current batch and keeps its checkpoint; a requested run is withdrawn.',
  },
  resume: { label: 'Resume', explain: 'A runner will continue the paused run from its checkpoint.' },
  enable: { label: 'Enable', explain: 'The pipeline may run again, by request or on its schedule.' },
  disable: { label: 'Disable', explain: 'The pipeline will not start runs, by request or on its schedule.' },
  reconcile: {
    label: 'Reconcile',
    explain:
      'The source and the target are compared (counts, key ranges, digests, then the differing keys); nothing is changed, the result is stored.',
  },
  'reset-checkpoint': {
    label: 'Reset checkpoint',
    explain: 'The checkpoint is forgotten (audited): the next run reads the source from the beginning.',
  },
} as const;
export type PipelineAction = keyof typeof PIPELINE_ACTIONS;

export function isPipelineAction(name: string): name is PipelineAction {
  return Object.hasOwn(PIPELINE_ACTIONS, name);
}

/** The actions that make sense in the pipeline's current status (others are refused in words if tried). */
export function availableActions(p: Pick<PipelineRow, 'status' | 'enabled' | 'kind'>): PipelineAction[] {
  const actions: PipelineAction[] = [];
  if (p.enabled && (p.status === 'IDLE' || p.status === 'FAILED')) actions.push('run');
  if (p.enabled && p.status === 'PAUSED') actions.push('resume');
  if (p.status === 'RUNNING' || p.status === 'RUN_REQUESTED') actions.push('pause');
  actions.push(p.enabled ? 'disable' : 'enable');
  if (p.kind === 'sql') actions.push('reconcile');
  if (p.status !== 'RUNNING' && p.status !== 'PAUSE_REQUESTED' && p.status !== 'RUN_REQUESTED')
    actions.push('reset-checkpoint');
  return actions;
}

export interface PipelinePageData {
  readonly pipeline: PipelineRow;
  readonly state: StateRow | undefined;
  readonly runs: readonly RunRow[];
  readonly versions: ReadonlyArray<{
    version: number;
    changed_by: string;
    changed_at: Date;
    config: unknown;
  }>;
  readonly verdict: FreshnessVerdict;
  readonly stalenessSeconds: number | undefined;
  readonly reconciliation?: ReconciliationRow | undefined;
}

export function pipelinePage(ctx: PageContext, data: PipelinePageData, now: Date): Html {
  const p = data.pipeline;
  const operator = ctx.who.role === 'operator';
  return page(
    ctx,
    'pipelines',
    p.name,
    html`<p><a href="/ui/pipelines">Pipelines</a> /</p>
      <h1>${p.name}</h1>
      ${p.description ? html`<p>${p.description}</p>` : ''}
      ${p.kind === 'social' ? html`<p><a href="/ui/social/${p.id}">Accounts and their sync state</a></p>` : ''}
      ${
        operator
          ? html`<nav class="actions" aria-label="Actions">
              ${availableActions(p).map(
                (a) => html`<a href="/ui/pipelines/${p.id}/confirm/${a}">${PIPELINE_ACTIONS[a].label}</a>`,
              )}
              ${p.kind === 'sql' ? html`<a href="/ui/pipelines/${p.id}/edit">Edit</a>` : ''}
            </nav>`
          : html`<p class="muted">Read-only: signed in as a viewer.</p>`
      }
      ${livePanel(p)}
      <div class="grid">
        <section class="panel" aria-labelledby="h-config">
          <h2 id="h-config">Configuration (version ${p.version})</h2>
          ${configFacts(p, data)}
        </section>
        <section class="panel" aria-labelledby="h-checkpoint">
          <h2 id="h-checkpoint">Checkpoint</h2>
          ${
            data.state
              ? html`<pre>${JSON.stringify(data.state, null, 2)}</pre>`
              : html`<p class="muted">None: the next run starts from the beginning.</p>`
          }
          ${data.reconciliation ? reconciliationFacts(data.reconciliation) : ''}
        </section>
      </div>
      <section aria-labelledby="h-runs">
        <h2 id="h-runs">Recent runs</h2>
        ${runChart(data.runs, now)} ${runsTable(data.runs, now)}
      </section>
      <section aria-labelledby="h-versions">
        <h2 id="h-versions">Configuration history</h2>
        ${compareForm(p.id, data.versions)} ${versionList(data.versions)}
      </section>`,
  );
}

function livePanel(p: PipelineRow): Html {
  return html`<section class="panel" aria-labelledby="h-live" data-live="/ui/pipelines/${p.id}/events">
    <h2 id="h-live">Now</h2>
    <div aria-live="polite">
      <dl class="facts">
        <dt>Status</dt>
        <dd>${badge(p.status, 'status')}</dd>
        <dt>Current or last run</dt>
        <dd>
          ${badge('—', 'run_status')}
          <a data-href-field="run" href="/ui/pipelines/${p.id}" hidden>open the run</a>
        </dd>
        <dt>Rows read / written</dt>
        <dd><span data-field="rows_read">—</span> / <span data-field="rows_written">—</span></dd>
        <dt>Batches</dt>
        <dd data-field="batches">—</dd>
        <dt>Rate</dt>
        <dd data-field="rate">—</dd>
        <dt>ETA</dt>
        <dd data-field="eta">—</dd>
      </dl>
    </div>
  </section>`;
}

function configFacts(p: PipelineRow, data: PipelinePageData): Html {
  const v = data.verdict;
  return html`<dl class="facts">
    <dt>Kind, mode</dt>
    <dd>${p.kind}, ${p.mode}</dd>
    <dt>Enabled</dt>
    <dd>${p.enabled ? 'yes' : badge('disabled')}</dd>
    ${
      p.kind === 'sql'
        ? html`<dt>Target</dt>
            <dd><code>${p.target_table}</code> keyed by <code>${(p.unique_key ?? []).join(', ')}</code></dd>
            <dt>Source query</dt>
            <dd><pre>${p.source_query}</pre></dd>`
        : html`<dt>Social</dt>
            <dd><pre>${JSON.stringify(p.social, null, 2)}</pre></dd>`
    }
    <dt>Batch size</dt>
    <dd>${formatCount(p.batch_size)}</dd>
    ${
      p.incremental_key
        ? html`<dt>Incremental key</dt>
            <dd><code>${p.incremental_key}</code></dd>`
        : ''
    }
    <dt>Schedule</dt>
    <dd>${p.schedule ? html`<code>${p.schedule}</code> (next ${formatTime(p.next_run_at)})` : 'manual'}</dd>
    <dt>Freshness</dt>
    <dd>
      ${
        v.state === 'unknown'
          ? html`no budget declared`
          : html`${badge(v.state)} ${formatSeconds(data.stalenessSeconds)} since the last success, allowed
            ${formatSeconds(v.budgetSeconds)} (${v.basis})`
      }
    </dd>
    <dt>Changed</dt>
    <dd>${formatTime(p.updated_at)} by ${p.updated_by}</dd>
  </dl>`;
}

/** What the latest reconcile found, in one sentence. */
export function reconciliationSummary(r: ReconciliationRow): string {
  return (
    `${r.status}: source ${formatCount(r.source_rows)} rows, target ${formatCount(r.target_rows)}; ` +
    `${r.missing_keys.length} missing, ${r.extra_keys.length} extra, ${r.changed_keys.length} changed`
  );
}

function reconciliationFacts(r: ReconciliationRow): Html {
  return html`<h3>Latest reconcile</h3>
    <p>${badge(r.status === 'DIFFERENT' ? 'FAILED' : 'SUCCESS')} ${reconciliationSummary(r)}</p>
    <p class="muted">
      ${formatTime(r.finished_at)} by ${r.requested_by}, configuration version ${r.config_version}
    </p>`;
}

function runsTable(runs: readonly RunRow[], now: Date): Html {
  if (runs.length === 0) return html`<p class="muted">No run yet.</p>`;
  return html`<div class="table-wrap">
    <table>
      <caption class="vh">
        Recent runs, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Status</th>
          <th scope="col" class="hide-small">Trigger</th>
          <th scope="col" class="num">Duration</th>
          <th scope="col" class="num">Read</th>
          <th scope="col" class="num">Written</th>
          <th scope="col" class="num hide-small">Batches</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        ${runs.map(
          (r) =>
            html`<tr>
              <td><a href="/ui/runs/${r.id}">${formatTime(r.started_at)}</a></td>
              <td>${badge(r.status)}</td>
              <td class="hide-small">${r.trigger}</td>
              <td class="num">${formatSeconds(secondsBetween(r.started_at, r.finished_at, now))}</td>
              <td class="num">${formatCount(r.rows_read)}</td>
              <td class="num">${formatCount(r.rows_written)}</td>
              <td class="num hide-small">${formatCount(r.batches)}</td>
              <td>${r.error_code ? html`<code>${r.error_code}</code>` : ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** Each version with the fields it changed from the one before (a field-level diff). */
function versionList(versions: PipelinePageData['versions']): Html {
  if (versions.length === 0) return html`<p class="muted">No version recorded.</p>`;
  return html`<ol reversed class="versions">
    ${versions.map((v, i) => {
      const before = versions[i + 1]?.config as Record<string, unknown> | undefined;
      const after = (v.config ?? {}) as Record<string, unknown>;
      const changed = before
        ? [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
            (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
          )
        : [];
      return html`<li>
        <strong>version ${v.version}</strong>, ${formatTime(v.changed_at)} by ${v.changed_by}
        ${
          !before
            ? html`<span class="muted">(first version)</span>`
            : changed.length === 0
              ? html`<span class="muted">(no configuration field changed)</span>`
              : html`<ul>
                  ${changed.map(
                    (k) =>
                      html`<li>
                        <code>${k}</code>: <del>${JSON.stringify(before[k] ?? null)}</del> →
                        <ins>${JSON.stringify(after[k] ?? null)}</ins>
                      </li>`,
                  )}
                </ul>`
        }
      </li>`;
    })}
  </ol>`;
}

export function confirmPage(ctx: PageContext, p: PipelineRow, action: PipelineAction): Html {
  const a = PIPELINE_ACTIONS[action];
  return page(
    ctx,
    'pipelines',
    `${a.label} ${p.name}?`,
    html`<p><a href="/ui/pipelines/${p.id}">${p.name}</a> /</p>
      <h1>${a.label} ${p.name}?</h1>
      <p>${a.explain}</p>
      <p>Its status is now ${badge(p.status)}.</p>
      <form method="post" action="/ui/pipelines/${p.id}/actions/${action}" class="actions">
        ${csrfField(ctx.csrf)}
        <button
          type="submit"
          class="${action === 'reset-checkpoint' || action === 'disable' ? 'danger' : 'primary'}"
        >
          Confirm: ${a.label.toLowerCase()}
        </button>
        <a href="/ui/pipelines/${p.id}">Cancel</a>
      </form>`,
  );
}
