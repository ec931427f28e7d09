import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

/**
 * A fresh folder inside the test run's own temporary folder (global setup creates it and removes it
 * when the run ends), so a run leaves nothing in the system's temp directory.
 */
export function testTempDir(prefix: string): string {
  return mkdtempSync(join(inject('testServer').tmpRoot, `${prefix}-`));
}
