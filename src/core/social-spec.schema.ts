import { z } from 'zod';
import { SOCIAL_PLATFORMS, tagListSchema, tierSchema } from './tracked-account.js';

/**
 * The `social` section of a pipeline of kind `social` (a social sync is a pipeline like any other:
 * claimed, run, paused, resumed and watched the same way). Its `mode` chooses the run kind:
 * `incremental` = regular sync (posts down to last_synced_at minus `lookback`, comments of recent
 * posts), `full` = backfill (every post, or those published in [`since`, `until`), with all comments).
 */

export { SOCIAL_PLATFORMS };

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as 30s, 15m, 2h or 7d');
const isoDate = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 date or timestamp (2026-01-31)');

export const socialSpecSchema = z
  .object({
    platform: z.enum(SOCIAL_PLATFORMS),
    /**
     * The accounts as a list: YouTube channel ids (or @handles), Instagram user ids or usernames, TikTok
     * usernames. For a few accounts; at scale, track them as data (`siphon accounts import`) and use
     * `select`. Exactly one of `accounts` and `select`.
     */
    accounts: z
      .array(
        z.string().trim().min(1, 'must not be empty').max(200).regex(/^\S+$/u, 'must not contain spaces'),
      )
      .min(1, 'must list at least one account')
      .max(100_000)
      .refine((list) => new Set(list).size === list.length, 'lists an account twice')
      .optional(),
    /**
     * The tracked accounts of the platform this pipeline syncs (social.accounts with `tracked`, not
     * paused): those carrying every tag of `tags`, of tier `tier` when given, and with `due` only
     * those due. An empty object selects every tracked account of the platform. Evaluated when each
     * run opens.
     */
    select: z
      .object({
        tags: tagListSchema.min(1, 'list at least one tag, or leave tags out').optional(),
        tier: tierSchema.optional(),
        /**
         * Only the accounts whose next sync is due (`next_due_at`, spread over their tier's interval).
         * With a schedule shorter than the tier's interval (say every 5 minutes for an hourly tier),
         * each run takes the slice that fell due since the last one.
         */
        due: z.boolean().default(false),
      })
      .strict()
      .optional(),
    /**
     * The credentials (by name: a SIPHON_CREDENTIALS_FILE entry, `env`, or the id `siphon quota` shows)
     * this pipeline's calls may use. Every runner that takes part uses only these; a runner holding none
     * of them leaves the pipeline's pages to one that does, and may still coordinate its run. Unset:
     * every credential the runner has for the platform.
     */
    credentials: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/, 'a credential name as `siphon quota` shows it'),
      )
      .min(1, 'name at least one credential, or leave credentials out')
      .max(100)
      .optional(),
    /** Regular syncs re-read posts published this long before the last sync (late edits, new comments). */
    lookback: duration.default('7d'),
    /**
     * How far back a first sync or a backfill reads, where the platform lists posts by date (TikTok:
     * 30-day windows). Unset: the whole history (back to the platform's launch, or until the videos
     * read reach the profile's count). A backfill's `since` wins.
     */
    history: duration.nullish().transform((v) => v ?? null),
    /**
     * What a regular sync reads again of the posts it already holds. `all`: the account's whole feed
     * (counters, captions and titles of every known post at most one sync old, and posts deleted on the
     * platform marked deleted); `recent`: only posts within the lookback. Unset: `all` where the feed
     * pages cheaply (YouTube: 2 units per 50 posts; Instagram: one call per 100 media), `recent` on
     * TikTok (a full walk costs a request per active month). Comments follow `comments`.
     */
    refresh: z.enum(['all', 'recent']).optional(),
    /**
     * Comments of which posts: `recent` (those published within the lookback), `all` (every post of
     * the account: the regular sync then reads the whole feed, whatever `refresh` says), or `none`.
     * Backfills read the comments of every post in their range.
     */
    comments: z.enum(['recent', 'all', 'none']).default('recent'),
    /** Also read the relation streams the platform offers (YouTube subscriptions, TikTok followers/following). */
    relations: z.boolean().default(false),
    /**
     * Instagram: also read the live stories (the last 24 h) of the token's own accounts, every sync,
     * keeping each after it expires. Unset means yes; only Instagram shows stories to an API.
     */
    stories: z.boolean().optional(),
    /** Backfill range on published_at (mode full only); unset bounds are open. */
    since: isoDate.nullish().transform((v) => v ?? null),
    until: isoDate.nullish().transform((v) => v ?? null),
    /**
     * The credential's rate: at most `calls` requests in any `window` (shared by every runner through
     * PostgreSQL), and `daily_units` platform units per day (YouTube counts units; null: no local budget).
     */
    rate: z
      .object({
        calls: z.number().int().min(1).max(100_000),
        window: duration,
        daily_units: z.number().int().min(1).nullish(),
      })
      .strict()
      .nullish()
      .transform((v) => v ?? null),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if ((spec.accounts === undefined) === (spec.select === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: spec.accounts === undefined ? ['accounts'] : ['select'],
        message:
          spec.accounts === undefined
            ? 'list the accounts, or select tracked accounts with `select` ({} for all of the platform)'
            : 'give either `accounts` or `select`, not both',
      });
    }
    if (spec.stories === true && spec.platform !== 'instagram') {
      ctx.addIssue({
        code: 'custom',
        path: ['stories'],
        message: `only Instagram offers stories; remove it for ${spec.platform}`,
      });
    }
  });

/** A pipeline's `refresh`, or its platform's default. */
export function refreshOf(spec: {
  platform: string;
  refresh?: 'all' | 'recent' | undefined;
}): 'all' | 'recent' {
  return spec.refresh ?? (spec.platform === 'tiktok' ? 'recent' : 'all');
}

export type SocialSpecInput = z.input<typeof socialSpecSchema>;
export type SocialSpec = z.output<typeof socialSpecSchema>;
