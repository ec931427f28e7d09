export {
  INCIDENT_KINDS,
  INCIDENT_STATUSES,
  TAKEOVER_THRESHOLD,
  TAKEOVER_WINDOW_MS,
  incidentFingerprint,
  nextIncidentStatus,
  type Incident,
  type IncidentAction,
  type IncidentKind,
  type IncidentReport,
  type IncidentStatus,
} from '../core/incident.js';
export {
  listIncidents,
  type IncidentFilter,
  type IncidentRow,
} from '../db/repositories/incidents.repository.js';
export {
  acknowledge,
  autoResolve,
  getIncident,
  openOrFold,
  reportIncident,
  resolve,
  type IncidentDeps,
} from './incidents.service.js';
export {
  attachIncidentReporting,
  type IncidentSubscriberDeps,
  type IncidentSubscription,
} from './incidents.subscriber.js';
export {
  createWebhookNotifier,
  type IncidentEvent,
  type IncidentNotifier,
  type WebhookOptions,
} from './webhook.js';
