import type { Logger } from 'pino';
import { SiphonError, truncateMessage } from '../core/errors.js';
import type { Executor } from '../db/pool.js';
import {
  incidentFingerprint,
  nextIncidentStatus,
  type IncidentAction,
  type IncidentReport,
} from '../core/incident.js';
import {
  findIncident,
  markAcknowledged,
  markResolved,
  resolvePipelineIncidents,
  upsertIncident,
  type IncidentRow,
} from '../db/repositories/incidents.repository.js';
import type { IncidentNotifier } from './webhook.js';

export interface IncidentDeps {
  /** Each use case is one statement, committed before anyone is notified. */
  readonly db: Executor;
  /** The webhook, when one is configured. */
  readonly notifier?: IncidentNotifier;
}

/** Opens an incident for a report, or folds it into the unresolved one with the same fingerprint. */
export async function openOrFold(
  deps: IncidentDeps,
  report: IncidentReport,
): Promise<{ incident: IncidentRow; opened: boolean }> {
  const { row, opened } = await upsertIncident(deps.db, {
    kind: report.kind,
    fingerprint: incidentFingerprint(report),
    pipelineId: report.pipelineId ?? null,
    runId: report.runId ?? null,
    errorCode: report.errorCode ?? null,
    message: truncateMessage(report.message),
    traceId: report.traceId ?? null,
    details: report.details ?? {},
  });
  if (opened) deps.notifier?.notify('opened', row);
  return { incident: row, opened };
}

/** A person has seen the incident (OPEN → ACKNOWLEDGED). */
export function acknowledge(deps: IncidentDeps, id: string, by: string): Promise<IncidentRow> {
  return transition(deps, id, 'acknowledge', by);
}

/** A person says the problem is gone (OPEN or ACKNOWLEDGED → RESOLVED). */
export function resolve(deps: IncidentDeps, id: string, by: string): Promise<IncidentRow> {
  return transition(deps, id, 'resolve', by);
}

/** A pipeline that succeeds again resolves its unresolved `pipeline_failed` incidents. */
export async function autoResolve(deps: IncidentDeps, pipelineId: string): Promise<IncidentRow[]> {
  const resolved = await resolvePipelineIncidents(deps.db, pipelineId, 'pipeline_failed', 'auto');
  for (const row of resolved) deps.notifier?.notify('resolved', row);
  return resolved;
}

/** Reads one incident; SIPHON_ERR_INCIDENT_NOT_FOUND when there is none. */
export async function getIncident(db: Executor, id: string): Promise<IncidentRow> {
  const row = await findIncident(db, id);
  if (!row) throw new SiphonError('SIPHON_ERR_INCIDENT_NOT_FOUND', `no incident ${id}`);
  return row;
}

/**
 * Reports an incident on behalf of a caller that must not fail because of it (the runner's events,
 * the social sync for `credential_rejected` and `quota_exhausted`): errors are logged, never thrown.
 */
export async function reportIncident(
  deps: IncidentDeps & { readonly logger: Logger },
  report: IncidentReport,
): Promise<IncidentRow | undefined> {
  try {
    const { incident, opened } = await openOrFold(deps, report);
    deps.logger.warn(
      {
        incidentId: incident.id,
        kind: incident.kind,
        pipelineId: incident.pipeline_id,
        count: incident.count,
      },
      opened ? 'incident opened' : 'incident repeated',
    );
    return incident;
  } catch (error) {
    deps.logger.error({ err: (error as Error).message, kind: report.kind }, 'could not record an incident');
    return undefined;
  }
}

async function transition(
  deps: IncidentDeps,
  id: string,
  action: IncidentAction,
  by: string,
): Promise<IncidentRow> {
  const row =
    action === 'acknowledge' ? await markAcknowledged(deps.db, id, by) : await markResolved(deps.db, id, by);
  if (row) {
    if (row.status === 'RESOLVED') deps.notifier?.notify('resolved', row);
    return row;
  }
  // Nothing changed: either there is no such incident, or its status does not allow the action.
  const current = await getIncident(deps.db, id);
  if (nextIncidentStatus(current.status, action) === undefined) {
    throw new SiphonError(
      'SIPHON_ERR_INCIDENT_TRANSITION',
      `cannot ${action} an incident that is ${current.status}`,
      { details: { status: current.status } },
    );
  }
  // The status changed between the update and the read (a concurrent action): try once more.
  return transition(deps, id, action, by);
}
