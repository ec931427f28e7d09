/**
 * Siphon's Prometheus alert rules as data. deploy/prometheus/alerts.yml is rendered from this list
 * (test/unit/alerts-dashboards.test.ts keeps the file in step, checks every metric an expression
 * names against the registries, and runs promtool on the file where it is installed).
 *
 * Several API processes report the same cluster state, so expressions aggregate with `max by`.
 */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires. */
  readonly for: string;
  readonly labels: { readonly severity: 'page' | 'ticket' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export const ALERT_RULE_GROUPS: ReadonlyArray<{
  readonly name: string;
  readonly rules: readonly AlertRule[];
}> = [
  {
    name: 'siphon-pipelines',
    rules: [
      {
        alert: 'SiphonPipelineFailed',
        expr: 'max by (pipeline) (siphon_pipeline_status{status="FAILED"}) == 1',
        for: '1m',
        labels: { severity: 'page' },
        annotations: {
          summary: 'Pipeline {{ $labels.pipeline }} FAILED',
          description:
            'The last run of {{ $labels.pipeline }} failed; it stays FAILED until someone runs it again. ' +
            'GET /pipelines/{{ $labels.pipeline }}/runs shows the error code and message.',
        },
      },
      {
        alert: 'SiphonFreshnessExceeded',
        expr:
          'max by (pipeline) (siphon_pipeline_staleness_seconds)\n' +
          '  > max by (pipeline) (siphon_pipeline_freshness_seconds)',
        for: '5m',
        labels: { severity: 'ticket' },
        annotations: {
          summary: 'Pipeline {{ $labels.pipeline }} is staler than its freshness',
          description:
            'No successful run of {{ $labels.pipeline }} for {{ $value | humanizeDuration }}, more than the ' +
            'freshness its spec declares. Check that it is scheduled, enabled and not FAILED or PAUSED.',
        },
      },
      {
        alert: 'SiphonRunWithoutProgress',
        expr:
          'max by (pipeline) (siphon_run_last_progress_age_seconds)\n' +
          '  > on () group_left () max(siphon_lease_duration_seconds)',
        for: '2m',
        labels: { severity: 'page' },
        annotations: {
          summary: 'The run of {{ $labels.pipeline }} has made no progress for longer than a lease',
          description:
            'No batch or sync task of the current run of {{ $labels.pipeline }} committed for ' +
            '{{ $value | humanizeDuration }}. A stuck statement, a lock, or a runner that holds the lease ' +
            'without working: look at pg_stat_activity and the runner logs.',
        },
      },
      {
        alert: 'SiphonNoLiveRunner',
        expr:
          'max(siphon_runners_live) == 0\n' +
          '  and on () max(siphon_pipelines{status=~"RUN_REQUESTED|RUNNING|PAUSE_REQUESTED"}) > 0',
        for: '5m',
        labels: { severity: 'page' },
        annotations: {
          summary: 'Pipelines wait for a runner and none is alive',
          description: 'No runner has sent a heartbeat recently while pipelines are requested or running.',
        },
      },
    ],
  },
  {
    name: 'siphon-social',
    rules: [
      {
        alert: 'SiphonDailyQuotaExhausted',
        expr: 'max by (platform, credential) (siphon_quota_exhausted) == 1',
        for: '0m',
        labels: { severity: 'ticket' },
        annotations: {
          summary: 'Daily quota of {{ $labels.platform }} credential {{ $labels.credential }} is exhausted',
          description:
            'Sync work for this credential waits for the quota reset (checkpoints are kept). Add a credential ' +
            'or ask the platform for more quota to go faster.',
        },
      },
      {
        alert: 'SiphonEnrichmentPastDeadline',
        expr: 'max by (platform, analysis) (siphon_enrichment_past_deadline) > 0',
        for: '10m',
        labels: { severity: 'ticket' },
        annotations: {
          summary:
            '{{ $value }} {{ $labels.platform }} items wait on {{ $labels.analysis }} enrichment past their deadline',
          description:
            'The enrichment (ML) service has not answered in time. Check that it is reachable; items expire ' +
            'at their deadline and are not retried forever.',
        },
      },
    ],
  },
];

/** A one-line YAML string, quoted the way prettier quotes it (single quotes unless that needs more escapes). */
function quote(text: string): string {
  if (text.includes('\n')) throw new Error(`a YAML scalar here must be one line: ${text}`);
  return text.includes("'") && !text.includes('"') ? JSON.stringify(text) : `'${text.replaceAll("'", "''")}'`;
}

/** deploy/prometheus/alerts.yml: one-line quoted scalars, expressions as literal blocks. */
export function renderAlertRules(groups = ALERT_RULE_GROUPS): string {
  const lines = [
    '# Siphon alert rules for Prometheus. Generated from src/observability/alert-rules.ts: edit that file,',
    '# then UPDATE_ALERT_RULES=1 npx vitest run test/unit/alerts-dashboards.test.ts rewrites this one.',
    'groups:',
  ];
  for (const group of groups) {
    lines.push(`  - name: ${quote(group.name)}`, '    rules:');
    for (const rule of group.rules) {
      lines.push(`      - alert: ${rule.alert}`, '        expr: |-');
      for (const line of rule.expr.split('\n')) lines.push(`          ${line}`);
      lines.push(`        for: ${rule.for}`, '        labels:');
      lines.push(`          severity: ${rule.labels.severity}`, '        annotations:');
      lines.push(`          summary: ${quote(rule.annotations.summary)}`);
      lines.push(`          description: ${quote(rule.annotations.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
