import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import {
  changeAccounts,
  defineTier,
  exportAccounts,
  readTierStatus,
  importAccounts,
  listTracked,
  removeAccounts,
} from '../../accounts/index.js';
import { SiphonError } from '../../core/errors.js';
import { zodToSiphonError } from '../../core/pipeline-spec.schema.js';
import {
  accountsChangeSchema,
  SOCIAL_PLATFORMS,
  TAG_PATTERN,
  TIER_PATTERN,
  type SocialPlatform,
} from '../../core/tracked-account.js';
import type { Pool } from '../../db/pool.js';
import { AccountsChangeBody, AccountsImportJsonBody, Paging } from '../route-schemas.js';

export interface AccountRouteDeps {
  /** Pool logged in as siphon_api (may add accounts and change their list columns only). */
  readonly pool: Pool;
}

/** 100,000 accounts with tags in one request are a few MiB: this route has its own limit. */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;

const Platform = Type.Union(SOCIAL_PLATFORMS.map((p) => Type.Literal(p)));
const Filter = {
  platform: Type.Optional(Platform),
  tag: Type.Optional(Type.String({ pattern: TAG_PATTERN.source, description: 'Accounts carrying this tag' })),
  tier: Type.Optional(Type.String({ pattern: TIER_PATTERN.source })),
  state: Type.Optional(
    Type.Union([Type.Literal('active'), Type.Literal('unreachable'), Type.Literal('paused')], {
      description: 'active (synced), unreachable (the platform does not show it), paused',
    }),
  ),
  q: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[^\\u0000]+$',
      description: 'Part of the account or handle',
    }),
  ),
};
type FilterQuery = {
  platform?: SocialPlatform;
  tag?: string;
  tier?: string;
  state?: 'active' | 'unreachable' | 'paused';
  q?: string;
};
const filterOf = (q: FilterQuery) => ({
  platform: q.platform,
  tag: q.tag,
  tier: q.tier,
  state: q.state,
  search: q.q,
});

export function accountRoutes(app: FastifyInstance, deps: AccountRouteDeps): void {
  const by = (request: { principal?: { name: string } }) => request.principal?.name ?? 'api';
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT },
    (_r, body, done) => done(null, body),
  );

  app.get(
    '/accounts',
    {
      schema: {
        tags: ['accounts'],
        summary:
          'Tracked accounts (platform, tags, tier, paused, reachability, last sync), filtered and paged',
        querystring: Type.Object({ ...Filter, ...Paging }),
      },
    },
    async (request) => {
      const q = request.query as FilterQuery & { limit?: number; offset?: number };
      const page = { limit: q.limit ?? 50, offset: q.offset ?? 0 };
      const { total, items } = await listTracked(deps.pool, filterOf(q), page);
      return { items, total, ...page };
    },
  );

  app.get(
    '/accounts/export',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Every tracked account matching the filter, as CSV (re-importable) or JSON',
        querystring: Type.Object({
          ...Filter,
          format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')], { default: 'csv' })),
        }),
      },
    },
    async (request, reply) => {
      const q = request.query as FilterQuery & { format?: 'csv' | 'json' };
      const format = q.format ?? 'csv';
      const body = await exportAccounts(deps.pool, filterOf(q), format);
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="siphon-accounts.${format}"`)
        .send(body);
    },
  );

  app.post(
    '/accounts/import',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      config: { access: 'operator' },
      schema: {
        tags: ['accounts'],
        summary:
          'Track accounts in bulk (JSON or CSV, up to 200,000): idempotent; a report of inserted, updated, unchanged and refused lines',
        querystring: Type.Object({
          platform: Platform,
          tags: Type.Optional(
            Type.String({
              maxLength: 2000,
              description: 'Tags (comma-separated) for lines that give none',
            }),
          ),
          tier: Type.Optional(
            Type.String({ pattern: TIER_PATTERN.source, description: 'Tier for lines that give none' }),
          ),
        }),
        body: AccountsImportJsonBody,
      },
    },
    async (request) => {
      const q = request.query as { platform: SocialPlatform; tags?: string; tier?: string };
      const defaults = { tags: defaultTags(q.tags), tier: q.tier };
      const body = request.body;
      const input =
        typeof body === 'string'
          ? { format: 'csv' as const, text: body }
          : { format: 'json' as const, items: body };
      return importAccounts(deps.pool, q.platform, input, by(request), defaults);
    },
  );

  app.patch(
    '/accounts',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['accounts'],
        summary:
          'One change (tier, tags added or removed, paused) to the tracked accounts listed or selected',
        body: AccountsChangeBody,
      },
    },
    async (request) => {
      const parsed = accountsChangeSchema.safeParse(request.body);
      if (!parsed.success) throw zodToSiphonError(parsed.error, 'SIPHON_ERR_ACCOUNTS_INVALID');
      const b = parsed.data;
      return changeAccounts(
        deps.pool,
        b.platform,
        { accounts: b.accounts, tag: b.tag, tier: b.tier },
        { tier: b.set.tier, addTags: b.set.add_tags, removeTags: b.set.remove_tags, paused: b.set.paused },
      );
    },
  );

  app.get(
    '/tiers',
    {
      schema: {
        tags: ['accounts'],
        summary:
          'Tiers (sync interval) with, per platform, tracked, paused, due and late accounts (late: due for more than one interval)',
      },
    },
    async () => ({ items: await readTierStatus(deps.pool) }),
  );

  app.put(
    '/tiers/:name',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['accounts'],
        summary: 'Create a tier or change its interval; waiting accounts move to slots of the new interval',
        params: Type.Object({ name: Type.String({ pattern: TIER_PATTERN.source }) }),
        body: Type.Object(
          {
            interval: Type.String({
              minLength: 1,
              maxLength: 20,
              description: 'How often its accounts are synced: 30m, 1h, 1d, 7d (1 minute to 90 days)',
            }),
            description: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const body = request.body as { interval: string; description?: string };
      const { tier, created } = await defineTier(deps.pool, name, body);
      return reply.status(created ? 201 : 200).send(tier);
    },
  );

  app.delete(
    '/accounts/:platform/:account',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['accounts'],
        summary: 'Stop tracking an account (its data and history stay; a run in progress is not disturbed)',
        params: Type.Object({
          platform: Platform,
          account: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]+$' }),
        }),
      },
    },
    async (request) => {
      const p = request.params as { platform: SocialPlatform; account: string };
      return removeAccounts(deps.pool, p.platform, [p.account]);
    },
  );
}

function defaultTags(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const tags = value.split(',').map((t) => t.trim().toLowerCase());
  const bad = tags.find((t) => !TAG_PATTERN.test(t));
  if (bad !== undefined) {
    throw new SiphonError(
      'SIPHON_ERR_ACCOUNTS_INVALID',
      `tag "${bad}" is not a tag: lower-case letters, digits and _ . : -`,
      {
        field: 'tags',
      },
    );
  }
  return tags;
}
