import { prepared, type Executor } from '../pool.js';

/** SQL of the shared per-(platform, credential) limiter (etl.quota_limits); executor first. */

export interface QuotaLimit {
  readonly callsPerWindow: number;
  readonly windowMs: number;
  /** Platform units per day (YouTube: 10,000 by default); null when the platform counts no units. */
  readonly dailyUnits: number | null;
  /** The time zone whose midnight starts the platform's day (YouTube: America/Los_Angeles). */
  readonly dayZone: string;
}

/**
 * SQL: the units the row `alias` of etl.quota_limits has spent today, the platform's day (in its
 * `day_zone`); a row last charged on an earlier day has spent none.
 */
export const unitsTodaySql = (alias: string, clock = 'now()'): string =>
  `CASE WHEN ${alias}.day = (${clock} AT TIME ZONE ${alias}.day_zone)::date THEN ${alias}.units_used ELSE 0 END`;

/**
 * Creates the limiter of a credential, or updates its limits (the latest configuration wins). With
 * `keepExisting` (a credential this process does not hold) an existing row, written by the runner
 * that holds it, is left as it is.
 */
export async function upsertLimit(
  db: Executor,
  platform: string,
  credential: string,
  limit: QuotaLimit,
  options: { readonly keepExisting?: boolean } = {},
): Promise<void> {
  const onConflict = options.keepExisting
    ? 'DO NOTHING'
    : `DO UPDATE SET
       calls_per_window = EXCLUDED.calls_per_window, window_ms = EXCLUDED.window_ms,
       daily_units = EXCLUDED.daily_units, day_zone = EXCLUDED.day_zone, updated_at = now()
     WHERE (etl.quota_limits.calls_per_window, etl.quota_limits.window_ms, etl.quota_limits.daily_units,
            etl.quota_limits.day_zone)
       IS DISTINCT FROM (EXCLUDED.calls_per_window, EXCLUDED.window_ms, EXCLUDED.daily_units, EXCLUDED.day_zone)`;
  await db.query(
    `INSERT INTO etl.quota_limits (platform, credential, calls_per_window, window_ms, daily_units, day_zone, day)
     VALUES ($1, $2, $3, $4, $5, $6, (now() AT TIME ZONE $6)::date)
     ON CONFLICT (platform, credential) ${onConflict}`,
    [platform, credential, limit.callsPerWindow, limit.windowMs, limit.dailyUnits, limit.dayZone],
  );
}

/**
 * Slots are this much further apart than `window / calls`. A call is sent when its slot comes, but a
 * loaded machine wakes and sends some calls later than others (tens of milliseconds): with no margin,
 * one late call from the end of a window lands beside the full count of the next, and a platform that
 * counts fixed windows refuses it. 5 % leaves ≥ 50 ms for that at 6 calls/s and costs 5 % of the rate.
 */
export const SLOT_SPACING_MARGIN = 1.05;

export type Reservation =
  | { readonly kind: 'slot'; readonly waitMs: number }
  | { readonly kind: 'paused'; readonly until: Date }
  | { readonly kind: 'exhausted'; readonly until: Date };

/**
 * Takes the next call slot of the credential, under its row lock, on the database's clock (one clock
 * for every runner): slots are `window_ms / calls_per_window` (times SLOT_SPACING_MARGIN) apart, so no window of `window_ms` ever
 * holds more than `calls_per_window` calls, and back-to-back callers keep the rate at its limit. The
 * caller waits `waitMs` and then calls. The day's units are charged here (the platform's day, in
 * the row's `day_zone`); a paused or exhausted
 * credential gives no slot. `resetAt` is when the platform's day ends (for an exhausted day).
 */
