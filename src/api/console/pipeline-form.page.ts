import { DEFAULT_BATCH_SIZE } from '../../core/pipeline-spec.schema.js';
import type { ValidationReport } from '../../pipelines/validate.service.js';
import { formatCount } from './format.js';
import { html, type Html, type Interpolation } from './html.js';
import { csrfField, page, type PageContext } from './layout.js';

/** The fields of the new-pipeline form (kind `sql`), as the browser posts them: all text. */
export const FORM_FIELDS = [
  'name',
  'description',
  'source_connection',
  'source_query',
  'target_table',
  'unique_key',
  'mode',
  'incremental_key',
  'lookback',
  'batch_size',
  'schedule',
  'freshness',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];
export type FormValues = Partial<Record<FormField, string>>;

/** Only the form's own fields, as text (anything else posted is ignored). */
export function formValues(body: unknown): FormValues {
  const raw = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const values: FormValues = {};
  for (const field of FORM_FIELDS) {
    const value = raw[field];
    if (typeof value === 'string') values[field] = value;
  }
  return values;
}

/** A stored pipeline as the form's values (kind `sql`). */
export function valuesOf(p: {
  name: string;
  description: string;
  source_connection: string | null;
  source_query: string | null;
  target_table: string | null;
  unique_key: readonly string[] | null;
  mode: string;
  incremental_key: string | null;
  lookback: string | null;
  batch_size: number;
  schedule: string | null;
  freshness: string | null;
}): FormValues {
  return {
    name: p.name,
    description: p.description,
    source_connection: p.source_connection ?? '',
    source_query: p.source_query ?? '',
    target_table: p.target_table ?? '',
    unique_key: (p.unique_key ?? []).join(', '),
    mode: p.mode,
    incremental_key: p.incremental_key ?? '',
    lookback: p.lookback ?? '',
    batch_size: String(p.batch_size),
    schedule: p.schedule ?? '',
    freshness: p.freshness ?? '',
  };
}

/**
 * The edit form as a PATCH: every field of the form, an emptied optional one as null (so it is
 * cleared, not kept), without `kind`, which cannot change.
 */
export function patchOf(values: FormValues): Record<string, unknown> {
  const { kind: _kind, ...spec } = specOf(values);
  for (const field of ['source_connection', 'incremental_key', 'lookback', 'schedule', 'freshness'] as const)
    if (!(field in spec)) spec[field] = null;
  if (!('description' in spec)) spec.description = '';
  return spec;
}

/**
 * The posted form as a pipeline configuration for the same validation and save as `POST /pipelines`:
 * empty optional fields are left out, the key is a comma-separated list, the batch size a number.
 */
export function specOf(values: FormValues): Record<string, unknown> {
  const text = (field: FormField) => {
    const v = values[field]?.trim();
    return v ? v : undefined;
  };
  const spec: Record<string, unknown> = { kind: 'sql' };
  for (const field of [
    'name',
    'source_connection',
    'source_query',
    'target_table',
    'mode',
    'incremental_key',
    'lookback',
    'schedule',
    'freshness',
  ] as const) {
    const v = text(field);
    if (v !== undefined) spec[field] = v;
  }
  if (values.description) spec.description = values.description;
  const key = text('unique_key');
  if (key !== undefined)
    spec.unique_key = key
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
  const batch = text('batch_size');
  if (batch !== undefined) spec.batch_size = /^\d+$/.test(batch) ? Number(batch) : batch;
  return spec;
}

/** A refusal of the dry run or of the save: its code and words, and the form field it names. */
export interface FormProblem {
  readonly code: string;
  readonly message: string;
  readonly field?: string | undefined;
}

export interface PipelineFormState {
  readonly values: FormValues;
  /** Editing this pipeline at this version (the form posts it back; a newer one is a refusal). */
  readonly edit?: { readonly id: string; readonly name: string; readonly version: number } | undefined;
  readonly problem?: FormProblem | undefined;
  readonly report?: ValidationReport | undefined;
}

/** The field a problem belongs to on this form (`unique_key.0` → `unique_key`), if it is one. */
function problemField(problem: FormProblem | undefined): FormField | undefined {
  const head = problem?.field?.split('.')[0];
  return (FORM_FIELDS as readonly string[]).includes(head ?? '') ? (head as FormField) : undefined;
}

