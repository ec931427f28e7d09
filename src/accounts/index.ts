export { MAX_IMPORT_ROWS, parseImport, type ImportDefaults, type RejectedLine } from './account-import.js';
export {
  changeAccounts,
  exportAccounts,
  importAccounts,
  MAX_LISTED_REJECTS,
  removeAccounts,
  type ImportReport,
} from './accounts.service.js';
export { listTracked, type TrackedAccountRow } from '../db/repositories/tracked-accounts.repository.js';
