import { Option } from 'commander';
import Table from 'cli-table3';
import { colourWanted } from '../config/index.js';

/** cli-table3 colours its header and borders; piped output and NO_COLOR get plain text. */
function tableStyle(): { head: string[]; border: string[] } {
  return colourWanted() ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}

export interface OutputOptions {
  json?: boolean;
}

/** Prints rows as a table for people, or as JSON for scripts (`--json`). */
export function printRows(
  rows: ReadonlyArray<Record<string, unknown>>,
  columns: readonly string[],
  options: OutputOptions,
): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const table = new Table({ head: [...columns], style: tableStyle() });
  for (const row of rows) table.push(columns.map((c) => formatCell(row[c])));
  process.stdout.write(`${table.toString()}\n`);
}

export function printObject(value: Record<string, unknown>, options: OutputOptions): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const table = new Table({ style: tableStyle() });
  for (const [key, v] of Object.entries(value)) table.push({ [key]: formatCell(v) });
  process.stdout.write(`${table.toString()}\n`);
}

function formatCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date)
    return value
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `--json` on every command that prints data. */
export const jsonOption = () => new Option('--json', 'print JSON for scripts instead of a table');

/**
 * A progress line on `stream` (stderr: stdout keeps results for scripts). On a terminal one line is
 * rewritten in place at most twice a second; to a pipe or a log the first line is written at once,
 * then one a minute. `line` is only called when a line is due.
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  let last = 0;
  let drawn = false;
  const every = stream.isTTY ? 500 : 60_000;
  const report = (line: () => string, force = false) => {
    const now = Date.now();
    if (!force && now - last < every) return;
    last = now;
    if (stream.isTTY) {
      stream.write(`\r${line()}\u001b[K`);
      drawn = true;
    } else {
      stream.write(`${line()}\n`);
    }
  };
  report.due = () => Date.now() - last >= every;
  report.end = () => {
    if (drawn) stream.write('\n');
    drawn = false;
  };
  return report;
}
