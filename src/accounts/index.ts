export { MAX_IMPORT_ROWS, parseImport, type ImportDefaults, type RejectedLine } from './account-import.js';
export {
  changeAccounts,
  defineTier,
  exportAccounts,
  readTierStatus,
  TIER_INTERVAL_BOUNDS,
  importAccounts,
  MAX_LISTED_REJECTS,
  removeAccounts,
  type ImportReport,
} from './accounts.service.js';
export {
  listTiers,
  listTracked,
  type TierRow,
  type TierStatus,
  type TrackedAccountRow,
} from '../db/repositories/tracked-accounts.repository.js';
