import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Command } from 'commander';
import { registerDatabaseCommands } from '../../src/cli/commands/database.command.js';
import { registerServerCommands } from '../../src/cli/commands/server.command.js';
import { configSchema } from '../../src/config/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

// No cluster in CI: the manifests are checked by reading them, and the autoscaler's query is run
// against a real PostgreSQL with the role it is meant to use.

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  args: string[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string } };
}

const manifests = parseAllDocuments(
  readFileSync(new URL('../../deploy/kubernetes/siphon.yaml', import.meta.url), 'utf8'),
).map((doc) => {
  expect(doc.errors).toEqual([]);
  return doc.toJS() as Manifest;
});
const byKind = (kind: string, name: string) => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found;
};
const podSpec = (m: Manifest) =>
  (m.spec as { template: { spec: { containers: Container[]; terminationGracePeriodSeconds?: number } } })
    .template.spec;
const mebibytes = (q: string) => Number(q.replace(/Mi$/, ''));

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('deploy/kubernetes/siphon.yaml', () => {
  it('runs migrate, api and runner with real commands, known settings and measured resources', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([
      'ConfigMap/siphon-config',
      'Job/siphon-migrate',
      'Deployment/siphon-api',
      'Service/siphon-api',
      'PodDisruptionBudget/siphon-api',
      'Deployment/siphon-runner',
      'ScaledObject/siphon-runner',
    ]);
    // Two API replicas, console sessions in each one's memory: a browser sticks to one replica.
    expect(byKind('Deployment', 'siphon-api').spec?.replicas).toBeGreaterThan(1);
    expect(byKind('Service', 'siphon-api').spec?.sessionAffinity).toBe('ClientIP');
    const program = new Command('siphon');
    registerServerCommands(program);
    registerDatabaseCommands(program);
    const commands = new Set(program.commands.map((c) => c.name()));
    const workloads = [
      byKind('Job', 'siphon-migrate'),
      byKind('Deployment', 'siphon-api'),
      byKind('Deployment', 'siphon-runner'),
    ];
    for (const workload of workloads) {
      for (const container of podSpec(workload).containers) {
        expect(commands.has(container.args[0]!), container.args[0]).toBe(true);
        expect(container.envFrom).toEqual([
          { configMapRef: { name: 'siphon-config' } },
          { secretRef: { name: 'siphon-secrets' } },
        ]);
        expect(container.resources?.requests?.memory, workload.metadata.name).toMatch(/^\d+Mi$/);
        expect(mebibytes(container.resources!.limits!.memory!)).toBeGreaterThanOrEqual(
          mebibytes(container.resources!.requests!.memory!),
        );
      }
    }
    // Every setting of the ConfigMap is a variable Siphon reads, with a value it accepts.
    const data = byKind('ConfigMap', 'siphon-config').data!;
    const known = new Set(Object.keys(configSchema.shape));
    for (const key of Object.keys(data)) expect(known.has(key), key).toBe(true);
    const parsed = configSchema.safeParse({ ...data });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    // The runner request covers its measured peak RSS (~300 MiB at 10,000 accounts), and it may stop
    // gracefully: its current batch may take up to the statement timeout.
    const runner = podSpec(byKind('Deployment', 'siphon-runner'));
    expect(mebibytes(runner.containers[0]!.resources!.requests!.memory!)).toBeGreaterThanOrEqual(300);
    expect(runner.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(
      parsed.data!.SIPHON_STATEMENT_TIMEOUT,
    );
    expect(podSpec(byKind('Deployment', 'siphon-api')).containers[0]!.readinessProbe?.httpGet?.path).toBe(
      '/health',
    );
  });

  it('scales runners on a query that is valid SQL for the role it runs as, counting only ready steps', async () => {
    const scaled = byKind('ScaledObject', 'siphon-runner').spec as {
      scaleTargetRef: { name: string };
      triggers: {
        type: string;
        metadata: { query: string; targetQueryValue: string; connectionFromEnv: string };
      }[];
    };
    expect(scaled.scaleTargetRef.name).toBe('siphon-runner');
    const trigger = scaled.triggers[0]!;
    expect(trigger.type).toBe('postgresql');
    expect(Number(trigger.metadata.targetQueryValue)).toBeGreaterThan(0);
    const count = async () =>
      Number((await db.api.query<{ count: string }>(trigger.metadata.query)).rows[0]!.count);
    expect(await count()).toBe(0);
    // Two ready steps of a running job, one waiting for a quota reset, one of a finished job.
    await db.admin.query(
      `WITH a AS (INSERT INTO social.accounts (platform, external_id) VALUES ('youtube', 'UCk1'), ('youtube', 'UCk2')
                  RETURNING id, external_id),
            j AS (INSERT INTO etl.sync_jobs (account_id, platform, status)
                  SELECT id, 'youtube', CASE WHEN external_id = 'UCk1' THEN 'RUNNING' ELSE 'SUCCESS' END FROM a
                  RETURNING id, status)
       INSERT INTO etl.sync_tasks (job_id, kind, external_id, status)
       SELECT j.id, k.kind, k.kind, CASE WHEN j.status = 'SUCCESS' THEN 'DONE' ELSE k.status END
         FROM j CROSS JOIN (VALUES ('profile', 'PENDING'), ('posts', 'PENDING'), ('comments', 'WAITING')) k(kind, status)`,
    );
    expect(await count()).toBe(2);
  });
});
