export {
  enqueueEnrichment,
  enrichmentPollTask,
  pollEnrichment,
  requeueOverdue,
  type EnqueueEnrichment,
  type EnrichmentClient,
  type EnrichmentDeps,
} from './enrichment.service.js';
export {
  enrichmentItems,
  MAX_TEXT_CHARS,
  type EnrichmentItem,
  type EnrichmentItemKind,
  type EnrichmentSource,
} from './enrichment.mapper.js';
export {
  decide,
  DEFAULT_DEADLINE_MS,
  DEFAULT_ENRICHMENT_POLICY,
  ENRICHMENT_EXPIRED,
  ENRICHMENT_FAILED,
  type Decision,
  type EnrichmentPolicy,
} from './enrichment.policy.js';
export {
  ENRICHMENT_POLL_TASK,
  enrichmentSummary,
  type EnrichmentStatus,
  type EnrichmentSummary,
} from '../db/repositories/enrichment.repository.js';
