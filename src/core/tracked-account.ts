import { z } from 'zod';

/**
 * Rules of tracked accounts (social.accounts with `tracked`): how an account is written per platform,
 * what a tag and a tier look like. Pure; the import parser (src/accounts) and the API use them.
 */

export const SOCIAL_PLATFORMS = ['youtube', 'instagram', 'tiktok'] as const;
export type SocialPlatform = (typeof SOCIAL_PLATFORMS)[number];

/** Lower-case words: `news`, `client:acme`, `de-market`. At most 32 per account. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
export const MAX_TAGS = 32;
/** A tier's name: `hourly`, `standard`, `weekly`, `vip_1`. */
export const TIER_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
export const DEFAULT_TIER = 'standard';

export const tagSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(TAG_PATTERN, 'a tag is lower-case letters, digits and _ . : - (at most 64), e.g. client:acme');
export const tierSchema = z
  .string()
  .trim()
  .regex(TIER_PATTERN, 'a tier is a lower-case name of letters, digits and _ (at most 32), e.g. daily');
export const tagListSchema = z.array(tagSchema).max(MAX_TAGS, `at most ${MAX_TAGS} tags`);

const YOUTUBE_CHANNEL = /^UC[0-9A-Za-z_-]{22}$/;
const YOUTUBE_HANDLE = /^@[\p{L}\p{N}._-]{3,30}$/u;
const INSTAGRAM_ID = /^\d{1,25}$/;
const INSTAGRAM_USERNAME = /^[A-Za-z0-9._]{1,30}$/;
const TIKTOK_USERNAME = /^[A-Za-z0-9._]{2,24}$/;

/**
 * The account as the engine stores it (social.accounts.external_id), or why it cannot be one.
 * YouTube: a channel id (`UC…`, 24 characters) or an `@handle`, as given. Instagram: a numeric user
 * id, or a username without its `@`, in lower case. TikTok: a username without its `@`, in lower case
 * (both platforms' usernames are case-insensitive, so `@Foo` and `foo` are one account). A profile URL
 * is refused with a hint rather than guessed at.
 */
export function normalizeAccount(
  platform: SocialPlatform,
  raw: string,
): { ok: true; externalId: string } | { ok: false; message: string } {
  const value = raw.trim();
  if (value === '') return { ok: false, message: 'the account is empty' };
  if (/^https?:\/\//i.test(value) || value.includes('/')) {
    return { ok: false, message: `give the account, not a URL (${hintFor(platform)})` };
  }
  switch (platform) {
    case 'youtube':
      if (YOUTUBE_CHANNEL.test(value) || YOUTUBE_HANDLE.test(value)) return { ok: true, externalId: value };
      return { ok: false, message: `not a YouTube account: ${hintFor(platform)}` };
    case 'instagram': {
      const name = value.replace(/^@/, '');
      if (INSTAGRAM_ID.test(name)) return { ok: true, externalId: name };
      if (INSTAGRAM_USERNAME.test(name)) return { ok: true, externalId: name.toLowerCase() };
      return { ok: false, message: `not an Instagram account: ${hintFor(platform)}` };
    }
    case 'tiktok': {
      const name = value.replace(/^@/, '');
      if (TIKTOK_USERNAME.test(name)) return { ok: true, externalId: name.toLowerCase() };
      return { ok: false, message: `not a TikTok account: ${hintFor(platform)}` };
    }
  }
}

function hintFor(platform: SocialPlatform): string {
  switch (platform) {
    case 'youtube':
      return 'a channel id such as UCxxxxxxxxxxxxxxxxxxxxxx (24 characters) or an @handle';
    case 'instagram':
      return 'a numeric user id or a username of letters, digits, . and _ (at most 30)';
    case 'tiktok':
      return 'a username of letters, digits, . and _ (2 to 24)';
  }
}

/**
 * `PATCH /accounts` and `siphon accounts tag|tier|pause|resume`: one change to the platform's tracked
 * accounts that `accounts` lists, or that carry `tag` and/or are of `tier` (neither: all of them).
 */
export const accountsChangeSchema = z
  .object({
    platform: z.enum(SOCIAL_PLATFORMS),
    accounts: z
      .array(z.string().trim().min(1).max(200))
      .min(1)
      .max(200_000)
      .optional()
      .meta({ description: 'The accounts to change (as stored: see GET /accounts)' }),
    tag: tagSchema.optional().meta({ description: 'Only accounts carrying this tag' }),
    tier: tierSchema.optional().meta({ description: 'Only accounts of this tier' }),
    set: z
      .object({
        tier: tierSchema.optional(),
        add_tags: tagListSchema.optional(),
        remove_tags: tagListSchema.optional(),
        paused: z
          .boolean()
          .optional()
          .meta({ description: 'A paused account is left out of runs that open later' }),
      })
      .strict(),
  })
  .strict();
export type AccountsChange = z.infer<typeof accountsChangeSchema>;
