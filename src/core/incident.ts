/** Pure rules of incidents: their kinds, their status machine and what makes two reports the same. */

export const INCIDENT_KINDS = [
  'pipeline_failed',
  'credential_rejected',
  'quota_exhausted',
  'lease_takeovers',
  'accounts_unreachable',
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export const INCIDENT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** What a person (or the engine) does to an incident. */
export type IncidentAction = 'acknowledge' | 'resolve';

/** An incident as stored in etl.incidents. */
export interface Incident {
  id: string;
  kind: IncidentKind;
  fingerprint: string;
  status: IncidentStatus;
  pipeline_id: string | null;
  run_id: string | null;
  error_code: string | null;
  message: string;
  trace_id: string | null;
  details: Record<string, unknown>;
  count: number;
  first_seen_at: Date;
  last_seen_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
}

/** One occurrence of a problem, as the runner or a sync reports it. */
export interface IncidentReport {
  readonly kind: IncidentKind;
  readonly message: string;
  readonly pipelineId?: string;
  readonly runId?: string;
  readonly errorCode?: string;
  readonly traceId?: string;
  /** Distinguishes problems of one kind outside a pipeline, e.g. `youtube:<credential name>`. */
  readonly subject?: string;
  readonly details?: Record<string, unknown>;
}

/** Repeated lease takeovers of one pipeline within this window open a `lease_takeovers` incident. */
export const TAKEOVER_WINDOW_MS = 60 * 60 * 1000;
/** How many takeovers within the window make an incident. */
export const TAKEOVER_THRESHOLD = 3;

/** Skipped (unreachable) and all accounts of one social run. */
export interface SkippedShare {
  readonly skipped: number;
  readonly jobs: number;
}

/** A jump needs at least this many skipped accounts: two private accounts of ten are not news. */
export const SKIPPED_JUMP_MIN_ACCOUNTS = 3;
/** …and the skipped share must grow by at least this many points over the previous successful run… */
export const SKIPPED_JUMP_MIN_POINTS = 0.05;
/** …and at least double it. */
export const SKIPPED_JUMP_FACTOR = 2;

/**
 * Whether a social run's share of unreachable accounts jumped against the pipeline's previous
 * successful run (none counts as a share of 0, so a first run with many bad handles is reported):
 * at least 3 accounts, +5 points, and at least twice the previous share. A slow drift (accounts going
 * private one by one, which is normal at 100,000 accounts) never opens an incident.
 */
export function skippedShareJumped(now: SkippedShare, before: SkippedShare | undefined): boolean {
  if (now.jobs === 0 || now.skipped < SKIPPED_JUMP_MIN_ACCOUNTS) return false;
  const shareNow = now.skipped / now.jobs;
  const shareBefore = before && before.jobs > 0 ? before.skipped / before.jobs : 0;
  return shareNow - shareBefore >= SKIPPED_JUMP_MIN_POINTS && shareNow >= shareBefore * SKIPPED_JUMP_FACTOR;
}

/**
 * Two reports with the same fingerprint are the same problem and fold into one incident:
 * kind, pipeline, error code and subject, with `-` for what a report does not have.
 */
export function incidentFingerprint(report: IncidentReport): string {
  const part = (value: string | undefined) => (value === undefined || value === '' ? '-' : value);
  return [report.kind, part(report.pipelineId), part(report.errorCode), part(report.subject)]
    .join(':')
    .slice(0, 500);
}

/** The status an action leads to from `from`, or undefined when the status machine refuses it. */
export function nextIncidentStatus(from: IncidentStatus, action: IncidentAction): IncidentStatus | undefined {
  switch (action) {
    case 'acknowledge':
      return from === 'OPEN' ? 'ACKNOWLEDGED' : undefined;
    case 'resolve':
      return from === 'RESOLVED' ? undefined : 'RESOLVED';
    default: {
      const never: never = action;
      throw new Error(`unknown incident action ${String(never)}`);
    }
  }
}
