import type {
  AccountSyncRow,
  EnrichmentBacklogRow,
  QuotaBurnRow,
} from '../../db/repositories/console-social.repository.js';
import type { SyncSummary } from '../../db/repositories/sync-status.repository.js';
import { formatCount, formatSeconds, formatTime } from './format.js';
import { html, type Html } from './html.js';
import { badge, page, type PageContext } from './layout.js';
import type { PipelineSummary } from './pipeline-summary.js';
import { pipelineTable } from './pipelines.page.js';

export interface SocialData {
  readonly quotas: readonly QuotaBurnRow[];
  readonly backlog: readonly EnrichmentBacklogRow[];
  readonly pipelines: readonly PipelineSummary[];
}

/** Used units against the daily cap, in words and percent (colour never carries it alone). */
function burn(q: QuotaBurnRow): Html {
  if (q.daily_units === null)
    return html`${formatCount(q.units_used)} calls today <span class="muted">(no daily cap)</span>`;
  const percent = Math.min(100, Math.round((100 * q.units_used) / q.daily_units));
  const tone = percent >= 100 ? 'stale' : percent >= 80 ? 'PAUSED' : 'fresh';
  return html`${formatCount(q.units_used)} of ${formatCount(q.daily_units)}
    <span class="badge" data-tone="${tone === 'stale' ? 'bad' : tone === 'PAUSED' ? 'warn' : 'ok'}"
      >${percent} %</span
    >`;
}

export function socialPage(ctx: PageContext, data: SocialData, now: Date): Html {
  return page(
    ctx,
    'social',
    'Social',
    html`<h1>Social</h1>
      <section aria-labelledby="h-quotas">
        <h2 id="h-quotas">Quota per credential</h2>
        ${
          data.quotas.length === 0
            ? html`<p class="muted">No credential has made a call yet.</p>`
            : html`<div class="table-wrap">
                <table>
                  <caption class="vh">
                    Quota per credential
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Platform</th>
                      <th scope="col">Credential</th>
                      <th scope="col">Today</th>
                      <th scope="col">Resets</th>
                      <th scope="col" class="num">Rate</th>
                      <th scope="col" class="num">Calls / 429s</th>
                      <th scope="col">State</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${data.quotas.map(
                      (q) =>
                        html`<tr>
                          <td>${q.platform}</td>
                          <td><code>${q.credential}</code></td>
                          <td>${burn(q)}</td>
                          <td>
                            ${formatTime(q.resets_at)}
                            <span class="muted"
                              >(in ${formatSeconds((q.resets_at.getTime() - now.getTime()) / 1000)})</span
                            >
                          </td>
                          <td class="num">${q.calls_per_window} / ${formatSeconds(q.window_ms / 1000)}</td>
                          <td class="num">${formatCount(q.calls_total)} / ${formatCount(q.rate_limited)}</td>
                          <td>
                            ${
                              q.rejected_until
                                ? html`${badge('FAILED')} rejected until ${formatTime(q.rejected_until)}:
                                  ${q.rejected_reason}`
                                : q.paused_until
                                  ? html`${badge('PAUSED')} until ${formatTime(q.paused_until)}`
                                  : badge('live')
                            }
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </section>
      <section aria-labelledby="h-backlog">
        <h2 id="h-backlog">Enrichment backlog</h2>
        ${
          data.backlog.length === 0
            ? html`<p class="muted">Nothing waits for enrichment.</p>`
            : html`<ul>
                ${data.backlog.map(
                  (b) =>
                    html`<li>
                      ${b.platform} ${b.analysis}: ${formatCount(b.waiting)} waiting, the oldest for
                      ${formatSeconds(b.oldest_wait_seconds)}${
                        b.past_deadline > 0
                          ? html`, ${badge('stale')} ${formatCount(b.past_deadline)} past their deadline`
                          : ''
                      }
                    </li>`,
                )}
              </ul>`
        }
      </section>
      <section aria-labelledby="h-social-pipelines">
        <h2 id="h-social-pipelines">Social pipelines</h2>
        ${
          data.pipelines.length === 0
            ? html`<p class="muted">No social pipeline.</p>`
            : html`<ul>
                  ${data.pipelines.map((p) => html`<li><a href="/ui/social/${p.id}">${p.name}: accounts and sync state</a></li>`)}
                </ul>
                ${pipelineTable(data.pipelines, 'Social pipelines')}`
        }
      </section>`,
  );
}

const STATE_TONE: Record<string, string> = {
  done: 'SUCCESS',
  running: 'RUNNING',
  waiting: 'PAUSED',
  skipped: 'disabled',
  failed: 'FAILED',
};

export function socialPipelinePage(
  ctx: PageContext,
  pipeline: { readonly id: string; readonly name: string; readonly status: string },
  summary: SyncSummary,
  accounts: readonly AccountSyncRow[],
): Html {
  const run = summary.run;
  const states = new Map<string, number>();
  for (const a of accounts) states.set(a.state, (states.get(a.state) ?? 0) + 1);
  return page(
    ctx,
    'social',
    `${pipeline.name}: accounts`,
    html`<p>
        <a href="/ui/social">Social</a> / <a href="/ui/pipelines/${pipeline.id}">${pipeline.name}</a> /
      </p>
      <h1>${pipeline.name}: accounts</h1>
      ${
        run
          ? html`<p>
                Run <a href="/ui/runs/${run.id}">${formatTime(run.started_at)}</a> ${badge(run.status)}
                (${run.trigger}, ${run.mode}): ${summary.jobs.total} accounts, ${formatCount(summary.calls)}
                calls, ${summary.waiting.items} tasks
                waiting${
                  summary.waiting.earliest_not_before
                    ? html` until ${formatTime(summary.waiting.earliest_not_before)}`
                    : ''
                }.
              </p>
              <p>
                ${[...states.entries()].map(([s, n]) => html`<span class="badge" data-tone="${toneOf(s)}">${s}</span> ${n} `)}
              </p>`
          : html`<p class="muted">This pipeline has not run yet.</p>`
      }
      ${
        accounts.length === 0
          ? ''
          : html`<div class="table-wrap">
              <table>
                <caption class="vh">
                  Accounts of the run and their sync state
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Account</th>
                    <th scope="col">State</th>
                    <th scope="col" class="num">Pages</th>
                    <th scope="col" class="num">Calls</th>
                    <th scope="col" class="num">Rows written</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  ${accounts.map(
                    (a) =>
                      html`<tr>
                        <td>${a.account} <span class="muted">(${a.job_kind})</span></td>
                        <td><span class="badge" data-tone="${toneOf(a.state)}">${a.state}</span></td>
                        <td class="num">${formatCount(a.pages)}</td>
                        <td class="num">${formatCount(a.calls)}</td>
                        <td class="num">${formatCount(a.written)}</td>
                        <td>
                          ${a.state === 'waiting' && a.waiting_until ? html`until ${formatTime(a.waiting_until)}` : ''}
                          ${a.error_code ? html`<code>${a.error_code}</code> ` : ''}${a.error ?? ''}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }`,
  );
}

function toneOf(state: string): string {
  const status = STATE_TONE[state];
  return status === 'SUCCESS' ? 'ok' : status === 'FAILED' ? 'bad' : status === 'RUNNING' ? 'busy' : 'warn';
}
