import type { Logger } from 'pino';
import type { Pool } from '../db/pool.js';
import type { IncidentNotifier } from '../incidents/index.js';
import type { SqlPolicy } from '../sql-guard/index.js';
import type { SourceDeps } from '../sources/index.js';
import type { TokenConfig } from './plugins/auth.plugin.js';

/**
 * Everything the API needs, handed to buildApp (app.ts) and to each route group. It lives apart from
 * app.ts so that the routes, which app.ts imports, never import app.ts back.
 */
export interface ApiDeps {
  /** Pool logged in as siphon_api. */
  readonly pool: Pool;
  /** Pool logged in as siphon_reader: validate and reconcile read sources with it, READ ONLY. */
  readonly readerPool: Pool;
  readonly logger: Logger;
  readonly tokens: TokenConfig;
  /** A runner whose heartbeat is older than this is not live. */
  readonly runnerStaleMs: number;
  /** What pipeline SQL may read, write and call. @default DEFAULT_SQL_POLICY */
  readonly sqlPolicy?: SqlPolicy;
  /** Told when a person resolves an incident through the API (the webhook). @default none: nobody is notified */
  readonly incidentNotifier?: IncidentNotifier;
  /** Largest request body in bytes (SIPHON_API_BODY_LIMIT). @default 1 MiB */
  readonly bodyLimit?: number;
  /**
   * A siphon_writer pool for `POST /social/replay`, the one route that writes social tables (the
   * API's own role only reads them). @default none: the route is not served
   */
  readonly writerPool?: Pool;
  /**
   * Opening source connections for `POST /connections/{name}/test`: passwords by reference, and the
   * statement timeout. @default none: the test answers SIPHON_ERR_CONNECTION_SECRET_MISSING
   */
  readonly sources?: SourceDeps;
}