export async function reserveSlot(
  db: Executor,
  platform: string,
  credential: string,
  units: number,
  resetAt: Date,
): Promise<Reservation | undefined> {
  const { rows } = await db.query<{
    wait_ms: number | null;
    paused_until: Date | null;
    exhausted: boolean;
  }>(
    prepared(
      `WITH cur AS (
       SELECT platform, credential, clock_timestamp() AS now,
              greatest(next_slot_at, clock_timestamp()) AS slot,
              (clock_timestamp() AT TIME ZONE day_zone)::date AS today,
              ${unitsTodaySql('l', 'clock_timestamp()')} AS used,
              (paused_until IS NOT NULL AND paused_until > clock_timestamp()) AS paused,
              paused_until, daily_units, window_ms, calls_per_window,
              -- Commit without waiting for the WAL flush: the row lock is held until the commit, and
              -- every call on the credential queues behind it (ADR 0011, "Commit").
              set_config('synchronous_commit', 'off', true) AS async_commit
         FROM etl.quota_limits l WHERE platform = $1 AND credential = $2
          FOR UPDATE
     ), decided AS (
       SELECT cur.*, (NOT cur.paused AND cur.daily_units IS NOT NULL AND cur.used + $3 > cur.daily_units) AS exhausted
         FROM cur
     )
     UPDATE etl.quota_limits q SET
       next_slot_at = CASE WHEN d.paused OR d.exhausted THEN q.next_slot_at
                           ELSE d.slot + make_interval(secs => d.window_ms::double precision * ${SLOT_SPACING_MARGIN} / d.calls_per_window / 1000) END,
       units_used = CASE WHEN d.paused OR d.exhausted THEN d.used ELSE d.used + $3 END,
       day = d.today,
       calls_total = q.calls_total + CASE WHEN d.paused OR d.exhausted THEN 0 ELSE 1 END,
       paused_until = CASE WHEN d.exhausted THEN $4 ELSE q.paused_until END,
       updated_at = now()
       FROM decided d
      WHERE q.platform = d.platform AND q.credential = d.credential
     RETURNING CASE WHEN d.paused OR d.exhausted THEN NULL
                    ELSE extract(epoch FROM d.slot - d.now) * 1000 END AS wait_ms,
               CASE WHEN d.exhausted THEN $4::timestamptz ELSE d.paused_until END AS paused_until,
               d.exhausted`,
      [platform, credential, units, resetAt],
    ),
  );
  const row = rows[0];
  if (!row) return undefined;
  if (row.wait_ms !== null) return { kind: 'slot', waitMs: Math.max(0, Number(row.wait_ms)) };
  return row.exhausted
    ? { kind: 'exhausted', until: row.paused_until! }
    : { kind: 'paused', until: row.paused_until! };
}

/** The platform said the day's quota is spent: every runner's calls on this credential wait for `until`. */
export async function pauseCredential(
  db: Executor,
  platform: string,
  credential: string,
  until: Date,
): Promise<void> {
  await db.query(
    `UPDATE etl.quota_limits SET paused_until = greatest(coalesce(paused_until, $3), $3), updated_at = now()
      WHERE platform = $1 AND credential = $2`,
    [platform, credential, until],
  );
}

/** A 429 seen: counted, and no call on this credential before `notBefore` (Retry-After). */
export async function recordRateLimited(
  db: Executor,
  platform: string,
  credential: string,
  notBefore: Date,
): Promise<void> {
  await db.query(
    `UPDATE etl.quota_limits SET rate_limited = rate_limited + 1,
            next_slot_at = greatest(next_slot_at, $3), updated_at = now()
      WHERE platform = $1 AND credential = $2`,
    [platform, credential, notBefore],
  );
}

export async function recordUsedPercent(
  db: Executor,
  platform: string,
  credential: string,
  percent: number,
): Promise<void> {
  await db.query(
    'UPDATE etl.quota_limits SET used_percent = $3, updated_at = now() WHERE platform = $1 AND credential = $2',
    [platform, credential, percent],
  );
}

/**
 * The credential of a pool the next call should use: never one the platform rejected (until its
 * rejected_until), not one paused or spent for its day while another is free; among the rest a
 * weighted draw by the daily units each has left (an exponential race, `-ln(u) / weight`), so the
 * budgets run down together and every credential's rate is used. A credential without a daily budget
 * weighs as 1,000,000 units. Returns undefined when every credential is rejected.
 */
export async function pickCredential(
  db: Executor,
  platform: string,
  credentials: readonly string[],
): Promise<string | undefined> {
  const { rows } = await db.query<{ credential: string }>(
    prepared(
      `SELECT u.credential
       FROM unnest($2::text[]) AS u(credential)
       LEFT JOIN etl.quota_limits l ON l.platform = $1 AND l.credential = u.credential
      WHERE l.rejected_until IS NULL OR l.rejected_until <= now()
      ORDER BY coalesce(l.paused_until > now()
                        OR (l.daily_units IS NOT NULL AND ${unitsTodaySql('l')} >= l.daily_units), false),
               -ln(1 - random()) / greatest(coalesce(l.daily_units - ${unitsTodaySql('l')}, 1000000), 1)
      LIMIT 1`,
      [platform, credentials],
    ),
  );
  return rows[0]?.credential;
}

