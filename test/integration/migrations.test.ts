import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../src/db/migrator.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  return client;
}

describe('migrator', () => {
  it('applies nothing on a current database and records every file', async () => {
    const client = await adminClient();
    try {
      const result = await migrate(client);
      expect(result.applied).toEqual([]);
      const { rows } = await client.query(
        'SELECT name FROM public.siphon_schema_migrations ORDER BY version',
      );
      expect(rows.map((r) => r.name)).toEqual(readMigrations().map((m) => m.name));
    } finally {
      await client.end();
    }
  });

  it('refuses to run while another migrator holds the lock', async () => {
    const holder = await adminClient();
    const second = await adminClient();
    try {
      await holder.query('SELECT pg_advisory_lock(7140215001)');
      await expect(migrate(second)).rejects.toMatchObject({ code: 'SIPHON_ERR_MIGRATE_LOCKED' });
    } finally {
      await holder.end();
      await second.end();
    }
  });

  it('refuses when an applied migration file was changed', async () => {
    const client = await adminClient();
    try {
      const changed = readMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
      await expect(migrate(client, changed)).rejects.toMatchObject({ code: 'SIPHON_ERR_MIGRATE_CHECKSUM' });
    } finally {
      await client.end();
    }
  });

  it('rolls a failing migration back whole and records nothing for it', async () => {
    const client = await adminClient();
    try {
      const broken = [
        ...readMigrations(),
        {
          version: 9999,
          name: '9999_broken',
          sql: 'CREATE TABLE etl.half_done (id int); SELECT 1/0;',
          checksum: 'x',
        },
      ];
      await expect(migrate(client, broken)).rejects.toMatchObject({ code: 'SIPHON_ERR_MIGRATE_FAILED' });
      const { rows } = await client.query(`SELECT to_regclass('etl.half_done') AS t`);
      expect(rows[0].t).toBeNull();
    } finally {
      await client.end();
    }
  });
});

describe('least-privilege roles (seed 003 §2.3)', () => {
  const cases: Array<[string, 'reader' | 'writer' | 'api', string, boolean]> = [
    ['reader reads content', 'reader', 'SELECT count(*) FROM content.film_work', true],
    ['reader reads ugc', 'reader', 'SELECT count(*) FROM ugc.ratings', true],
    ['reader cannot read etl', 'reader', 'SELECT count(*) FROM etl.etl_pipelines', false],
    [
      'reader cannot write analytics',
      'reader',
      `INSERT INTO analytics.film_dim (film_id, title) VALUES (gen_random_uuid(), 'x')`,
      false,
    ],
    [
      'writer writes analytics',
      'writer',
      `INSERT INTO analytics.film_dim (film_id, title) VALUES (gen_random_uuid(), 'x')`,
      true,
    ],
    [
      'writer cannot write content',
      'writer',
      `INSERT INTO content.film_work (id, title) VALUES (gen_random_uuid(), 'x')`,
      false,
    ],
    ['writer cannot write ugc', 'writer', 'DELETE FROM ugc.ratings', false],
    [
      'writer cannot alter the migration ledger',
      'writer',
      'DELETE FROM public.siphon_schema_migrations',
      false,
    ],
    ['api reads etl', 'api', 'SELECT count(*) FROM etl.etl_pipelines', true],
    ['api cannot read content', 'api', 'SELECT count(*) FROM content.film_work', false],
    ['api cannot write analytics', 'api', 'DELETE FROM analytics.film_dim', false],
    ['api cannot create tables in analytics', 'api', 'CREATE TABLE analytics.sneaky (id int)', false],
  ];
  it.each(cases)('%s', async (_label, role, sql, allowed) => {
    const pool = role === 'writer' ? db.writer : role === 'api' ? db.api : undefined;
    const client = pool ?? new pg.Pool({ connectionString: db.urls.reader, max: 1 });
    try {
      const attempt = client.query(sql);
      if (allowed) await expect(attempt).resolves.toBeTruthy();
      else await expect(attempt).rejects.toMatchObject({ code: '42501' });
    } finally {
      if (!pool) await (client as pg.Pool).end();
    }
  });
});
