import type { RunRow } from '../../db/repositories/run.repository.js';
import { formatCount, formatSeconds } from './format.js';
import { html, type Html } from './html.js';

const WIDTH = 600;
const BAND = 70;

/**
 * Recent runs as two rows of bars, oldest on the left: duration above, rows written below. Inline
 * SVG with a title per bar; the same numbers are in the runs table beside it.
 */
export function runChart(runs: readonly RunRow[], now: Date): Html {
  const ordered = [...runs].reverse();
  if (ordered.length === 0) return html``;
  const durations = ordered.map((r) => ((r.finished_at ?? now).getTime() - r.started_at.getTime()) / 1000);
  const rows = ordered.map((r) => Number(r.rows_written));
  const maxDuration = Math.max(...durations, 0.001);
  const maxRows = Math.max(...rows, 1);
  const step = WIDTH / ordered.length;
  const bar = Math.min(24, Math.max(2, step * 0.7));
  const height = 2 * BAND + 40;
  return html`<svg
    class="chart"
    viewBox="0 0 ${WIDTH + 60} ${height}"
    width="${WIDTH + 60}"
    height="${height}"
    role="img"
    aria-labelledby="chart-title"
  >
    <title id="chart-title">
      Last ${ordered.length} runs, oldest first: duration (up to ${formatSeconds(maxDuration)}) and rows
      written (up to ${formatCount(maxRows)})
    </title>
    <text x="0" y="12">duration</text>
    <text x="0" y="${BAND + 32}">rows</text>
    ${ordered.map((run, i) => {
      const x = 60 + i * step;
      const dh = Math.max(1, (durations[i]! / maxDuration) * (BAND - 10));
      const rh = Math.max(1, (rows[i]! / maxRows) * (BAND - 10));
      const failed = run.status === 'FAILED' || run.status === 'INTERRUPTED';
      return html`<g>
        <title>
          ${run.status} at ${run.started_at.toISOString()}: ${formatSeconds(durations[i])},
          ${formatCount(rows[i])} rows
        </title>
        <rect
          class="${failed ? 'bar-failed' : 'bar-duration'}"
          x="${x.toFixed(1)}"
          y="${(BAND - dh + 10).toFixed(1)}"
          width="${bar.toFixed(1)}"
          height="${dh.toFixed(1)}"
        />
        <rect
          class="bar-rows"
          x="${x.toFixed(1)}"
          y="${(2 * BAND - rh + 30).toFixed(1)}"
          width="${bar.toFixed(1)}"
          height="${rh.toFixed(1)}"
        />
      </g>`;
    })}
  </svg>`;
}
