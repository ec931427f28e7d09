export { reconcilePipeline, type ReconcileOptions, type ReconcilePools } from './reconcile.service.js';
export { latestReconciliation, type ReconciliationRow } from '../db/repositories/reconcile.repository.js';
