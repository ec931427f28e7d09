import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_RULE_GROUPS, renderAlertRules } from '../../src/observability/alert-rules.js';
import { registeredMetricNames } from '../../src/observability/index.js';
import { testTempDir } from '../helpers/tmp.js';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** Every series name a scrape can show: counters and gauges as named, histograms with their suffixes. */
const registered = registeredMetricNames();
const exposed = new Set(
  registered.flatMap((m) =>
    m.type === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`, m.name] : [m.name],
  ),
);

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
]);
const KEYWORDS_TOO = new Set(['bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, keywords, label
 * names (inside `{}` or a `by (…)` list), durations or Grafana variables.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(match.index + match[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or an aggregation
    const word = match[0];
    if (KEYWORDS.has(word) || KEYWORDS_TOO.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

describe('metricNamesIn (the checker itself)', () => {
  it('finds selected metrics and ignores functions, labels, keywords, ranges and variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le) (rate(siphon_runner_batch_duration_seconds_bucket{pipeline="$pipeline"}[$__rate_interval])))',
      ),
    ).toEqual(['siphon_runner_batch_duration_seconds_bucket']);
    expect(
      metricNamesIn('max by (pipeline) (a_total) > on () group_left () max(b_seconds) and on() c == bool 1'),
    ).toEqual(['a_total', 'b_seconds', 'c']);
    expect(metricNamesIn('sum(x{status=~"RUNNING|IDLE", a="b"}) offset 5m')).toEqual(['x']);
  });
});

describe('the registries', () => {
  it('list the series the alerts, dashboards and docs rely on, by Prometheus naming conventions', () => {
    const byName = new Map(registered.map((m) => [m.name, m]));
    for (const name of [
      'siphon_pipeline_runs_total',
      'siphon_pipeline_freshness_exceeded',
      'siphon_sync_tasks',
      'siphon_quota_units_remaining',
      'siphon_enrichment_oldest_wait_seconds',
      'siphon_errors_total',
      'siphon_runner_runs_total',
      'siphon_runner_batch_duration_seconds',
    ]) {
      expect(byName.has(name), name).toBe(true);
    }
    for (const m of registered) {
      expect(m.name).toMatch(/^siphon_[a-z0-9_]+$/);
      if (m.type === 'counter') expect(m.name, `${m.name} is a counter`).toMatch(/_total$/);
      else if (!/^siphon_(api|runner)_(nodejs|process)_/.test(m.name)) expect(m.name).not.toMatch(/_total$/);
    }
    // A name registered by both endpoints would be summed twice across them.
    const api = new Set(registered.filter((m) => m.endpoint === 'api').map((m) => m.name));
    expect(registered.filter((m) => m.endpoint === 'runner' && api.has(m.name))).toEqual([]);
  });
});

describe('alert rules (deploy/prometheus/alerts.yml)', () => {
  const file = 'deploy/prometheus/alerts.yml';
  const tmp = testTempDir('promtool');
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('is the rendering of src/observability/alert-rules.ts', () => {
    if (process.env.UPDATE_ALERT_RULES) writeFileSync(join(root, file), renderAlertRules());
    expect(
      read(file),
      `${file} is stale: UPDATE_ALERT_RULES=1 npx vitest run ${'test/unit/alerts-dashboards.test.ts'}`,
    ).toBe(renderAlertRules());
  });

  it('cover the alerts the issue asks for, each well-formed and naming only registered metrics', () => {
    const rules = ALERT_RULE_GROUPS.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'SiphonPipelineFailed',
        'SiphonFreshnessExceeded',
        'SiphonRunWithoutProgress',
        'SiphonDailyQuotaExhausted',
        'SiphonEnrichmentPastDeadline',
      ]),
    );
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Siphon[A-Z][A-Za-z]+$/);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['page', 'ticket']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description.length).toBeGreaterThan(20);
      const names = metricNamesIn(rule.expr);
      expect(names.length, rule.alert).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exposed.has(n)),
        `${rule.alert} names metrics nothing registers`,
      ).toEqual([]);
      // Labels an annotation uses must survive the expression's aggregation.
      for (const [, label] of `${rule.annotations.summary} ${rule.annotations.description}`.matchAll(
        /\$labels\.(\w+)/g,
      )) {
        expect(rule.expr, `${rule.alert} keeps ${label}`).toMatch(new RegExp(`by \\([^)]*\\b${label}\\b`));
      }
    }
  });

  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  const hasPromtool = !promtool.error && promtool.status === 0;
  if (!hasPromtool) {
    process.stdout.write(
      '[alerts] promtool is not installed (apt-get install prometheus provides it): skipping promtool checks\n',
    );
  }

  it.skipIf(!hasPromtool)('pass promtool check rules and the unit tests in alerts.test.yml', () => {
    const check = spawnSync('promtool', ['check', 'rules', join(root, file)], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const test = spawnSync('promtool', ['test', 'rules', join(root, 'deploy/prometheus/alerts.test.yml')], {
      encoding: 'utf8',
    });
    expect(`${test.stdout}${test.stderr}`, test.stdout).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it.skipIf(!hasPromtool)(
    'deploy/prometheus.yml passes promtool check config (with a stand-in token file)',
    () => {
      const token = join(tmp, 'token');
      writeFileSync(token, 'viewer-token-for-the-check\n');
      mkdirSync(join(tmp, 'prometheus'));
      copyFileSync(join(root, file), join(tmp, 'prometheus/alerts.yml'));
      const config = read('deploy/prometheus.yml').replaceAll('/etc/prometheus/siphon-viewer-token', token);
      expect(config).toContain(token);
      writeFileSync(join(tmp, 'prometheus.yml'), config);
      const check = spawnSync('promtool', ['check', 'config', join(tmp, 'prometheus.yml')], {
        encoding: 'utf8',
      });
      expect(`${check.stdout}${check.stderr}`).toMatch(/SUCCESS: 6 rules found/);
      expect(check.status).toBe(0);
    },
  );
});

describe('Grafana dashboards (deploy/grafana/dashboards)', () => {
  const dir = 'deploy/grafana/dashboards';
  const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.json'));

  interface Panel {
    id: number;
    type: string;
    title: string;
    targets?: Array<{ expr?: string; refId: string }>;
    panels?: Panel[];
  }

  it('are the three the issue asks for, each valid JSON with a unique uid', () => {
    expect(files.sort()).toEqual(['siphon-overview.json', 'siphon-pipeline.json', 'siphon-social.json']);
    const uids = files.map((f) => (JSON.parse(read(`${dir}/${f}`)) as { uid: string }).uid);
    expect(new Set(uids).size).toBe(files.length);
  });

  it.each(files)('%s: every panel query names metrics the code registers', (file) => {
    const dashboard = JSON.parse(read(`${dir}/${file}`)) as {
      title: string;
      panels: Panel[];
      templating: { list: Array<{ type: string; query: unknown }> };
    };
    expect(dashboard.title).toMatch(/^Siphon \//);
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(5);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const queries: Array<[string, string]> = [];
    for (const panel of panels) {
      expect(panel.targets?.length, `${panel.title} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        expect(target.expr, `${panel.title} ${target.refId}`).toBeTruthy();
        queries.push([panel.title, target.expr!]);
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const query = (variable.query as { query: string }).query;
      const metric = /^label_values\((\w+),\s*\w+\)$/.exec(query);
      expect(metric, query).not.toBeNull();
      queries.push([`variable ${query}`, metric![1]!]);
    }
    for (const [where, expr] of queries) {
      const names = metricNamesIn(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      expect(
        names.filter((n) => !exposed.has(n)),
        `${where}: ${expr}`,
      ).toEqual([]);
    }
  });
});
