import type { RolePasswords } from '../../src/db/roles.js';

export interface TestServer {
  readonly serverUrl: string;
  readonly template: string;
  readonly prefix: string;
  readonly serverVersion: string;
  /** The run's temporary folder: tests create theirs inside (testTempDir), removed after the run. */
  readonly tmpRoot: string;
}

/** Fixed passwords for the three roles in tests (test servers are local and throwaway). */
export const TEST_ROLE_PASSWORDS: RolePasswords = {
  reader: 'siphon-test-reader',
  writer: 'siphon-test-writer',
  api: 'siphon-test-api-role',
};
