/**
 * A claim deleted and created again under the same name, followed to
 * all-ready both times (test/support/cluster.ts plays Crossplane and
 * provider-sql): the second one must not collide with what the first left
 * behind in AWS (its Secrets Manager secret, kept by Orphan or in its recovery
 * window) nor prune the first one's dumps, while restoreFrom still finds them
 * under the same folder.
 */
import { describe, expect, it } from 'vitest';
import { compositionInput, loadYaml, xrFor, type Obj } from '../scripts/shared/request.js';
import { exampleBackupInput, merge, type Flavour } from '../scripts/shared/examples.js';
import { Cluster } from './support/cluster.js';
import { repoPath } from './support/shared.js';

function instance(flavour: Flavour, uid: string, creationTimestamp: string) {
  const claim = { apiVersion: 'tenantdb.platform.io/v1alpha1', kind: 'TenantDatabase', metadata: { name: 'orders-db', namespace: 'shop' }, spec: { readOnlyRole: true } };
  const xr = merge(xrFor(claim, flavour), { metadata: { uid, creationTimestamp } }) as Obj;
  const input = merge(compositionInput(loadYaml(repoPath(`compositions/${flavour}.yaml`))[0]!), exampleBackupInput()) as Obj;
  const cluster = new Cluster(xr, input);
  const last = cluster.converge();
  expect(last.fatal).toBeUndefined();
  const awsNames = Object.values(cluster.observed)
    .filter((o) => o.kind === 'Secret' && String(o.apiVersion).startsWith('secretsmanager.'))
    .map((o) => o.spec.forProvider.name as string)
    .sort();
  const cronJob = Object.values(cluster.observed).find((o) => o.kind === 'CronJob')!;
  const env = Object.fromEntries((cronJob.spec.jobTemplate.spec.template.spec.containers[0].env as Obj[]).filter((e) => 'value' in e).map((e) => [e.name, e.value]));
  return { awsNames, env, status: last.response.desired!.composite!.resource!.status as Obj };
}

describe('a claim deleted and created again under the same name', () => {
  for (const flavour of ['claim', 'namespaced'] as const) {
    it(`${flavour}: gets AWS secret names of its own, the same backup folder, and retention limited to what it wrote`, () => {
      const first = instance(flavour, '11111111-2222-4333-8444-555555555555', '2026-11-01T08:00:00Z');
      const second = instance(flavour, 'a0b1c2d3-e4f5-4a6b-8c7d-8e9fa0b1c2d3', '2026-12-04T09:30:15Z');
      expect(first.awsNames).toEqual(['tenantdb/shop/orders-db-11111111', 'tenantdb/shop/orders-db-11111111-readonly']);
      expect(second.awsNames).toEqual(['tenantdb/shop/orders-db-a0b1c2d3', 'tenantdb/shop/orders-db-a0b1c2d3-readonly']);
      expect(second.awsNames.filter((n) => first.awsNames.includes(n))).toEqual([]);
      expect(second.status.awsSecretName).toBe('tenantdb/shop/orders-db-a0b1c2d3');
      // Same folder: restoreFrom {name: orders-db} finds the first one's dumps.
      expect(second.env.BACKUP_PREFIX).toBe(first.env.BACKUP_PREFIX);
      expect(second.status.backup.location).toBe(first.status.backup.location);
      // Each prunes only from its own creation on (the script skips older stamps: test/backup).
      expect(first.env.BACKUP_OWN_SINCE).toBe('20261101T080000Z');
      expect(second.env.BACKUP_OWN_SINCE).toBe('20261204T093015Z');
    });
  }
});