export function pipelineFormPage(ctx: PageContext, state: PipelineFormState): Html {
  const { values, problem, report, edit } = state;
  const title = edit ? `Edit ${edit.name}` : 'New pipeline';
  const action = edit ? `/ui/pipelines/${edit.id}/edit` : '/ui/pipelines/new';
  const at = problemField(problem);
  const fieldError = (field: FormField): Interpolation =>
    at === field && problem
      ? html`<span class="field-error" id="err-${field}"
          ><code>${problem.code}</code>: ${problem.message}</span
        >`
      : '';
  const described = (field: FormField, hasHint: boolean): Html => {
    const ids = [hasHint ? `hint-${field}` : '', at === field ? `err-${field}` : '']
      .filter(Boolean)
      .join(' ');
    return html`${ids ? html`aria-describedby="${ids}"` : ''} ${at === field ? html`aria-invalid="true"` : ''}`;
  };
  const input = (field: FormField, label: string, hint?: string, attrs: Html = html``) =>
    html`<label
      >${label}
      <input
        name="${field}"
        value="${values[field] ?? ''}"
        ${described(field, hint !== undefined)}
        ${attrs}
      />
      ${hint ? html`<span class="hint" id="hint-${field}">${hint}</span>` : ''} ${fieldError(field)}
    </label>`;
  const mode = values.mode === 'incremental' ? 'incremental' : 'full';
  return page(
    ctx,
    'pipelines',
    title,
    html`<p>
        <a href="/ui/pipelines">Pipelines</a> /
        ${edit ? html`<a href="/ui/pipelines/${edit.id}">${edit.name}</a> /` : ''}
      </p>
      <h1>${title}</h1>
      ${
        problem && !at
          ? html`<div class="flash" role="alert" data-tone="bad">
              <strong>Refused (<code>${problem.code}</code>):</strong> ${problem.message}
            </div>`
          : ''
      }
      ${problem && at ? html`<p class="flash" role="alert" data-tone="bad">Refused: see the field ${at}.</p>` : ''}
      <form class="stack wide" method="post" action="${action}" novalidate>
        ${csrfField(ctx.csrf)}
        ${
          edit
            ? html`<input type="hidden" name="version" value="${edit.version}" />
                <p class="muted">Editing version ${edit.version}; saving makes a new version.</p>`
            : ''
        }
        ${input('name', 'Name', 'a lower-case letter, then a-z, 0-9 and _', html`required maxlength="63"`)}
        ${input('description', 'Description')}
        ${input(
          'source_connection',
          'Source connection',
          'a connection to another server (siphon connections list); empty reads this database',
        )}
        <label
          >Source query
          <textarea name="source_query" rows="6" ${described('source_query', true)}>
${values.source_query ?? ''}</textarea>
          <span class="hint" id="hint-source_query"
            >one SELECT over the source schemas (content, ugc), or over the connection's</span
          >
          ${fieldError('source_query')}
        </label>
        ${input('target_table', 'Target table', 'in analytics; created from the columns when missing')}
        ${input('unique_key', 'Unique key', 'result column(s), comma-separated')}
        <label
          >Mode
          <select name="mode" ${described('mode', false)}>
            <option value="full" ${mode === 'full' ? html`selected` : ''}>full</option>
            <option value="incremental" ${mode === 'incremental' ? html`selected` : ''}>incremental</option>
          </select>
          ${fieldError('mode')}
        </label>
        ${input('incremental_key', 'Incremental key', 'mode incremental: the column the checkpoint follows')}
        ${input('lookback', 'Lookback', 'mode incremental: such as 15m')}
        ${input('batch_size', 'Batch size', `rows per batch (default ${formatCount(DEFAULT_BATCH_SIZE)})`, html`inputmode="numeric"`)}
        ${input('schedule', 'Schedule', 'cron, UTC (empty: manual)')}
        ${input('freshness', 'Freshness', 'such as 2h (empty: none)')}
        <div class="actions">
          <button type="submit" name="intent" value="validate">Validate (dry run)</button>
          <button type="submit" name="intent" value="save" class="primary">Save</button>
        </div>
      </form>
      ${report ? reportSection(report) : ''}`,
  );
}

function reportSection(report: ValidationReport): Html {
  const columns = report.columns.map((c) => c.name);
  return html`<section class="panel" aria-labelledby="h-report" role="status">
    <h2 id="h-report">Dry run: ${report.valid ? 'valid' : 'not valid'}</h2>
    <dl class="facts">
      <dt>Columns</dt>
      <dd>${report.columns.map((c, i) => html`${i > 0 ? ', ' : ''}<code>${c.name}</code> ${c.type}`)}</dd>
      <dt>Estimated rows</dt>
      <dd>
        ${report.estimated_rows === null ? (report.estimate_reason ?? '—') : formatCount(report.estimated_rows)}
      </dd>
      <dt>Target</dt>
      <dd>
        <code>${report.target.table}</code>:
        ${report.target.action === 'create' ? 'will be created from these columns' : 'exists; rows will be upserted'}
        ${
          report.target.problems.length > 0
            ? html`<ul>
                ${report.target.problems.map((p) => html`<li>${p}</li>`)}
              </ul>`
            : ''
        }
      </dd>
    </dl>
    ${
      report.sample.length > 0
        ? html`<div class="table-wrap">
            <table>
              <caption>
                Sample rows
              </caption>
              <thead>
                <tr>
                  ${columns.map((c) => html`<th scope="col">${c}</th>`)}
                </tr>
              </thead>
              <tbody>
                ${report.sample.map(
                  (row) =>
                    html`<tr>
                      ${columns.map((c) => html`<td>${cell(row[c])}</td>`)}
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : html`<p class="muted">
            No sample row${report.sample_reason ? html` (${report.sample_reason})` : ''}.
          </p>`
    }
  </section>`;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '∅';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
