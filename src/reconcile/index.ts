export { reconcilePipeline, type ReconcileOptions, type ReconcilePools } from './reconcile.service.js';
export { latestReconciliation, type ReconciliationRow } from './reconcile.repository.js';
