import type { Pool } from '../db/pool.js';
import type { SqlPolicy } from '../sql-guard/index.js';
import type { SourceDeps } from '../sources/index.js';

/** The defaults of {@link ReconcileOptions}, the same for a local and a cross-server reconcile. */
export const RECONCILE_DEFAULTS = { buckets: 64, maxKeys: 1000 } as const;

export interface ReconcileOptions {
  /** Hash buckets the key space is cut into before drilling down. @default 64 */
  readonly buckets?: number;
  /** Re-sync the differing keys (upsert from the source, delete what the source lacks). @default false */
  readonly repair?: boolean;
  /** Most differing keys listed per kind in the stored result. @default 1000 */
  readonly maxKeys?: number;
  readonly requestedBy: string;
  /** What the source query may read and call. @default DEFAULT_SQL_POLICY */
  readonly policy?: SqlPolicy;
  /**
   * Opening a pipeline's `source_connection` (passwords by reference, the statement timeout).
   * @default none: a pipeline reading another server is refused with SIPHON_ERR_CONNECTION_SECRET_MISSING
   */
  readonly sources?: SourceDeps;
}

export interface ReconcilePools {
  /** Reads the source query (siphon_reader in the API, siphon_writer in the CLI); not used for a source on another server. */
  readonly source: Pool;
  /** Reads the target table (and, for a source on another server, its connection). */
  readonly target: Pool;
  /** Writes repairs and the stored result (siphon_writer); the API stores through `target` (siphon_api). */
  readonly writer?: Pool;
}