/**
 * The daily units the credentials have left today (each in its own day), over those the platform does
 * not refuse now; null when one of them has no daily budget (its calls are only paced).
 */
export async function unitsLeftToday(
  db: Executor,
  platform: string,
  credentials: readonly string[],
): Promise<number | null> {
  const { rows } = await db.query<{ left: number | null }>(
    `SELECT CASE WHEN bool_or(l.daily_units IS NULL) THEN NULL
                 ELSE coalesce(sum(greatest(l.daily_units - ${unitsTodaySql('l')}, 0)), 0) END::float AS left
       FROM unnest($2::text[]) AS u(credential)
       LEFT JOIN etl.quota_limits l ON l.platform = $1 AND l.credential = u.credential
      WHERE l.rejected_until IS NULL OR l.rejected_until <= now()`,
    [platform, credentials],
  );
  const left = rows[0]?.left;
  return left === null || left === undefined ? null : Number(left);
}

/**
 * The platform refused the credential (revoked, wrong secret): it leaves its pool until `until`.
 * Returns how many credentials of `pool` are still usable (not rejected) after it.
 */
export async function rejectCredential(
  db: Executor,
  platform: string,
  credential: string,
  until: Date,
  reason: string,
  pool: readonly string[],
): Promise<number> {
  await db.query(
    `UPDATE etl.quota_limits SET rejected_until = $3, rejected_reason = $4, updated_at = now()
      WHERE platform = $1 AND credential = $2`,
    [platform, credential, until, reason],
  );
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM unnest($2::text[]) AS u(credential)
       LEFT JOIN etl.quota_limits l ON l.platform = $1 AND l.credential = u.credential
      WHERE l.rejected_until IS NULL OR l.rejected_until <= now()`,
    [platform, pool],
  );
  return rows[0]!.n;
}

/** Per platform and tier: tracked accounts to sync, and the measured calls of their regular syncs. */
export interface PlanDemandRow {
  readonly platform: string;
  readonly tier: string;
  readonly interval_seconds: number;
  readonly accounts: number;
  readonly cost_per_sync: number | null;
  readonly syncs: number;
}

export async function readPlanDemand(db: Executor, measuredDays: number): Promise<PlanDemandRow[]> {
  const { rows } = await db.query<PlanDemandRow>(
    `WITH demand AS (
       SELECT a.platform, a.tier, extract(epoch FROM t.sync_interval)::int AS interval_seconds, count(*)::int AS accounts
         FROM social.accounts a JOIN social.tiers t ON t.name = a.tier
        WHERE a.tracked AND NOT a.paused AND a.status = 'active'
        GROUP BY 1, 2, 3
     ), cost AS (
       SELECT a.platform, a.tier, avg(c.calls)::float AS cost_per_sync, count(*)::int AS syncs
         FROM etl.sync_jobs j
         JOIN social.accounts a ON a.id = j.account_id
         CROSS JOIN LATERAL (SELECT coalesce(sum(calls), 0) AS calls FROM etl.sync_tasks WHERE job_id = j.id) c
        WHERE j.status = 'SUCCESS' AND j.job_kind = 'sync' AND a.tracked
          AND j.finished_at > now() - make_interval(days => $1)
        GROUP BY 1, 2
     )
     SELECT d.platform, d.tier, d.interval_seconds, d.accounts, c.cost_per_sync, coalesce(c.syncs, 0) AS syncs
       FROM demand d LEFT JOIN cost c USING (platform, tier)
      ORDER BY 1, 3, 2`,
    [measuredDays],
  );
  return rows;
}

/** Every credential's limits as the limiter holds them, and whether the platform refuses it now. */
export interface PlanCapacityRow {
  readonly platform: string;
  readonly credential: string;
  readonly daily_units: number | null;
  readonly calls_per_window: number;
  readonly window_ms: number;
  readonly rejected: boolean;
}

export async function readPlanCapacity(db: Executor): Promise<PlanCapacityRow[]> {
  const { rows } = await db.query<PlanCapacityRow>(
    `SELECT platform, credential, daily_units, calls_per_window, window_ms::float AS window_ms,
            coalesce(rejected_until > now(), false) AS rejected
       FROM etl.quota_limits ORDER BY 1, 2`,
  );
  return rows;
}
