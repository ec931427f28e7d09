import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { SiphonError } from '../core/errors.js';

/**
 * SIPHON_CREDENTIALS_FILE: several credentials per platform, each named (the name is what the limiter,
 * `siphon quota` and incidents show; the secret never leaves this process) and optionally with its
 * own limits. Instagram is not pooled: a token is tied to the professional account that asks business
 * discovery (SIPHON_INSTAGRAM_USER_ID), so it keeps its one credential from the environment.
 *
 * {
 *   "youtube": [{ "name": "project-a", "api_key": "…", "rate": { "calls": 10, "window": "1s", "daily_units": 10000 } }],
 *   "tiktok":  [{ "name": "research-1", "client_key": "…", "client_secret": "…", "rate": { "daily_units": 1000 } }],
 *   "connections": [{ "name": "cinema-content", "password": "…" }]
 * }
 *
 * `connections` holds the passwords of source connections that name an entry (`password_secret`).
 */

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a lower-case name of letters, digits, _ and - (at most 63)');
const duration = z.string().refine((v) => {
  try {
    parseDuration(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 1s or 1m');
const rate = z
  .object({
    calls: z.number().int().min(1).max(100_000).optional(),
    window: duration.optional(),
    daily_units: z.number().int().min(1).nullable().optional(),
  })
  .strict();

const credentialsFileSchema = z
  .object({
    youtube: z
      .array(z.object({ name, api_key: z.string().min(1), rate: rate.optional() }).strict())
      .max(100)
      .optional(),
    tiktok: z
      .array(
        z
          .object({
            name,
            client_key: z.string().min(1),
            client_secret: z.string().min(1),
            rate: rate.optional(),
          })
          .strict(),
      )
      .max(100)
      .optional(),
    connections: z
      .array(z.object({ name, password: z.string().min(1) }).strict())
      .max(1000)
      .optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    for (const platform of ['youtube', 'tiktok', 'connections'] as const) {
      const seen = new Set<string>();
      for (const [i, c] of (file[platform] ?? []).entries()) {
        if (seen.has(c.name))
          ctx.addIssue({ code: 'custom', path: [platform, i, 'name'], message: 'names another credential' });
        seen.add(c.name);
      }
    }
  });

export type CredentialsFile = z.infer<typeof credentialsFileSchema>;
export type CredentialRate = z.infer<typeof rate>;

/** Reads and checks the file; an error names the file and the field, never a secret. */
export function readCredentialsFile(path: string): CredentialsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SiphonError(
      'SIPHON_ERR_CONFIG_INVALID',
      `SIPHON_CREDENTIALS_FILE: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        field: 'SIPHON_CREDENTIALS_FILE',
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SiphonError('SIPHON_ERR_CONFIG_INVALID', `SIPHON_CREDENTIALS_FILE: ${path} is not JSON`, {
      field: 'SIPHON_CREDENTIALS_FILE',
    });
  }
  const parsed = credentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new SiphonError(
      'SIPHON_ERR_CONFIG_INVALID',
      `SIPHON_CREDENTIALS_FILE ${path}: ${field}: ${issue.message}`,
      {
        field: `SIPHON_CREDENTIALS_FILE.${field}`,
      },
    );
  }
  return parsed.data;
}
