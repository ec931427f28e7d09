export { reconcilePipeline, type ReconcileOptions } from './reconcile.service.js';
export { latestReconciliation, type ReconciliationRow } from './reconcile.repository.js';
