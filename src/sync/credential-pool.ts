import type { PlatformAdapter } from '../connectors/connector.js';
import type { Executor } from '../db/pool.js';
import * as quota from '../db/repositories/quota.repository.js';

/**
 * Several credentials for one platform (SIPHON_CREDENTIALS_FILE): each is an adapter with its own
 * credentialId, hence its own limiter row (limits, day, usage), and optionally its own limits. Calls
 * are spread over the pool one step at a time (quota.pickCredential): the limiter of each credential
 * stays exact, so no credential is ever called beyond its limit; a credential the platform refuses
 * leaves the pool for {@link REJECTED_FOR_MS} and is tried again after that.
 */
export interface PooledCredential {
  readonly adapter: PlatformAdapter;
  /** This credential's own limits; unset: the pipeline's `rate`, else the platform's defaults. */
  readonly limit?: quota.QuotaLimit | undefined;
}

export type CredentialPools = ReadonlyMap<string, readonly PooledCredential[]>;

/** How long a refused credential stays out of its pool before it is tried again. */
export const REJECTED_FOR_MS = 60 * 60 * 1000;

/** What a runner holds for the platforms: single adapters and, where configured, pools. */
export interface CredentialSource {
  readonly adapters: ReadonlyMap<string, PlatformAdapter>;
  readonly pools?: CredentialPools | undefined;
}

/**
 * The credentials a runner has for a platform: its pool, else its one adapter, else none; only those
 * named in `only` (a pipeline's `social.credentials`) when given.
 */
export function credentialsFor(
  source: CredentialSource,
  platform: string,
  only?: readonly string[] | undefined,
): readonly PooledCredential[] {
  const pool = source.pools?.get(platform);
  const adapter = source.adapters.get(platform);
  const all: readonly PooledCredential[] = pool && pool.length > 0 ? pool : adapter ? [{ adapter }] : [];
  return only ? all.filter((c) => only.includes(c.adapter.credentialId)) : all;
}

/**
 * The adapter the next step of `platform` should call through: the only one, or the pool's best
 * (see quota.pickCredential); the first when every credential of the pool is refused (its call fails
 * again, and the refusal then fails the account as with a single credential).
 */
export async function chooseCredential(
  db: Executor,
  pool: readonly PooledCredential[],
): Promise<PlatformAdapter | undefined> {
  const first = pool[0];
  if (!first || pool.length === 1) return first?.adapter;
  const picked = await quota.pickCredential(
    db,
    first.adapter.platform,
    pool.map((c) => c.adapter.credentialId),
  );
  return (pool.find((c) => c.adapter.credentialId === picked) ?? first).adapter;
}
